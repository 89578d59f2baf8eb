"""``videomind.data.extract``: split archives joined and streamed, unsafe members refused, resumable runs."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from videomind.cli.main import main as cli_main
from videomind.data.extract import PART_SUFFIX, extract_all, find_archives, refusal
from videomind.errors import DataError

GOOD = {"videos/a.mp4": b"A" * 3000, "videos/sub/b.mp4": b"B" * 5000, "notes.txt": b"hello"}


def _info(name: str, **kw) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    for k, v in kw.items():
        setattr(info, k, v)
    return info


def make_split_archive(folder: Path, parts: int = 3, evil: bool = True) -> bytes:
    """``videos.tar.gz.00`` ... with the good members and (optionally) members escaping the folder."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.addfile(_info("videos", type=tarfile.DIRTYPE, mode=0o755))
        for name, data in GOOD.items():
            tar.addfile(_info(name, size=len(data)), io.BytesIO(data))
        if evil:
            tar.addfile(_info("../escaped.txt", size=4), io.BytesIO(b"evil"))
            tar.addfile(_info("videos/../../escaped2.txt", size=4), io.BytesIO(b"evil"))
            tar.addfile(_info("/tmp/videomind_abs_evil.txt", size=4), io.BytesIO(b"evil"))
            tar.addfile(_info("videos/link_out", type=tarfile.SYMTYPE, linkname="../../outside"))
            tar.addfile(_info("videos/hard_out", type=tarfile.LNKTYPE, linkname="../outside"))
        tar.addfile(_info("videos/link_in", type=tarfile.SYMTYPE, linkname="a.mp4"))
    data = buf.getvalue()
    folder.mkdir(parents=True, exist_ok=True)
    step = len(data) // parts + 1
    for i in range(parts):
        (folder / f"videos.tar.gz.{i:02d}").write_bytes(data[i * step : (i + 1) * step])
    return data


def test_split_archive_extracts_good_members_and_refuses_escaping_ones(tmp_path):
    ds = tmp_path / "data" / "charades_sta"
    make_split_archive(ds)
    (report,) = extract_all(ds, progress=False)
    for name, data in GOOD.items():
        assert (ds / name).read_bytes() == data
    assert (ds / "videos" / "link_in").resolve() == (ds / "videos" / "a.mp4").resolve()
    refused = dict(report.refused)
    assert set(refused) == {
        "../escaped.txt",
        "videos/../../escaped2.txt",
        "/tmp/videomind_abs_evil.txt",
        "videos/link_out",
        "videos/hard_out",
    }
    assert refused["../escaped.txt"] == "path escapes the target folder"
    assert refused["/tmp/videomind_abs_evil.txt"] == "absolute path"
    assert "points outside" in refused["videos/link_out"] and "hard link" in refused["videos/hard_out"]
    assert (
        not (tmp_path / "data" / "escaped.txt").exists() and not (tmp_path / "data" / "escaped2.txt").exists()
    )
    assert not Path("/tmp/videomind_abs_evil.txt").exists()
    assert report.extracted == 4 and report.skipped == 0  # 3 files + the inside symlink


def test_parts_are_grouped_in_numeric_order(tmp_path):
    make_split_archive(tmp_path, parts=12, evil=False)
    (archive,) = find_archives(tmp_path)
    assert archive.name == "videos.tar.gz" and [p.name[-2:] for p in archive.parts] == [
        f"{i:02d}" for i in range(12)
    ]


def test_missing_part_is_reported_before_extracting(tmp_path):
    make_split_archive(tmp_path, parts=3, evil=False)
    (tmp_path / "videos.tar.gz.01").unlink()
    with pytest.raises(DataError, match="not consecutive"):
        extract_all(tmp_path, progress=False)
    assert not (tmp_path / "videos").exists()


def test_rerun_skips_finished_archives_and_resumes_unfinished_ones(tmp_path):
    make_split_archive(tmp_path, evil=False)
    first = extract_all(tmp_path, progress=False)[0]
    assert (first.extracted, first.already_done) == (4, False)
    assert extract_all(tmp_path, progress=False)[0].already_done
    # simulate an interrupted run: no marker, one file lost, one half-written temporary left behind
    next(tmp_path.glob(".videos.tar.gz.done")).unlink()
    (tmp_path / "videos" / "sub" / "b.mp4").unlink()
    (tmp_path / "videos" / "sub" / ("b.mp4" + PART_SUFFIX)).write_bytes(b"BB")
    again = extract_all(tmp_path, progress=False)[0]
    assert (again.extracted, again.skipped) == (1, 3)
    assert (tmp_path / "videos" / "sub" / "b.mp4").read_bytes() == GOOD["videos/sub/b.mp4"]
    assert not list(tmp_path.rglob("*" + PART_SUFFIX))


def test_truncated_archive_is_a_clear_error(tmp_path):
    make_split_archive(tmp_path, evil=False)
    (tmp_path / "videos.tar.gz.02").write_bytes(b"")
    with pytest.raises(DataError, match="corrupt or truncated.*re-download"):
        extract_all(tmp_path, progress=False)


def test_delete_archives_after_clean_extraction(tmp_path):
    make_split_archive(tmp_path, evil=False)
    extract_all(tmp_path, progress=False, delete=True)
    assert not list(tmp_path.glob("videos.tar.gz.*")) and (tmp_path / "notes.txt").is_file()


def test_refusal_of_device_members(tmp_path):
    assert refusal(_info("dev", type=tarfile.CHRTYPE), tmp_path) == "device or pipe member"
    assert refusal(_info("ok/file.mp4"), tmp_path) is None


def test_cli_extract_names_refused_members_and_fails(tmp_path, capsys):
    make_split_archive(tmp_path / "ds")
    code = cli_main(["data", "extract", str(tmp_path / "ds"), "--no-progress"])
    out = capsys.readouterr().out
    assert code == 1
    assert "refused '../escaped.txt': path escapes the target folder" in out and "5 member(s) refused" in out
    assert (tmp_path / "ds" / "videos" / "a.mp4").is_file()


def test_cli_extract_without_archives(tmp_path, capsys):
    assert cli_main(["data", "extract", str(tmp_path)]) == 2


def test_single_uncompressed_tar(tmp_path):
    with tarfile.open(tmp_path / "frames.tar", "w") as tar:
        tar.addfile(_info("frames/00001.jpg", size=3), io.BytesIO(b"jpg"))
    (report,) = extract_all(tmp_path, progress=False)
    assert (tmp_path / "frames" / "00001.jpg").read_bytes() == b"jpg" and report.extracted == 1


def test_truncated_middle_part_is_a_clear_error(tmp_path):
    import os

    data = os.urandom(200_000)  # incompressible, so every part holds member data
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.addfile(_info("videos/r.bin", size=len(data)), io.BytesIO(data))
    raw = buf.getvalue()
    half = len(raw) // 2
    (tmp_path / "videos.tar.gz.00").write_bytes(raw[:half])
    (tmp_path / "videos.tar.gz.01").write_bytes(raw[half : half + 1000])
    with pytest.raises(DataError, match="corrupt or truncated"):
        extract_all(tmp_path, progress=False)
    assert not (tmp_path / "videos" / "r.bin").exists() and not list(tmp_path.glob(".*.done"))
    assert not list(tmp_path.rglob("*" + PART_SUFFIX))
