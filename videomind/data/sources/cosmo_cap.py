"""CosMo-Cap (``cosmo_cap/anno_cosmo_cap.jsonl``, train only): ``vid``, ``duration``, ``query``, ``span``."""

from __future__ import annotations

from videomind.data.sources._common import SpanJsonlSource


class CosMoCap(SpanJsonlSource):
    name = "cosmo_cap"
    files = {"train": "anno_cosmo_cap.jsonl"}
