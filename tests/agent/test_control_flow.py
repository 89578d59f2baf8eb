"""The agent's routing, fallbacks, rounding and re-ranking, driven by a scripted backend (no model)."""

import pytest

from tests.agent.fakes import ScriptedBackend, fake_opener
from videomind.agent import AgentOptions, VideoMindAgent
from videomind.errors import UserInputError
from videomind.records import AgentResult, Role


def agent(backend=None, duration=60.0, calls=None, **options):
    return VideoMindAgent(
        backend or ScriptedBackend(), AgentOptions(**options), open_video=fake_opener(duration, calls)
    )


def roles(backend):
    return [c[0] for c in backend.calls]


def test_default_is_the_official_evaluation_order():
    backend = ScriptedBackend(scores=[0.2, 0.9, 0.5])
    res = agent(backend).run("v.mp4", "What colour is the dog?", ["red", "green"])
    assert roles(backend) == ["grounder", "verifier", "answerer"]  # planner off by default (official scripts)
    assert res.roles == [Role.GROUNDER, Role.VERIFIER, Role.ANSWERER]
    # candidates in seconds (x60), best first, then re-ordered by the verifier: [30,42] scored 0.9 wins
    assert [m.as_span() for m in res.candidates] == [(6.0, 12.0), (30.0, 42.0), (0.0, 60.0)]
    assert [m.as_span() for m in res.moments] == [(30.0, 42.0), (0.0, 60.0), (6.0, 12.0)]
    assert res.verifier_scores == [0.2, 0.9, 0.5]
    assert res.answer == "B"
    # the verifier sees the raw question (official evaluation script), the answerer the mcq prompt + prefix
    assert "What colour is the dog?" in backend.calls[1][1]
    assert backend.calls[2][2] == "Best Option: ("


def test_planner_routes_to_answerer_only():
    backend = ScriptedBackend(plan='[{"type": "answerer"}]')
    res = agent(backend, auto_planning=True).run("v.mp4", "How many shapes appear?", ["1", "2"])
    assert roles(backend) == ["planner", "answerer"]
    assert res.moments == [] and res.grounder_success is None


def test_rephrasing_changes_the_grounder_query():
    backend = ScriptedBackend(plan='[{"type": "grounder", "value": "the dog runs."}, {"type": "verifier"}]')
    res = agent(backend, auto_rephrasing=True).run("v.mp4", "What does the dog do after it barks?")
    assert res.query == "the dog runs"  # cleaned like parse_query
    assert "'the dog runs'" in backend.calls[1][1]
    # without the switch the planner's value is ignored
    backend = ScriptedBackend()
    res = agent(backend, auto_planning=True).run("v.mp4", "What does the dog do after it barks?")
    assert res.query == "What does the dog do after it barks?"


def test_invalid_plan_json_falls_back_to_grounding_the_question():
    backend = ScriptedBackend(plan="I think we should ground it")
    res = agent(backend, auto_planning=True, auto_rephrasing=True).run("v.mp4", "Where is the cat?")
    assert roles(backend) == ["planner", "grounder", "verifier", "answerer"]
    assert res.query == "Where is the cat?" and res.plan is None
    assert any("planner" in f for f in res.fallbacks)


def test_grounder_failure_uses_official_fallbacks():
    backend = ScriptedBackend(rows=None)
    res = agent(backend).run("v.mp4", "Where is the cat?")
    assert res.grounder_success is False
    assert [m.as_span() for m in res.candidates] == [(0, 20), (10, 30), (20, 40), (30, 50), (40, 60)]
    assert all(m.score == 0.0 for m in res.candidates)
    no_verifier = ScriptedBackend(rows=None, roles=("grounder", "answerer"))
    res = agent(no_verifier).run("v.mp4", "Where is the cat?")
    assert [m.as_span() for m in res.moments] == [(0.0, 60.0)]


def test_candidates_are_clamped_and_rounded_to_the_unit():
    backend = ScriptedBackend(rows=[[-0.1, 0.123456, 0.9], [0.9, 1.3, 0.5]])
    res = agent(backend, round_unit=2.0, use_verifier=False).run("v.mp4", "q?")
    assert [m.as_span() for m in res.moments] == [(0.0, 8.0), (54.0, 60.0)]  # 7.41 -> 8, 0.9*60 = 54


