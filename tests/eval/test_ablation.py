"""The ablation runner on a tiny random checkpoint: every setting runs, is scored and reported."""

import json

from videomind.eval.ablation import SETTINGS, markdown_table, run_ablation, spread


def test_spread_takes_evenly_and_deterministically():
    items = list(range(10))
    assert spread(items, 3) == [0, 3, 6]
    assert spread(items, None) == items and spread(items, 50) == items


def test_every_setting_runs_and_is_reported(world, tmp_path):
    data, ckpt, _ = world
    # random weights never stop talking: cap generation for the test
    report = run_ablation(ckpt, data, tmp_path, limit_grounding=3, limit_mcq=3, limit_qa=2, limit_planning=3,
                          device="cpu", max_new_tokens=8)  # fmt: skip
    assert list(report["settings"]) == list(SETTINGS)
    for name, metrics in report["settings"].items():
        assert (tmp_path / name / "predictions.jsonl").is_file()
        assert "Acc" in metrics, name
    assert report["settings"]["answerer"]["count"] == 5  # questions only
    assert report["settings"]["grounder"]["count"] == 8 and "R1@0.5" in report["settings"]["grounder"]
    assert set(report["grounder_top1_before_verifier"]) >= {"R1@0.5", "mIoU"}
    assert report["planner"]["count"] == 3 and 0 <= report["planner"]["valid_json"] <= 100
    assert json.loads((tmp_path / "ablation.json").read_text()) == report
    table = markdown_table(report)
    assert table.count("\n") == len(SETTINGS) + 1 and "full agent" in table
    blind = [json.loads(line) for line in (tmp_path / "blind" / "predictions.jsonl").read_text().splitlines()]
    assert all(line["error"] is None for line in blind)


def test_settings_measured_apart_end_in_one_report(world, tmp_path):
    data, ckpt, _ = world
    limits = {"limit_grounding": 2, "limit_mcq": 2, "limit_qa": 1, "device": "cpu", "max_new_tokens": 8}
    first = run_ablation(ckpt, data, tmp_path, settings=["grounder"], limit_planning=2, **limits)
    second = run_ablation(ckpt, data, tmp_path, settings=["blind", "answerer"], limit_planning=0, **limits)
    assert list(second["settings"]) == ["blind", "answerer", "grounder"]  # the order of SETTINGS
    assert second["settings"]["grounder"] == first["settings"]["grounder"]
    assert second["planner"] == first["planner"] and second["planner"]["count"] == 2
    assert json.loads((tmp_path / "ablation.json").read_text()) == second


def test_blind_reader_blanks_whole_clips_and_streamed_pieces(tmp_path):
    from videomind.eval.ablation import _blind_reader
    from videomind.video import GROUNDER_BUDGET, open_video
    from videomind.video.testing import make_test_video

    video = make_test_video(tmp_path / "v.mp4", seconds=4, fps=4, size=(56, 56))
    with open_video(video) as seeing:
        real = seeing.sample(GROUNDER_BUDGET)
    assert real.frames.any()
    with _blind_reader(str(video), num_threads=1) as reader:
        clip = reader.sample(GROUNDER_BUDGET)
        pieces = list(reader.sample_chunks(reader.plan(GROUNDER_BUDGET), 2))
        assert clip.indices == real.indices and reader.duration == seeing.duration
    assert not clip.frames.any() and clip.frames.shape == real.frames.shape
    assert sum(len(p) for p in pieces) == len(real) and not any(p.any() for p in pieces)
