"""Vectorised numpy rendering of a ``World`` into RGB frames, and H.264 encoding with PyAV.

Frame ``i`` shows the world at ``t = i / fps``. The background is a static texture with Gaussian grain plus a
little per-frame Gaussian noise (cycled from a small bank); shapes are drawn with signed-distance functions on small per-frame patches (one
vectorised pass per actor over all its visible frames), with a one-pixel anti-aliased edge and a dark outline so they
stay recognisable when the frames are downscaled.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np

from videomind.data.synthetic.config import COLOUR_NAMES, COLOURS, GROW_FACTOR
from videomind.data.synthetic.world import Actor, Background, World

NOISE_BANK = 8  # distinct noise frames, cycled
CHUNK_FRAMES = 64  # frames rendered per numpy pass when encoding
OUTLINE_RGB = (0.08, 0.08, 0.08)
OUTLINE_FRACTION = 0.1  # outline width as a fraction of the radius (at least one pixel)
# Size of each kind relative to the base radius, so that all kinds look about equally large.
KIND_SIZE = {"circle": 1.0, "square": 0.88, "triangle": 1.2, "star": 1.25, "diamond": 1.2}
STAR_INNER = 0.5  # inner / outer radius of the five-pointed star
GOP_SECONDS = 10.0  # a key frame every ten seconds (key frames carry the grain: they dominate the size)
ENCODER_PRESET = "veryfast"

_COLOUR_TABLE = np.asarray([COLOURS[c] for c in COLOUR_NAMES], dtype=np.float32) / 255.0


def base_radius(world: World) -> float:
    """Radius in pixels of a kind-size-1 shape (a circle) at normal size."""
    h, w = world.size
    return world.shape_scale * min(h, w) / world.grid


def background_image(bg: Background, size: tuple[int, int]) -> np.ndarray:
    """The static texture, ``(H, W, 3)`` float32 in [0, 1]."""
    h, w = size
    side = min(h, w)
    v, u = np.meshgrid((np.arange(h) + 0.5) / side, (np.arange(w) + 0.5) / side, indexing="ij")
    along = u * np.cos(bg.angle) + v * np.sin(bg.angle)
    f = bg.frequency
    if bg.kind == "stripes":
        m = 0.5 + 0.5 * np.tanh(4.0 * np.sin(2 * np.pi * f * along))
    elif bg.kind == "checkerboard":
        m = (np.floor(u * f) + np.floor(v * f)) % 2
    elif bg.kind == "dots":
        du, dv = (u * f) % 1.0 - 0.5, (v * f) % 1.0 - 0.5
        m = np.clip((0.28 - np.hypot(du, dv)) * 4 * f + 0.5, 0.0, 1.0)
    elif bg.kind == "gradient":
        m = (along - along.min()) / max(float(np.ptp(along)), 1e-6)
    elif bg.kind == "waves":
        m = 0.5 + 0.5 * np.sin(2 * np.pi * (f * v + 0.3 * np.sin(2 * np.pi * 0.5 * f * u)))
    elif bg.kind == "clouds":
        m = _clouds(bg, u, v)
    else:
        raise ValueError(f"unknown background kind {bg.kind!r}")
    dark, light = (np.asarray(t, dtype=np.float32) for t in bg.tones)
    return (dark + (light - dark) * m[..., None]).astype(np.float32)


def _clouds(bg: Background, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Bilinearly upsampled low-resolution random grid, normalised to [0, 1]."""
    n = int(np.ceil(bg.frequency)) + 2
    coarse = np.random.default_rng([bg.seed, 2]).random((n, n))
    gu, gv = u / max(u.max(), 1e-6) * (n - 1.001), v / max(v.max(), 1e-6) * (n - 1.001)
    i, j = gv.astype(int), gu.astype(int)
    fy, fx = gv - i, gu - j
    top = coarse[i, j] * (1 - fx) + coarse[i, j + 1] * fx
    bottom = coarse[i + 1, j] * (1 - fx) + coarse[i + 1, j + 1] * fx
    m = top * (1 - fy) + bottom * fy
    return (m - m.min()) / max(float(np.ptp(m)), 1e-6)


