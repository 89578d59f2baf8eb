"""``videomind bench memory``: resident memory of all roles on one base vs the base alone vs four separate models.

A random-weight checkpoint of the chosen shape is written once in the released layout (a base Qwen2-VL folder and
a VideoMind folder with the planner, grounder and verifier adapters and the timestamp decoder; kept in a cache
folder). Each configuration is then loaded with ``videomind.model.load_model`` in a fresh Python process:

- ``empty``: the imports only (torch, transformers, peft, videomind): the floor every process pays;
- ``base``: the base Qwen2-VL alone (what the answerer needs);
- ``all_roles``: one base with the three adapters and the timestamp decoder (Chain-of-LoRA, how we run);
- ``four_copies``: four models in one process, each loaded with a single role (planner, grounder, verifier, and
  the base for the answerer): what running the roles as separate models would cost.

After loading, every parameter is read once (a query reads them all; transformers maps float weights of the file's
dtype straight from disk, and unread pages are not resident). Reported per configuration: the peak resident memory
(``ru_maxrss``, includes what loading needed for a moment), the resident memory afterwards (``VmRSS``; split into
anonymous and file-backed pages), and the bytes of the distinct parameter tensors, all in MB (10^6 bytes); ratios
``all_roles_over_base`` and ``four_copies_over_all_roles`` of the peaks and of the model's own share (peak minus the
``empty`` floor). Resident memory counts a page once per mapping, so four models mapped from one file count four
times, as four separately stored models would. Configurations whose parameters would not fit in ``--max-gb`` are
skipped and named.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

CASES = ("empty", "base", "all_roles", "four_copies")
FOUR_ROLES = ("planner", "grounder", "verifier", None)  # None: the answerer, the base model alone
MEMORY_FRACTION = 0.8  # of the memory available at start, the default ceiling for one configuration


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from videomind.bench.common import DEFAULT_CACHE, SHAPES

    parser.add_argument(
        "--shape", choices=tuple(SHAPES), default="medium", help="model size (default medium)"
    )
    parser.add_argument("--seed", type=int, default=0, help="model seed (default 0)")
    parser.add_argument(
        "--cache-dir", type=Path, default=DEFAULT_CACHE, help="where the generated checkpoint is kept"
    )
    parser.add_argument(
        "--cases",
        nargs="+",
        choices=CASES,
        default=list(CASES),
        help="configurations to measure (default all)",
    )
    parser.add_argument(
        "--device", default="cpu", help="where the models are loaded (default cpu; e.g. cuda)"
    )
    parser.add_argument(
        "--max-gb", type=float, default=None,
        help="skip configurations whose parameters exceed this (default: 80%% of the memory available)",
    )  # fmt: skip


def run(args: argparse.Namespace) -> dict[str, Any]:
    from videomind.bench.common import SHAPES, machine_info

    shape = SHAPES[args.shape]
    folder = ensure_checkpoint(args.cache_dir, shape.name, args.seed)
    ceiling_gb = args.max_gb if args.max_gb is not None else MEMORY_FRACTION * (_available_gb() or 8.0)
    sizes = json.loads((folder / "parameters.json").read_text())
    results: dict[str, dict[str, Any]] = {}
    for case in (c for c in CASES if c in args.cases):
        estimate_gb = _estimate_gb(case, sizes)
        if estimate_gb > ceiling_gb:
            results[case] = {
                "skipped": f"needs about {estimate_gb:.1f} GB of parameters; limit {ceiling_gb:.1f}"
            }
            log.warning("memory: skipping %s (%s)", case, results[case]["skipped"])
            continue
        log.info("memory: measuring %s in a fresh process", case)
        results[case] = measure(case, folder, shape.dtype, args.device)
    return {
        "bench": "memory",
        "shape": shape.name,
        "dtype": shape.dtype,
        "device": args.device,
        "parameters": sizes,
        "checkpoint": str(folder),
        "cases": results,
        "ratios": memory_ratios(results),
        "machine": machine_info(),
    }


def memory_ratios(results: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    """all_roles / base and four_copies / all_roles of the peaks and of the model's share (peak minus empty)."""

    def peak(case: str) -> float | None:
        return results.get(case, {}).get("peak_rss_mb")

    def gpu(case: str) -> float | None:
        return results.get(case, {}).get("gpu_peak_mb")

    floor = peak("empty") or 0.0
    out: dict[str, float | None] = {}
    for name, num, den in (("all_roles_over_base", "all_roles", "base"),
                           ("four_copies_over_all_roles", "four_copies", "all_roles")):  # fmt: skip
        a, b = peak(num), peak(den)
        out[name] = round(a / b, 3) if a and b else None
        out[f"model_{name}"] = round((a - floor) / (b - floor), 3) if a and b and b > floor else None
        pa = results.get(num, {}).get("parameter_mb")
        pb = results.get(den, {}).get("parameter_mb")
        out[f"parameters_{name}"] = round(pa / pb, 3) if pa and pb else None
        ga, gb = gpu(num), gpu(den)
        if ga and gb:
            out[f"gpu_{name}"] = round(ga / gb, 3)
    return out


