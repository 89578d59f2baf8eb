"""``videomind data list | check | stats | download`` and the pieces behind them (histograms, file selection)."""

from __future__ import annotations

import json

import pytest

from tests.data import builders_grounding as bg
from videomind.cli.main import main as cli_main
from videomind.data import get_source, list_sources
from videomind.data.base import DataSource
from videomind.data.download import HUB_REPO_ID, HfHub, download_source, select_files
from videomind.data.stats import check_source, default_splits, probe_duration, text_histogram
from videomind.errors import DataError

V = bg.VIDEOS


def test_data_list_shows_every_source(capsys):
    assert cli_main(["data", "list"]) == 0
    out = capsys.readouterr().out
    names = [line.split()[0] for line in out.splitlines()[1:]]
    assert names == list_sources()
    assert "charades_sta                grounding    train,test             grounder" in out


def test_data_list_json(capsys):
    assert cli_main(["data", "list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["tacos"] == {
        "name": "tacos",
        "task": "grounding",
        "splits": ["train", "valid", "test"],
        "roles": ["grounder"],
    }


def test_probe_reads_a_real_video(tmp_path):
    bg.write_video(tmp_path / "a.mp4", seconds=2.0, fps=4)
    assert probe_duration(str(tmp_path / "a.mp4")) == pytest.approx(2.0, abs=0.3)


def test_data_check_reports_missing_and_unreadable_videos(tmp_path, capsys):
    bg.charades_sta(tmp_path)
    bg.write_video(tmp_path / "charades_sta" / V / "AO8RW.mp4")
    (tmp_path / "charades_sta" / V / "Y6R7T.mp4").write_bytes(b"not a video")
    code = cli_main(["data", "check", "charades_sta", "--root", str(tmp_path), "--no-progress"])
    out = capsys.readouterr().out
    assert code == 1
    assert "samples train 1, test 2; 2 videos checked" in out
    assert "Y6R7T.mp4: unreadable" in out and "AO8RW" not in out.split("checked")[1]
    (tmp_path / "charades_sta" / V / "Y6R7T.mp4").unlink()
    assert (
        cli_main(["data", "check", "charades_sta", "--root", str(tmp_path), "--no-progress", "--no-probe"])
        == 1
    )
    assert "Y6R7T.mp4: video file missing" in capsys.readouterr().out


def test_data_check_passes_on_a_complete_dataset(tmp_path, capsys):
    bg.charades_sta(tmp_path)
    for vid in ("AO8RW", "Y6R7T"):
        bg.write_video(tmp_path / "charades_sta" / V / f"{vid}.mp4")
    assert cli_main(["data", "check", "charades_sta", "--root", str(tmp_path), "--no-progress"]) == 0
    assert capsys.readouterr().out.strip().endswith("OK")


def test_check_reports_missing_annotations_per_split(tmp_path):
    bg.charades_sta(tmp_path)
    (tmp_path / "charades_sta" / "charades_sta_train.txt").unlink()
    report = check_source(get_source("charades_sta", tmp_path), probe=lambda p: 1.0)
    assert report.counts == {"test": 2}
    assert report.problems[0].startswith("train: charades_sta: annotation file") and len(report.problems) == 3


def test_check_uses_the_probe_and_flags_bad_durations(tmp_path):
    bg.tacos(tmp_path)
    for split in ("train", "val", "test"):
        (tmp_path / "tacos" / V / f"s13-d21_{split}-cam-002.mp4").parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "tacos" / V / f"s13-d21_{split}-cam-002.mp4").write_bytes(b"")
    durations = {"train": 10.0, "val": 0.0, "test": float("nan")}
    report = check_source(
        get_source("tacos", tmp_path), probe=lambda p: durations[p.split("_")[-1].split("-")[0]]
    )
    assert report.videos == 3 and len(report.problems) == 2
    assert all("unreadable duration" in p for p in report.problems)


def test_default_splits_skip_refinements():
    class Fake(DataSource):
        name = "fake"
        splits = ("train", "val", "train_grounding", "val_mcq")

    assert default_splits(Fake(".")) == ("train", "val")


def test_text_histogram_hand_computed():
    # 0..10 in 5 bins of width 2: [0,2) has 0 and 1, ..., the last bin includes the maximum
    lines = text_histogram([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], bins=5, width=6)
    assert lines == [
        "    0.00 -     2.00 | #### 2",
        "    2.00 -     4.00 | #### 2",
        "    4.00 -     6.00 | #### 2",
        "    6.00 -     8.00 | #### 2",
        "    8.00 -    10.00 | ###### 3",
    ]
    assert text_histogram([3.0, 3.0], bins=4, width=2) == ["    3.00 -     3.00 | ## 2"]
    assert text_histogram([]) == ["(no values)"]


