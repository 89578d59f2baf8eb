"""recipes.verifier_auc: the verifier's ranking of held-out grounder candidates, as the agent scores them."""

import json

import pytest

from recipes.verifier_auc import candidates_report, checkpoints, main, official_line, roc_auc


def test_roc_auc_counts_pairs_and_half_ties():
    assert roc_auc([0.9, 0.8, 0.1, 0.2], [True, True, False, False]) == 1.0
    assert roc_auc([0.1, 0.2, 0.9, 0.8], [True, True, False, False]) == 0.0
    assert roc_auc([0.5, 0.5], [True, False]) == 0.5
    assert roc_auc([0.9, 0.5, 0.7], [True, False, True]) == 1.0
    assert roc_auc([0.6, 0.4, 0.5], [True, False, False]) == 1.0
    assert roc_auc([0.4, 0.6, 0.5], [True, False, False]) == 0.0
    assert roc_auc([0.5, 0.6], [True, True]) is None  # no negative


def test_report_compares_the_grounders_order_with_the_verifiers():
    scored = [
        ([False, True, False], [0.3, 0.7, 0.5]),  # the verifier lifts the right one to the top
        ([True, False, False], [0.4, 0.6, 0.5]),  # and here pushes a wrong one above the right one
        ([True, False], [0.5, 0.5]),  # a tie keeps the grounder's order
        ([False, False], [0.6, 0.2]),  # nothing right among the candidates
    ]
    report = candidates_report(scored)
    assert report["queries"] == 4 and report["candidates"] == 10 and report["positives"] == 3
    assert report["top1_grounder"] == 0.5 and report["top1_verifier"] == 0.5
    assert report["any_of_candidates"] == 0.75
    assert report["score_spread_within_query"] == pytest.approx((0.4 + 0.2 + 0.0 + 0.4) / 4)
    assert report["roc_auc"] == pytest.approx(roc_auc([0.3, 0.7, 0.5, 0.4, 0.6, 0.5, 0.5, 0.5, 0.6, 0.2],
                                                      [False, True, False, True, False, False, True, False,
                                                       False, False]))  # fmt: skip


def test_checkpoints_in_step_order_then_the_run(tmp_path):
    from videomind.train.checkpoints import COMPLETE_MARKER

    for name in ("checkpoint-1000", "checkpoint-500", "checkpoint-x", "other"):
        (tmp_path / name).mkdir()
        (tmp_path / name / COMPLETE_MARKER).touch()
    (tmp_path / "tmp-checkpoint-1500").mkdir()  # still being written
    assert checkpoints(tmp_path) == [(500, tmp_path / "checkpoint-500"), (1000, tmp_path / "checkpoint-1000"),
                                     (None, tmp_path)]  # fmt: skip


def test_scores_candidates_of_a_checkpoint_with_a_verifier(world, tmp_path):
    data, ckpt, root = world
    source_lines = [json.loads(line) for line in (data / "test_grounding.jsonl").read_text().splitlines()][:2]
    candidates = tmp_path / "held_out.jsonl"
    with open(candidates, "w") as file:
        for line in source_lines:
            span = line["span"][0]
            official = {"video_path": str(data / line["video_path"]), "duration": line["duration"],
                        "query": line["query"], "span": line["span"],
                        "pred": [span, [0.0, 1.0], [span[0], span[0] + 0.5]]}  # fmt: skip
            file.write(json.dumps(official) + "\n")
    out = tmp_path / "report" / "auc.json"
    assert main([str(ckpt), str(candidates), "--final-only", "--out", str(out)]) == 0
    (row,) = json.loads(out.read_text())["by_step"]
    assert row["step"] == "final" and row["queries"] == 2 and row["candidates"] == 6
    assert row["positives"] >= 2  # the ground truth itself is among each query's candidates
    assert row["top1_grounder"] == 1.0 and 0.0 <= row["top1_verifier"] <= 1.0
    assert 0.0 <= row["roc_auc"] <= 1.0


def test_verifier_pairs_are_scored_as_one_candidate_lines_labelled_by_the_pair(world, tmp_path):
    from recipes.presence_pairs import write_presence_pairs

    data, ckpt, _ = world
    assert write_presence_pairs(data, tmp_path / "pairs", per_video=2, split="test") > 0
    lines = [json.loads(line) for line in (tmp_path / "pairs" / "test.jsonl").read_text().splitlines()]
    yes, no = official_line(lines[0]), official_line(lines[1])
    assert yes["pred"] == no["pred"] == [lines[0]["extra"]["candidate"]]
    assert yes["span"] == yes["pred"] and no["span"] == []  # labelled Yes / No by the verifier's IoU rule
    out = tmp_path / "auc.json"
    assert main([str(ckpt), str(tmp_path / "pairs" / "test.jsonl"), "--final-only", "--out", str(out)]) == 0
    (row,) = json.loads(out.read_text())["by_step"]
    assert row["queries"] == row["candidates"] == len(lines) and row["positives"] == len(lines) // 2
    assert row["score_spread_within_query"] == 0.0 and 0.0 <= row["roc_auc"] <= 1.0
    # grounder prediction lines pass through unchanged
    official = {
        "video_path": "v.mp4",
        "duration": 9.0,
        "query": "q",
        "span": [[1.0, 2.0]],
        "pred": [[1.0, 2.0]],
    }
    assert official_line(official) is official
