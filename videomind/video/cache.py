"""A bounded cache of decoded frames, shared by the roles (and readers) that sample one video.

Entries are keyed by ``(video key, frame index)``. Two tiers share one byte budget:

- *requested* frames, the ones a role sampled, are kept in least-recently-used order;
- *passing* frames, decoded only on the way to a requested one (from a keyframe onwards), are kept while room is
  left, and are always evicted before any requested frame.

So as long as a video's decoded frames fit in ``max_bytes`` no frame is decoded twice, whatever windows and rates the
planner, grounder, verifier and answerer ask for; beyond that, memory wins and the oldest frames are decoded again.
Values are whatever the reader stores (an undecoded-to-RGB ``av.VideoFrame`` or an RGB array) with their size.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

DEFAULT_CACHE_BYTES = 512 * 1024 * 1024


@dataclass
class CacheStats:
    """Counters (mutable on purpose): lookups that hit and missed, entries stored and evicted."""

    hits: int = 0
    misses: int = 0
    stored: int = 0
    evicted: int = 0


class FrameCache:
    """Least-recently-used frame store bounded by ``max_bytes`` (thread-safe)."""

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES):
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self.max_bytes = int(max_bytes)
        self.stats = CacheStats()
        self._requested: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._passing: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._requested) + len(self._passing)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._requested or key in self._passing

    @property
    def nbytes(self) -> int:
        return self._bytes

    def get(self, key: Hashable) -> Any | None:
        """The stored value (promoted to the requested tier), or None."""
        with self._lock:
            entry = self._requested.pop(key, None) or self._passing.pop(key, None)
            if entry is None:
                self.stats.misses += 1
                return None
            self.stats.hits += 1
            self._requested[key] = entry
            return entry[0]

    def put(self, key: Hashable, value: Any, nbytes: int, requested: bool = True) -> bool:
        """Store a frame; returns False when it does not fit (a passing frame never evicts a requested one)."""
        with self._lock:
            if key in self._requested or (key in self._passing and not requested):
                return True
            old = self._passing.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            if not self._make_room(nbytes, requested):
                return False
            (self._requested if requested else self._passing)[key] = (value, nbytes)
            self._bytes += nbytes
            self.stats.stored += 1
            return True

    def clear(self) -> None:
        with self._lock:
            self._requested.clear()
            self._passing.clear()
            self._bytes = 0

    def _make_room(self, nbytes: int, requested: bool) -> bool:
        if nbytes > self.max_bytes:
            return False
        tiers = (self._passing, self._requested) if requested else (self._passing,)
        for tier in tiers:
            while self._bytes + nbytes > self.max_bytes and tier:
                _, (_, size) = tier.popitem(last=False)
                self._bytes -= size
                self.stats.evicted += 1
        return self._bytes + nbytes <= self.max_bytes
