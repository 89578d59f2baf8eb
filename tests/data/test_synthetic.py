"""The synthetic world: determinism, split seeds, annotation validity, decoded videos, pixels, CLI and data source."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import av
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from videomind.cli.main import main as cli_main
from videomind.data.sources.synthetic import KINDS as SOURCE_KINDS
from videomind.data.sources.synthetic import SyntheticSource
from videomind.data.synthetic import (
    KINDS,
    build_annotations,
    generate_world,
    make_dataset,
    preset,
    video_seed,
)
from videomind.data.synthetic.config import COLOURS, WorldConfig
from videomind.data.synthetic.render import render_frames, write_video
from videomind.data.synthetic.world import Action, Actor, Background, Event, World
from videomind.errors import DataError, UserInputError
from videomind.prompts import planner_target

TINY = {"size": (64, 64), "fps": 2.0, "duration": (8.0, 12.0)}
LETTERS = "ABCD"


def _make(out: Path, seed: int = 3, n: int = 2, **kw) -> Path:
    return make_dataset(out, n, seed=seed, preset="medium", splits=("train", "test"), **{**TINY, **kw})


@pytest.fixture(scope="module")
def ds(tmp_path_factory) -> Path:
    return _make(tmp_path_factory.mktemp("synth") / "synthetic", distractors=0.5)


def _records(folder: Path, split: str, kind: str) -> list[dict]:
    return [json.loads(line) for line in (folder / f"{split}_{kind}.jsonl").read_text().splitlines()]


def _worlds(folder: Path, split: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((folder / "worlds" / split).glob("*.json"))]


def _decode(path: Path) -> tuple[list[np.ndarray], dict[str, float]]:
    """Frames and the stream's rate and duration, read while the container is open (PyAV >= 18 refuses after)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        facts = {"rate": float(stream.average_rate), "duration": float(stream.duration * stream.time_base)}
        return frames, facts


def _first_frame(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return next(container.decode(video=0)).to_ndarray(format="rgb24")


# --- determinism and seeds -------------------------------------------------------------------------------------


def test_same_seed_same_bytes_and_pixels_different_seed_differs(ds, tmp_path):
    again = _make(tmp_path / "again", distractors=0.5)
    other = _make(tmp_path / "other", seed=4, distractors=0.5)
    for split in ("train", "test"):
        for kind in KINDS:
            name = f"{split}_{kind}.jsonl"
            assert (again / name).read_bytes() == (ds / name).read_bytes(), name
    assert (again / "train_grounding.jsonl").read_bytes() != (other / "train_grounding.jsonl").read_bytes()
    video = "videos/train_000000.mp4"
    np.testing.assert_array_equal(_first_frame(again / video), _first_frame(ds / video))
    assert not np.array_equal(_first_frame(other / video), _first_frame(ds / video))


def test_split_seed_spaces_are_disjoint():
    n = 15_000
    train = {video_seed(7, "train", i) for i in range(n)}
    test = {video_seed(7, "test", i) for i in range(n)}
    val = {video_seed(7, "val", i) for i in range(n)}
    assert len(train) == len(test) == len(val) == n
    assert not train & test and not train & val and not val & test


def test_world_is_a_function_of_seed_and_config():
    cfg = preset("hard")
    assert generate_world(11, cfg) == generate_world(11, cfg)
    assert generate_world(11, cfg) != generate_world(12, cfg)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**40), name=st.sampled_from(["easy", "medium", "hard"]))
def test_world_invariants(seed, name):
    world = generate_world(seed, preset(name))
    pairs = [(a.kind, a.colour) for a in world.actors]
    pairs += [(a.kind, a.action.colour) for a in world.actors if a.action and a.action.colour]
    assert len(pairs) == len(set(pairs))  # "the red circle" always names one shape, recolour targets included
    assert world.events and world.duration % 0.5 == 0
    for a in world.actors:
        assert a.presence == (0.0, world.duration) or 0 < a.presence[0] < a.presence[1] < world.duration
        if a.action:
            assert a.presence[0] <= a.action.span[0] < a.action.span[1] <= a.presence[1]
    times = world.frame_times()
    tracks = [world.track(a, times) for a in world.actors]
    for i, ti in enumerate(tracks):  # shapes on screen together stay at least one grid cell apart
        for tj in tracks[i + 1 :]:
            both = ti.visible & tj.visible
            gap = np.hypot(ti.x - tj.x, ti.y - tj.y)[both] * world.grid
            assert gap.size == 0 or gap.min() >= 1 - 1e-9