def measure(case: str, folder: Path, dtype: str, device: str = "cpu") -> dict[str, Any]:
    """Run one configuration in a fresh interpreter."""
    from videomind.bench.common import child_report

    return child_report("videomind.bench.memory", [case, str(folder), dtype, device], f"memory case {case}")


# ---------------------------------------------------------------------------------------------- checkpoint
def ensure_checkpoint(cache_dir: Path, shape: str, seed: int = 0) -> Path:
    """``<cache>/models/<shape>-seed<seed>/`` with ``base/`` (Qwen2-VL) and ``videomind/`` (the released layout).

    Written in a child process (the 2B shape needs its memory only while writing) and reused afterwards.
    """
    folder = Path(cache_dir) / "models" / f"{shape}-seed{seed}"
    if (folder / "parameters.json").is_file():
        return folder
    log.info("memory: writing a random %s checkpoint to %s (one time)", shape, folder)
    from videomind.bench.common import run_child

    run_child(
        "videomind.bench.memory",
        ["--write", shape, str(folder), str(seed)],
        f"writing the {shape} checkpoint",
    )
    return folder


def write_checkpoint(shape: str, folder: Path, seed: int = 0) -> None:
    """Build the random model of ``shape`` and save base + VideoMind checkpoint into ``folder``."""
    from videomind.bench.common import build_model, parameter_summary
    from videomind.model import save_checkpoint

    folder.mkdir(parents=True, exist_ok=True)
    base, processor = build_model(shape, seed=seed, roles=())
    base.base.save_pretrained(folder / "base")
    processor.save_pretrained(folder / "base")
    del base
    gc.collect()
    model, processor = build_model(shape, seed=seed)
    save_checkpoint(model, processor, folder / "videomind", base_model_path="../base")
    sizes = parameter_summary(model)
    sizes["bytes_per_parameter"] = next(model.base.parameters()).element_size()
    sizes["role_adapters"] = _role_sizes(model)
    (folder / "parameters.json").write_text(json.dumps(sizes, indent=2) + "\n")


def _role_sizes(model) -> dict[str, int]:
    from videomind.model.adapters import roles_of

    return {
        role: sum(
            p.numel()
            for n, p in model.named_parameters()
            if f".lora_A.{role}." in n or f".lora_B.{role}." in n or f".modules_to_save.{role}." in n
        )
        for role in roles_of(model)
    }


def _estimate_gb(case: str, sizes: dict[str, Any]) -> float:
    per = sizes["bytes_per_parameter"] / 1e9
    base = sizes["base"] * per
    roles = sizes["role_adapters"]
    if case == "empty":
        return 0.0
    if case == "base":
        return base
    if case == "all_roles":
        return (sizes["total"]) * per
    return 4 * base + sum(roles.values()) * per + sizes["head"] * per


