"""Checks run on every request before the agent sees it: file type, size, duration, location, question, options.

Pure functions (the duration probe is injectable); each failure is an ``UploadRejected`` whose message is shown to
the user as it is, so it names the file by its own name (never a server path) and says what the limit is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from videomind.demo.config import MB, DemoLimits
from videomind.errors import UserInputError
from videomind.video.errors import NotAVideoError, VideoError

MAX_OPTIONS = 26
_OPTION_SEPARATORS = re.compile(r"[\n;]")


class UploadRejected(UserInputError):
    """A request the demo will not run; the message is meant for the person who sent it."""


@dataclass(frozen=True)
class CheckedVideo:
    """A video that passed every check."""

    path: Path
    name: str
    size_bytes: int
    duration: float


def display_name(path: str | Path) -> str:
    """The name a user knows the file by (Gradio keeps the uploaded name as the last path component)."""
    return Path(path).name or "the file"


def format_size(size_bytes: float) -> str:
    return f"{size_bytes / MB:.1f} MB" if size_bytes >= MB / 10 else f"{size_bytes / 1024:.0f} KB"


def format_seconds(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def check_suffix(name: str, limits: DemoLimits) -> None:
    suffix = Path(name).suffix.lower()
    if suffix not in limits.suffixes:
        got = f"a {suffix} file" if suffix else "a file without an extension"
        raise UploadRejected(
            f"{name} is {got}; the demo accepts video files of type {', '.join(limits.suffixes)}."
        )


def check_size(size_bytes: int, name: str, limits: DemoLimits) -> None:
    if size_bytes > limits.max_upload_bytes:
        raise UploadRejected(
            f"{name} is {format_size(size_bytes)}; the upload limit is {limits.max_upload_mb:g} MB. Upload a shorter "
            "or compressed video (`videomind video compress`), or start the demo with a larger --max-upload-mb."
        )


def check_duration(duration: float, name: str, limits: DemoLimits) -> None:
    if duration > limits.max_duration:
        raise UploadRejected(
            f"{name} is {format_seconds(duration)} long; the limit is {format_seconds(limits.max_duration)}. Cut it "
            "shorter, or start the demo with a larger --max-duration."
        )


def check_inside(path: str | Path, roots: Iterable[str | Path]) -> Path:
    """The resolved path if it lies inside one of ``roots`` (uploads, examples), else ``UploadRejected``."""
    resolved = Path(path).resolve()
    for root in roots:
        if resolved.is_relative_to(Path(root).resolve()):
            return resolved
    raise UploadRejected(
        f"{display_name(path)} was not uploaded to this demo and is not one of its examples; upload the video."
    )


def check_video(
    path: str | Path | None, limits: DemoLimits, roots: Iterable[str | Path],
    probe: Callable[[Path], float] | None = None,
) -> CheckedVideo:  # fmt: skip
    """Every check on a video, cheapest first; the duration comes from ``probe`` (default: the container's)."""
    if not path:
        raise UploadRejected("Upload a video (or pick an example) first.")
    name = display_name(path)
    check_suffix(name, limits)
    resolved = check_inside(path, roots)
    if not resolved.is_file():
        raise UploadRejected(f"{name} is no longer on the server (uploads expire); upload it again.")
    size = resolved.stat().st_size
    check_size(size, name, limits)
    _check_not_an_image(resolved, name)
    duration = _probe(resolved, name, probe)
    check_duration(duration, name, limits)
    return CheckedVideo(resolved, name, size, duration)


def _check_not_an_image(path: Path, name: str) -> None:
    from videomind.video.probe import image_kind

    kind = image_kind(path)
    if kind:
        raise UploadRejected(f"{name} is a still image ({kind}), not a video; upload a video file.")


def _probe(path: Path, name: str, probe: Callable[[Path], float] | None) -> float:
    if probe is None:
        from videomind.video import probe_duration as probe
    try:
        return float(probe(path))
    except NotAVideoError:
        raise UploadRejected(f"{name} is not a video: FFmpeg does not recognise its contents.") from None
    except VideoError as exc:
        detail = str(exc).replace(str(path), name)
        raise UploadRejected(f"{name} cannot be read as a video: {detail}") from None


def check_question(text: str | None, limits: DemoLimits) -> str:
    question = (text or "").strip()
    if not question:
        raise UploadRejected("Type a question (or a moment to search for) first.")
    if len(question) > limits.max_question_chars:
        raise UploadRejected(
            f"The question is {len(question)} characters long; the limit is {limits.max_question_chars}."
        )
    return question


def parse_options(text: str | Sequence[str] | None) -> list[str] | None:
    """Answer options from the options box: one per line (or separated by ';'); none means a free-form answer."""
    if text is None:
        return None
    parts = _OPTION_SEPARATORS.split(text) if isinstance(text, str) else list(text)
    options = [p.strip() for p in parts if p and p.strip()]
    if not options:
        return None
    if len(options) == 1:
        raise UploadRejected(
            "Give at least two answer options (one per line), or none for a free-form answer."
        )
    if len(options) > MAX_OPTIONS:
        raise UploadRejected(f"Give at most {MAX_OPTIONS} answer options, got {len(options)}.")
    return options