def shape_sdf(kind: str, x: np.ndarray, y: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Signed distance (pixels, negative inside) of a shape of kind ``kind`` centred at the origin, y pointing down."""
    r = r * KIND_SIZE[kind]
    if kind == "circle":
        return np.hypot(x, y) - r
    if kind == "square":
        return np.maximum(np.abs(x), np.abs(y)) - r
    if kind == "diamond":
        return (np.abs(x) + np.abs(y) - r) / np.sqrt(2.0)
    if kind == "triangle":  # pointing up, bounding box centred on the origin
        y = y + r / 4
        edges = np.maximum(y, np.maximum(-0.866 * x - 0.5 * y, 0.866 * x - 0.5 * y))
        return edges - r / 2
    if kind == "star":  # fold the plane into one half-spike, then distance to its outer edge
        sector = 2 * np.pi / 5
        phi = np.mod(np.arctan2(x, -y), sector)
        phi = np.minimum(phi, sector - phi)
        rho = np.hypot(x, y)
        qx, qy = rho * np.cos(phi), rho * np.sin(phi)
        px2, py2 = STAR_INNER * np.cos(sector / 2), STAR_INNER * np.sin(sector / 2)
        dx, dy = px2 - 1.0, py2
        norm = np.hypot(dx, dy)
        return (dy * (qx - r) - dx * qy) / norm
    raise ValueError(f"unknown shape kind {kind!r}")


def _patch_half(world: World) -> int:
    return int(np.ceil(base_radius(world) * max(KIND_SIZE.values()) * GROW_FACTOR)) + 3


def _draw_actor(canvas: np.ndarray, world: World, actor: Actor, times: np.ndarray, pad: int) -> None:
    """Composite one actor onto the padded canvas ``(n, H + 2 pad, W + 2 pad, 3)`` at all its visible frames."""
    tr = world.track(actor, times)
    idx = np.nonzero(tr.visible)[0]
    if idx.size == 0:
        return
    h, w = world.size
    cx, cy = tr.x[idx] * w + pad, tr.y[idx] * h + pad
    offs = np.arange(-pad + 1, pad, dtype=np.float64)
    rows = np.floor(cy).astype(int)[:, None] + offs.astype(int)[None]
    cols = np.floor(cx).astype(int)[:, None] + offs.astype(int)[None]
    ly = (rows + 0.5 - cy[:, None])[:, :, None]
    lx = (cols + 0.5 - cx[:, None])[:, None, :]
    radius = (base_radius(world) * tr.scale[idx])[:, None, None]
    sdf = shape_sdf(actor.kind, lx, ly, radius)
    width = np.maximum(1.0, OUTLINE_FRACTION * radius)
    fill = np.clip(0.5 - sdf, 0.0, 1.0)[..., None].astype(np.float32)
    edge = np.clip(0.5 - (sdf - width), 0.0, 1.0)[..., None].astype(np.float32)
    sel = (idx[:, None, None], rows[:, :, None], cols[:, None, :])
    patch = canvas[sel]
    patch = patch * (1 - edge) + np.asarray(OUTLINE_RGB, dtype=np.float32) * edge
    colour = _COLOUR_TABLE[tr.colour[idx]][:, None, None, :]
    canvas[sel] = patch * (1 - fill) + colour * fill


def render_frames(world: World, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Frames ``start:stop`` of the video, ``(n, H, W, 3)`` uint8 RGB."""
    stop = world.num_frames if stop is None else min(stop, world.num_frames)
    times = np.arange(start, stop, dtype=np.float64) / world.fps
    h, w = world.size
    pad = _patch_half(world)
    rng = np.random.default_rng([world.background.seed, 1])
    bg = background_image(world.background, world.size) + rng.normal(0.0, world.noise, (h, w, 3))
    bank = rng.normal(0.0, world.flicker, (NOISE_BANK, h, w, 3))
    canvas = np.zeros((len(times), h + 2 * pad, w + 2 * pad, 3), dtype=np.float32)
    canvas[:, pad : pad + h, pad : pad + w] = bg + bank[np.arange(start, stop) % NOISE_BANK]
    for actor in world.actors:
        _draw_actor(canvas, world, actor, times, pad)
    frames = canvas[:, pad : pad + h, pad : pad + w]
    return np.clip(frames * 255.0 + 0.5, 0, 255).astype(np.uint8)


def iter_frames(world: World, chunk: int = CHUNK_FRAMES) -> Iterator[np.ndarray]:
    for start in range(0, world.num_frames, chunk):
        yield render_frames(world, start, start + chunk)


def write_video(world: World, path: str | Path, crf: int = 23) -> Path:
    """Render and encode the world as H.264 (yuv420p) MP4 at ``path``; written atomically (temp file, rename).

    The encoder runs single-threaded so the same world always gives the same bytes.
    """
    import av  # heavy import kept local

    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    h, w = world.size
    with av.open(str(tmp), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(world.fps).limit_denominator(1000))
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": str(crf), "preset": ENCODER_PRESET}
        stream.codec_context.thread_count = 1
        stream.codec_context.gop_size = max(1, round(GOP_SECONDS * world.fps))
        for chunk in iter_frames(world):
            for frame in chunk:
                container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    os.replace(tmp, path)
    return path
