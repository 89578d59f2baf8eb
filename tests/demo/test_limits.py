"""Request checks: file type, size, duration, location, question and options (pure functions, no gradio)."""

import os

import pytest

from videomind.demo.config import DemoConfig, DemoLimits
from videomind.demo.examples import EXAMPLES_DIR
from videomind.demo.limits import (
    UploadRejected,
    check_inside,
    check_question,
    check_video,
    format_seconds,
    format_size,
    parse_options,
)
from videomind.errors import UserInputError

LIMITS = DemoLimits(max_upload_mb=1, max_duration=60)


def fake_probe(seconds):
    return lambda path: seconds


def video_file(folder, name="clip.mp4", size=1000):
    path = folder / name
    path.write_bytes(b"\0" * size)
    return path


def test_a_video_within_every_limit_passes(tmp_path):
    path = video_file(tmp_path)
    checked = check_video(path, LIMITS, [tmp_path], probe=fake_probe(42.0))
    assert (checked.name, checked.size_bytes, checked.duration) == ("clip.mp4", 1000, 42.0)
    assert checked.path == path.resolve()


@pytest.mark.parametrize("name", ["notes.txt", "image.PNG", "archive.tar.gz", "noextension"])
def test_other_file_types_are_refused_naming_the_accepted_ones(tmp_path, name):
    path = video_file(tmp_path, name)
    with pytest.raises(
        UploadRejected, match=r"accepts video files of type \.mp4, \.mkv, \.webm, \.mov, \.avi"
    ):
        check_video(path, LIMITS, [tmp_path], probe=fake_probe(1.0))


def test_suffixes_are_case_insensitive(tmp_path):
    assert (
        check_video(video_file(tmp_path, "CLIP.MOV"), LIMITS, [tmp_path], probe=fake_probe(1.0)).name
        == "CLIP.MOV"
    )


def test_an_oversized_file_is_refused_with_its_size_and_the_limit(tmp_path):
    path = video_file(tmp_path, size=int(1.5 * 1024 * 1024))
    with pytest.raises(UploadRejected) as info:
        check_video(path, LIMITS, [tmp_path], probe=fake_probe(1.0))
    message = str(info.value)
    assert "clip.mp4 is 1.5 MB" in message and "limit is 1 MB" in message and "--max-upload-mb" in message
    assert str(tmp_path) not in message  # the server's paths stay private


def test_a_long_video_is_refused_with_its_duration_and_the_limit(tmp_path):
    with pytest.raises(UploadRejected, match=r"is 61\.0 s long; the limit is 60\.0 s.*--max-duration"):
        check_video(video_file(tmp_path), LIMITS, [tmp_path], probe=fake_probe(61.0))


def test_a_text_file_named_like_a_video_is_not_a_video(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("hello\n")
    with pytest.raises(UploadRejected, match=r"^notes\.mp4 is not a video: FFmpeg does not recognise"):
        check_video(path, LIMITS, [tmp_path])  # the real probe (PyAV)


def test_the_real_probe_reads_an_example_duration():
    video = EXAMPLES_DIR / "square_turns_red.mp4"
    assert check_video(video, LIMITS, [EXAMPLES_DIR]).duration == pytest.approx(15.0, abs=0.1)


def test_no_file_and_vanished_files_get_a_message(tmp_path):
    with pytest.raises(UploadRejected, match="Upload a video"):
        check_video(None, LIMITS, [tmp_path])
    with pytest.raises(UploadRejected, match="no longer on the server"):
        check_video(tmp_path / "gone.mp4", LIMITS, [tmp_path])


def test_files_outside_the_uploads_and_examples_are_refused(tmp_path):
    uploads, elsewhere = tmp_path / "uploads", tmp_path / "elsewhere"
    uploads.mkdir()
    elsewhere.mkdir()
    secret = video_file(elsewhere, "secret.mp4")
    with pytest.raises(UploadRejected, match="not uploaded to this demo"):
        check_video(secret, LIMITS, [uploads, EXAMPLES_DIR], probe=fake_probe(1.0))
    with pytest.raises(UploadRejected):  # ".." does not climb out
        check_inside(uploads / ".." / "elsewhere" / "secret.mp4", [uploads])
    link = uploads / "link.mp4"
    os.symlink(secret, link)
    with pytest.raises(UploadRejected):  # nor does a symlink
        check_inside(link, [uploads])
    assert check_inside(uploads / "x.mp4", [elsewhere, uploads]) == (uploads / "x.mp4").resolve()


def test_question_checks():
    assert check_question("  Where is the cat?  ", LIMITS) == "Where is the cat?"
    with pytest.raises(UploadRejected, match="Type a question"):
        check_question("   ", LIMITS)
    with pytest.raises(UploadRejected, match="limit is 1000"):
        check_question("x" * 1001, LIMITS)


def test_options_one_per_line_or_semicolons():
    assert parse_options("") is None and parse_options(None) is None and parse_options("\n \n") is None
    assert parse_options("red\n green \n\nblue") == ["red", "green", "blue"]
    assert parse_options("it moves to the left, slowly; it grows") == [
        "it moves to the left, slowly",
        "it grows",
    ]
    assert parse_options(["a", " b "]) == ["a", "b"]
    with pytest.raises(UploadRejected, match="at least two"):
        parse_options("only one")
    with pytest.raises(UploadRejected, match="at most 26"):
        parse_options("\n".join(str(i) for i in range(27)))


def test_formatting():
    assert format_size(1.5 * 1024 * 1024) == "1.5 MB" and format_size(2048) == "2 KB"
    assert format_seconds(15) == "15.0 s" and format_seconds(600) == "10 min 00 s"


def test_limits_and_config_refuse_nonsense():
    assert DemoLimits(max_upload_mb=2).max_upload_bytes == 2 * 1024 * 1024
    for bad in ({"max_upload_mb": 0}, {"max_duration": -1}, {"suffixes": ("mp4",)}):
        with pytest.raises(UserInputError):
            DemoLimits(**bad)
    assert DemoConfig().host == "127.0.0.1"
    with pytest.raises(UserInputError):
        DemoConfig(port=70000)
    with pytest.raises(UserInputError):
        DemoConfig(queue_size=0)


def test_a_still_image_named_like_a_video_is_called_an_image(tmp_path):
    path = tmp_path / "photo.mp4"
    path.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\0" * 64)
    with pytest.raises(UploadRejected, match=r"^photo\.mp4 is a still image \(JPEG\), not a video"):
        check_video(path, LIMITS, [tmp_path], probe=fake_probe(1.0))


def test_the_address_is_checked_before_anything_loads():
    import socket

    from videomind.demo.config import check_bindable

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(UserInputError, match=rf"port {port} on 127.0.0.1 is in use.*--port {port + 1}"):
            check_bindable("127.0.0.1", port)
    check_bindable("127.0.0.1", port)  # free again
    with pytest.raises(UserInputError, match="not an address or name this machine knows"):
        check_bindable("no-such-host.invalid", 7860)
    with pytest.raises(UserInputError, match="is not an address of this machine"):
        check_bindable("192.0.2.1", 7860)  # TEST-NET-1: never assigned to a real machine
