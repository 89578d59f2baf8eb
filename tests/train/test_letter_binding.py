"""recipes.letter_binding: letter-only training on the presence questions with their clips, held-out scores."""

import json

import torch
import torch.nn.functional as F

from recipes.letter_binding import held_out, letter_only, run
from recipes.pointer_warmup import WORDS, pointer_accuracy
from recipes.presence_questions import write_presence
from videomind.data.collator import IGNORE_INDEX
from videomind.model import build_tiny_model, load_model
from videomind.model.tiny import TinyShape
from videomind.train.saving import save_base_run


def _presence_and_base(tmp_path, synth_root):
    """Half-hinted presence questions from the synthetic world and a fresh tiny base in tmp_path/base."""
    presence = tmp_path / "presence"
    write_presence(synth_root, presence, per_video=8, seed=1, hinted=0.5)
    model, processor = build_tiny_model(seed=0, roles=(), shape=TinyShape(vocabulary=WORDS))
    save_base_run(model, processor, tmp_path / "base")
    return presence


def _glance_work(tmp_path, synth_root, monkeypatch, phases):
    """A recipe work folder holding the synthetic world and a fresh runs/tiny-pointer, with small glance phases."""
    from recipes import tiny_curriculum

    work = tmp_path / "work"
    (work / "data").mkdir(parents=True)
    (work / "data" / "synthetic").symlink_to(synth_root)
    model, processor = build_tiny_model(seed=0, roles=(), shape=TinyShape(vocabulary=WORDS))
    save_base_run(model, processor, work / "runs" / "tiny-pointer")
    monkeypatch.setattr(tiny_curriculum, "GLANCE_PHASES", phases)
    monkeypatch.setattr(tiny_curriculum, "GLANCE_BATCH_AND_RATE", (2, 5e-4))
    monkeypatch.setattr(tiny_curriculum, "GLANCE_HELD_OUT", 2)
    return work


def test_held_out_questions_come_from_the_tail_split_by_hint():
    records = [{"options": ["a", "b"], "extra": {"hinted": i % 3 == 0}} for i in range(2500)]
    scored = held_out(records, 5)
    assert all(i >= 500 for ids in scored.values() for i in ids)
    assert all(records[i]["extra"]["hinted"] for i in scored["hinted"]) and len(scored["hinted"]) == 5
    assert not any(records[i]["extra"]["hinted"] for i in scored["unhinted"]) and len(scored["unhinted"]) == 5


def test_letter_training_on_clips_reports_hinted_and_unhinted_scores(tmp_path, synth_root):
    presence = _presence_and_base(tmp_path, synth_root)
    lines = [json.loads(line) for line in (presence / "train.jsonl").read_text().splitlines()]
    hinted = sum(bool(line["extra"].get("hinted")) for line in lines)
    assert hinted >= 1 and len(lines) - hinted >= 1 and len(lines) >= 6
    report = run(tmp_path / "base", presence / "train.jsonl", steps=2, batch_size=2, held_out_count=2,
                 eval_every=1, save=tmp_path / "bound")  # fmt: skip
    assert report["held_out"] == {"hinted": min(2, hinted), "unhinted": min(2, len(lines) - hinted)}
    assert [point["step"] for point in report["curve"]] == [1, 2]
    for point in [report["before"], *report["curve"]]:
        for name in ("hinted", "unhinted", "unhinted_blank"):
            assert 0.0 <= point[name]["accuracy"] <= 100.0 and point[name]["top_letter_share"] >= 50.0
            kinds = point[name]["by_type"]
            assert set(kinds) <= {"shown", "colour", "kind", "never"} and kinds
            assert all(0.0 <= v <= 100.0 for v in kinds.values())
    # the starting model's reading of the hinted questions without their clips' content: blank clips, and as text
    assert report["before"]["hinted_blank"]["by_type"].keys() == report["before"]["hinted"]["by_type"].keys()
    start, processor = load_model(tmp_path / "base", device="cpu", dtype="float32")
    kept = [lines[i] for i in held_out(lines, 2)["hinted"]]
    as_text = [(r["question"], r["options"], "ABCD".index(r["answer"])) for r in kept]
    assert report["before"]["hinted_as_text"] == pointer_accuracy(start, processor, len(kept), hinted=as_text)
    assert "hinted_blank" not in report["curve"][-1]  # measured once, before training
    json.dumps(report)  # the report is plain JSON
    # --save keeps the trained model as a base folder the next stage loads
    from safetensors.torch import load_file

    before, after = (load_file(tmp_path / f / "model.safetensors") for f in ("base", "bound"))
    assert before.keys() == after.keys()
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_letter_only_keeps_the_answer_letter_alone(tmp_path, synth_root):
    from videomind.data.collator import encode_example
    from videomind.data.conversations import answering_example
    from videomind.data.registry import get_source
    from videomind.video import open_video

    presence = tmp_path / "presence"
    write_presence(synth_root, presence, per_video=2, seed=1)
    sample = get_source("custom", presence).load("train")[0]
    _, processor = build_tiny_model(seed=0, roles=(), shape=TinyShape(vocabulary=WORDS))
    with open_video(sample.video) as reader:
        frames = reader.get_frames(range(4))
    item = letter_only(encode_example(answering_example(sample), frames, processor), processor.tokenizer)
    kept = (item["labels"] != IGNORE_INDEX).nonzero().flatten().tolist()
    assert len(kept) == 1
    assert processor.tokenizer.decode([int(item["labels"][kept[0]])]) == sample.answer


