"""Video durations for releases published without VideoMind's ``durations.json``.

Original releases give durations in other files (the Charades release's ``Charades_v1_{train,test}.csv``, CG-Bench's
``video_meta_info.json``) or not at all (DiDeMo, QuerYD); then the videos themselves are measured. Each source tries
its forms in a fixed order and logs which one it used.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from videomind.data.sources._common import DURATIONS_FILE, OfficialSource
from videomind.data.sources._io import read_csv
from videomind.errors import DataError

CHARADES_CSVS = {"train": "Charades_v1_train.csv", "test": "Charades_v1_test.csv"}  # the Charades release


def source_log(source: OfficialSource) -> logging.Logger:
    """The logger of the source's own module (so a source's log names it, whichever helper writes)."""
    return logging.getLogger(type(source).__module__)


def first_existing(paths: Iterable[str]) -> str | None:
    """The first of ``paths`` that is a file, or None."""
    return next((p for p in paths if os.path.isfile(p)), None)


def charades_lengths(path: Path) -> dict[str, float]:
    """``{video id: seconds}`` from the ``id`` and ``length`` columns of a Charades ``Charades_v1_*.csv``."""
    table = {}
    for n, row in read_csv(path):
        try:
            table[row["id"]] = float(row["length"])
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{path}: line {n}: field 'length': {exc}") from exc
    return table


def probe_durations(
    source: OfficialSource, videos: Mapping[str, str], looked_for: Sequence[str], folder: str | None = None
) -> dict[str, float]:
    """``{video id: seconds}`` read from the video files (``videos``: id -> path); a one-line ``DataError`` naming
    the duration files looked for (in ``folder``, default the source's own) and the first unreadable video."""
    from videomind.video import probe_duration
    from videomind.video.errors import VideoError

    out = {}
    for vid, path in videos.items():
        try:
            out[vid] = probe_duration(path)
        except VideoError as exc:
            where = source.root / (folder or source.folder or source.name)
            raise DataError(
                f"{source.name}: no durations: none of {', '.join(looked_for)} in {where}, and the video {path} "
                f"cannot be read to measure it ({exc}); add one of those files or the videos (docs/DATA.md)"
            ) from exc
    return out


def charades_durations(
    source: OfficialSource, csv_names: Sequence[str], videos: Mapping[str, str], folder: str | None = None
) -> tuple[str, dict[str, float]]:
    """``(where from, {video id: seconds})`` of Charades videos, first found of: ``durations.json`` (VideoMind's,
    measured on its compressed videos), the ``length`` column of the Charades release's ``csv_names``, the videos
    themselves (``videos``: id -> path). ``folder`` holds the files (default the source's own)."""
    log = source_log(source)
    if source.optional_file(DURATIONS_FILE, folder) is not None:
        path, table = source.durations(folder)
        log.info("%s: durations from %s", source.name, path)
        return str(path), dict(table)
    csvs = [p for p in (source.optional_file(n, folder) for n in csv_names) if p is not None]
    if csvs:
        log.info("%s: durations from the 'length' column of %s", source.name, ", ".join(map(str, csvs)))
        table: dict[str, float] = {}
        for path in csvs:
            table.update(charades_lengths(path))
        return ", ".join(map(str, csvs)), table
    log.info("%s: no %s nor %s: measuring the videos", source.name, DURATIONS_FILE, " / ".join(csv_names))
    return "the videos", probe_durations(source, videos, (DURATIONS_FILE, *csv_names), folder)
