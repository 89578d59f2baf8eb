"""recipes.pointer_warmup: the text-only "which option is X" stage of the tiny recipe."""

import json
import random
import shutil
from pathlib import Path

import pytest

from recipes.pointer_warmup import (
    LETTERS,
    WORDS,
    hinted_questions,
    main,
    phrase_question,
    pointer_accuracy,
    pointer_question,
    train_pointer,
)
from videomind.model import build_tiny_model, load_model
from videomind.model.tiny import TinyShape
from videomind.train.saving import save_base_run


def test_pointer_question_is_the_answerer_prompt_and_its_letter():
    _, processor = build_tiny_model(seed=0, roles=(), shape=TinyShape(vocabulary=WORDS))
    tokenizer = processor.tokenizer
    rng = random.Random(3)
    letters = set()
    for _ in range(40):
        ids, letter = pointer_question(processor, rng)
        text = tokenizer.decode(ids)
        assert text.endswith("Best Option: (")
        named = text.split("Which option is ")[1].split("?")[0]
        answer = tokenizer.decode([letter])
        assert answer in LETTERS
        assert f"({answer}) {named}\n" in text  # the letter is the named option's
        letters.add(answer)
    assert letters == set(LETTERS)  # the answer's place is drawn, not fixed


def _presence_file(path):
    records = [
        ("The video shows the blue square. Which shape is shown in the video?",
         ["the blue star", "the red square", "the blue square", "the blue circle"], "C", True),
        ("Which shape is shown in the video?", ["the red star", "the red square", "the blue star", "the white star"],
         "A", False),
        ("The star in the video is green. What colour is the star?", ["red", "green", "blue", "white"], "B", True),
    ]  # fmt: skip
    with open(path, "w") as file:
        for question, options, answer, hinted in records:
            line = {"question": question, "options": options, "answer": answer, "extra": {"hinted": hinted}}
            file.write(json.dumps(line) + "\n")
    return path


def test_phrase_questions_name_one_of_four_two_word_options_that_share_words():
    rng = random.Random(5)
    for _ in range(50):
        question, options, answer = phrase_question(rng)
        named = question.removeprefix("Which option is ").removesuffix("?")
        assert options[answer] == named and len(set(options)) == 4
        colour, kind = named.split()[1:]
        for other in options:  # every wrong option shares the colour or the kind with the answer
            assert other == named or (other.split()[1] == colour) != (other.split()[2] == kind)
    _, processor = build_tiny_model(seed=0, roles=(), shape=TinyShape(vocabulary=WORDS))
    asked = [pointer_question(processor, rng, phrase_share=0.5) for _ in range(60)]
    phrases = sum("Which option is the " in processor.tokenizer.decode(ids) for ids, _ in asked)
    assert 15 < phrases < 45
    # without phrases the words stream is drawn exactly as before
    plain, again = random.Random(1), random.Random(1)
    assert [pointer_question(processor, plain) for _ in range(5)] == [
        pointer_question(processor, again, phrase_share=0.0) for _ in range(5)
    ]


def test_hinted_presence_questions_are_asked_as_text(tmp_path):
    hinted = hinted_questions(_presence_file(tmp_path / "train.jsonl"))
    assert [answer for _, _, answer in hinted] == [2, 1]  # the unhinted question is left out
    _, processor = build_tiny_model(seed=0, roles=(), shape=TinyShape(vocabulary=WORDS))
    rng = random.Random(0)
    asked = [pointer_question(processor, rng, hinted, share=1.0) for _ in range(10)]
    texts = {processor.tokenizer.decode(ids) for ids, _ in asked}
    assert len(texts) == 2 and all("The video shows the blue square." in t or "is green." in t for t in texts)
    for ids, letter in asked:
        text, answer = processor.tokenizer.decode(ids), processor.tokenizer.decode([letter])
        assert answer == ("C" if "blue square" in text else "B")
        assert "<|vision_start|>" not in text  # the video is left out
    mixed = [pointer_question(processor, rng, hinted) for _ in range(60)]
    named = sum("Which option is" in processor.tokenizer.decode(ids) for ids, _ in mixed)
    assert 15 < named < 45  # half of each


def test_the_stage_trains_a_base_folder_and_writes_a_loadable_one(tmp_path):
    model, processor = build_tiny_model(seed=0, roles=(), shape=TinyShape(vocabulary=WORDS))
    save_base_run(model, processor, tmp_path / "vision")
    before = {k: v.clone() for k, v in model.base.named_parameters()}
    presence = _presence_file(tmp_path / "train.jsonl")
    assert main([str(tmp_path / "vision"), "--out", str(tmp_path / "pointer"), "--steps", "3",
                 "--batch-size", "4", "--log-every", "1", "--presence", str(presence)]) == 0  # fmt: skip
    report = json.loads((tmp_path / "pointer" / "pointer_warmup.json").read_text())
    assert [step for step, _ in report["accuracy_curve"]] == [1, 2, 3]
    assert set(report["held_out"]) == {"words", "phrases", "hinted"}  # too few hinted questions: all held out
    assert 0.0 <= report["held_out"]["words"]["accuracy"] <= 100.0
    trained, _ = load_model(tmp_path / "pointer", device="cpu", dtype="float32")
    after = dict(trained.base.named_parameters())
    changed = [name for name, value in before.items() if not value.equal(after[name])]
    assert any("embed_tokens" in name for name in changed)
    assert not any("visual" in name for name in changed)  # text only: the vision tower is untouched


