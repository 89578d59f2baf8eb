"""Video readers of a query are released: plain mode closes each role's reader once its clip is out."""

import contextlib

from tests.agent.fakes import FakeReader, ScriptedBackend
from videomind.agent import AgentOptions, VideoMindAgent


class CountingBackend(ScriptedBackend):
    """Records how many readers are open whenever the model is called."""

    def __init__(self, opened, **kwargs):
        super().__init__(**kwargs)
        self.opened, self.open_at_calls = opened, []

    def generate(self, *args):
        self.open_at_calls.append(len(self.opened))
        return super().generate(*args)

    def ground(self, *args):
        self.open_at_calls.append(len(self.opened))
        return super().ground(*args)

    def verify(self, *args):
        self.open_at_calls.append(len(self.opened))
        return super().verify(*args)


def _counting_opener(opened: set, made: list):
    @contextlib.contextmanager
    def open_video(path, **kwargs):
        reader = FakeReader(60.0)
        made.append(reader)
        opened.add(id(reader))
        try:
            yield reader
        finally:
            opened.discard(id(reader))

    return open_video


def test_plain_mode_holds_one_reader_beside_the_querys_own():
    opened, made = set(), []
    backend = CountingBackend(opened, scores=[0.3, 0.2, 0.1])
    agent = VideoMindAgent(
        backend, AgentOptions(fast=False, auto_planning=True), open_video=_counting_opener(opened, made)
    )
    agent.run("v.mp4", "What colour?", ["red", "green"])
    # planner, grounder, three verifier candidates, answerer: a reader each, plus the query's own (the duration)
    assert len(made) == 1 + 6
    assert backend.open_at_calls and max(backend.open_at_calls) == 1  # only the query's reader stays open
    assert not opened  # and it is closed with the query


def test_fast_mode_reads_every_role_from_one_reader():
    opened, made = set(), []
    agent = VideoMindAgent(
        ScriptedBackend(), AgentOptions(fast=True), open_video=_counting_opener(opened, made)
    )
    agent.run("v.mp4", "What colour?", ["red", "green"])
    assert len(made) == 1 and not opened
