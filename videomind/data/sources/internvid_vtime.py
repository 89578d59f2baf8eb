"""InternVid-VTime (``internvid_vtime/anno_internvid_vtime_query_gpt4o_mini.jsonl``, train only).

Fields ``vid``, ``duration``, ``query`` (GPT-4o-mini rephrased), ``span``. Videos are the cropped clips in
``videos_crop_3fps_480_noaudio``; as officially, only records whose video is on disk are kept (the release lacks many
of them). Difference: the official check compares ids with the first 11 characters of the file names; here the
exact file ``<vid>.mp4`` the sample points to must exist.
"""

from __future__ import annotations

from videomind.data.sources._common import SpanJsonlSource


class InternVidVTime(SpanJsonlSource):
    name = "internvid_vtime"
    files = {"train": "anno_internvid_vtime_query_gpt4o_mini.jsonl"}
    video_dir = "videos_crop_3fps_480_noaudio"
    only_on_disk = True