def test_the_words_phase_ends_at_the_gate_or_its_cap(tmp_path):
    model, processor = build_tiny_model(seed=0, roles=(), shape=TinyShape(vocabulary=WORDS))
    hinted = hinted_questions(_presence_file(tmp_path / "train.jsonl"))
    train = dict(batch_size=2, learning_rate=1e-3, seed=0, log_every=50, hinted=hinted)
    # a gate of 0 % is reached as soon as there are 100 steps to judge by
    training = train_pointer(model, processor, steps=3, words_first=500, words_gate=0.0, **train)
    assert training.words_steps == 100 and training.curve[-1][0] == 103 and training.mixed_steps == 3
    # a gate never reached: the cap
    training = train_pointer(model, processor, steps=2, words_first=5, words_gate=101.0, **train)
    assert training.words_steps == 5 and training.curve[-1][0] == 7 and training.checks == []


def test_the_mixed_phase_is_checked_on_hinted_questions_and_ends_at_its_bar(tmp_path):
    model, processor = build_tiny_model(seed=0, roles=(), shape=TinyShape(vocabulary=WORDS))
    hinted = hinted_questions(_presence_file(tmp_path / "train.jsonl"))
    train = dict(batch_size=2, learning_rate=1e-3, seed=0, log_every=50, hinted=hinted, check_hinted=hinted)
    # checked every 2 steps and at the last one; a bar never reached: every step of the cap is run
    training = train_pointer(model, processor, steps=5, check_every=2, until_hinted=101.0, **train)
    assert [step for step, _ in training.checks] == [2, 4, 5] and training.mixed_steps == 5
    assert all(0.0 <= score <= 100.0 for _, score in training.checks)
    # a bar of 0 % is reached at the first check: the phase ends there
    training = train_pointer(model, processor, steps=50, check_every=3, until_hinted=0.0, **train)
    assert training.mixed_steps == 3 and training.curve[-1][0] == 3 and len(training.checks) == 1
    # a check is the held-out score of the model as it stands then
    assert training.checks[0][1] == pointer_accuracy(model, processor, len(hinted), hinted=hinted)["accuracy"]


def test_the_mixed_phase_decays_its_learning_rate_to_a_tenth(tmp_path, monkeypatch):
    import torch

    rates = []
    step = torch.optim.AdamW.step

    def recording(self, *args, **kwargs):
        rates.append(self.param_groups[0]["lr"])
        return step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.AdamW, "step", recording)
    model, processor = build_tiny_model(seed=0, roles=(), shape=TinyShape(vocabulary=WORDS))
    train = dict(batch_size=1, learning_rate=1.0, seed=0, log_every=50)
    train_pointer(model, processor, steps=4, words_first=2, words_gate=101.0, decay=True, **train)
    warm = [1 / 100, 2 / 100, 3 / 100, 4 / 100, 5 / 100, 6 / 100]  # the 100-step warm-up, then the decay
    decay = [1.0, 1 - 0.9 / 4, 1 - 1.8 / 4, 1 - 2.7 / 4]
    assert rates == pytest.approx([warm[0], warm[1]] + [w * d for w, d in zip(warm[2:], decay)])
    rates.clear()
    train_pointer(model, processor, steps=4, words_first=2, words_gate=101.0, **train)
    assert rates == pytest.approx(warm)  # without it the rate only warms up


def test_the_command_asks_for_a_base_or_a_fresh_preset(capsys):
    with pytest.raises(SystemExit) as raised:
        main([])
    assert raised.value.code == 2
    assert "--fresh" in capsys.readouterr().err


