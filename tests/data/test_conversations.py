"""Samples -> role conversations: prompts, targets, windows and the official verifier IoU rule."""

import json
import random

import pytest

from videomind import prompts
from videomind.data.conversations import (
    ANSWER_CROP_JITTER,
    CAPTION_PROMPT,
    DESCRIBE_BUDGET,
    DESCRIBE_PROMPT,
    ExampleSettings,
    answering_example,
    build_examples,
    captioning_example,
    describing_examples,
    grounding_example,
    jittered_window,
    planning_example,
    timing_example,
    verifier_label,
    verifying_example,
    verifying_samples_from_predictions,
)
from videomind.errors import DataError
from videomind.records import Sample
from videomind.video.budget import (
    ANSWERER_BUDGET,
    GROUNDER_BUDGET,
    PLANNER_BUDGET,
    VERIFIER_BUDGET,
    FrameBudget,
)


def sample(**kw):
    base = dict(id="s1", source="t", video="/v.mp4", duration=16.0)
    base.update(kw)
    return Sample(**base)


def test_grounding_example_cleans_the_query_and_keeps_spans():
    ex = grounding_example(sample(query="  the red   circle appears. ", spans=[(2.0, 5.5), (9.0, 14.0)]))
    assert ex.prompt == prompts.GROUNDER_PROMPT.format("the red circle appears")
    assert ex.response == "The relevant moment happens in <|reg|>."
    assert ex.spans == ((2.0, 5.5), (9.0, 14.0))
    assert ex.budget == GROUNDER_BUDGET and ex.window is None and ex.task == "grounding"
    assert ex.messages()[-1] == {"role": "assistant", "content": ex.response}
    assert ex.messages()[0]["content"][1]["text"] == ex.prompt


@pytest.mark.parametrize(
    "candidate, spans, positive",
    [
        ((5.0, 8.0), [(6.0, 9.0)], True),  # inter 2, union 4: IoU exactly 0.5 counts
        ((5.0, 8.0), [(7.0, 10.0)], False),  # inter 1, union 5: 0.2
        ((5.0, 8.0), [(7.0, 10.0), (5.0, 7.5)], True),  # best span: 2.5 / 3
        ((3.0, 3.0), [(3.0, 3.0)], False),  # 0/0 = NaN counts as 0
        ((5.0, 8.0), [], False),
    ],
)
def test_verifier_label_follows_the_official_iou_rule(candidate, spans, positive):
    assert verifier_label(candidate, spans) is positive


def test_verifying_example_zooms_in_and_labels_by_iou():
    s = sample(
        query="A red circle moves.", spans=[(5.0, 8.0)], extra={"candidate": [5.0, 8.0], "label": "No"}
    )
    ex = verifying_example(s)
    assert ex.window == (3.5, 9.5) and ex.segment == (
        0.25,
        0.75,
    )  # REFERENCE s.4.2: half the length each side
    assert ex.response == "Yes."  # the IoU rule wins over a stale label
    assert ex.prompt == prompts.VERIFIER_PROMPT.format("A red circle moves.")  # the query as given
    assert ex.budget == VERIFIER_BUDGET


def test_verifying_example_near_the_start_and_without_ground_truth():
    s = sample(query="q", extra={"candidate": [0.5, 1.0], "label": "Yes"})
    ex = verifying_example(s)
    # widened to 2 s around its centre, kept inside the video: (0, 2); padded by 1 s: (-1, 3) -> (0, 3)
    assert ex.window == (0.0, 3.0)
    assert ex.segment == pytest.approx((0.0, 2 / 3))
    assert ex.response == "Yes."  # no spans: the sample's label


def test_verifying_example_needs_a_candidate():
    with pytest.raises(DataError, match="candidate"):
        verifying_example(sample(query="q", spans=[(1.0, 2.0)]))


def test_planning_examples_for_each_route():
    one = planning_example(sample(question="What  colour is it?", extra={"route": 1, "query": "a shape"}))
    assert one.prompt == prompts.PLANNER_PROMPT.format("What colour is it?")
    assert (
        one.response
        == '[{"type": "grounder", "value": "a shape"}, {"type": "verifier"}, {"type": "answerer"}]'
    )
    assert one.budget == PLANNER_BUDGET
    four = planning_example(sample(question="How many?", extra={"route": 4, "query": None}))
    assert four.response == '[{"type": "answerer"}]'


def test_answering_mcq_style_and_official_style():
    s = sample(question="Which shape moves?", options=["circle", "star"], answer="B", answer_text="star")
    ex = answering_example(s)
    assert (
        ex.prompt == "Which shape moves?\nOptions:\n(A) Circle\n(B) Star\nPlease only give the best option."
    )
    assert ex.response == "Best Option: (B) Star"  # the option as the prompt shows it
    assert ex.budget == ANSWERER_BUDGET and ex.window is None
    raw = answering_example(s, ExampleSettings(answer_style="official"))
    assert (raw.prompt, raw.response) == ("Which shape moves?", "star")


def test_answering_letter_from_answer_text_and_crop():
    s = sample(question="Q?", options=["red", "blue"], answer_text="blue", spans=[(4.0, 7.0)], duration=30.0)
    ex = answering_example(s, ExampleSettings(answer_crop=True))
    assert ex.response == "Best Option: (B) Blue"
    # (4, 7) widened to 16 s around its centre 5.5, kept inside the video -> (0, 16)
    assert ex.window == (0.0, 16.0) and ex.jitter == ANSWER_CROP_JITTER