@pytest.mark.parametrize("fps", [1.0, 3.0, 2.5])
def test_durations_are_whole_numbers_of_frames(fps):
    cfg = preset("medium", fps=fps)
    for seed in range(20):
        world = generate_world(seed, cfg)
        assert world.num_frames / fps == pytest.approx(world.duration, abs=1e-9)
        assert 16.0 <= world.duration <= 40.0


def test_config_rejects_odd_sizes_and_unknown_presets():
    with pytest.raises(UserInputError, match="even"):
        WorldConfig(size=(63, 64))
    with pytest.raises(UserInputError, match="unknown synthetic preset"):
        preset("impossible")


# --- annotation validity ---------------------------------------------------------------------------------------


def test_every_span_lies_inside_the_video(ds):
    for split in ("train", "test"):
        for kind in KINDS:
            for rec in _records(ds, split, kind):
                spans = rec["span"] + ([rec["candidate"]] if "candidate" in rec else [])
                for s, e in spans:
                    assert 0.0 <= s < e <= rec["duration"], (rec["id"], s, e)


def test_mcq_answer_letter_points_at_the_answer(ds):
    recs = _records(ds, "train", "mcq") + _records(ds, "train", "qa") + _records(ds, "test", "mcq")
    assert recs
    for rec in recs:
        assert len(rec["options"]) == 4 and len(set(rec["options"])) == 4
        assert rec["options"][LETTERS.index(rec["ans"])] == rec["answer"]
        assert (rec["route"] == 4) == (rec["span"] == [])


def test_answers_agree_with_the_world(ds):
    for rec in _worlds(ds, "train") + _worlds(ds, "test"):
        world, ann = rec["world"], rec["annotations"]
        for q in ann["qa"] + ann["mcq"]:
            qtype = q["task"][1]
            if qtype == "count":
                assert q["answer"] == str(len(world["actors"]))
            if qtype == "turn_colour":
                changers = [a for a in world["actors"] if a["action"] and a["action"]["type"] == "recolour"]
                assert q["answer"] in {a["action"]["colour"] for a in changers}
            if qtype == "which_shape":
                actor = next(a for a in world["actors"] if f"the {a['colour']} {a['kind']}" == q["answer"])
                assert actor["action"] is not None and list(actor["action"]["span"]) == q["span"][0]
        counts = {e["id"] for e in world["events"]}
        assert {g["event"] for g in ann["grounding"] if not g["relative"]} == counts


def test_verification_labels_follow_iou_with_the_house_iou(ds):
    from videomind.spans import temporal_iou

    recs = _records(ds, "train", "verifying")
    assert {r["label"] for r in recs} == {"Yes", "No"}
    for rec in recs:
        expected = float(temporal_iou([rec["candidate"]], rec["span"]).max())
        assert rec["iou"] == pytest.approx(expected, abs=1e-4)
        assert rec["label"] == ("Yes" if expected >= 0.5 else "No")
        assert expected >= 0.6 - 1e-6 or expected <= 0.4 + 1e-6  # never ambiguous (float32 IoU)


def test_verification_wording_does_not_give_the_label_away():
    """Each pair's query is one of its event's wordings, drawn whatever the label. Generator version 1 gave the
    canonical wording to 95 % of the "Yes" pairs and 3 % of the "No" ones: a verifier read the label off the words."""
    from videomind.data.synthetic.annotate import build_annotations
    from videomind.data.synthetic.config import preset
    from videomind.data.synthetic.world import generate_world

    cfg = preset("medium")
    seen = Counter()
    for seed in range(60):
        ann = build_annotations(generate_world(seed, cfg), cfg, f"v{seed}", f"videos/v{seed}.mp4")
        wordings: dict[int, list[str]] = {}
        for g in sorted(ann["grounding"], key=lambda g: g["paraphrase"]):
            if not g["relative"]:
                wordings.setdefault(g["event"], []).append(g["query"])
        for rec in ann["verifying"]:
            assert rec["query"] in wordings[rec["event"]]
            seen[(rec["label"], rec["query"] == wordings[rec["event"]][0])] += 1  # [0]: the canonical wording
    canonical_when = {label: seen[(label, True)] / (seen[(label, True)] + seen[(label, False)])
                      for label in ("Yes", "No")}  # fmt: skip
    assert abs(canonical_when["Yes"] - canonical_when["No"]) < 0.12, canonical_when


def test_planning_targets_are_valid_json_and_routes_are_consistent(ds):
    recs = _records(ds, "train", "planning")
    assert {r["route"] for r in recs} >= {1, 3, 4}
    for rec in recs:
        plan = json.loads(planner_target(rec["route"], rec["question"], rec["query"]))
        if rec["route"] == 4:
            assert rec["query"] is None and plan == [{"type": "answerer"}]
        else:
            assert plan[0]["type"] == "grounder" and plan[0]["value"] and rec["span"]


