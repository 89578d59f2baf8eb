"""recipes.answerer_probe: the answerer on evidence crops, whole videos and black frames, as the agent runs it."""

from recipes.answerer_probe import VIEWS, probe, summary


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