def test_data_stats_prints_counts_and_histograms(tmp_path, capsys):
    bg.activitynet(tmp_path)
    assert cli_main(["data", "stats", "activitynet_captions", "--root", str(tmp_path), "--bins", "2"]) == 0
    out = capsys.readouterr().out
    assert "train            3       1      3" in out and "test             2       1      2" in out
    # durations per video: 100.5, 50, 50; span lengths 10, 9, 10, 1, 1, 1
    assert "video duration (s): n=3 min=50.00 mean=66.83 max=100.50" in out
    assert "span length (s): n=6 min=1.00 mean=5.33 max=10.00" in out
    assert "    1.00 -     5.50 | ########################################" in out


# --- download (the hub is faked; no network) ---------------------------------------------------------------

REPO_FILES = [
    "README.md",
    "activitynet/durations.json",
    "activitynet/videos.tar.gz.00",
    "activitynet/videos_3fps_480_noaudio.tar.gz.00",
    "activitynet/videos_3fps_480_noaudio.tar.gz.01",
    "activitynet_captions/train.json",
    "activitynet_captions/val_1.json",
    "cgbench/cgbench_mini.json",
    "cgbench/subtitles.tar.gz",
    "cgbench/videos_3fps_480_noaudio.tar.gz.00",
    "charades_sta/charades_sta_train.txt",
]


class FakeHub:
    def __init__(self, files=REPO_FILES, error: Exception | None = None):
        self.files, self.error, self.fetched = files, error, None

    def list_files(self):
        if self.error:
            raise self.error
        return list(self.files)

    def fetch(self, files, local_dir):
        self.fetched = (list(files), local_dir)


def test_download_selects_the_folders_a_source_reads(tmp_path):
    hub = FakeHub()
    paths = download_source(get_source("activitynet_captions", tmp_path), hub=hub)
    expected = [
        "activitynet_captions/train.json",
        "activitynet_captions/val_1.json",
        "activitynet/durations.json",
        "activitynet/videos_3fps_480_noaudio.tar.gz.00",
        "activitynet/videos_3fps_480_noaudio.tar.gz.01",
    ]
    assert hub.fetched == (expected, tmp_path) and paths == [tmp_path / f for f in expected]


def test_download_keeps_non_video_archives_and_can_skip_videos():
    cg = get_source("cgbench", "data")
    assert select_files(cg, REPO_FILES) == [
        "cgbench/cgbench_mini.json",
        "cgbench/subtitles.tar.gz",
        "cgbench/videos_3fps_480_noaudio.tar.gz.00",
    ]
    assert select_files(cg, REPO_FILES, with_videos=False) == [
        "cgbench/cgbench_mini.json",
        "cgbench/subtitles.tar.gz",
    ]


def test_real_hub_client_translates_offline_errors(monkeypatch, tmp_path):
    import huggingface_hub
    from huggingface_hub.errors import OfflineModeIsEnabled

    def offline(self, *args, **kwargs):
        raise OfflineModeIsEnabled("Cannot reach https://huggingface.co: offline mode is enabled")

    monkeypatch.setattr(huggingface_hub.HfApi, "list_repo_files", offline)
    with pytest.raises(
        DataError, match="cannot reach the Hugging Face Hub.*HF_HUB_OFFLINE.*download the folders by hand"
    ):
        download_source(get_source("charades_sta", tmp_path), hub=HfHub())


class ConnectError(Exception):
    """Stands for httpx2.ConnectError, which huggingface_hub raises without network (not an OSError)."""


def test_cli_download_offline_exits_2_with_the_message(monkeypatch, tmp_path, caplog):
    import huggingface_hub

    def offline(self, *args, **kwargs):
        raise ConnectError("[Errno -2] Name or service not known")

    monkeypatch.setattr(huggingface_hub.HfApi, "list_repo_files", offline)
    assert cli_main(["data", "download", "charades_sta", "--root", str(tmp_path)]) == 2
    assert "cannot reach the Hugging Face Hub" in caplog.text and HUB_REPO_ID in caplog.text


def test_cli_download_then_extract(monkeypatch, tmp_path, capsys):
    from tests.data.test_extract import make_split_archive

    class ArchiveHub(FakeHub):
        def fetch(self, files, local_dir):
            super().fetch(files, local_dir)
            bg.charades_sta(local_dir)
            make_split_archive(local_dir / "charades_sta", evil=False)

    files = ["charades_sta/charades_sta_train.txt"] + [
        f"charades_sta/videos.tar.gz.{i:02d}" for i in range(3)
    ]
    monkeypatch.setattr("videomind.data.download.HfHub", lambda: ArchiveHub(files))
    assert cli_main(["data", "download", "charades_sta", "--root", str(tmp_path), "--extract"]) == 0
    assert (tmp_path / "charades_sta" / "videos" / "a.mp4").is_file()


def test_custom_and_synthetic_are_not_downloadable(tmp_path):
    with pytest.raises(DataError, match="not hosted"):
        download_source(get_source("custom", tmp_path), hub=FakeHub())


def test_real_hub_client_does_not_mask_programming_errors(monkeypatch, tmp_path):
    import huggingface_hub

    def broken(self, *args, **kwargs):
        raise KeyError("bug")

    monkeypatch.setattr(huggingface_hub.HfApi, "list_repo_files", broken)
    with pytest.raises(KeyError):
        download_source(get_source("charades_sta", tmp_path), hub=HfHub())