# ---------------------------------------------------------------------------------------------- child side
def _load_case(case: str, folder: Path, dtype: str, device: str = "cpu") -> list:
    from videomind.model import load_model

    ckpt, base = folder / "videomind", folder / "base"
    if case == "empty":
        return []
    if case == "base":
        return [load_model(base, device=device, dtype=dtype)]
    if case == "all_roles":
        return [load_model(ckpt, device=device, dtype=dtype)]
    return [
        load_model(ckpt, device=device, dtype=dtype, roles=[role])
        if role is not None
        else load_model(base, device=device, dtype=dtype)
        for role in FOUR_ROLES
    ]


def child_measure(case: str, folder: Path, dtype: str, device: str = "cpu") -> dict[str, Any]:
    """Load ``case``, read every parameter once, and report this process's memory (and the GPU's, on one)."""
    import torch

    import videomind.model.checkpoint  # noqa: F401  (the imports every configuration pays)
    from videomind.bench.common import rss_megabytes

    started = time.perf_counter()
    models = _load_case(case, folder, dtype, device)
    load_s = time.perf_counter() - started
    storages: dict[int, int] = {}
    with torch.no_grad():
        for model, _ in models:
            for tensor in (*model.parameters(), *model.buffers()):
                tensor.sum()  # makes every page resident, as a query would
                storages[tensor.data_ptr()] = tensor.numel() * tensor.element_size()
    gc.collect()
    out: dict[str, Any] = {"models": len(models), "load_seconds": round(load_s, 2)}
    out.update(rss_megabytes())
    out.update(_rss_split())
    out["parameter_mb"] = round(sum(storages.values()) / 1e6, 1)
    if torch.device(device).type == "cuda":  # what the models hold on the GPU (a fresh process: nothing else)
        out["gpu_peak_mb"] = round(torch.cuda.max_memory_allocated() / 1e6, 1)
        out["gpu_allocated_mb"] = round(torch.cuda.memory_allocated() / 1e6, 1)
    return out


def _rss_split() -> dict[str, float]:
    from videomind.bench.common import status_megabytes

    split = {"rss_anon_mb": status_megabytes("RssAnon"), "rss_file_mb": status_megabytes("RssFile")}
    return {key: value for key, value in split.items() if value is not None}


def _available_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024**2
    except (OSError, ValueError):
        pass
    return None


def table(report: dict[str, Any]) -> str:
    """Peak / resident MB per configuration and the ratios."""
    lines = [f"{'case':<13}{'peak MB':>10}{'rss MB':>10}{'params MB':>11}{'load s':>8}"]
    for case, r in report["cases"].items():
        if "skipped" in r:
            lines.append(f"{case:<13}  skipped: {r['skipped']}")
            continue
        lines.append(
            f"{case:<13}{r['peak_rss_mb']:>10.0f}{r['rss_mb']:>10.0f}{r['parameter_mb']:>11.0f}"
            f"{r['load_seconds']:>8.1f}"
        )
    lines.extend(f"{k}: {v}" for k, v in report["ratios"].items())
    return "\n".join(lines)


def _main(argv: list[str]) -> int:
    from videomind.bench.common import CHILD_FLAG

    if argv[:1] == [CHILD_FLAG]:
        case, folder, dtype, device = argv[1], Path(argv[2]), argv[3], argv[4]
        print(json.dumps(child_measure(case, folder, dtype, device)))
        return 0
    if argv[:1] == ["--write"]:
        write_checkpoint(argv[1], Path(argv[2]), int(argv[3]))
        return 0
    raise SystemExit("internal entry point of `videomind bench memory`; run that command instead")


if __name__ == "__main__":  # the per-configuration child processes
    raise SystemExit(_main(sys.argv[1:]))
