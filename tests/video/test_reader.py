"""Reading generated videos: codecs, sizes, rotation, VFR, real timestamps, seeking, errors, the decord backend."""

from __future__ import annotations

import av
import numpy as np
import pytest
import torch

from tests.conftest import load_expected
from tests.video.conftest import VFR_TIMES
from videomind.records import VideoView
from videomind.video import (
    GROUNDER_BUDGET,
    VERIFIER_BUDGET,
    FrameBudget,
    VideoError,
    open_video,
    probe_duration,
)
from videomind.video.errors import (
    BackendUnavailableError,
    CorruptVideoError,
    EmptyVideoError,
    NotAVideoError,
    NoVideoStreamError,
    VideoNotFoundError,
)
from videomind.video.sampling import sample_indices_by_time
from videomind.video.testing import make_test_video, marker_corner, read_frame_code

TINY = FrameBudget(fps=2.0, max_frames=64, min_pixels=28 * 28, max_pixels=56 * 56)


def codes(frames: torch.Tensor) -> list[int]:
    return [read_frame_code(f.permute(1, 2, 0).numpy()) for f in frames]


def real_times(path) -> list[float]:
    """Presentation times of every frame, straight from PyAV (relative to the stream start)."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        start = s.start_time or 0
        return sorted(float((f.pts - start) * s.time_base) for f in c.decode(s))


@pytest.mark.parametrize(
    "name,frames,fps,size",
    [
        ("h264", 64, 4.0, (56, 56)),
        ("mpeg4", 32, 8.0, (48, 64)),
        ("odd", 16, 8.0, (33, 47)),
        ("vp9", 16, 8.0, (33, 47)),
        ("one_frame", 1, 8.0, (48, 64)),
    ],
)
def test_codecs_and_sizes_decode_every_frame_right(videos, name, frames, fps, size):
    if name not in videos:
        pytest.skip(f"no encoder for {name}")
    with open_video(videos[name]) as reader:
        assert (reader.num_frames, reader.fps, (reader.height, reader.width)) == (frames, fps, size)
        assert reader.duration == pytest.approx(frames / fps)
        assert codes(reader.get_frames(range(frames))) == list(range(frames))
        assert list(reader.timestamps) == pytest.approx(real_times(videos[name]), abs=1e-6)


@pytest.mark.parametrize("name", ["h264", "odd", "mpeg4", "vp9"])
def test_pixels_equal_pyav_own_rgb_conversion(videos, name):
    # the reader converts with one reused VideoReformatter (faster); the pixels must be those of to_ndarray's
    if name not in videos:
        pytest.skip(f"no encoder for {name}")
    with av.open(str(videos[name])) as c:
        expected = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    with open_video(videos[name]) as reader:
        got = reader.get_frames(range(len(expected)))
    assert torch.equal(got.permute(0, 2, 3, 1), torch.from_numpy(np.stack(expected)))


def test_sample_returns_clip_with_official_indices_sizes_and_view(videos):
    with open_video(videos["h264"]) as reader:
        clip = reader.sample(GROUNDER_BUDGET)
    assert list(clip.indices) == load_expected("grounder")["frame_indices"]
    # 56x56 under the 36-64 token budget -> 168x168 (see test_sampling)
    assert clip.frames.shape == (16, 3, 168, 168) and clip.frames.dtype == torch.uint8
    assert codes(clip.frames) == list(clip.indices)
    assert clip.timestamps == pytest.approx([i / 4 for i in clip.indices])
    assert clip.view == VideoView(0.0, 16.0, 1.0, 16, 168, 168, clip.timestamps)
    assert (clip.start, clip.end) == (0.0, 16.0)


def test_window_sampling_matches_oracle_verifier_case(videos):
    expected = load_expected("verifier_A")
    with open_video(videos["h264"]) as reader:
        clip = reader.sample(VERIFIER_BUDGET, *expected["window_s1e1"])
    assert list(clip.indices) == expected["frame_indices"]
    assert codes(clip.frames) == expected["frame_indices"]
    assert (clip.view.start, clip.view.end) == (3.5, 9.5)


def test_seeking_back_and_forth_returns_the_right_frames(videos):
    orders = [[63, 0, 31, 32, 33, 7, 8, 9, 62], [5, 5, 40, 39, 41, 16, 0], list(range(63, -1, -7))]
    for order in orders:
        with open_video(videos["h264_gop8"]) as reader:  # fresh reader: every frame is really decoded
            assert codes(reader.get_frames(order)) == order


def test_rotation_is_applied_and_sizes_swap(videos):
    with open_video(videos["rotated"]) as reader:
        assert reader.rotation == 90
        assert (reader.height, reader.width) == (64, 48)  # stored 48x64, displayed turned a quarter
        frame = reader.get_frames([0])[0].permute(1, 2, 0).numpy()
        clip = reader.sample(GROUNDER_BUDGET)
    # the red cell is top-left in the stored picture; a quarter turn counter-clockwise puts it bottom-left
    assert frame.shape == (64, 48, 3) and marker_corner(frame) == "bottom-left"
    # 64x48 -> 56x56 (rounded) < 28224 px -> beta = sqrt(28224 / 3072) = 3.03: 194 -> 196, 145.5 -> 168
    assert clip.frames.shape[2:] == (196, 168)


def test_variable_frame_rate_uses_real_timestamps(videos):
    with open_video(videos["vfr"]) as reader:
        assert reader.is_vfr
        assert list(reader.timestamps) == pytest.approx(VFR_TIMES, abs=1e-4)
        assert list(reader.timestamps) == pytest.approx(real_times(videos["vfr"]), abs=1e-9)
        # the duration reaches past the last frame (frames / average fps would stop short of it)
        assert reader.duration > VFR_TIMES[-1]
        budget = {"nframes": 4}
        assert reader.sample_indices(budget, 0.0, 2.0) == [0, 4, 8, 9]  # see test_sampling
        clip = reader.sample(TINY.with_(max_frames=4), 0.0, 2.0)
        expected = sample_indices_by_time(reader.timestamps, reader.fps, TINY.with_(max_frames=4), 0.0, 2.0)
        assert list(clip.indices) == expected
        assert clip.timestamps == pytest.approx([VFR_TIMES[i] for i in expected], abs=1e-4)
        assert codes(clip.frames) == expected


def test_constant_rate_video_is_not_vfr_and_timestamps_are_slots(videos):
    with open_video(videos["h264_gop8"]) as reader:
        assert not reader.is_vfr
        assert list(reader.timestamps) == pytest.approx([i / 4 for i in range(64)])


def test_one_frame_video_samples_the_frame_twice(videos):
    with open_video(videos["one_frame"]) as reader:
        clip = reader.sample(GROUNDER_BUDGET)
        assert clip.indices == (0, 0) and codes(clip.frames) == [0, 0]
        with pytest.raises(VideoError, match="nframes"):
            reader.sample(GROUNDER_BUDGET, strict=True)


def test_audio_track_is_ignored_and_threads_give_same_frames(videos):
    with (
        open_video(videos["with_audio"], num_threads=1) as one,
        open_video(videos["with_audio"], num_threads=2) as two,
    ):
        assert one.num_frames == 24
        assert torch.equal(one.get_frames(range(24)), two.get_frames(range(24)))


def test_probe_duration(videos):
    assert probe_duration(videos["h264"]) == pytest.approx(16.0)
    assert probe_duration(videos["odd"]) == pytest.approx(2.0)
    assert probe_duration(videos["with_audio"]) == pytest.approx(3.0, abs=0.1)


# ------------------------------------------------------------------------------------------------ errors
def _corrupt(src, dst, seed: int):
    import random

    data = bytearray(src.read_bytes())
    rng = random.Random(seed)
    for i in range(len(data) // 3, len(data), 5):
        data[i] = rng.randrange(256)
    dst.write_bytes(bytes(data))
    return dst


def test_errors_name_the_path_and_say_what_to_do(videos, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a video at all\n" * 10)
    disguised = tmp_path / "fake.mp4"
    disguised.write_text("hello")
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(videos["h264"].read_bytes()[:2000])  # the index (moov) is at the end: gone
    cases = [
        (tmp_path / "missing.mp4", VideoNotFoundError, "not found"),
        (tmp_path, VideoNotFoundError, "is a folder, not a video file"),
        (text, NotAVideoError, "not a video"),
        (disguised, NotAVideoError, "not a video"),
        (empty, EmptyVideoError, "empty"),
        (truncated, CorruptVideoError, "corrupt or truncated"),
        (videos["audio_only"], NoVideoStreamError, "no video stream"),
    ]
    for path, kind, words in cases:
        for call in (open_video, probe_duration):
            with pytest.raises(kind, match=words) as info:
                call(path)
            assert str(path) in str(info.value) and info.value.path == str(path)
    assert issubclass(VideoNotFoundError, FileNotFoundError)


@pytest.mark.parametrize(
    "head, kind",
    [(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "JPEG"), (b"\x89PNG\r\n\x1a\n\x00\x00", "PNG"),
     (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "WebP"), (b"\x00\x00\x00\x18ftypavif\x00\x00", "AVIF")],
)  # fmt: skip
def test_still_images_are_called_images_whatever_their_name(tmp_path, head, kind):
    for name in ("picture.mp4", "picture.jpg"):
        path = tmp_path / name
        path.write_bytes(head + b"\0" * 200)
        for call in (open_video, probe_duration):
            with pytest.raises(NotAVideoError, match=rf"is a still image \({kind}\), not a video"):
                call(path)


def test_a_named_pipe_is_not_a_video_file(tmp_path):
    import os

    pipe = tmp_path / "stream.mp4"
    os.mkfifo(pipe)
    with pytest.raises(VideoNotFoundError, match="not a regular file"):
        open_video(pipe)  # refused without opening it (opening a pipe with no writer would block)


@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_zero_frame_video_is_empty(tmp_path, suffix):
    path = tmp_path / f"zero_frames{suffix}"
    with av.open(str(path), "w") as c:
        s = c.add_stream("mpeg4", rate=8)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        c.start_encoding()  # header with a video track, then no frame at all
    for call in (open_video, probe_duration):
        with pytest.raises(EmptyVideoError, match="frame"):
            call(path)


def test_corrupt_bytes_raise_video_errors_or_decode(videos, tmp_path):
    """Garbled data either decodes (FFmpeg conceals) or raises a VideoError: never a bare FFmpeg error."""
    for seed in range(4):
        for name in ("h264", "vp9", "mpeg4"):
            if name not in videos:
                continue
            path = _corrupt(videos[name], tmp_path / f"bad{seed}_{videos[name].name}", seed)
            try:
                with open_video(path) as reader:
                    reader.sample(TINY)
            except VideoError:
                pass


def test_truncated_stream_reads_what_is_there(videos, tmp_path):
    src = make_test_video(tmp_path / "long.mkv", seconds=8, fps=8, size=(48, 64), gop=8)
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    with open_video(cut) as reader:
        assert 8 < reader.num_frames < 64
        clip = reader.sample(TINY)
        assert codes(clip.frames) == list(clip.indices)


def test_unknown_backend_is_refused(videos):
    with pytest.raises(VideoError, match="unknown video backend"):
        open_video(videos["h264"], backend="opencv")


# ------------------------------------------------------------------------------------------------ decord
def test_decord_backend_matches_pyav(videos):
    try:
        import decord  # noqa: F401
    except ImportError:
        with pytest.raises(BackendUnavailableError, match="pip install"):
            open_video(videos["h264"], backend="decord")
        pytest.skip("decord is not installed")
    with open_video(videos["h264"], backend="decord") as dec, open_video(videos["h264"]) as ours:
        assert (dec.num_frames, dec.fps, dec.height, dec.width) == (ours.num_frames, ours.fps, 56, 56)
        assert dec.timestamps == pytest.approx(ours.timestamps, abs=1e-4)
        a, b = dec.sample(GROUNDER_BUDGET), ours.sample(GROUNDER_BUDGET)
        assert a.indices == b.indices
        assert torch.equal(a.frames, b.frames)  # same FFmpeg conversion: bit-identical
    with pytest.raises(VideoError, match="audio"):
        open_video(videos["audio_only"], backend="decord")
