"""VID-MoRP (``vid_morp/anno_vid_morp.jsonl``, train only): ``vid``, ``duration``, ``query``, ``span``.

As officially, only records whose video is on disk are kept (checked on the exact file ``<vid>.mp4``).
"""

from __future__ import annotations

from videomind.data.sources._common import SpanJsonlSource


class VidMorp(SpanJsonlSource):
    name = "vid_morp"
    files = {"train": "anno_vid_morp.jsonl"}
    only_on_disk = True
