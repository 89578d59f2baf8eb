"""Helpers that write small videos for tests (any test suite may use them; nothing here runs at import).

Frames carry their own index as a code that survives lossy compression: the frame is a 3x3 grid of cells, the
top-left cell is red (it shows the orientation), the eight others are black or white for the index's bits (most
significant first). ``read_frame_code`` reads it back from a decoded RGB frame in the same orientation.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np

GRID = 3
CODE_BITS = GRID * GRID - 1  # 8 bits: frame indices 0-255 are distinguishable
WHITE, BLACK = 235, 20
MARKER_RGB = (220, 30, 30)
TIME_BASE_VFR = Fraction(1, 90_000)  # MPEG's 90 kHz clock: exact for millisecond timestamps
AUDIO_RATE = 16_000


def frame_code(index: int, height: int, width: int) -> np.ndarray:
    """An ``HxWx3`` uint8 frame whose cells encode ``index`` (mod 256) and whose top-left cell is red."""
    img = np.empty((height, width, 3), dtype=np.uint8)
    rows, cols = _cuts(height), _cuts(width)
    for cell in range(GRID * GRID):
        r, c = divmod(cell, GRID)
        block = img[rows[r] : rows[r + 1], cols[c] : cols[c + 1]]
        if cell == 0:
            block[:] = MARKER_RGB
        else:
            bit = (index >> (CODE_BITS - cell)) & 1
            block[:] = WHITE if bit else BLACK
    return img


def read_frame_code(rgb: np.ndarray) -> int:
    """The index encoded by ``frame_code`` in an ``HxWx3`` (or ``3xHxW``) frame."""
    if rgb.shape[0] == 3 and rgb.shape[-1] != 3:
        rgb = np.moveaxis(rgb, 0, -1)
    rows, cols = _cuts(rgb.shape[0]), _cuts(rgb.shape[1])
    value = 0
    for cell in range(1, GRID * GRID):
        r, c = divmod(cell, GRID)
        value = (value << 1) | int(_cell_mean(rgb, rows, cols, r, c).mean() > (WHITE + BLACK) / 2)
    return value


def marker_corner(rgb: np.ndarray) -> str:
    """Which corner holds the red marker cell: "top-left", "top-right", "bottom-left" or "bottom-right"."""
    rows, cols = _cuts(rgb.shape[0]), _cuts(rgb.shape[1])
    corners = {"top-left": (0, 0), "top-right": (0, 2), "bottom-left": (2, 0), "bottom-right": (2, 2)}
    redness = {}
    for name, (r, c) in corners.items():
        mean = _cell_mean(rgb, rows, cols, r, c)
        redness[name] = float(mean[0] - mean[1:].mean())
    return max(redness, key=redness.get)


def make_test_video(
    path: str | Path,
    seconds: float = 2.0,
    fps: float = 8.0,
    size: tuple[int, int] = (48, 64),
    codec: str = "libx264",
    *,
    timestamps: Sequence[float] | None = None,
    rotation: int | None = None,
    gop: int | None = None,
    audio: bool = False,
    frames: Sequence[np.ndarray] | None = None,
) -> Path:
    """Write a video of ``round(seconds * fps)`` coded frames; returns the path.

    ``size`` is ``(height, width)``. ``timestamps`` (seconds, ascending) makes a variable-frame-rate video with one
    frame at each time (``seconds``/``fps`` then only set the nominal rate). ``rotation``: counter-clockwise display
    rotation stored in the container (the pixels are not rotated). ``gop``: keyframe interval. ``audio``: add a
    sine-wave AAC track as long as the video. ``frames``: RGB frames to write instead of the coded pattern.
    libx264 with an odd width or height switches to yuv444p (4:2:0 needs even sizes).
    """
    import av

    path = Path(path)
    height, width = size
    rate = Fraction(fps).limit_denominator(1001)
    times = list(timestamps) if timestamps is not None else None
    count = (
        len(times)
        if times is not None
        else len(frames)
        if frames is not None
        else max(1, round(seconds * fps))
    )
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv444p" if codec == "libx264" and (width % 2 or height % 2) else "yuv420p"
        if gop is not None:
            stream.codec_context.gop_size = gop
        time_base = TIME_BASE_VFR if times is not None else 1 / rate
        stream.codec_context.time_base = time_base
        if times is not None:
            stream.time_base = time_base
        if rotation:
            stream.set_display_rotation(rotation)
        sound = _add_audio(container) if audio else None
        for i in range(count):
            img = frames[i] if frames is not None else frame_code(i, height, width)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            frame.pts = round(times[i] / time_base) if times is not None else i
            frame.time_base = time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
        if sound is not None:
            end = (times[-1] + 1 / fps) if times is not None else count / fps
            _write_audio(container, sound, end)
    return path


def make_audio_only(path: str | Path, seconds: float = 1.0) -> Path:
    """An audio-only file (AAC in .m4a/.mp4, or whatever the suffix's default audio codec is)."""
    import av

    path = Path(path)
    with av.open(str(path), mode="w") as container:
        _write_audio(container, _add_audio(container), seconds)
    return path


def _add_audio(container):
    stream = container.add_stream("aac", rate=AUDIO_RATE)
    stream.layout = "mono"
    return stream


def _write_audio(container, stream, seconds: float) -> None:
    import av

    samples = int(seconds * AUDIO_RATE)
    chunk = stream.codec_context.frame_size or 1024
    t = np.arange(samples, dtype=np.float32) / AUDIO_RATE
    wave = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    for lo in range(0, samples, chunk):
        frame = av.AudioFrame.from_ndarray(wave[None, lo : lo + chunk], format="fltp", layout="mono")
        frame.sample_rate = AUDIO_RATE
        frame.pts = lo
        container.mux(stream.encode(frame))
    container.mux(stream.encode())


def _cuts(length: int) -> list[int]:
    return [round(length * k / GRID) for k in range(GRID + 1)]


def _cell_mean(rgb: np.ndarray, rows: list[int], cols: list[int], r: int, c: int) -> np.ndarray:
    """Mean colour of the inner half of a cell (edges blur under compression and chroma subsampling)."""
    h0, h1, w0, w1 = rows[r], rows[r + 1], cols[c], cols[c + 1]
    dh, dw = (h1 - h0) // 4, (w1 - w0) // 4
    block = rgb[h0 + dh : max(h1 - dh, h0 + dh + 1), w0 + dw : max(w1 - dw, w0 + dw + 1)]
    return block.reshape(-1, 3).astype(np.float64).mean(axis=0)
