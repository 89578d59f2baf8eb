"""Subtitle files (.srt, and WebVTT .vtt) to ``(start, end, text)`` cues in seconds. No extra dependency."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from videomind.errors import DataError

log = logging.getLogger(__name__)

_TIME = r"(?:(\d+):)?(\d{1,2}):(\d{1,2})[,.](\d{1,3})"
_TIMING = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}")
_TAG = re.compile(r"<[^>]+>|\{\\[^}]*\}")  # <i>, <font ...>, {\an8}
_SECONDS_PER = (3600, 60, 1)


def load_subtitles(path: str | Path) -> list[tuple[float, float, str]]:
    """Cues of an .srt (or .vtt) file in file order: ``(start s, end s, text)``; lines of a cue joined by spaces.

    Formatting tags are removed and cues with no text are dropped. Raises ``DataError`` for a missing file or one
    with no cue at all.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"subtitle file not found: {path}")
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        log.warning("%s is not UTF-8; reading it as Latin-1", path)
        text = raw.decode("latin-1")
    cues = parse_subtitles(text)
    if not cues and text.strip():
        raise DataError(
            f"{path}: no subtitle cue found (expected lines like '00:00:01,000 --> 00:00:02,500')"
        )
    return cues


def parse_subtitles(text: str) -> list[tuple[float, float, str]]:
    """Parse SRT/WebVTT text (see ``load_subtitles``)."""
    cues: list[tuple[float, float, str]] = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n")):
        lines = block.strip("\n").split("\n")
        for k, line in enumerate(lines):
            match = _TIMING.match(line)
            if match:
                start, end = _seconds(match.groups()[:4]), _seconds(match.groups()[4:])
                body = " ".join(_TAG.sub("", ln).strip() for ln in lines[k + 1 :])
                body = " ".join(body.split())
                if body:
                    cues.append((start, end, body))
                break
    return cues


def _seconds(parts: tuple[str | None, ...]) -> float:
    hours, minutes, seconds, fraction = parts
    whole = sum(int(v or 0) * unit for v, unit in zip((hours, minutes, seconds), _SECONDS_PER))
    return whole + int(fraction.ljust(3, "0")) / 1000
