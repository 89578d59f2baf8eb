"""Write a synthetic dataset folder: videos, per-video world records and per-split JSONL annotation files.

Layout of ``OUT/`` (see docs/SYNTHETIC.md)::

    manifest.json                   generator version, seed, preset, config, videos per split
    videos/<split>_<index>.mp4      H.264 yuv420p
    worlds/<split>/<vid>.json       the full world and every annotation of one video (the unit of resumption)
    <split>_<kind>.jsonl            annotations, one record per line, videos in index order

Per-video seeds come from ``numpy.random.SeedSequence(seed, spawn_key=(split_key, index))``: each split draws from
its own spawn key, so train / val / test never share a video seed, and a video does not depend on how many videos
are made (growing a dataset keeps the existing videos).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from videomind.data.synthetic.annotate import KINDS, build_annotations
from videomind.data.synthetic.config import WorldConfig
from videomind.data.synthetic.config import preset as get_preset
from videomind.data.synthetic.render import write_video
from videomind.data.synthetic.world import generate_world
from videomind.errors import UserInputError

log = logging.getLogger(__name__)

# bump whenever the same seed would give different videos or annotations (2: the verifying records' wording no
# longer follows their label; every video and every other record as in 1)
GENERATOR_VERSION = 2
MANIFEST = "manifest.json"
SPLIT_KEYS: dict[str, int] = {"train": 0, "val": 1, "test": 2}
SEED_MASK = 2**63 - 1


def video_seed(seed: int, split: str, index: int) -> int:
    """The seed of video ``index`` of ``split`` (63-bit; disjoint streams per split)."""
    if split not in SPLIT_KEYS:
        raise UserInputError(f"unknown split {split!r}; use one of {', '.join(SPLIT_KEYS)}")
    if seed < 0 or index < 0:
        raise UserInputError("seed and index must be non-negative integers")
    state = np.random.SeedSequence(seed, spawn_key=(SPLIT_KEYS[split], index)).generate_state(1, np.uint64)
    return int(state[0]) & SEED_MASK


def video_id(split: str, index: int) -> str:
    return f"{split}_{index:06d}"


def _dump(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _world_file(out: Path, split: str, vid: str) -> Path:
    return out / "worlds" / split / f"{vid}.json"


def is_finished(out: Path, split: str, index: int) -> bool:
    vid = video_id(split, index)
    return _world_file(out, split, vid).exists() and (out / "videos" / f"{vid}.mp4").exists()


def make_video(out: str | Path, split: str, index: int, seed: int, cfg: WorldConfig) -> str:
    """Generate, render and encode one video and write its world record; returns the video id."""
    out = Path(out)
    vid = video_id(split, index)
    world = generate_world(video_seed(seed, split, index), cfg)
    rel = f"videos/{vid}.mp4"
    write_video(world, out / rel, crf=cfg.crf)
    record = {
        "vid": vid,
        "split": split,
        "index": index,
        "seed": world.seed,
        "world": world.to_dict(),
        "annotations": build_annotations(world, cfg, vid, rel),
    }
    path = _world_file(out, split, vid)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, _dump(record) + "\n")  # written last: its presence marks the video finished
    return vid


def _check_manifest(out: Path, seed: int, cfg: WorldConfig, preset_name: str | None) -> dict[str, Any]:
    path = out / MANIFEST
    want = {
        "name": "synthetic",
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "preset": preset_name,
        "config": cfg.to_dict(),
        "kinds": list(KINDS),
        "splits": {},
    }
    if not path.exists():
        return want
    have = json.loads(path.read_text(encoding="utf-8"))
    diffs = [
        f"{k} {have.get(k)!r} (now {want[k]!r})"
        for k in ("generator_version", "seed")
        if have.get(k) != want[k]
    ]
    old = have.get("config") or {}
    diffs += [f"config.{k} {old.get(k)!r} (now {v!r})" for k, v in want["config"].items() if old.get(k) != v]
    if diffs:
        raise UserInputError(
            f"{out} was made with other settings: {'; '.join(diffs)}. Use the same settings to "
            "resume or extend it, or write to a new folder"
        )
    want["splits"] = dict(have.get("splits") or {})
    return want


def _run(out: Path, jobs: list[tuple[str, int]], seed: int, cfg: WorldConfig, workers: int, bar: Any) -> None:
    if workers <= 1 or len(jobs) <= 1:
        for split, index in jobs:
            make_video(out, split, index, seed, cfg)
            bar.update(1)
        return
    # "spawn": workers start clean even if the parent process has imported torch or started threads.
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(make_video, out, split, index, seed, cfg) for split, index in jobs]
        for future in as_completed(futures):
            future.result()
            bar.update(1)


def merge_split(out: str | Path, split: str, count: int) -> dict[str, int]:
    """(Re)write ``<split>_<kind>.jsonl`` from the world records of videos ``0..count-1``; returns record counts."""
    out = Path(out)
    lines: dict[str, list[str]] = {k: [] for k in KINDS}
    for index in range(count):
        vid = video_id(split, index)
        record = json.loads(_world_file(out, split, vid).read_text(encoding="utf-8"))
        for kind in KINDS:
            lines[kind].extend(_dump(r) for r in record["annotations"][kind])
    for kind in KINDS:
        _write_atomic(out / f"{split}_{kind}.jsonl", "".join(line + "\n" for line in lines[kind]))
    return {kind: len(v) for kind, v in lines.items()}


def make_dataset(
    out: str | Path,
    n_videos: int | Mapping[str, int],
    seed: int = 0,
    preset: str = "medium",
    splits: Iterable[str] = ("train", "test"),
    config: WorldConfig | None = None,
    workers: int = 1,
    progress: bool = False,
    **overrides: Any,
) -> Path:
    """Generate (or resume) a synthetic dataset in ``out`` and return its path.

    ``n_videos`` is the number of videos per split (or a mapping split -> count). ``config`` replaces the preset;
    ``overrides`` change preset fields (e.g. ``size=(64, 64), fps=2.0``). Finished videos are skipped, so an
    interrupted run can be restarted with the same arguments; a folder made with another seed or config is refused.
    """
    from tqdm.auto import tqdm

    out = Path(out)
    cfg = config.with_(**overrides) if config is not None else get_preset(preset, **overrides)
    splits = list(dict.fromkeys(splits))
    counts = {s: int(n_videos[s] if isinstance(n_videos, Mapping) else n_videos) for s in splits}
    for split, n in counts.items():
        video_seed(seed, split, 0)  # validates split and seed
        if n < 0:
            raise UserInputError(f"number of videos must be >= 0, got {n} for {split}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "videos").mkdir(exist_ok=True)
    manifest = _check_manifest(out, seed, cfg, None if config is not None else preset)
    _write_atomic(out / MANIFEST, json.dumps(manifest, indent=2) + "\n")  # claims the folder before any video
    jobs = [(s, i) for s in splits for i in range(counts[s]) if not is_finished(out, s, i)]
    total = sum(counts.values())
    log.info("synthetic: %d of %d videos to make in %s", len(jobs), total, out)
    with tqdm(
        total=total, initial=total - len(jobs), desc="synth", unit="video", disable=not progress
    ) as bar:
        _run(out, jobs, seed, cfg, workers, bar)
    for split in splits:
        stats = merge_split(out, split, counts[split])
        log.info("synthetic %s: %s", split, ", ".join(f"{k} {v}" for k, v in stats.items()))
        manifest["splits"][split] = counts[split]
    manifest["splits"] = {s: manifest["splits"][s] for s in SPLIT_KEYS if s in manifest["splits"]}
    _write_atomic(out / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    return out
