"""Frames for the fast agent: one reader per query, clips delivered in pieces, decoding ahead of the model.

``FrameFeeder`` wraps the query's video reader. ``plan`` says which frames a role will see (no decoding, so clip
keys and frame counts are known at once); ``stream`` hands the role a ``FrameStream`` whose pieces (a few frame
pairs each) the backend pushes through the vision tower one by one; ``prefetch`` brings frames into the reader's
cache ahead of need (the verifier's overlapping windows in one pass; the answer clips of every candidate while the
verifier runs).

With ``threaded=True`` a single worker thread does all the decoding, in the order it was asked for, while the
calling thread runs the model: the reader is only ever touched by that one thread (readers are not thread-safe).
Without it, pieces are decoded when the backend asks for them, and speculative prefetches are skipped. The frames
are the same either way; only when they are decoded changes.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import torch

from videomind.video import FrameBudget
from videomind.video.reader import SamplePlan, VideoReader

log = logging.getLogger(__name__)

_END = object()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def decode_ahead_pays_off(device: torch.device | str | None) -> bool:
    """Decode in a worker thread when it does not take a core from the model: the model runs on an accelerator,
    or torch leaves at least one CPU core free (e.g. ``torch.set_num_threads(1)`` on two cores). When torch uses
    every core, an extra busy thread makes its OpenMP workers wait for each other (docs/PERFORMANCE.md)."""
    if device is not None and torch.device(device).type != "cpu":
        return True
    return torch.get_num_threads() < (os.cpu_count() or 1)


def decode_ahead_enabled(option: bool | None, device: torch.device | str | None) -> bool:
    """``AgentOptions.decode_ahead`` resolved: the option when it is set, else ``decode_ahead_pays_off(device)``."""
    return option if option is not None else decode_ahead_pays_off(device)


# The policy on accelerators below is provisional: written from how the work divides (the model thread mostly waits
# for the device, so the CPU cores are the decoder's, and a batched verifier pass is short), not yet measured on a
# GPU. `make gpu-check` measures both choices (docs/PERFORMANCE.md, "GPU check"); set them from its figures.
def decode_threads(option: int | None, device: torch.device | str | None, ahead: bool) -> int:
    """``AgentOptions.decode_threads`` resolved (0: FFmpeg picks, one per core). On the CPU, decoding ahead gets one
    thread: it runs beside the model on the core torch leaves free (measured, docs/PERFORMANCE.md). On accelerators
    (provisional) FFmpeg picks."""
    if option is not None:
        return option
    return 1 if ahead and _on_cpu(device) else 0


def prefetch_answer_clips(option: bool | None, device: torch.device | str | None) -> bool:
    """``AgentOptions.prefetch_answer_clips`` resolved: decode every verifier candidate's answer clip while the
    verifier runs. On the CPU the verifier's passes take seconds, long enough to hide it; on accelerators
    (provisional) it is off: the verifier's batched pass is short, and the answerer's own clip would queue behind
    five windows."""
    return option if option is not None else _on_cpu(device)


def _on_cpu(device: torch.device | str | None) -> bool:
    return device is None or torch.device(device).type == "cpu"


class FrameStream:
    """The frames of one planned clip, as consecutive uint8 ``(n, 3, H, W)`` pieces; iterate it once.

    An error while decoding (e.g. a corrupt stretch of the file) is raised here, in the consumer's thread.
    """

    def __init__(self, plan: SamplePlan, source: Iterator[torch.Tensor] | queue.SimpleQueue) -> None:
        self.plan = plan
        self._source = source
        self._used = False

    def __iter__(self) -> Iterator[torch.Tensor]:
        if self._used:
            raise RuntimeError("a FrameStream can be read only once")
        self._used = True
        while True:
            piece = self._next_piece()
            if piece is _END:
                return
            yield piece

    def _next_piece(self):
        if isinstance(self._source, queue.SimpleQueue):
            item = self._source.get()
            if isinstance(item, _Failure):
                raise item.error
            return item
        return next(self._source, _END)


class FrameFeeder:
    """Plans, streams and prefetches one query's frames (see the module docstring). Close it after the query."""

    def __init__(self, reader: VideoReader, chunk_frames: int, threaded: bool) -> None:
        if chunk_frames < 1:
            raise ValueError(f"chunk_frames must be at least 1, got {chunk_frames}")
        self.reader = reader
        self.chunk_frames = (
            chunk_frames + chunk_frames % 2
        )  # whole frame pairs: pieces patchify like the clip
        self._stopped = threading.Event()
        self._worker = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="videomind-decode") if threaded else None
        )
        self._speculative: list[Future] = []
        self.dropped_prefetches = (
            0  # speculative prefetches dropped before they started (for benches and tests)
        )

    @property
    def threaded(self) -> bool:
        return self._worker is not None

    def plan(self, budget: FrameBudget, start: float | None = None, end: float | None = None) -> SamplePlan:
        return self.reader.plan(budget, start, end)

    def stream(self, plan: SamplePlan) -> FrameStream:
        """Start delivering ``plan``'s frames (queued behind earlier requests when threaded; speculative prefetches
        not started yet are dropped: a clip somebody needs never waits for frames nobody may need)."""
        if self._worker is None:
            return FrameStream(plan, self.reader.sample_chunks(plan, self.chunk_frames))
        self._drop_speculative()
        pieces: queue.SimpleQueue = queue.SimpleQueue()
        self._worker.submit(self._produce, plan, pieces)
        return FrameStream(plan, pieces)

    def prefetch(
        self,
        budget: FrameBudget,
        windows: Sequence[tuple[float | None, float | None]],
        speculative: bool = False,
    ) -> None:
        """Decode the frames ``budget`` samples in ``windows`` into the cache, in one pass (``reader.prefetch``).

        ``speculative``: the frames may never be used (the answer clip of a candidate the verifier may not pick);
        done only by the worker, never on the model's thread. A failed prefetch is logged: the clip that needs the
        frames will decode them itself and report the error then.
        """
        if self._worker is None:
            if not speculative:
                self._prefetch(budget, windows)
            return
        future = self._worker.submit(self._prefetch, budget, list(windows))
        if speculative:
            self._speculative.append(future)

    def _drop_speculative(self) -> None:
        self.dropped_prefetches += sum(future.cancel() for future in self._speculative)
        self._speculative.clear()

    def close(self) -> None:
        """Stop the worker after the piece it is decoding; pending requests are dropped."""
        self._stopped.set()
        if self._worker is not None:
            self._worker.shutdown(wait=True, cancel_futures=True)

    # ------------------------------------------------------------------ worker side
    def _produce(self, plan: SamplePlan, pieces: queue.SimpleQueue) -> None:
        try:
            for piece in self.reader.sample_chunks(plan, self.chunk_frames):
                if self._stopped.is_set():
                    return
                pieces.put(piece)
            pieces.put(_END)
        except BaseException as exc:  # handed to the consumer, who raises it in its own thread
            pieces.put(_Failure(exc))

    def _prefetch(self, budget: FrameBudget, windows: Sequence[tuple[float | None, float | None]]) -> None:
        if self._stopped.is_set():
            return
        try:
            self.reader.prefetch(budget, windows)
        except Exception as exc:  # an optimisation only: the clip itself will decode (and fail) on its own
            log.debug(
                "%s: prefetch failed (%s); the clip will decode its frames itself", self.reader.path, exc
            )

    def __enter__(self) -> FrameFeeder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
