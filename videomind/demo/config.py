"""The demo's settings: where it listens, how many requests wait, and what an upload may be."""

from __future__ import annotations

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

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise UserInputError(f"--port must be in 0..65535, got {self.port}")
        if self.queue_size < 1:
            raise UserInputError(f"--queue-size must be at least 1, got {self.queue_size}")
