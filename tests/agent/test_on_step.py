"""``VideoMindAgent.run(on_step=...)``: each role's step is handed over as soon as it is recorded."""

import pytest

from tests.agent.fakes import ScriptedBackend, fake_opener
from videomind.agent import AgentOptions, VideoMindAgent
from videomind.records import AgentStep, Role


def make_agent(backend=None, **options):
    return VideoMindAgent(backend or ScriptedBackend(), AgentOptions(**options), open_video=fake_opener(60.0))


def test_on_step_sees_every_step_in_order_while_the_run_is_going():
    seen: list[tuple[AgentStep, int]] = []
    backend = ScriptedBackend()

    def on_step(step):
        seen.append((step, len(backend.calls)))  # how far the run had got when the step arrived

    res = make_agent(backend, auto_planning=True).run(
        "v.mp4", "What colour is the dog?", ["a", "b"], on_step=on_step
    )
    assert [s.role for s, _ in seen] == [Role.PLANNER, Role.GROUNDER, Role.VERIFIER, Role.ANSWERER]
    assert [s for s, _ in seen] == res.trace  # the very records of the result's trace
    assert [calls for _, calls in seen] == [1, 2, 3, 4]  # each step arrives before the next role is called


def test_on_step_is_optional_and_its_errors_stop_the_run():
    assert make_agent().run("v.mp4", "Where is the cat?").roles[-1] == Role.ANSWERER

    def boom(step):
        raise RuntimeError("callback failed")

    with pytest.raises(RuntimeError, match="callback failed"):
        make_agent().run("v.mp4", "Where is the cat?", on_step=boom)
