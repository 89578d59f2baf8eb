"""The example clips shipped with the package (videomind/assets/examples): synthetic videos and their questions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from videomind.errors import DataError

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "assets" / "examples"
EXAMPLES_FILE = "examples.json"


@dataclass(frozen=True)
class DemoExample:
    """One example: a video in ``EXAMPLES_DIR``, a question, its options and the generator's answer."""

    video: Path
    question: str
    options: tuple[str, ...]
    answer: str | None = None
    answer_text: str | None = None
    duration: float | None = None
    evidence: tuple[tuple[float, float], ...] = ()

    @property
    def options_text(self) -> str:
        """The options as the demo's options box takes them (one per line)."""
        return "\n".join(self.options)


def load_examples(folder: str | Path = EXAMPLES_DIR) -> list[DemoExample]:
    """The examples listed in ``folder/examples.json``; every listed video must exist."""
    folder = Path(folder)
    listing = folder / EXAMPLES_FILE
    try:
        entries = json.loads(listing.read_text(encoding="utf-8"))["examples"]
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(f"{listing}: cannot read the demo's example list ({exc})") from None
    out = []
    for i, entry in enumerate(entries):
        video = folder / entry["video"]
        if not video.is_file():
            raise DataError(f"{listing}: example {i} names {entry['video']}, which is not in {folder}")
        out.append(
            DemoExample(
                video=video,
                question=entry["question"],
                options=tuple(entry.get("options") or ()),
                answer=entry.get("answer"),
                answer_text=entry.get("answer_text"),
                duration=entry.get("duration"),
                evidence=tuple((float(s), float(e)) for s, e in entry.get("evidence") or ()),
            )
        )
    return out