def test_a_fresh_model_can_take_its_init_from_another_seed_than_its_questions(tmp_path):
    import torch
    from safetensors.torch import load_file

    from videomind.train.config import load_config

    # the recipe's preset, narrowed so that the check is quick
    recipe_preset = Path(__file__).parents[2] / "configs" / "train" / "tiny_vision.yaml"
    narrow = {"hidden_size: 128": "hidden_size: 32", "intermediate_size: 256": "intermediate_size: 64",
              "num_layers: 4": "num_layers: 1", "mrope_section: [4, 6, 6]": "mrope_section: [2, 1, 1]"}  # fmt: skip
    text = recipe_preset.read_text()
    for wide, small in narrow.items():
        assert wide in text
        text = text.replace(wide, small)
    preset = tmp_path / "tiny_vision.yaml"
    preset.write_text(text)
    for init_seed in (None, 3):
        out = tmp_path / f"init-{init_seed}"
        seeds = [] if init_seed is None else ["--init-seed", str(init_seed)]
        assert main(["--fresh", str(preset), "--out", str(out), "--steps", "0", "--seed", "5", *seeds]) == 0
        report = json.loads((out / "pointer_warmup.json").read_text())
        assert report["seed"] == 5 and report["init_seed"] == (5 if init_seed is None else 3)
    shape = load_config(preset).model.tiny.shape()
    for init_seed, expected in ((None, 5), (3, 3)):  # no steps: the saved weights are the init's
        saved = load_file(str(tmp_path / f"init-{init_seed}" / "model.safetensors"))
        built, _ = build_tiny_model(seed=expected, roles=(), shape=shape)
        other, _ = build_tiny_model(seed=8 - expected, roles=(), shape=shape)
        name = "visual.blocks.0.attn.qkv.weight"
        reference = dict(built.base.named_parameters())
        key = next(k for k in reference if k.endswith(name))
        assert torch.equal(saved[name], reference[key])
        assert not torch.equal(saved[name], dict(other.base.named_parameters())[key])


def test_until_hinted_needs_the_checks_that_judge_it(tmp_path, capsys):
    with pytest.raises(SystemExit) as raised:
        main([str(tmp_path), "--out", str(tmp_path / "out"), "--until-hinted", "90"])
    assert raised.value.code == 2
    assert "--check-every" in capsys.readouterr().err


@pytest.mark.slow
def test_a_tiny_model_learns_the_pointer_at_the_wider_init():
    # the tiny preset's width and depth; at Qwen2-VL's 0.02 this stays at chance for thousands of steps
    shape = TinyShape(hidden_size=128, intermediate_size=256, num_layers=4, mrope_section=(4, 6, 6),
                      vocabulary=WORDS, initializer_range=0.09)  # fmt: skip
    model, processor = build_tiny_model(seed=0, roles=(), shape=shape)
    training = train_pointer(
        model, processor, steps=800, batch_size=32, learning_rate=1e-3, seed=0, log_every=100
    )
    assert training.curve[-1][0] == 800 and training.words_steps == 0
    held_out = pointer_accuracy(model, processor)
    assert held_out["accuracy"] >= 60.0, (training.curve, held_out)  # chance is 25 %


def test_the_recipe_joins_the_pointers_language_model_with_the_warmed_up_tower(tmp_path):
    import torch
    from safetensors.torch import load_file

    from recipes.tiny_curriculum import join_vision

    def base(seed, shape, name):
        model, processor = build_tiny_model(seed=seed, roles=(), shape=shape)
        return save_base_run(model, processor, tmp_path / name)

    shape = TinyShape(vocabulary=WORDS)
    language, vision = base(0, shape, "language"), base(1, shape, "vision")
    join_vision(language, vision, tmp_path / "joined")

    joined = load_file(str(tmp_path / "joined" / "model.safetensors"))
    parts = {
        "language": load_file(str(language / "model.safetensors")),
        "vision": load_file(str(vision / "model.safetensors")),
    }
    assert joined.keys() == parts["language"].keys()
    for key, tensor in joined.items():
        source = "vision" if key.startswith("visual.") else "language"
        assert torch.equal(tensor, parts[source][key]), key
    assert any(key.startswith("visual.") for key in joined)
    model, _ = load_model(tmp_path / "joined", device="cpu", dtype="float32")
    loaded = {n: t for n, t in model.named_parameters() if n.endswith("visual.blocks.0.attn.qkv.weight")}
    assert [torch.equal(t, parts["vision"]["visual.blocks.0.attn.qkv.weight"]) for t in loaded.values()] == [
        True
    ]

    wider = base(1, TinyShape(vocabulary=WORDS, hidden_size=2 * shape.hidden_size), "wider")
    with pytest.raises(ValueError, match="config.json"):
        join_vision(language, wider, tmp_path / "refused")
    # the same config with two words' ids swapped: the embedding rows would not match
    swapped = tmp_path / "swapped"
    shutil.copytree(vision, swapped)
    tokenizer = json.loads((swapped / "tokenizer.json").read_text())
    vocab = tokenizer["model"]["vocab"]
    vocab["red"], vocab["blue"] = vocab["blue"], vocab["red"]
    (swapped / "tokenizer.json").write_text(json.dumps(tokenizer))
    with pytest.raises(ValueError, match="tokenizer.json"):
        join_vision(language, swapped, tmp_path / "refused")

    # a language model trained on from a saved folder is saved with its dtype in the config: still the same preset
    continued, processor = load_model(language, device="cpu", dtype="float32")
    saved_again = save_base_run(continued, processor, tmp_path / "continued")
    assert (saved_again / "config.json").read_text() != (vision / "config.json").read_text()
    join_vision(saved_again, vision, tmp_path / "joined-again")
    assert torch.equal(load_file(str(tmp_path / "joined-again" / "model.safetensors"))["visual.merger.mlp.0.weight"],
                       parts["vision"]["visual.merger.mlp.0.weight"])  # fmt: skip
