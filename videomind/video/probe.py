"""Opening containers with PyAV behind clear errors, and probing a video's duration without decoding it."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from videomind.video import errors

log = logging.getLogger(__name__)

MICROSECONDS = 1_000_000  # FFmpeg's AV_TIME_BASE: container durations are in microseconds
MAGIC_BYTES = 189  # enough for two transport-stream sync bytes
MP4_BOXES = (b"moov", b"mdat", b"free", b"wide", b"skip")  # an MP4/MOV may start with any top-level box
MEDIA_MAGIC = (
    b"\x1a\x45\xdf\xa3",  # Matroska / WebM (EBML)
    b"RIFF",  # AVI
    b"OggS",
    b"FLV",
    b"GIF8",
    b"\x00\x00\x01\xba",  # MPEG program stream
    b"\x00\x00\x01\xb3",  # MPEG video elementary stream
    b"\x30\x26\xb2\x75",  # ASF / WMV
    b"\x06\x0e\x2b\x34",  # MXF
)
TS_PACKET = 188  # MPEG transport stream: a 0x47 sync byte starts every 188-byte packet
# Still images FFmpeg would open as a one-frame "video" (whatever the file is called). GIF is not listed: animated
# GIFs are videos. HEIF/AVIF stills are ISO-BMFF files told apart from MP4 by their brand.
IMAGE_MAGIC = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"\x00\x00\x01\x00", "ICO"),
)
IMAGE_BRANDS = {b"heic": "HEIC", b"heix": "HEIC", b"mif1": "HEIF", b"avif": "AVIF"}
VIDEO_SUFFIXES = frozenset(
    {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".flv", ".wmv", ".mpg", ".mpeg", ".ts", ".m2ts", ".mts"}
    | {".3gp", ".ogv", ".gif", ".vob", ".asf", ".mxf"}
)


def check_file(path: str | Path) -> Path:
    """The path as ``Path`` if it is an existing non-empty regular file that is not a still image, else the matching
    ``VideoError``."""
    p = Path(path)
    if not p.exists():
        raise errors.not_found(path)
    if p.is_dir():
        raise errors.VideoNotFoundError(
            f"{path} is a folder, not a video file; give the path of a video file", path
        )
    if not p.is_file():
        raise errors.VideoNotFoundError(
            f"{path} is not a regular file (a named pipe, socket or device); save the video to a file first",
            path,
        )
    if p.stat().st_size == 0:
        raise errors.empty_video(path, "the file is empty (0 bytes)")
    kind = image_kind(p)
    if kind:
        raise errors.NotAVideoError(
            f"{path} is a still image ({kind}), not a video; give a video file (.mp4, .mkv, .webm, ...)", path
        )
    return p


def image_kind(path: Path) -> str | None:
    """The format of a still image by its first bytes (``"JPEG"``, ``"PNG"``, ...), None for anything else."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return None
    for magic, kind in IMAGE_MAGIC:
        if head.startswith(magic):
            return kind
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "WebP"
    if head[4:8] == b"ftyp":
        return IMAGE_BRANDS.get(head[8:12])
    return None


def check_video_file(path: str | Path) -> Path:
    """Cheap check before long work (a model load): the file exists, is a video container FFmpeg opens, holds a
    video stream with at least one packet and a frame shape the sampler accepts. Nothing is decoded; a damaged
    stream is found when frames are read."""
    import av

    from videomind.video.sampling import MAX_ASPECT_RATIO

    p = check_file(path)
    with open_container(p) as container:
        stream = video_stream(container, path)
        height, width = stream.codec_context.height, stream.codec_context.width
        if min(height, width) > 0 and max(height, width) / min(height, width) > MAX_ASPECT_RATIO:
            raise errors.SamplingError(
                f"{path} is {width}x{height}: the aspect ratio must be below {MAX_ASPECT_RATIO}; crop or pad it",
                path,
            )
        try:
            has_packet = any(packet.size for packet in container.demux(stream))
        except av.error.FFmpegError:
            has_packet = True  # a damaged stream: found and reported (or concealed) when frames are read
        if not has_packet:
            raise errors.empty_video(path, "its video stream has no frames")
    return p


def open_container(path: str | Path):
    """``av.open`` for reading, with FFmpeg's errors turned into ``VideoError``s naming the path."""
    import av

    p = check_file(path)
    try:
        return av.open(os.fspath(p), mode="r")
    except av.error.PermissionError as exc:
        raise errors.VideoError(f"cannot read {path}: permission denied ({exc.strerror})", path) from None
    except av.error.EOFError:
        raise errors.empty_video(path, "the file ends before its first frame (empty or cut short)") from None
    except av.error.FFmpegError as exc:
        detail = getattr(exc, "strerror", None) or str(exc)
        if looks_like_media(p):
            raise errors.corrupt_video(path, f"FFmpeg could not open it: {detail}") from None
        raise errors.not_a_video(path, detail) from None


def looks_like_media(path: Path) -> bool:
    """True when the file starts like a media container (so a failure to open it means corrupt, not 'not video')."""
    with open(path, "rb") as f:
        head = f.read(MAGIC_BYTES)
    if head[4:8] == b"ftyp" or head[4:8] in MP4_BOXES or any(head.startswith(m) for m in MEDIA_MAGIC):
        return True
    return len(head) > TS_PACKET and head[0] == head[TS_PACKET] == 0x47


def video_stream(container, path: str | Path):
    """The first video stream of an open container, or ``NoVideoStreamError`` listing what it holds instead."""
    if container.streams.video:
        return container.streams.video[0]
    kinds = ", ".join(sorted({s.type for s in container.streams}))
    if not kinds:  # e.g. an MP4 whose only track has no frame: the demuxer drops the track
        raise errors.empty_video(path, "it holds no stream with frames")
    raise errors.no_video_stream(path, kinds)


def probe_duration(path: str | Path) -> float:
    """Duration in seconds: the container's, else the video stream's, else the last frame's end from the packets.

    Raises ``VideoError`` subclasses for missing, unreadable, audio-only and empty files.
    """
    with open_container(path) as container:
        stream = video_stream(container, path)
        if container.duration is not None and container.duration > 0:
            return container.duration / MICROSECONDS
        if stream.duration is not None and stream.duration > 0 and stream.time_base is not None:
            return float(stream.duration * stream.time_base)
        return _duration_from_packets(container, stream, path)


def _duration_from_packets(container, stream, path: str | Path) -> float:
    import av

    first, last_end, count = None, None, 0
    try:
        for packet in container.demux(stream):
            ts = packet.pts if packet.pts is not None else packet.dts
            if ts is None or packet.size == 0:
                continue
            count += 1
            first = ts if first is None else min(first, ts)
            end = ts + (packet.duration or 0)
            last_end = end if last_end is None else max(last_end, end)
    except av.error.FFmpegError as exc:
        log.warning("%s: reading stopped early (%s); duration covers the packets read", path, exc)
    if first is None or stream.time_base is None:
        if count:
            rate = stream.average_rate or stream.guessed_rate
            if rate:
                return float(count / rate)
        raise errors.empty_video(path, "no video frame with a timestamp was found")
    return float((last_end - first) * stream.time_base)
