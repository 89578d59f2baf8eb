"""The page's HTML: steps, answer and timeline (pure functions over records, no gradio)."""

import re

import pytest

from videomind.demo.render import (
    CHOSEN_COLOUR,
    answer_text,
    render_answer,
    render_step,
    render_timeline,
    render_trace,
    tick_step,
)
from videomind.records import AgentResult, AgentStep, Moment, Role, VideoView


def verified_result() -> AgentResult:
    candidates = [Moment(6.0, 12.0, 0.9), Moment(30.0, 42.0, 0.8), Moment(0.0, 60.0, 0.1)]
    return AgentResult(
        question="What colour is the dog?",
        duration=60.0,
        answer="B",
        response="B) green",
        options=["red", "green"],
        candidates=candidates,
        moments=[Moment(30.0, 42.0, 0.9), Moment(0.0, 60.0, 0.5), Moment(6.0, 12.0, 0.2)],
        verifier_scores=[0.2, 0.9, 0.5],
        grounder_success=True,
    )


def bars(html: str) -> list[dict]:
    pattern = r'class="(vm-moment[^"]*)" data-rank="(\d+)" data-start="([\d.]+)" data-end="([\d.]+)" data-score="([^"]+)"'
    return [
        {"chosen": "vm-chosen" in c, "rank": int(r), "start": float(s), "end": float(e), "score": sc}
        for c, r, s, e, sc in re.findall(pattern, html)
    ]


def test_timeline_draws_the_moments_best_first_with_the_chosen_one_highlighted():
    html = render_timeline(verified_result())
    found = bars(html)
    assert [(b["start"], b["end"], b["score"]) for b in found] == [
        (30.0, 42.0, "0.900"),
        (0.0, 60.0, "0.500"),
        (6.0, 12.0, "0.200"),
    ]
    assert [b["chosen"] for b in found] == [True, False, False]
    assert html.count(CHOSEN_COLOUR) == 1
    # positions are fractions of the duration: [30, 42] of 60 s -> left 50 %, width 20 %
    assert "left:50.00%;width:20.00%" in html
    # labels carry the verifier's score and the grounder's confidence for the same span
    assert "#1 · verifier 0.900 · grounder 0.800 · chosen" in html
    assert 'data-duration="60.000"' in html


def test_timeline_without_verifier_labels_confidences_and_limits_rows():
    result = AgentResult(question="q", duration=10.0, moments=[Moment(i, i + 1.0, 0.1 * i) for i in range(8)])
    html = render_timeline(result, max_rows=3)
    assert len(bars(html)) == 3 and "#2 · confidence 0.100" in html and "verifier" not in html


def test_timeline_when_the_planner_skipped_grounding():
    html = render_timeline(AgentResult(question="q", duration=10.0))
    assert "vm-no-moments" in html and "planner chose to answer" in html and not bars(html)


def test_timeline_clamps_moments_to_the_video():
    result = AgentResult(question="q", duration=10.0, moments=[Moment(-2.0, 12.0, 1.0)])
    assert "left:0.00%;width:100.00%" in render_timeline(result)


@pytest.mark.parametrize(
    ("duration", "step"), [(4.0, 0.5), (15.0, 2), (36.0, 5), (600.0, 120), (7200.0, 900)]
)
def test_tick_step_keeps_at_most_eight_intervals(duration, step):
    assert tick_step(duration) == step


def test_each_role_step_renders_what_it_found():
    view = VideoView(0.0, 60.0, 1.0, 60, 112, 112)
    plan = [{"type": "grounder", "value": "the dog runs"}, {"type": "verifier"}, {"type": "answerer"}]
    steps = [
        AgentStep(Role.PLANNER, "p", '[{"type": "grounder", ...}]', plan, view, 0.25),
        AgentStep(
            Role.GROUNDER, "g", "<|reg|>", [m.to_dict() for m in verified_result().candidates], view, 0.5
        ),
        AgentStep(Role.VERIFIER, "v", "", {"scores": [0.2, 0.9, 0.5], "ranks": [1, 2, 0]}, None, 0.1),
        AgentStep(Role.ANSWERER, "a", "B) green", "B", view, 0.3),
    ]
    html = render_trace(steps)
    assert [m for m in re.findall(r'data-role="(\w+)"', html)] == [
        "planner",
        "grounder",
        "verifier",
        "answerer",
    ]
    assert "Rephrased query: <b" in html and "the dog runs" in html
    assert "Localise the relevant moment" in html and "Verify the candidate moments" in html
    assert "6.0 s – 12.0 s" in html and "0.900" in html  # grounder table
    # verifier row 2 is candidate [30, 42] with P(Yes) 0.9 and new rank 1
    assert re.search(r"<td[^>]*>2</td><td[^>]*>30.0 s – 42.0 s</td><td[^>]*>0.900</td><td[^>]*>1</td>", html)
    assert "saw 60 frames of 0.0 s – 1:00.0 at 1 fps" in html
    assert "Working" not in html and "Working" in render_trace(steps[:1], running=True)


def test_notes_and_invalid_plans_are_shown():
    step = AgentStep(Role.PLANNER, "p", "not json", None, None, 0.1, "planner: invalid JSON")
    html = render_step(step)
    assert "No valid plan" in html and "note: planner: invalid JSON" in html


def test_model_and_user_text_is_escaped():
    step = AgentStep(
        Role.ANSWERER, "a", "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", None, 0.1
    )
    html = render_trace([step])
    assert "<script>" not in html and "<img" not in html and "&lt;script&gt;" in html
    result = AgentResult(question="q", duration=5.0, response="<b>x</b>", fallbacks=["<i>y</i>"])
    assert "<b>x</b>" not in render_answer(result) and "&lt;i&gt;y&lt;/i&gt;" in render_answer(result)


def test_answer_text():
    assert answer_text(verified_result()) == "(B) green"
    assert answer_text(AgentResult(question="q", duration=1.0, answer="a dog")) == "a dog"
    assert answer_text(AgentResult(question="q", duration=1.0, response=" free text ")) == "free text"
    assert answer_text(AgentResult(question="q", duration=1.0)) == "(no answer)"
    html = render_answer(verified_result())
    assert "Answer: <b>(B) green</b>" in html and "Chosen moment: <b>30.0 s – 42.0 s</b>" in html
    assert "Searched for" not in html  # the question itself was grounded
    cleaned = verified_result()
    cleaned.question, cleaned.query = "Find the dog.", "Find the dog"
    assert "Searched for" not in render_answer(cleaned)  # only cleaned, not rephrased
    rephrased = verified_result()
    rephrased.query = "the dog <runs>"
    assert (
        'Searched for (the planner\'s query): <b class="vm-query">the dog &lt;runs&gt;</b>'
        in render_answer(rephrased)
    )
