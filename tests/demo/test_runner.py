"""``stream_run``: the agent's steps as they finish, then the result; the agent's errors reach the caller."""

import threading

import pytest

from tests.agent.fakes import ScriptedBackend, fake_opener
from videomind.agent import AgentOptions, VideoMindAgent
from videomind.demo.runner import agent_lock, stream_run
from videomind.errors import UserInputError
from videomind.records import AgentResult, AgentStep, Role


def make_agent(backend=None):
    return VideoMindAgent(backend or ScriptedBackend(), AgentOptions(), open_video=fake_opener(60.0))


def test_steps_arrive_in_order_then_the_result():
    items = list(stream_run(make_agent(), "v.mp4", "What colour?", ["red", "green"], auto_planning=True))
    assert [type(i) for i in items] == [AgentStep] * 4 + [AgentResult]
    result = items[-1]
    assert [s.role for s in items[:-1]] == [Role.PLANNER, Role.GROUNDER, Role.VERIFIER, Role.ANSWERER]
    assert items[:-1] == result.trace and result.answer == "B"


def test_each_step_is_yielded_before_the_next_role_runs():
    release = threading.Event()

    class Slow(ScriptedBackend):
        def generate(self, role, clip, text, prefix, settings):
            if role == "answerer":
                assert release.wait(10), "the answerer ran before the consumer saw the verifier's step"
            return super().generate(role, clip, text, prefix, settings)

    seen = []
    for item in stream_run(make_agent(Slow()), "v.mp4", "Where?"):
        seen.append(item)
        if isinstance(item, AgentStep) and item.role == Role.VERIFIER:
            release.set()  # only now may the answerer go on
    assert isinstance(seen[-1], AgentResult)


def test_the_agent_errors_are_raised_to_the_consumer():
    with pytest.raises(UserInputError, match="between 2 and 26 options"):
        list(stream_run(make_agent(), "v.mp4", "Where?", ["only one"]))


def test_runs_of_one_agent_do_not_overlap():
    agent = make_agent()
    lock = agent_lock(agent)
    assert lock is agent_lock(agent) and lock is not agent_lock(make_agent())
    with lock:  # a run in progress elsewhere: the stream waits for it
        stream = stream_run(agent, "v.mp4", "Where?")
        worker = threading.Thread(target=lambda: next(stream))
        worker.start()
        worker.join(0.3)
        assert worker.is_alive()
    worker.join(10)
    assert not worker.is_alive()
