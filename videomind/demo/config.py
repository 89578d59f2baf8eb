"""The demo's settings: where it listens, how many requests wait, and what an upload may be."""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass, field

from videomind.errors import UserInputError

DEFAULT_HOST = "127.0.0.1"  # loopback only: the demo has no authentication
DEFAULT_PORT = 7860
DEFAULT_MAX_UPLOAD_MB = 100.0
DEFAULT_MAX_DURATION = 600.0  # seconds
DEFAULT_QUEUE_SIZE = 16  # requests waiting for the model; more are turned away with "queue full"
CONCURRENCY_LIMIT = 1  # one model, one question at a time
MAX_QUESTION_CHARS = 1000
VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm", ".mov", ".avi")
MAX_TIMELINE_ROWS = 5
MB = 1024 * 1024


@dataclass(frozen=True)
class DemoLimits:
    """What an uploaded video may be: its file type, size (MB) and duration (seconds); and the question's length."""

    max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB
    max_duration: float = DEFAULT_MAX_DURATION
    suffixes: tuple[str, ...] = VIDEO_SUFFIXES
    max_question_chars: int = MAX_QUESTION_CHARS

    def __post_init__(self) -> None:
        if self.max_upload_mb <= 0:
            raise UserInputError(f"--max-upload-mb must be positive, got {self.max_upload_mb}")
        if self.max_duration <= 0:
            raise UserInputError(f"--max-duration must be positive, got {self.max_duration}")
        if not self.suffixes or any(not s.startswith(".") for s in self.suffixes):
            raise UserInputError(f"file types must be suffixes like '.mp4', got {self.suffixes}")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * MB)


@dataclass(frozen=True)
class DemoConfig:
    """How the demo runs. ``host`` stays on loopback unless changed on purpose (``--host 0.0.0.0``)."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    queue_size: int = DEFAULT_QUEUE_SIZE
    limits: DemoLimits = field(default_factory=DemoLimits)
    timeline_rows: int = MAX_TIMELINE_ROWS
    model_note: str | None = None  # shown under the title: which model answers (e.g. the embedded tiny one)

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise UserInputError(f"--port must be in 0..65535, got {self.port}")
        if self.queue_size < 1:
            raise UserInputError(f"--queue-size must be at least 1, got {self.queue_size}")


def check_bindable(host: str, port: int) -> None:
    """Refuse at once (before a model loads) an address the server could not listen on: an unknown host, an
    address of another machine, a port already in use or one that needs privileges."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise UserInputError(
            f"--host {host}: not an address or name this machine knows ({exc.strerror}); use 127.0.0.1 (this "
            "machine only) or 0.0.0.0 (every interface)"
        ) from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(
            socket.SOL_SOCKET, socket.SO_REUSEADDR, 1
        )  # as the server does: TIME_WAIT is no obstacle
        try:
            probe.bind(address)
        except OSError as exc:
            raise UserInputError(_bind_problem(host, port, exc)) from None


def _bind_problem(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is in use (another demo?); pick a free one, e.g. --port {port + 1}"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"--host {host} is not an address of this machine; use 127.0.0.1 or 0.0.0.0"
    if exc.errno == errno.EACCES:
        return f"port {port} needs administrator rights; use a port above 1023, e.g. --port {DEFAULT_PORT}"
    return f"cannot listen on {host}:{port} ({exc.strerror or exc}); try another --host / --port"
