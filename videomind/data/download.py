"""``download_source``: fetch a dataset's processed files from the public VideoMind dataset repository.

The repository (``HUB_REPO_ID``, a Hugging Face dataset) mirrors the data root: one folder per dataset
(``charades_sta/``, ``activitynet/``, ``verifying/``, ...) with the annotation files and the videos as split archives
(``videos_3fps_480_noaudio.tar.gz.00``, ...). A source downloads every folder it reads (``folders()``): its own
annotations plus shared video folders such as ``activitynet/``; of the archives only those of the video folder it
reads are fetched (the compressed videos, not the raw ones). Extract them with ``videomind data extract``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from videomind.data.base import DataSource
from videomind.errors import DataError

log = logging.getLogger(__name__)

HUB_REPO_ID = "yeliudev/VideoMind-Dataset"
HUB_URL = f"https://huggingface.co/datasets/{HUB_REPO_ID}"
ARCHIVE = re.compile(r"\.(?:tar\.gz|tgz|tar|zip)(?:\.\d+)?$")


class Hub(Protocol):
    """What downloading needs from the hub (a fake in tests)."""

    def list_files(self) -> list[str]: ...

    def fetch(self, files: Sequence[str], local_dir: Path) -> None: ...


class HfHub:
    """The dataset repository through ``huggingface_hub`` (imported when used)."""

    def __init__(self, repo_id: str = HUB_REPO_ID, revision: str | None = None) -> None:
        self.repo_id, self.revision = repo_id, revision

    def list_files(self) -> list[str]:
        from huggingface_hub import HfApi

        with _hub_errors(self.repo_id):
            return HfApi().list_repo_files(self.repo_id, repo_type="dataset", revision=self.revision)

    def fetch(self, files: Sequence[str], local_dir: Path) -> None:
        from huggingface_hub import snapshot_download

        with _hub_errors(self.repo_id):
            snapshot_download(
                self.repo_id,
                repo_type="dataset",
                revision=self.revision,
                allow_patterns=list(files),
                local_dir=local_dir,
            )


# huggingface_hub 2.x talks through httpx2, whose network errors (ConnectError, ReadTimeout, ...) do not subclass
# OSError; they are recognised by class name so that no HTTP library has to be imported here.
NETWORK_ERRORS = {"TransportError", "NetworkError", "ConnectError", "TimeoutException", "ConnectionError"}


def _is_offline(exc: BaseException) -> bool:
    from huggingface_hub.errors import OfflineModeIsEnabled

    if isinstance(exc, (OfflineModeIsEnabled, ConnectionError, TimeoutError)):
        return True
    return any(cls.__name__ in NETWORK_ERRORS for cls in type(exc).__mro__) or isinstance(exc, OSError)


@contextmanager
def _hub_errors(repo_id: str) -> Iterator[None]:
    """Turn network and hub failures into a ``DataError`` that says what to do."""
    from huggingface_hub.errors import HfHubHTTPError

    try:
        yield
    except DataError:
        raise
    except Exception as exc:
        offline = _is_offline(exc)
        if not (offline or isinstance(exc, HfHubHTTPError)):
            raise
        what = (
            "cannot reach the Hugging Face Hub"
            if offline
            else f"the Hugging Face Hub refused the request for {repo_id}"
        )
        raise DataError(
            f"{what} ({type(exc).__name__}: {exc}). Check the network (and that HF_HUB_OFFLINE is not set), "
            f"or download the folders by hand from {HUB_URL}/tree/main into your data root"
        ) from exc


def _name(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _is_video_archive(name: str, video_dir: str | None) -> bool:
    return name.lower().startswith("video") or (video_dir is not None and name.startswith(video_dir + "."))


def _folder_files(files: Sequence[str], folder: str, video_dir: str | None, with_videos: bool) -> list[str]:
    """Files of one folder: all but archives, non-video archives (subtitles...), and the wanted video archives.

    Video archives are those named ``<video dir>.tar.gz[.NN]`` for the folder's video dir; when none is named so,
    every ``video*`` archive of the folder is taken (with a warning) rather than none.
    """
    mine = [f for f in files if f.startswith(folder + "/")]
    plain = [f for f in mine if not ARCHIVE.search(f) or not _is_video_archive(_name(f), video_dir)]
    if not with_videos or video_dir is None:
        return plain
    videos = [f for f in mine if ARCHIVE.search(f) and _name(f).startswith(video_dir + ".")]
    if not videos:
        videos = [f for f in mine if ARCHIVE.search(f) and _is_video_archive(_name(f), video_dir)]
        if videos:
            log.warning(
                "%s: no %s.tar.gz* archive; fetching %s", folder, video_dir, ", ".join(map(_name, videos))
            )
    return plain + videos


def select_files(
    source: type[DataSource] | DataSource, files: Sequence[str], with_videos: bool = True
) -> list[str]:
    """The repository files a source needs from every folder it reads (see ``_folder_files``)."""
    video_dirs = source.video_dirs()
    chosen = []
    for folder in source.folders():
        found = _folder_files(files, folder, video_dirs.get(folder), with_videos)
        if not found:
            log.warning("%s: no files under %s/ in %s", source.name, folder, HUB_REPO_ID)
        chosen += found
    return chosen


def download_source(source: DataSource, *, with_videos: bool = True, hub: Hub | None = None) -> list[Path]:
    """Download what ``source`` reads into its data root; returns the local paths (archives still packed)."""
    if source.name in ("custom", "synthetic"):
        raise DataError(f"{source.name} is not hosted: it is your own data or made by `videomind synth make`")
    hub = hub or HfHub()
    files = select_files(source, hub.list_files(), with_videos)
    if not files:
        raise DataError(
            f"{source.name}: no files found in {HUB_URL} for folders {', '.join(source.folders())}"
        )
    source.root.mkdir(parents=True, exist_ok=True)
    log.info("%s: downloading %d files from %s into %s", source.name, len(files), HUB_REPO_ID, source.root)
    hub.fetch(files, source.root)
    return [source.root / f for f in files]