def test_paraphrases_are_distinct_and_canonical_first():
    cfg = preset("medium", paraphrases=4)
    world = generate_world(5, cfg)
    ann = build_annotations(world, cfg, "v", "videos/v.mp4")
    by_event: dict[int, list[str]] = {}
    for g in ann["grounding"]:
        if not g["relative"]:
            by_event.setdefault(g["event"], []).append(g["query"])
    for event_id, queries in by_event.items():
        event = world.events[event_id]
        actor = world.actors[event.actor]
        assert len(queries) == len(set(queries)) == 4
        assert queries[0].startswith(f"the {actor.colour} {actor.kind}")


# --- videos and pixels -----------------------------------------------------------------------------------------


def test_decoded_video_has_expected_duration_fps_and_size(ds):
    for rec in _worlds(ds, "train"):
        frames, facts = _decode(ds / "videos" / f"{rec['vid']}.mp4")
        duration = rec["world"]["duration"]
        assert len(frames) == round(duration * 2.0)
        assert facts["rate"] == 2.0
        assert frames[0].shape == (64, 64, 3)
        assert facts["duration"] == pytest.approx(duration, abs=0.01)


def _hand_world() -> World:
    bg = Background("stripes", ((0.25, 0.27, 0.3), (0.3, 0.32, 0.36)), 4.0, 0.5, 1)
    red = Actor(0, "circle", "red", (1, 1), (2.0, 5.0))
    blue = Actor(1, "square", "blue", (0, 0), (0.0, 8.0), Action("recolour", (4.0, 6.0), colour="yellow"))
    green = Actor(2, "star", "green", (2, 0), (0.0, 8.0), Action("move", (1.0, 3.0), "right", (2, 2)))
    events = (
        Event(0, "move", 2, (1.0, 3.0), "right"),
        Event(1, "appear", 0, (2.0, 5.0)),
        Event(2, "recolour", 1, (4.0, 6.0), None, "yellow"),
    )
    return World(1, 8.0, 2.0, (64, 64), 3, 0.32, 0.02, 0.005, bg, (red, blue, green), events)


def _near(frame: np.ndarray, xy: tuple[float, float], colour: str, tol: int = 40) -> bool:
    x, y = int(xy[0] * frame.shape[1]), int(xy[1] * frame.shape[0])
    patch = frame[y - 1 : y + 2, x - 1 : x + 2].reshape(-1, 3).mean(0)
    return bool(np.abs(patch - np.asarray(COLOURS[colour])).max() <= tol)


def test_decoded_frames_show_each_shape_only_during_its_interval(tmp_path):
    world = _hand_world()
    frames, _ = _decode(write_video(world, tmp_path / "hand.mp4"))
    centre, top_left = (0.5, 0.5), (1 / 6, 1 / 6)
    # Frame i shows t = i / 2: the red circle is visible for 2.0 <= t < 5.0.
    assert [_near(frames[i], centre, "red") for i in (3, 4, 6, 9, 10, 12)] == [
        False,
        True,
        True,
        True,
        False,
        False,
    ]
    # The blue square shows yellow for 4.0 <= t < 6.0.
    assert [_near(frames[i], top_left, "blue") for i in (6, 8, 11, 12)] == [True, False, False, True]
    assert [_near(frames[i], top_left, "yellow") for i in (6, 8, 11, 12)] == [False, True, True, False]
    # The green star slides from the bottom-left cell (t <= 1) to the bottom-right cell (t >= 3).
    left, right = (1 / 6, 5 / 6), (5 / 6, 5 / 6)
    assert _near(frames[0], left, "green") and not _near(frames[0], right, "green")
    assert _near(frames[6], right, "green") and not _near(frames[6], left, "green")
    assert _near(frames[4], (0.5, 5 / 6), "green")  # half-way at t = 2


def test_grown_shape_covers_more_pixels():
    world = _hand_world()
    grow = Actor(1, "diamond", "purple", (1, 1), (0.0, 8.0), Action("grow", (4.0, 6.0)))
    world = World(1, 8.0, 2.0, (64, 64), 3, 0.32, 0.0, 0.0, world.background, (grow,), ())
    frames = render_frames(world).astype(int)
    purple = np.asarray(COLOURS["purple"])
    area = [(np.abs(f - purple).max(-1) < 30).sum() for f in frames[[6, 9, 13]]]
    assert area[1] == pytest.approx(area[0] * 1.4**2, rel=0.2) and area[2] == area[0]


