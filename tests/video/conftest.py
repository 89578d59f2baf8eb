"""Videos the video tests share, generated once per session with PyAV (small, so every file stays fast)."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from videomind.video.testing import make_audio_only, make_test_video

VFR_TIMES = (0.0, 0.1, 0.2, 0.5, 0.6, 1.0, 1.1, 1.15, 1.2, 2.0)


def has_encoder(name: str) -> bool:
    return name in av.codecs_available


@pytest.fixture(scope="session")
def videos(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("videos")
    made = {
        # 16 s at 4 fps = 64 frames of 56x56: the oracle's video16s layout.
        "h264": make_test_video(root / "h264.mp4", seconds=16, fps=4, size=(56, 56)),
        # keyframe every 8 frames: seeks land in many places
        "h264_gop8": make_test_video(root / "gop8.mp4", seconds=16, fps=4, size=(48, 64), gop=8),
        "mpeg4": make_test_video(root / "mpeg4.mp4", seconds=4, fps=8, size=(48, 64), codec="mpeg4"),
        "odd": make_test_video(root / "odd.mp4", seconds=2, fps=8, size=(33, 47)),
        "one_frame": make_test_video(root / "one.mp4", seconds=0.125, fps=8, size=(48, 64)),
        "rotated": make_test_video(root / "rotated.mp4", seconds=1, fps=8, size=(48, 64), rotation=90),
        "vfr": make_test_video(root / "vfr.mp4", timestamps=VFR_TIMES, size=(48, 64)),
        "with_audio": make_test_video(root / "with_audio.mp4", seconds=3, fps=8, size=(48, 64), audio=True),
        "audio_only": make_audio_only(root / "audio_only.m4a", seconds=1.0),
    }
    if has_encoder("libvpx-vp9"):
        made["vp9"] = make_test_video(root / "vp9.webm", seconds=2, fps=8, size=(33, 47), codec="libvpx-vp9")
    return made
