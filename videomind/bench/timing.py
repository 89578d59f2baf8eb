"""Timing a query part by part for the benchmarks: a clock the model's vision tower, language model and the video
readers report to (work on other threads counted apart), and torch's thread count."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

BACKGROUND = "decode_ahead"  # decoding by the feeder's worker thread, concurrent with the model's parts


@dataclass
class Clock:
    """Seconds spent in each part since the last ``take``, and counts of vision-tower calls and decoded frames.

    Time measured on another thread than the main one goes to ``decode_ahead`` (background work); a timed call
    inside another one on the same thread is not counted twice.
    """

    pending: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    decoded_frames: int = 0
    vision_calls: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _local: threading.local = field(default_factory=threading.local)

    def timed(self, part: str, fn: Callable) -> Callable:
        def wrapper(*args, **kwargs):
            if getattr(self._local, "busy", False):
                return fn(*args, **kwargs)
            self._local.busy = True
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self._local.busy = False
                self.add(part, time.perf_counter() - started)

        return wrapper

    def add(self, part: str, seconds: float) -> None:
        if threading.current_thread() is not threading.main_thread():
            part = BACKGROUND
        with self._lock:
            self.pending[part] += seconds

    def count_frames(self, frames: int) -> None:
        with self._lock:
            self.decoded_frames += frames

    def take(self) -> dict[str, float]:
        with self._lock:
            parts, self.pending = dict(self.pending), defaultdict(float)
        return parts


class _TimedReader:
    """A video reader whose opening and sampling time goes to the clock's ``decode`` part."""

    def __init__(self, reader, clock: Clock) -> None:
        self._reader, self._clock = reader, clock

    def _timed(self, fn: Callable, *args, **kwargs):
        before = self._reader.decoded_frames
        out = self._clock.timed("decode", fn)(*args, **kwargs)
        self._clock.count_frames(self._reader.decoded_frames - before)
        return out

    def sample(self, *args, **kwargs):
        return self._timed(self._reader.sample, *args, **kwargs)

    def prefetch(self, *args, **kwargs):
        return self._timed(self._reader.prefetch, *args, **kwargs)

    def sample_chunks(self, *args, **kwargs):
        pieces = self._reader.sample_chunks(*args, **kwargs)
        while True:
            piece = self._timed(next, pieces, None)
            if piece is None:
                return
            yield piece

    def __getattr__(self, name: str):
        return getattr(self._reader, name)

    def __enter__(self):
        self._reader.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._reader.__exit__(*exc)


def timed_opener(clock: Clock) -> Callable:
    """``open_video`` whose readers report their decoding time to ``clock``."""
    from videomind.video import open_video

    def opener(path, *args, **kwargs):
        before = clock.pending["decode"]
        started = time.perf_counter()
        reader = open_video(path, *args, **kwargs)
        clock.pending["decode"] = before + time.perf_counter() - started
        clock.count_frames(reader.decoded_frames)  # the first frame, read on opening
        return _TimedReader(reader, clock)

    return opener


def instrument(model, clock: Clock) -> Callable[[], None]:
    """Time the model's vision tower and language model, and the waits for streamed frames, into ``clock``;
    returns a function undoing it."""
    from videomind.agent.feeder import FrameStream

    encode, run_text = _synced(model.encode_video, model.device), _synced(model.run_text, model.device)
    next_piece = FrameStream._next_piece

    def counted_encode(*args, **kwargs):
        clock.vision_calls += 1
        return encode(*args, **kwargs)

    prompt_pass, step = clock.timed("text", run_text), clock.timed("steps", run_text)

    def split_text(inputs_embeds, *args, **kwargs):
        return (step if inputs_embeds.shape[1] == 1 else prompt_pass)(inputs_embeds, *args, **kwargs)

    model.encode_video = clock.timed("vision", counted_encode)
    model.run_text = split_text
    FrameStream._next_piece = clock.timed("decode", next_piece)

    def undo() -> None:
        del model.encode_video, model.run_text
        FrameStream._next_piece = next_piece

    return undo


def _synced(fn: Callable, device) -> Callable:
    """``fn`` waiting for the GPU's work before it returns, so that part times hold the GPU time (CPU: ``fn``)."""
    if device.type != "cuda":
        return fn
    import torch

    def wrapper(*args, **kwargs):
        out = fn(*args, **kwargs)
        torch.cuda.synchronize(device)
        return out

    return wrapper


def set_threads(threads: int) -> None:
    """Use ``threads`` intra-op threads in torch (0: leave torch's default)."""
    if threads > 0:
        import torch

        torch.set_num_threads(threads)


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()
