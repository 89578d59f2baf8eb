"""Cutting the chosen moment into its own MP4, and the example clips shipped with the package."""

import av
import pytest

from videomind.demo.clip import ClipFolder, cut_clip
from videomind.demo.examples import EXAMPLES_DIR, load_examples
from videomind.errors import DataError
from videomind.video import probe_duration
from videomind.video.errors import VideoError
from videomind.video.testing import make_test_video, read_frame_code


@pytest.fixture(scope="module")
def coded(tmp_path_factory):
    # 8 s at 4 fps: frame k shows its index k, so the first frame of a cut tells where it started
    return make_test_video(tmp_path_factory.mktemp("clip") / "coded.mp4", seconds=8, fps=4, size=(96, 96))


def frames_of(path):
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def test_cut_keeps_the_frames_of_the_span_from_time_zero(coded, tmp_path):
    out = cut_clip(coded, 2.0, 5.0, tmp_path / "cut.mp4")
    frames = frames_of(out)
    codes = [read_frame_code(f) for f in frames]
    assert codes[0] == 8 and codes == list(range(8, 8 + len(codes)))  # 2.0 s * 4 fps, consecutive
    assert codes[-1] == 20  # the frame shown at 5.0 s
    assert probe_duration(out) == pytest.approx(13 / 4, abs=0.3)
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.name == "h264" and frames[0].shape[:2] == (96, 96)


def test_cut_refuses_empty_spans(coded, tmp_path):
    with pytest.raises(VideoError):
        cut_clip(coded, 3.0, 3.0, tmp_path / "empty.mp4")
    with pytest.raises(VideoError, match="no frame"):
        cut_clip(coded, 50.0, 60.0, tmp_path / "after.mp4")


def test_clip_folder_keeps_only_the_newest(coded, tmp_path):
    folder = ClipFolder(tmp_path / "clips", keep=2)
    made = [folder.cut(coded, 0.0, 1.0 + i) for i in range(4)]
    assert sorted(p.name for p in (tmp_path / "clips").iterdir()) == [made[2].name, made[3].name]


def test_examples_ship_small_short_videos_with_their_questions():
    examples = load_examples()
    assert len(examples) >= 2
    total = sum(e.video.stat().st_size for e in examples)
    assert total < 300 * 1024
    for e in examples:
        assert 10.0 <= probe_duration(e.video) <= 20.0 and e.duration == pytest.approx(
            probe_duration(e.video)
        )
        with av.open(str(e.video)) as c:
            assert (c.streams.video[0].width, c.streams.video[0].height) == (112, 112)
        assert e.question.endswith("?") and len(e.options) == 4
        assert e.answer in "ABCD" and e.options["ABCD".index(e.answer)] == e.answer_text
        assert e.options_text.splitlines() == list(e.options)
        assert all(0 <= s < t <= e.duration for s, t in e.evidence)


def test_a_broken_example_list_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="cannot read the demo's example list"):
        load_examples(tmp_path)
    (tmp_path / "examples.json").write_text('{"examples": [{"video": "gone.mp4", "question": "q?"}]}')
    with pytest.raises(DataError, match="gone.mp4, which is not in"):
        load_examples(tmp_path)
    assert EXAMPLES_DIR.name == "examples"
