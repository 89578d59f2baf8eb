"""The contract every dataset source follows: parse the official processed layout into ``Sample`` records."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from videomind.errors import DataError
from videomind.records import Sample


class DataSource:
    """A parse-only dataset. Subclasses set the class attributes and implement ``_load``.

    ``root`` is the data root (the folder holding ``<folder>/`` sub-folders, like the official ``data/``).
    ``task`` is one of ``grounding``, ``grounded_qa``, ``qa``, ``verifying``, ``planning``; ``roles`` lists the
    roles it trains or evaluates.
    """

    name: ClassVar[str]
    task: ClassVar[str]
    splits: ClassVar[tuple[str, ...]]
    roles: ClassVar[tuple[str, ...]] = ()
    folder: ClassVar[str | None] = None  # defaults to ``name``

    def __init__(self, root: str | Path = "data") -> None:
        self.root = Path(root)

    @property
    def path(self) -> Path:
        return self.root / (self.folder or self.name)

    def present_splits(self) -> tuple[str, ...]:
        """The splits to check when none is named (``data check`` / ``data stats``): every split, unless a source
        whose splits are each optional knows which are on disk."""
        return self.splits

    def load_checked(self, split: str) -> tuple[list[Sample], list[str]]:
        """``load`` as ``data check`` uses it: ``(samples, problems)``. A source whose records stand alone (one
        JSON line each) may skip a malformed record, report it and return the others; by default any problem
        raises ``DataError`` as ``load`` does."""
        return self.load(split), []

    def load(self, split: str) -> list[Sample]:
        if split not in self.splits:
            raise DataError(f"{self.name} has no split {split!r}; available: {', '.join(self.splits)}")
        return self._load(split)

    def _load(self, split: str) -> list[Sample]:  # pragma: no cover - abstract
        raise NotImplementedError
