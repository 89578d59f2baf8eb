"""Merge several role runs into one multi-role checkpoint folder (how the released VideoMind-2B/7B were assembled).

Each run is a folder in the released layout holding one or more role adapters (a training run's output, or a
released checkpoint). The runs must share the base model (same resolved folder, or byte-identical weights) and the
special-token ids. The result holds every role folder, the grounder's head, the processor files, and a
``config.json`` whose ``role`` is the grounder when present (the primary adapter, as in the release).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path

from videomind.errors import UserInputError
from videomind.model.adapters import ROLE_ORDER
from videomind.model.checkpoint import ADAPTER_CONFIG, HEAD_FILE
from videomind.model.config import is_agent_config, read_config_file
from videomind.model.hub import resolve_base_model

log = logging.getLogger(__name__)

SHARED_FILES = ("generation_config.json", "tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt",
                "added_tokens.json", "special_tokens_map.json", "chat_template.json", "chat_template.jinja",
                "preprocessor_config.json")  # fmt: skip
TOKEN_KEYS = ("reg_token_id", "seg_s_token_id", "seg_e_token_id")
PRIMARY_ROLE = "grounder"


def run_roles(run: Path) -> list[str]:
    return [r for r in ROLE_ORDER if (run / r / ADAPTER_CONFIG).is_file()]


def _fingerprint(folder: Path) -> str:
    digest = hashlib.sha256()
    for file in sorted(folder.glob("*.safetensors")):
        digest.update(file.name.encode())
        with file.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _check_same_base(runs: list[Path], configs: list[dict]) -> Path:
    bases = [resolve_base_model(run, cfg.get("base_model_path")) for run, cfg in zip(runs, configs)]
    first = bases[0].resolve()
    for run, base in zip(runs[1:], bases[1:]):
        if base.resolve() != first and _fingerprint(base) != _fingerprint(bases[0]):
            raise UserInputError(f"{run} was trained on base {base}, {runs[0]} on {bases[0]}: roles of different "
                                 "base models cannot share one checkpoint")  # fmt: skip
    return bases[0]


def combine_runs(out: str | Path, runs: list[str | Path]) -> Path:
    """Write ``out`` with the roles of every run; returns ``out``."""
    out, runs = Path(out), [Path(r) for r in runs]
    if len(runs) < 1:
        raise UserInputError("give at least one run folder to combine")
    if out.exists() and any(out.iterdir()):
        raise UserInputError(f"{out} exists and is not empty: choose a new folder")
    configs = [read_config_file(run) for run in runs]
    owner: dict[str, Path] = {}
    for run, cfg in zip(runs, configs):
        if not is_agent_config(cfg):
            raise UserInputError(f"{run} is not a VideoMind run (model_type {cfg.get('model_type')!r})")
        if cfg.get("model_type") != configs[0].get("model_type"):
            raise UserInputError(f"{run} ({cfg.get('model_type')}) and {runs[0]} "
                                 f"({configs[0].get('model_type')}) are on different base families")  # fmt: skip
        if [cfg.get(k) for k in TOKEN_KEYS] != [configs[0].get(k) for k in TOKEN_KEYS]:
            raise UserInputError(f"{run} and {runs[0]} use different special-token ids")
        for role in run_roles(run):
            if role in owner:
                raise UserInputError(f"role {role!r} is in both {owner[role]} and {run}; keep one")
            owner[role] = run
    if not owner:
        raise UserInputError("none of the runs holds a role adapter folder")
    base = _check_same_base(runs, configs)
    primary_run = owner.get(PRIMARY_ROLE, runs[0])
    _write(out, primary_run, configs[runs.index(primary_run)], owner, base)
    log.info("combined %s into %s", ", ".join(f"{r} ({p})" for r, p in owner.items()), out)
    return out


def _resolves(out: Path, declared: str) -> bool:
    """Whether ``declared`` still finds the base from ``out`` (locally, or as a hub id)."""
    if not declared:
        return False
    places = (Path(declared), out / declared, out.parent / declared, Path.cwd() / declared)
    return any((p / "config.json").is_file() for p in places) or (
        declared.count("/") == 1 and not Path(declared).exists()
    )


def _write(out: Path, primary: Path, config: dict, owner: dict[str, Path], base: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name in SHARED_FILES:
        if (primary / name).is_file():
            shutil.copy2(primary / name, out / name)
    for role, run in owner.items():
        shutil.copytree(run / role, out / role)
    if PRIMARY_ROLE in owner and (owner[PRIMARY_ROLE] / HEAD_FILE).is_file():
        shutil.copy2(owner[PRIMARY_ROLE] / HEAD_FILE, out / HEAD_FILE)
    config = dict(config, role=PRIMARY_ROLE if PRIMARY_ROLE in owner else next(iter(owner)))
    declared = str(config.get("base_model_path") or "")
    if declared and not Path(declared).is_absolute() and (primary / declared / "config.json").is_file():
        shutil.copytree(primary / declared, out / declared)  # a base kept inside the run (tiny runs)
    elif not _resolves(out, declared):
        config["base_model_path"] = str(base.resolve())  # keep the combined folder loadable from where it is
    (out / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
