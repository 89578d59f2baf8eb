"""The binding stage's short-clip questions (recipes.presence_questions): every answer is right in its window,
every wrong option is wrong there, and the files load as a ``custom`` source the answering task trains on."""

import json
import random
from collections import Counter

from recipes.presence_questions import window_questions, write_presence
from videomind.data import get_source
from videomind.data.conversations import ExampleSettings, answering_example


def _actor(i, kind, colour, presence, action=None):
    return {"id": i, "kind": kind, "colour": colour, "presence": list(presence), "action": action}


WORLD = {
    "duration": 30.0,
    "actors": [
        _actor(0, "circle", "red", (0.0, 30.0)),
        _actor(1, "square", "blue", (2.0, 20.0)),
        _actor(2, "star", "red", (12.0, 30.0)),  # shares a colour with the circle
        _actor(
            3, "square", "green", (0.0, 30.0), {"type": "recolour", "span": [5.0, 9.0], "colour": "yellow"}
        ),
        _actor(4, "diamond", "white", (24.0, 30.0)),
    ],
}


def _seen(world, start, end):
    """(colour, kind) pairs on screen at any time of [start, end), recolour included."""
    seen = set()
    for a in world["actors"]:
        p0, p1 = a["presence"]
        if p0 < end and p1 > start:
            seen.add((a["colour"], a["kind"]))
            action = a["action"] or {}
            if action.get("type") == "recolour" and action["span"][0] < end and action["span"][1] > start:
                seen.add((action["colour"], a["kind"]))
    return seen


def test_answers_are_on_screen_and_wrong_options_are_not():
    rng = random.Random(0)
    kinds, letters = Counter(), Counter()
    for _ in range(400):
        start = 0.5 * rng.randint(0, 44)
        end = start + 0.5 * rng.randint(8, 16)
        if end > WORLD["duration"]:
            continue
        asked = window_questions(WORLD, start, end, rng)
        if asked is None:
            continue
        kinds[asked["type"]] += 1
        letters[asked["answer"]] += 1
        options, answer = asked["options"], asked["options"]["ABCD".index(asked["answer"])]
        assert len(options) == 4 == len(set(options))
        inside = _seen(WORLD, start, end)
        margin = 0.25 * (end - start) + 0.5
        around = _seen(WORLD, start - margin, end + margin)
        if asked["type"] == "shown":
            assert tuple(answer.split()[1:]) in inside
            for wrong in options:
                if wrong != answer:
                    assert tuple(wrong.split()[1:]) not in around, (start, end, wrong)
        elif asked["type"] == "colour":
            kind = asked["question"].split()[-1].rstrip("?")
            assert [c for c, k in around if k == kind] == [answer]
        elif asked["type"] == "kind":
            colour = asked["question"].split()[-2]
            assert [k for c, k in around if c == colour] == [answer]
        else:
            assert tuple(answer.split()[1:]) not in around
            assert all(tuple(o.split()[1:]) in inside for o in options if o != answer)
        # the recolouring square is never the subject while it changes colour
        if end > 5.0 and start < 9.0:
            assert "yellow" not in answer and "green square" not in answer
    assert set(kinds) == {"shown", "colour", "kind", "never"}, kinds
    assert min(letters.values()) > 0.15 * sum(letters.values()), letters


def test_written_questions_train_the_answerer_on_their_window(synth_root, tmp_path):
    out = tmp_path / "presence"
    count = write_presence(synth_root, out, per_video=6, seed=1)
    lines = (out / "train.jsonl").read_text().splitlines()
    assert count == len(lines) > 0
    samples = get_source("custom", out).load("train")
    assert len(samples) == count
    record = json.loads(lines[0])
    example = answering_example(samples[0], ExampleSettings(answer_crop=True, answer_crop_min_len=4.0))
    assert example.window == tuple(record["spans"][0])
    assert example.response == f"Best Option: ({record['answer']}) " + _capitalised(
        record["options"]["ABCD".index(record["answer"])]
    )


def _capitalised(text):
    return text[:1].upper() + text[1:]


def test_the_same_seed_writes_the_same_file_whatever_the_hash_seed(tmp_path):
    import os
    import subprocess
    import sys

    worlds = tmp_path / "synthetic" / "worlds" / "train"
    worlds.mkdir(parents=True)
    (worlds / "train_000000.json").write_text(json.dumps({"vid": "train_000000", "world": WORLD}))
    written = []
    for hash_seed in ("1", "2", "3"):
        out = tmp_path / f"hash{hash_seed}"
        subprocess.run(
            [sys.executable, "-m", "recipes.presence_questions", str(tmp_path / "synthetic"), str(out),
             "--hinted", "0.5", "--per-video", "200"],
            check=True, capture_output=True, env=os.environ | {"PYTHONHASHSEED": hash_seed},
        )  # fmt: skip
        written.append((out / "train.jsonl").read_text())
    assert len(set(written)) == 1 and written[0]


