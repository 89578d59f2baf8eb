"""Each role's step as it finishes: ``VideoMindAgent.run`` with its ``on_step`` hook, as an iterator.

The agent runs in a worker thread and hands every ``AgentStep`` to the iterator through a queue; the last item is
the ``AgentResult``. The agent loop itself is not repeated here. One lock per agent keeps runs from overlapping
on the shared model even when a client disconnects and its run finishes in the background.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from videomind.records import AgentResult, AgentStep

log = logging.getLogger(__name__)

_LOCKS: dict[int, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


@dataclass(frozen=True)
class _Failed:
    error: BaseException


def agent_lock(agent) -> threading.Lock:
    """The lock that serialises runs of one agent (one model)."""
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(id(agent), threading.Lock())


def stream_run(
    agent, video: str | Path, question: str, options: Sequence[str] | None = None, **overrides
) -> Iterator[AgentStep | AgentResult]:
    """Yield each ``AgentStep`` as the agent finishes it, then the ``AgentResult``; the agent's errors re-raise."""
    events: queue.Queue = queue.Queue()

    def work() -> None:
        try:
            with agent_lock(agent):
                events.put(agent.run(video, question, options, on_step=events.put, **overrides))
        except BaseException as exc:  # handed to the consumer, which re-raises it
            events.put(_Failed(exc))

    threading.Thread(target=work, name="videomind-demo-run", daemon=True).start()
    while True:
        item = events.get()
        if isinstance(item, _Failed):
            raise item.error
        yield item
        if isinstance(item, AgentResult):
            return