def test_answer_crop_min_length_and_single_candidate_skips_verifier():
    calls = []
    backend = ScriptedBackend(rows=[[0.5, 0.52, 0.9]])
    res = agent(backend, calls=calls).run("v.mp4", "q?", ["a", "b"])
    assert "verifier" not in roles(backend)  # one candidate: nothing to re-rank
    fps, start, end = calls[-1]  # the answerer's clip: [30, 31.2] widened to 32 s around its centre
    assert (start, end) == pytest.approx((14.6, 46.6))
    assert res.answer == "B"


def test_verifier_zoom_windows_and_bounds():
    calls = []
    backend = ScriptedBackend(rows=[[0.5, 0.6, 0.9], [0.0, 0.01, 0.5]], scores=[0.4, 0.6])
    agent(backend, calls=calls).run("v.mp4", "q?")
    # [30, 36] padded by 3 s each side; [0, 0.6] widened to 2 s then doubled and clamped at 0
    verifier_windows = [(s, e) for fps, s, e in calls if fps == 2.0][:2]
    assert verifier_windows == [pytest.approx((27.0, 39.0)), pytest.approx((0.0, 3.0))]
    bounds = backend.calls[1][2]
    assert bounds[0] == pytest.approx((0.25, 0.75)) and bounds[1] == pytest.approx((0.0, 2 / 3))


def test_mcq_letter_parsing_and_unparsable_answer_is_recorded():
    res = agent(ScriptedBackend(answer="C) blue")).run("v.mp4", "q?", ["red", "green", "blue"])
    assert res.answer == "C"
    res = agent(ScriptedBackend(answer="I am not sure")).run("v.mp4", "q?", ["red", "green", "blue"])
    assert res.answer is None and res.warnings


def test_bad_input_is_refused_clearly():
    a = agent()
    with pytest.raises(UserInputError, match="non-empty"):
        a.run("v.mp4", "  ")
    with pytest.raises(UserInputError, match="list of non-empty strings"):
        a.run("v.mp4", "q?", "red green")
    with pytest.raises(UserInputError, match="unknown agent option"):
        a.run("v.mp4", "q?", verifer=False)


def test_result_round_trips_through_json():
    import json

    res = agent(ScriptedBackend(scores=[0.3, 0.2, 0.1])).run("v.mp4", "q?", ["x", "y"])
    data = json.loads(json.dumps(res.to_dict()))
    assert AgentResult.from_dict(data).to_dict() == res.to_dict()


def test_ground_returns_top_k_and_verify_scores():
    backend = ScriptedBackend(scores=[0.1, 0.7, 0.3])
    moments = agent(backend).ground("v.mp4", "the dog", top_k=2)
    assert [m.as_span() for m in moments] == [(30.0, 42.0), (0.0, 60.0)]
    assert "answerer" not in roles(backend)
    backend = ScriptedBackend(scores=[0.9, 0.1])
    scores = agent(backend).verify("v.mp4", "the dog", moments)
    assert scores == [0.9, 0.1]


@pytest.mark.parametrize("fast", [True, False])
def test_verifying_no_moments_returns_no_scores(fast):
    backend = ScriptedBackend()
    assert agent(backend).verify("v.mp4", "the dog", [], fast=fast) == []


def test_ground_honours_a_top_k_above_the_verifiers_five():
    rows = [[i / 10, i / 10 + 0.05, 1.0 - i / 20] for i in range(8)]
    backend = ScriptedBackend(rows=rows, scores=[0.1 * (i + 1) for i in range(8)])
    moments = agent(backend).ground("v.mp4", "the dog runs", top_k=7)
    assert len(moments) == 7  # was 5: only the verifier's default five came back
    assert [m.score for m in moments] == pytest.approx([0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1])
    assert len(backend.calls[-1][2]) == 7  # the verifier scored every candidate it returns
    assert len(agent(ScriptedBackend(rows=rows)).ground("v.mp4", "the dog runs", top_k=3)) == 3


@pytest.mark.parametrize("top_k", [0, -3, 2.5, True])
def test_ground_refuses_a_top_k_below_one(top_k):
    with pytest.raises(UserInputError, match="top_k"):
        agent().ground("v.mp4", "the dog runs", top_k=top_k)


def test_overlong_questions_and_options_are_refused_before_any_model_work():
    backend = ScriptedBackend()
    with pytest.raises(UserInputError, match="characters long"):
        agent(backend).run("v.mp4", "why? " * 3000)
    with pytest.raises(UserInputError, match="option B"):
        agent(backend).run("v.mp4", "Which?", ["red", "x" * 5000])
    assert backend.calls == []