def test_single_attribute_questions_have_one_option_anywhere_in_the_window():
    rng = random.Random(3)
    kinds = Counter()
    for _ in range(300):
        start = 0.5 * rng.randint(0, 56)
        end = start + 0.5 * rng.randint(2, 4)  # 1-2 s windows
        if end > WORLD["duration"]:
            continue
        asked = window_questions(WORLD, start, end, rng, {"colour_seen": 1.0, "kind_seen": 1.0})
        if asked is None:
            continue
        kinds[asked["type"]] += 1
        field = 0 if asked["type"] == "colour_seen" else 1
        margin = 0.25 * (end - start) + 0.5
        around = {pair[field] for pair in _seen(WORLD, start - margin, end + margin)}
        inside = {pair[field] for pair in _seen(WORLD, start, end)}
        options, answer = asked["options"], asked["options"]["ABCD".index(asked["answer"])]
        assert len(set(options)) == 4 and answer in inside
        assert [o for o in options if o in around] == [answer], (start, end, options)
    assert set(kinds) == {"colour_seen", "kind_seen"}, kinds


def test_unknown_question_types_are_refused(synth_root, tmp_path):
    import pytest

    with pytest.raises(ValueError, match="unknown question types"):
        write_presence(synth_root, tmp_path / "x", types=("colour_seen", "colours"))


def test_type_weights_on_the_command_line_shift_the_mix(tmp_path):
    import pytest

    from recipes.presence_questions import main

    worlds = tmp_path / "synthetic" / "worlds" / "train"
    worlds.mkdir(parents=True)
    (worlds / "train_000000.json").write_text(json.dumps({"vid": "train_000000", "world": WORLD}))
    shares = {}
    mixes = {"colours": ["colour_seen:50", "kind_seen"], "equal": ["colour_seen", "kind_seen"],
             "kinds": ["colour_seen", "kind_seen:50"]}  # fmt: skip
    for name, types in mixes.items():
        out = tmp_path / name
        assert main([str(tmp_path / "synthetic"), str(out), "--per-video", "400", "--window", "1", "2",
                     "--types", *types]) == 0  # fmt: skip
        lines = (out / "train.jsonl").read_text().splitlines()
        kinds = Counter(json.loads(line)["extra"]["presence_type"] for line in lines)
        assert set(kinds) == {"colour_seen", "kind_seen"}
        shares[name] = kinds["kind_seen"] / sum(kinds.values())
    # (in this world a shape question fits fewer windows than a colour one, so even "kinds" stays below half)
    assert shares["colours"] + 0.03 < shares["equal"] < shares["kinds"] - 0.03, shares
    with pytest.raises(SystemExit) as raised:
        main([str(tmp_path / "synthetic"), str(tmp_path / "x"), "--types", "kind_seen:many"])
    assert raised.value.code == 2
    with pytest.raises(ValueError, match="positive"):
        write_presence(tmp_path / "synthetic", tmp_path / "y", types={"kind_seen": 0.0})


def test_background_questions_name_the_videos_texture_among_four():
    from videomind.data.synthetic.config import BACKGROUNDS

    world = {**WORLD, "background": {"kind": "dots"}}
    rng = random.Random(0)
    answers = Counter()
    for start in range(0, 24, 2):
        asked = window_questions(world, float(start), start + 6.0, rng, {"background": 1.0})
        options = asked["options"]
        assert asked["type"] == "background" and asked["question"] == "What is the background of the video?"
        assert len(set(options)) == 4 and set(options) <= set(BACKGROUNDS.values())
        answers[asked["answer"]] += 1
        assert options["ABCD".index(asked["answer"])] == "polka dots"
    assert len(answers) > 1  # the right option's letter varies


def test_describe_states_exactly_the_shapes_that_can_be_seen_and_the_background():
    from videomind.data.synthetic.config import BACKGROUNDS

    world = {**WORLD, "background": {"kind": "waves"}}
    rng = random.Random(0)
    described = 0
    for start in range(0, 24):
        for length in (4.0, 6.0, 8.0):
            end = start + length
            if end > world["duration"]:
                continue
            asked = window_questions(world, float(start), end, rng, {"describe": 1.0})
            margin = 0.25 * length + 0.5
            around = _seen(world, start - margin, end + margin)
            if asked is None:
                continue
            described += 1
            assert (
                asked["options"] is None and asked["question"] == "Describe the video." and not asked["hint"]
            )
            background, shows = asked["answer"].removesuffix(".").split(". It shows ")
            assert background == f"The background is {BACKGROUNDS['waves']}"
            named = shows.replace(" and ", ", ").split(", ")
            assert named == sorted(named)  # alphabetical: one description a window
            assert {tuple(n.split()[1:]) for n in named} == around  # every shape that may be seen, no other
    assert described > 3


def test_written_descriptions_are_free_text_answers_never_hinted(synth_root, tmp_path):
    out = tmp_path / "describe"
    count = write_presence(synth_root, out, per_video=20, seed=1, hinted=1.0, types=["describe"])
    records = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    assert count == len(records) > 0
    assert all("options" not in r and not r["extra"]["hinted"] for r in records)
    sample = get_source("custom", out).load("train")[0]
    example = answering_example(sample, ExampleSettings(answer_crop=True, answer_crop_min_len=4.0))
    assert example.prompt == "Describe the video." and example.response == records[0]["answer"]
