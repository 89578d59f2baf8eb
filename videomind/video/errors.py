"""Errors of video input. Each names the file and says what to do; none leaks a bare FFmpeg traceback."""

from __future__ import annotations

from pathlib import Path

from videomind.errors import VideoMindError

REENCODE_HINT = "re-encode it, e.g. `ffmpeg -i IN -c:v libx264 -pix_fmt yuv420p OUT.mp4`, or re-download it"


class VideoError(VideoMindError):
    """A video cannot be read (or sampled) as asked. ``path`` is the file, when there is one."""

    def __init__(self, message: str, path: str | Path | None = None):
        super().__init__(message)
        self.path = None if path is None else str(path)


class VideoNotFoundError(VideoError, FileNotFoundError):
    """The path does not exist or is not a regular file."""


class NotAVideoError(VideoError):
    """FFmpeg does not recognise the file as a media container (a text file, an image, ...)."""


class NoVideoStreamError(VideoError):
    """The container holds no video stream (an audio-only file, subtitles, ...)."""


class EmptyVideoError(VideoError):
    """The file is empty or its video stream has no frames."""


class CorruptVideoError(VideoError):
    """The container is recognised but its data is truncated or corrupt, or no frame decodes."""


class BackendUnavailableError(VideoError):
    """A decoding backend was asked for by name but is not installed."""


class SamplingError(VideoError, ValueError):
    """Sampling parameters cannot be met (the official sampler raises ValueError in these cases)."""


def not_found(path: str | Path) -> VideoNotFoundError:
    return VideoNotFoundError(f"video not found: {path} (check the path and the dataset's video root)", path)


def not_a_video(path: str | Path, detail: str = "") -> NotAVideoError:
    extra = f" ({detail})" if detail else ""
    return NotAVideoError(
        f"{path} is not a video file FFmpeg can read{extra}; give a video such as .mp4/.mkv", path
    )


def no_video_stream(path: str | Path, kinds: str) -> NoVideoStreamError:
    return NoVideoStreamError(
        f"{path} has no video stream (it holds: {kinds or 'nothing'}); give a file with pictures", path
    )


def empty_video(path: str | Path, detail: str) -> EmptyVideoError:
    return EmptyVideoError(f"{path}: {detail}; {REENCODE_HINT}", path)


def corrupt_video(path: str | Path, detail: str) -> CorruptVideoError:
    return CorruptVideoError(f"{path} is corrupt or truncated ({detail}); {REENCODE_HINT}", path)