def test_a_killed_binding_run_resumes_to_the_same_model(tmp_path, synth_root, monkeypatch):
    import types

    import pytest
    from safetensors.torch import load_file

    from recipes import letter_binding

    presence = _presence_and_base(tmp_path, synth_root)
    kw = dict(steps=4, batch_size=2, held_out_count=1, eval_every=2)
    whole = run(tmp_path / "base", presence / "train.jsonl", save=tmp_path / "whole", **kw)

    calls = []

    def cross_entropy(*args, **kwargs):  # the training loop's loss; dies in step 3
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return F.cross_entropy(*args, **kwargs)

    monkeypatch.setattr(letter_binding, "F", types.SimpleNamespace(cross_entropy=cross_entropy))
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "base", presence / "train.jsonl", save=tmp_path / "cut", **kw)
    assert (tmp_path / "cut" / letter_binding.CHECKPOINT).is_file()
    assert not (tmp_path / "cut" / letter_binding.REPORT).exists()
    monkeypatch.undo()
    resumed = run(tmp_path / "base", presence / "train.jsonl", save=tmp_path / "cut", **kw)

    assert not (tmp_path / "cut" / letter_binding.CHECKPOINT).exists()
    assert json.loads((tmp_path / "cut" / letter_binding.REPORT).read_text())["curve"][-1]["step"] == 4
    assert [p["step"] for p in resumed["curve"]] == [2, 4] and resumed["before"] == whole["before"]
    a, b = (load_file(tmp_path / f / "model.safetensors") for f in ("whole", "cut"))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_the_recipe_glance_stage_trains_from_the_pointer_and_is_skipped_once_done(
    tmp_path, synth_root, monkeypatch
):
    from recipes import tiny_curriculum

    phases = (
        ("glance-mixed", ("colour_seen", "kind_seen"), 0, 12, 2),
        ("glance", {"colour_seen": 1.0, "kind_seen": 2.0}, 1, 12, 3),
    )
    work = _glance_work(tmp_path, synth_root, monkeypatch, phases)
    tiny_curriculum.stage_glance(work)
    reports = {}
    for name, types, _, _, steps in phases:
        lines = (work / "data" / name / "train.jsonl").read_text().splitlines()
        assert lines and {json.loads(line)["extra"]["presence_type"] for line in lines} <= set(types)
        reports[name] = json.loads((work / "runs" / f"tiny-{name}" / "letter_binding.json").read_text())
        assert reports[name]["curve"][-1]["step"] == steps
    # each phase starts from the one before
    assert reports["glance-mixed"]["base"] == "runs/tiny-pointer"
    assert reports["glance"]["base"] == "runs/tiny-glance-mixed"
    assert (work / "runs" / "tiny-glance" / "model.safetensors").is_file()
    # the language model learns to look; the tower keeps what its warm-up taught
    from safetensors.torch import load_file

    start, glanced = (
        load_file(work / "runs" / f / "model.safetensors") for f in ("tiny-pointer", "tiny-glance")
    )
    assert all(torch.equal(start[k], glanced[k]) for k in start if k.startswith("visual."))
    assert any(not torch.equal(start[k], glanced[k]) for k in start if k.startswith("model.layers."))
    assert reports["glance"]["freeze_vision"] is True
    stamp = (work / "runs" / "tiny-glance" / "model.safetensors").stat().st_mtime_ns
    tiny_curriculum.stage_glance(work)  # finished: nothing is trained again
    assert (work / "runs" / "tiny-glance" / "model.safetensors").stat().st_mtime_ns == stamp


def test_a_run_below_its_gate_stops_at_the_gate_step_and_keeps_its_checkpoint(
    tmp_path, synth_root, monkeypatch
):
    import pytest

    from recipes import letter_binding

    presence = _presence_and_base(tmp_path, synth_root)
    kw = dict(steps=4, batch_size=2, held_out_count=1, eval_every=2)
    with pytest.raises(letter_binding.GateMissed, match="at step 2 is below the gate's 101 %"):
        run(tmp_path / "base", presence / "train.jsonl", save=tmp_path / "low", gate=(2, 101.0), **kw)
    missed = json.loads((tmp_path / "low" / letter_binding.GATE_MISSED).read_text())
    assert missed["gate"] == {"step": 2, "unhinted": 101.0}
    assert [p["step"] for p in missed["curve"]] == [2]
    assert (tmp_path / "low" / letter_binding.CHECKPOINT).is_file()
    assert not (tmp_path / "low" / letter_binding.REPORT).exists()
    # a bar the run clears lets it finish; the command line says which run stopped by its exit status
    passed = run(tmp_path / "base", presence / "train.jsonl", save=tmp_path / "high", gate=(2, 0.0), **kw)
    assert passed["curve"][-1]["step"] == 4 and not (tmp_path / "high" / letter_binding.GATE_MISSED).exists()
    args = [str(tmp_path / "base"), "--presence", str(presence / "train.jsonl"), "--steps", "2", "--batch-size",
            "2", "--held-out", "1", "--eval-every", "1", "--gate", "1", "101"]  # fmt: skip
    monkeypatch.setattr(torch, "set_num_threads", lambda threads: None)  # main's, for the rest of the session
    assert letter_binding.main(args) == letter_binding.GATE_EXIT_CODE