def test_jittered_window_stays_within_a_quarter_of_the_length():
    s = sample(question="Q?", answer_text="x", spans=[(20.0, 24.0)], duration=60.0)
    ex = answering_example(s, ExampleSettings(answer_crop=True))
    assert ex.window == (14.0, 30.0)
    rng = random.Random(0)
    for _ in range(50):
        start, end = jittered_window(ex, 60.0, rng)
        assert 10.0 <= start <= 18.0 and 26.0 <= end <= 34.0
    assert jittered_window(grounding_example(sample(query="q", spans=[(1, 2)])), 16.0, rng) is None


def test_captioning_merges_repeated_steps():
    caps = [
        {"start": 0.0, "end": 1.0, "text": "nothing"},
        {"start": 1.0, "end": 2.0, "text": "blue square"},
        {"start": 2.0, "end": 3.0, "text": "blue square"},
        {"start": 3.0, "end": 4.5, "text": "red star moving left"},
    ]
    ex = captioning_example(sample(extra={"captions": caps}))
    assert ex.prompt == CAPTION_PROMPT
    assert ex.response == "0-1 s: nothing\n1-3 s: blue square\n3-4.5 s: red star moving left"


def test_describing_gives_one_short_clip_per_caption_run():
    caps = [
        {"start": 0.0, "end": 1.0, "text": "nothing"},
        {"start": 1.0, "end": 2.0, "text": "blue square"},
        {"start": 2.0, "end": 5.0, "text": "blue square"},
        {"start": 5.0, "end": 6.5, "text": "red star moving left"},
    ]
    examples = describing_examples(sample(extra={"captions": caps}))
    assert [e.response for e in examples] == ["nothing", "blue square", "red star moving left"]
    assert [e.window for e in examples] == [(0.0, 1.0), (1.0, 3.0), (5.0, 6.5)]  # at most 2 s of each run
    assert len({e.id for e in examples}) == 3
    assert all(e.prompt == DESCRIBE_PROMPT and e.task == "describing" for e in examples)
    built = build_examples([sample(extra={"captions": caps}), sample(id="s2", extra={"captions": caps[:1]})],
                           "describing")  # fmt: skip
    assert len(built) == 4 and built[-1].id.startswith("s2")
    assert DESCRIBE_BUDGET.max_frames == 4


def test_timing_answers_in_text():
    ex = timing_example(sample(query="the red circle appears", spans=[(5.5, 9.0)]))
    assert ex.response == "From 5.5 to 9 seconds."
    assert "'the red circle appears'" in ex.prompt


def test_build_examples_rejects_unknown_tasks_and_unfit_samples():
    with pytest.raises(DataError, match="unknown task"):
        build_examples([], "dancing")
    with pytest.raises(DataError, match="no query"):
        build_examples([sample(spans=[(1.0, 2.0)])], "grounding")


def test_custom_budget_is_used():
    budget = FrameBudget(fps=0.5, max_frames=8, min_pixels=784, max_pixels=3136)
    ex = grounding_example(sample(query="q", spans=[(1, 2)]), ExampleSettings(budgets={"grounding": budget}))
    assert ex.budget == budget


def test_verifier_samples_from_our_prediction_lines(tmp_path):
    truth = sample(id="a", query="the dog runs", spans=[(10.0, 20.0)], duration=60.0)
    line = {
        "id": "a",
        "benchmark": "x",
        "sample": truth.to_dict(),
        "pred": [[0.0, 1.0]],  # after the verifier: ignored when the grounder's ranking is kept
        "pred_ori": [[10.0, 19.0], [30.0, 40.0], [12.0, 22.0], [0.0, 60.0], [11.0, 20.0], [10.0, 20.0]],
    }
    (tmp_path / "output_0.jsonl").write_text(json.dumps(line) + "\n")
    out = verifying_samples_from_predictions(tmp_path)
    assert [s.extra["candidate"] for s in out] == line["pred_ori"][:5]  # the top 5 only
    assert [s.extra["label"] for s in out] == ["Yes", "No", "Yes", "No", "Yes"]  # IoU .9, 0, 8/12, 1/6, .9
    assert [s.id for s in out] == [f"a/{k}" for k in range(5)]
    assert out[0].spans == ((10.0, 20.0),) and out[0].query == "the dog runs" and out[0].duration == 60.0
    assert verifying_example(out[1]).response == "No."


def test_verifier_samples_from_an_official_file(tmp_path):
    records = [{"video_path": "data/qvhighlights/videos/v.mp4", "duration": 30.0, "query": "a man talks",
                "span": [[0.0, 4.0], [10.0, 14.0]], "pred": [[10.0, 14.0], [2.0, 6.0]]}]  # fmt: skip
    path = tmp_path / "verifying_qvhighlights_2b.json"
    path.write_text(json.dumps(records))
    out = verifying_samples_from_predictions(path, root="/data")
    assert [s.extra["label"] for s in out] == ["Yes", "No"]  # 1.0; best 2/6
    assert out[0].video == "/data/qvhighlights/videos/v.mp4"


def test_missing_prediction_file_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="eval predict"):
        verifying_samples_from_predictions(tmp_path / "nope.jsonl")
