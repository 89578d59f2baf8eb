"""Inspecting a dataset on disk: ``check_source`` (annotations parse, videos exist and are readable) and
``stats_text`` (counts, video-duration and span-length distributions as text histograms)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from videomind.data.base import DataSource
from videomind.errors import DataError
from videomind.records import Sample

HISTOGRAM_BINS = 10
HISTOGRAM_WIDTH = 40
TOP_TASKS = 10


@dataclass(frozen=True)
class CheckReport:
    """What ``check_source`` found: samples per split, videos checked and every problem (empty when all is well)."""

    name: str
    counts: dict[str, int]
    videos: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def default_splits(source: DataSource) -> tuple[str, ...]:
    """The source's splits present on disk (``present_splits``), without those that only refine another one
    (``train_grounding`` of ``train``)."""
    splits = source.present_splits()
    return tuple(s for s in splits if not any(s != b and s.startswith(b + "_") for b in splits))


def load_splits(source: DataSource, splits: Sequence[str]) -> tuple[dict[str, list[Sample]], list[str]]:
    """``({split: samples}, problems)``: a split whose annotations are missing or malformed is a problem."""
    loaded, problems = {}, []
    for split in splits:
        try:
            loaded[split], found = source.load_checked(split)
        except DataError as exc:
            problems.append(f"{split}: {exc}")
            continue
        problems += [f"{split}: {problem}" for problem in found]
        if not loaded[split]:
            problems.append(
                f"{split}: no samples (for sets filtered to videos on disk: are the videos extracted?)"
            )
    return loaded, problems


def probe_duration(path: str) -> float:
    """Duration of a video in seconds (``videomind.video.probe_duration``, imported only when a check runs)."""
    from videomind.video import probe_duration as probe

    return float(probe(path))


def video_problem(path: str, probe: Callable[[str], float] | None) -> str | None:
    """Why the video at ``path`` is not usable (None when it is); a folder must hold jpg frames."""
    p = Path(path)
    if p.is_dir():
        return None if any(p.glob("*.jpg")) else f"{path}: frame folder has no .jpg frames"
    if not p.is_file():
        return f"{path}: video file missing"
    if probe is None:
        return None
    try:
        duration = probe(path)
    except Exception as exc:  # noqa: BLE001 - any decoder failure means "unreadable"
        return f"{path}: unreadable ({type(exc).__name__}: {exc})"
    if not math.isfinite(duration) or duration <= 0:
        return f"{path}: unreadable duration ({duration})"
    return None


def check_source(
    source: DataSource,
    splits: Sequence[str] | None = None,
    *,
    probe: Callable[[str], float] | None = probe_duration,
    progress: Callable[[Iterable[str]], Iterable[str]] = lambda it: it,
) -> CheckReport:
    """Load every split (default: all) and check every referenced video; ``probe=None`` only checks existence."""
    loaded, problems = load_splits(source, splits or default_splits(source))
    videos = sorted({s.video for samples in loaded.values() for s in samples if s.video})
    for video in progress(videos):
        problem = video_problem(video, probe)
        if problem:
            problems.append(problem)
    counts = {split: len(samples) for split, samples in loaded.items()}
    return CheckReport(source.name, counts, len(videos), tuple(problems))


def text_histogram(
    values: Sequence[float], bins: int = HISTOGRAM_BINS, width: int = HISTOGRAM_WIDTH
) -> list[str]:
    """Equal-width bins from min to max, one line each: ``"   0.00 -   10.00 | ####### 7"``."""
    if not values:
        return ["(no values)"]
    lo, hi = min(values), max(values)
    if hi == lo:
        return [f"{lo:8.2f} - {hi:8.2f} | {'#' * width} {len(values)}"]
    step = (hi - lo) / bins
    counts = [0] * bins
    for v in values:
        counts[min(int((v - lo) / step), bins - 1)] += 1
    top = max(counts)
    return [
        f"{lo + i * step:8.2f} - {lo + (i + 1) * step:8.2f} | {'#' * round(width * c / top)} {c}"
        for i, c in enumerate(counts)
    ]


def _summary(label: str, values: Sequence[float], bins: int) -> list[str]:
    if not values:
        return [f"{label}: none in the annotations"]
    mean = sum(values) / len(values)
    head = f"{label}: n={len(values)} min={min(values):.2f} mean={mean:.2f} max={max(values):.2f}"
    return [head, *("  " + line for line in text_histogram(values, bins))]


def stats_lines(source: DataSource, loaded: dict[str, list[Sample]], bins: int = HISTOGRAM_BINS) -> list[str]:
    """Counts per split, data types, tasks, and the duration and span-length histograms, as text lines."""
    samples = [s for split in loaded.values() for s in split]
    lines = [
        f"{source.name} ({source.task}; roles: {', '.join(source.roles)})",
        "split      samples  videos  spans",
    ]
    for split, group in loaded.items():
        videos, spans = len({s.video for s in group}), sum(len(s.spans) for s in group)
        lines.append(f"{split:<10} {len(group):>7} {videos:>7} {spans:>6}")
    lines.append(
        "data types: "
        + ", ".join(f"{k} {v}" for k, v in sorted(Counter(s.data_type for s in samples).items()))
    )
    tasks = Counter(t for s in samples for t in s.task)
    if tasks:
        lines.append("tasks: " + ", ".join(f"{k} {v}" for k, v in tasks.most_common(TOP_TASKS)))
    durations = list({s.video: s.duration for s in samples if s.duration is not None}.values())
    lines += _summary("video duration (s)", durations, bins)
    lines += _summary("span length (s)", [e - s for sample in samples for s, e in sample.spans], bins)
    return lines
