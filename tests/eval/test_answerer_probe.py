"""recipes.answerer_probe: the answerer on evidence crops, whole videos and black frames, as the agent runs it."""

import json

from recipes.answerer_probe import VIEWS, main, probe, summary


def test_summary_counts_accuracy_letter_share_and_types():
    rows = [("colour_of", "A", "A"), ("colour_of", "B", "A"), ("count", "C", "A"), ("count", "D", None)]
    report = summary(rows)
    assert report["accuracy"] == 25.0 and report["questions"] == 4
    assert report["top_letter_share"] == 75.0  # "A" three times of four
    assert report["per_type"] == {"colour_of": 50.0, "count": 0.0}


def test_probe_runs_every_view_on_test_questions(world):
    data, ckpt, root = world
    report = probe(ckpt, root, questions=3, whole_video=2)
    assert set(report) == set(VIEWS)
    for view in VIEWS:
        assert report[view]["questions"] == 5
        assert 0.0 <= report[view]["accuracy"] <= 100.0
        assert report[view]["per_type"]


def test_the_report_goes_to_a_folder_not_made_yet(world, tmp_path):
    """The recipe runs the probe before the ablation has made its folder."""
    _, ckpt, root = world
    out = tmp_path / "ablation" / "answerer_probe.json"
    args = [str(ckpt), "--data", str(root), "--questions", "1", "--whole-video", "0", "--views", "blind"]
    assert main([*args, "--out", str(out)]) == 0
    assert json.loads(out.read_text())["blind"]["questions"] == 1