def test_the_recipe_glance_stage_stops_at_its_gate_and_a_resumed_recipe_stops_there_too(
    tmp_path, synth_root, monkeypatch
):
    import pytest

    from recipes import letter_binding, tiny_curriculum

    phases = (("glance-mixed", ("colour_seen", "kind_seen"), 0, 12, 2), ("glance", ("kind_seen",), 1, 12, 2))
    work = _glance_work(tmp_path, synth_root, monkeypatch, phases)
    monkeypatch.setattr(tiny_curriculum, "GLANCE_GATE", (2, 101.0))  # a bar no run clears
    with pytest.raises(RuntimeError, match=r"at step 2, below the gate's 101 %: the model does not look"):
        tiny_curriculum.stage_glance(work)
    missed = work / "runs" / "tiny-glance-mixed" / letter_binding.GATE_MISSED
    assert missed.is_file() and not (work / "runs" / "tiny-glance-mixed" / letter_binding.REPORT).exists()
    assert not (work / "runs" / "tiny-glance").exists()  # the second phase never started
    stamp = missed.stat().st_mtime_ns
    with pytest.raises(RuntimeError, match="delete .* to train on past the gate"):
        tiny_curriculum.stage_glance(work)  # resumed: stops again without training
    assert missed.stat().st_mtime_ns == stamp


def test_descriptions_train_their_whole_reply_and_are_never_scored(tmp_path, synth_root, monkeypatch):
    import types

    from recipes import letter_binding

    _presence_and_base(tmp_path, synth_root)
    write_presence(synth_root, tmp_path / "describe", per_video=20, seed=2, types=["describe"])
    write_presence(synth_root, tmp_path / "mcq", per_video=1, seed=3, hinted=0.5)
    described = (tmp_path / "describe" / "train.jsonl").read_text().splitlines()
    questions = (tmp_path / "mcq" / "train.jsonl").read_text().splitlines()
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "train.jsonl").write_text("\n".join([*described, *questions]) + "\n")
    records = [json.loads(line) for line in [*described, *questions]]
    scored = held_out(records, len(questions))  # every question held out: only descriptions are trained
    assert sorted(scored["hinted"] + scored["unhinted"]) == list(range(len(described), len(records)))

    targets = []

    def cross_entropy(logits, target, *args, **kwargs):
        targets.append(target.numel())
        return F.cross_entropy(logits, target, *args, **kwargs)

    monkeypatch.setattr(letter_binding, "F", types.SimpleNamespace(cross_entropy=cross_entropy))
    report = run(tmp_path / "base", mixed / "train.jsonl", steps=2, batch_size=2,
                 held_out_count=len(questions), eval_every=2)  # fmt: skip
    # two descriptions a step, each "The background is ... It shows ..." with every token supervised
    assert len(targets) == 2 and min(targets) > 2 * 12
    assert report["curve"][-1]["train_last_100_steps"] is None  # no letter was trained
    assert report["held_out"] == {k: len(v) for k, v in scored.items()}


def test_a_frozen_vision_side_keeps_its_weights_while_the_language_model_trains(tmp_path, synth_root):
    from safetensors.torch import load_file

    presence = _presence_and_base(tmp_path, synth_root)
    report = run(tmp_path / "base", presence / "train.jsonl", steps=2, batch_size=2, held_out_count=1,
                 eval_every=2, save=tmp_path / "lm", freeze_vision=True)  # fmt: skip
    before, after = (load_file(tmp_path / f / "model.safetensors") for f in ("base", "lm"))
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert any(k.startswith("model.layers.") for k in changed)
    assert not any(k.startswith("visual.") for k in changed)  # the tower and its merger as they were
    assert report["freeze_vision"] is True
    unfrozen = run(tmp_path / "base", presence / "train.jsonl", steps=2, batch_size=2, held_out_count=1,
                   eval_every=2, save=tmp_path / "all")  # fmt: skip
    trained = load_file(tmp_path / "all" / "model.safetensors")
    assert any(not torch.equal(before[k], trained[k]) for k in before if k.startswith("visual."))
    assert unfrozen["freeze_vision"] is False
