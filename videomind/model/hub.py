"""Finding checkpoints and base models: local folders first, then the Hugging Face hub (clear errors offline)."""

from __future__ import annotations

import logging
from pathlib import Path

from videomind.errors import CheckpointError

log = logging.getLogger(__name__)

EMBEDDED_MODEL = Path(__file__).resolve().parent.parent / "assets" / "tiny"
RELEASED_CHECKPOINTS = {
    "VideoMind-2B": "yeliudev/VideoMind-2B",
    "VideoMind-7B": "yeliudev/VideoMind-7B",
    "VideoMind-2B-FT-QVHighlights": "yeliudev/VideoMind-2B-FT-QVHighlights",
}
BASE_MODELS = {
    name: f"Qwen/{name}"
    for name in ("Qwen2-VL-2B-Instruct", "Qwen2-VL-7B-Instruct", "Qwen2.5-VL-3B-Instruct", "Qwen2.5-VL-7B-Instruct",
                 "Qwen3-VL-2B-Instruct", "Qwen3-VL-4B-Instruct", "Qwen3-VL-8B-Instruct")
}  # fmt: skip


def resolve_checkpoint(path_or_hub_id: str | Path | None) -> Path:
    """A local checkpoint folder for a path, a hub id (``yeliudev/VideoMind-2B``) or None (the embedded model)."""
    if path_or_hub_id is None:
        if not (EMBEDDED_MODEL / "config.json").is_file():
            raise CheckpointError(
                f"the embedded default model is missing from {EMBEDDED_MODEL}; reinstall videomind or pass a "
                "checkpoint folder / hub id"
            )
        return EMBEDDED_MODEL
    path = Path(path_or_hub_id).expanduser()
    if path.is_dir():
        return path
    name = str(path_or_hub_id)
    repo_id = RELEASED_CHECKPOINTS.get(name, name)
    if repo_id.count("/") != 1 or path.exists():
        raise CheckpointError(
            f"{name!r} is neither a checkpoint folder nor a hub id like 'yeliudev/VideoMind-2B'"
        )
    return download(repo_id)


def resolve_base_model(ckpt: Path, declared: str | None, override: str | Path | None = None) -> Path:
    """Where the base Qwen2-VL weights are.

    Order: an explicit ``override``; the config's ``base_model_path`` as an absolute path, relative to the
    checkpoint folder, to its parent, or to the working directory; its last path component next to the checkpoint
    (``model_zoo/Qwen2-VL-2B-Instruct`` beside ``model_zoo/VideoMind-2B``); the matching Qwen hub id.
    """
    if override is not None:
        local = Path(override).expanduser()
        return local if local.is_dir() else download(str(override))
    if not declared:
        raise CheckpointError(f"{ckpt}/config.json has no base_model_path; pass base_model=PATH_OR_HUB_ID")
    candidates = [Path(declared), ckpt / declared, ckpt.parent / declared, Path.cwd() / declared,
                  ckpt.parent / Path(declared).name]  # fmt: skip
    for candidate in candidates:
        if (candidate / "config.json").is_file():
            return candidate
    repo_id = BASE_MODELS.get(Path(declared).name, declared if declared.count("/") == 1 else None)
    if repo_id is None:
        raise CheckpointError(
            f"base model {declared!r} (from {ckpt}/config.json) was not found next to the checkpoint or in the "
            "working directory; pass base_model=PATH_OR_HUB_ID"
        )
    return download(repo_id)


def download(repo_id: str) -> Path:
    """Fetch (or reuse the cached copy of) a hub repository; a clear error when offline."""
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id, local_files_only=True))
    except Exception:  # not cached: try the network
        pass
    try:
        log.info("downloading %s from the Hugging Face hub", repo_id)
        return Path(snapshot_download(repo_id))
    except Exception as exc:
        raise CheckpointError(
            f"could not get {repo_id!r} from the Hugging Face hub ({type(exc).__name__}: {exc}). If you are offline, "
            "download it elsewhere and pass the local folder instead (for a base model: base_model=PATH)."
        ) from exc