def test_generated_appearances_match_their_pixels(ds):
    checked = 0
    for rec in _worlds(ds, "train") + _worlds(ds, "test"):
        world = generate_world(rec["seed"], preset("medium", distractors=0.5, **TINY))
        frames, _ = _decode(ds / "videos" / f"{rec['vid']}.mp4")
        for event in (e for e in world.events if e.type == "appear"):
            actor = world.actors[event.actor]
            i = int(np.ceil((event.span[0] + event.span[1]) / 2 * world.fps))  # a frame inside the interval
            track = world.track(actor, np.asarray([i / world.fps]))
            colour = _colour_at(world, actor, i / world.fps)
            assert _near(frames[i], (track.x[0], track.y[0]), colour), (rec["vid"], event)
            checked += 1
    assert checked >= 2


def _colour_at(world: World, actor: Actor, t: float) -> str:
    act = actor.action
    if act is not None and act.type == "recolour" and act.span[0] <= t < act.span[1]:
        return str(act.colour)
    return actor.colour


# --- writer, CLI and data source -------------------------------------------------------------------------------


def test_resume_skips_finished_videos_and_extends(tmp_path):
    out = _make(tmp_path / "grow", n=1)
    video = out / "videos" / "train_000000.mp4"
    stamp = video.stat().st_mtime_ns
    _make(out, n=2)
    assert video.stat().st_mtime_ns == stamp
    fresh = _make(tmp_path / "fresh", n=2)
    assert (out / "train_mcq.jsonl").read_bytes() == (fresh / "train_mcq.jsonl").read_bytes()
    with pytest.raises(UserInputError, match="other settings"):
        _make(out, n=2, fps=4.0)


def test_cli_synth_make_two_tiny_videos(tmp_path, capsys):
    out = tmp_path / "cli"
    args = [
        "synth",
        "make",
        str(out),
        "--videos",
        "2",
        "--split",
        "train",
        "--size",
        "64",
        "--fps",
        "2",
        "--duration",
        "8",
        "10",
        "--seed",
        "5",
        "--no-progress",
    ]
    assert cli_main(args) == 0
    assert sorted(p.name for p in (out / "videos").iterdir()) == ["train_000000.mp4", "train_000001.mp4"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert (
        manifest["splits"] == {"train": 2}
        and manifest["seed"] == 5
        and manifest["config"]["size"] == [64, 64]
    )
    assert "train: 2 videos" in capsys.readouterr().out
    assert cli_main(["synth", "make", str(out), "--split", "nope"]) == 2


def test_source_loads_every_kind_from_either_root(ds):
    assert SOURCE_KINDS == KINDS
    direct, parent = SyntheticSource(ds), SyntheticSource(ds.parent)
    assert direct.path == ds and parent.path == ds
    everything = parent.load("train")
    per_kind = {k: direct.load("train", kind=k) for k in KINDS}
    assert len(everything) == sum(len(v) for v in per_kind.values())
    assert [s.id for s in direct.load("test_grounding")] == [
        s.id for s in direct.load("test", kind="grounding")
    ]
    g = per_kind["grounding"][0]
    assert (
        g.task == ("grounding",) and g.query and g.spans and g.data_type == "grounding" and g.split == "train"
    )
    assert Path(g.video).exists() and g.duration and g.spans[0][1] <= g.duration
    m = per_kind["mcq"][0]
    assert m.is_multiple_choice and m.options[LETTERS.index(m.answer)] == m.answer_text
    assert m.task[0] == "mcq" and m.extra["route"] in (1, 2)
    p = next(s for s in per_kind["planning"] if s.extra["route"] == 3)
    assert p.query is None and p.extra["query"] and p.question
    v = per_kind["verifying"][0]
    assert v.extra["label"] in ("Yes", "No") and len(v.extra["candidate"]) == 2
    c = per_kind["caption"][0]
    assert c.extra["captions"][0]["start"] == 0.0 and c.extra["background"]


def test_source_errors_say_what_to_do(ds, tmp_path):
    with pytest.raises(DataError, match="no split"):
        SyntheticSource(ds).load("dev")
    with pytest.raises(DataError, match="unknown synthetic sample kind"):
        SyntheticSource(ds).load("train", kind="pictures")
    with pytest.raises(DataError, match="synth make"):
        SyntheticSource(ds).load("val")
    with pytest.raises(DataError, match="not both"):
        SyntheticSource(ds).load("train_mcq", kind="qa")


def test_captions_list_what_is_visible(ds):
    rec = _worlds(ds, "train")[0]
    world = generate_world(rec["seed"], preset("medium", distractors=0.5, **TINY))
    steps = rec["annotations"]["caption"][0]["captions"]
    assert len(steps) == int(np.ceil(world.duration))
    for step in steps:
        visible = [
            a.id for a in world.actors if a.presence[0] < step["end"] and step["start"] < a.presence[1]
        ]
        assert step["actors"] == visible
        assert (step["text"] == "nothing") == (not visible)
