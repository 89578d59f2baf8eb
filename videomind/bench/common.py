"""Shared by the benchmarks: what machine and versions a report was measured with, timing, and JSON output."""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PACKAGES = (
    "torch",
    "transformers",
    "peft",
    "accelerate",
    "av",
    "numpy",
    "decord",
    "liger-kernel",
    "flash-attn",
)
GIT_TIMEOUT_S = 5


def machine_info() -> dict[str, Any]:
    """CPU, memory, OS, Python, package versions (None when not installed), FFmpeg and git commit."""
    info: dict[str, Any] = {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gb": _memory_gb(),
        "versions": {name: _version(name) for name in PACKAGES},
        "git_commit": _git_commit(),
    }
    try:
        import av

        info["versions"]["ffmpeg"] = str(av.ffmpeg_version_info)
    except (ImportError, AttributeError):
        info["versions"]["ffmpeg"] = None
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
        info["gpu"] = gpu_info()
    except ImportError:
        pass
    return info


def gpu_info() -> dict[str, Any] | None:
    """The CUDA device torch sees (name, compute capability, memory, CUDA version), or None without one."""
    import torch

    if not torch.cuda.is_available():
        return None
    props = torch.cuda.get_device_properties(0)
    return {
        "name": props.name,
        "count": torch.cuda.device_count(),
        "capability": list(torch.cuda.get_device_capability(0)),
        "memory_gb": round(props.total_memory / 1e9, 1),
        "cuda": torch.version.cuda,
        "bf16_native": torch.cuda.is_bf16_supported(including_emulation=False),
    }


@dataclass(frozen=True)
class Timing:
    """Best wall-clock and best CPU time (all threads of this process) over the runs, in seconds.

    CPU time is the steadier figure on a shared machine: waiting for a busy core inflates wall time only.
    """

    wall: float
    cpu: float


def best_time(fn: Callable[[], Any], repeat: int = 1) -> tuple[Timing, Any]:
    """Time ``repeat`` calls of ``fn``; returns the best times and the last call's result."""
    wall, cpu, result = float("inf"), float("inf"), None
    for _ in range(max(1, repeat)):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = fn()
        wall = min(wall, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - started_cpu)
    return Timing(wall, cpu), result


def write_json(path: str | Path, data: dict[str, Any]) -> Path:
    """Write ``data`` as indented JSON (parent folders created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def _version(name: str) -> str | None:
    """Installed distribution version, without importing the package (transformers takes seconds)."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except (OSError, ValueError):
        pass
    return None


def _git_commit() -> str | None:
    root = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, timeout=GIT_TIMEOUT_S, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


# ---------------------------------------------------------------------------------------------- model shapes
DEFAULT_CACHE = Path.home() / ".cache" / "videomind" / "bench"
ALL_ROLES = ("planner", "grounder", "verifier")  # the answerer is the base model (no adapter)
QWEN2_VL_VOCAB = 151_936

# Qwen2-VL-2B-Instruct's published config.json (flat layout), minus its token ids: those come from the tokenizer
# the benchmark model is built with (REFERENCE.md s.1.2). Random weights, bf16.
QWEN2_VL_2B_CONFIG: dict[str, Any] = {
    "attention_dropout": 0.0,
    "hidden_act": "silu",
    "hidden_size": 1536,
    "initializer_range": 0.02,
    "intermediate_size": 8960,
    "max_position_embeddings": 32768,
    "max_window_layers": 28,
    "num_attention_heads": 12,
    "num_hidden_layers": 28,
    "num_key_value_heads": 2,
    "rms_norm_eps": 1e-6,
    "rope_theta": 1_000_000.0,
    "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]},
    "sliding_window": 32768,
    "tie_word_embeddings": True,
    "use_cache": True,
    "use_sliding_window": False,
    "vocab_size": QWEN2_VL_VOCAB,
    "vision_config": {
        "depth": 32, "embed_dim": 1280, "hidden_size": 1536, "hidden_act": "quick_gelu", "mlp_ratio": 4,
        "num_heads": 16, "in_chans": 3, "patch_size": 14, "spatial_patch_size": 14, "spatial_merge_size": 2,
        "temporal_patch_size": 2,
    },
}  # fmt: skip

# About 0.13 B parameters: the 2B's layout (tied embeddings over the real vocabulary, 2 KV heads, M-RoPE in the
# same 1:1.5:1.5 split) at a width and depth one CPU core runs a whole query with in about a minute.
MEDIUM_CONFIG: dict[str, Any] = {
    **{k: v for k, v in QWEN2_VL_2B_CONFIG.items() if k != "vision_config"},
    "hidden_size": 512,
    "intermediate_size": 1536,
    "max_window_layers": 12,
    "num_attention_heads": 8,
    "num_hidden_layers": 12,
    "num_key_value_heads": 2,
    "rope_scaling": {"type": "mrope", "mrope_section": [8, 12, 12]},
    "vision_config": {
        **QWEN2_VL_2B_CONFIG["vision_config"], "depth": 8, "embed_dim": 384, "hidden_size": 512, "num_heads": 6,
    },
}  # fmt: skip


@dataclass(frozen=True)
class ModelShape:
    """A model size the benchmarks build with random weights.

    ``config`` is a flat (released ``config.json`` style) Qwen2-VL config without token ids; None means the tiny
    test model's config (``videomind.model.tiny.tiny_qwen_config``). ``lora`` are the adapters' hyper-parameters.
    """

    name: str
    config: dict[str, Any] | None
    dtype: str
    lora_r: int
    lora_alpha: int
    lora_dropout: float = 0.0

    @property
    def torch_dtype(self):
        import torch

        return getattr(torch, self.dtype)


SHAPES: dict[str, ModelShape] = {
    "tiny": ModelShape("tiny", None, "float32", lora_r=8, lora_alpha=16),
    "medium": ModelShape("medium", MEDIUM_CONFIG, "float32", lora_r=64, lora_alpha=64, lora_dropout=0.1),
    "2b": ModelShape("2b", QWEN2_VL_2B_CONFIG, "bfloat16", lora_r=64, lora_alpha=64, lora_dropout=0.1),
}
ADAPTER_NOISE = (
    0.02  # std of the noise added to the roles' embed_tokens / lm_head copies (base init std is 0.02)
)


def qwen_config(shape: ModelShape, tokenizer):
    """The ``Qwen2VLConfig`` of ``shape`` with the token ids of ``tokenizer`` (the tiny test tokenizer)."""
    from videomind.model.config import qwen_config_from_dict
    from videomind.model.tiny import tiny_qwen_config

    if shape.config is None:
        return tiny_qwen_config(tokenizer)
    ids = tokenizer.convert_tokens_to_ids
    data = dict(shape.config)
    data.update(
        bos_token_id=ids("<|endoftext|>"), eos_token_id=ids("<|im_end|>"), pad_token_id=ids("<|endoftext|>"),
        image_token_id=ids("<|image_pad|>"), video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"), vision_end_token_id=ids("<|vision_end|>"),
    )  # fmt: skip
    if data["vocab_size"] < len(tokenizer):
        raise ValueError(
            f"shape {shape.name}: vocab_size {data['vocab_size']} < tokenizer size {len(tokenizer)}"
        )
    return qwen_config_from_dict(data)


def parameter_count(module) -> int:
    """Parameters of ``module`` counting shared (tied) tensors once."""
    seen: dict[int, int] = {}
    for param in module.parameters():
        seen[param.data_ptr()] = param.numel()
    return sum(seen.values())


def parameter_summary(model) -> dict[str, int]:
    """Parameters of a ``VideoMindModel``: the base Qwen2-VL, the roles' adapters (LoRA matrices and their own
    embed_tokens / lm_head copies), the timestamp decoder and the total (tied tensors counted once)."""
    groups: dict[str, dict[int, int]] = {"base": {}, "adapters": {}, "head": {}}
    for name, param in model.named_parameters():
        if name.startswith("grounding_head."):
            group = "head"
        elif ".lora_" in name or ".modules_to_save." in name:
            group = "adapters"
        else:
            group = "base"
        groups[group][param.data_ptr()] = param.numel()
    out = {k: sum(v.values()) for k, v in groups.items()}
    out["total"] = sum(out.values())
    return out


def build_model(
    shape: ModelShape | str, seed: int = 0, roles: tuple[str, ...] = ALL_ROLES, dtype: str | None = None,
    device: str = "cpu",
):  # fmt: skip
    """A random-weight VideoMind of ``shape`` -> ``(model, processor)``, built as a checkpoint load builds it.

    ``dtype`` overrides the shape's; the weights are drawn on the CPU (the same on every device) and then moved to
    ``device``.

    The base Qwen2-VL is initialised in the shape's dtype (no float32 detour: the 2B stays at 4.4 GB), the grounder
    gets the timestamp decoder, and every role in ``roles`` a LoRA adapter through ``videomind.model.adapters`` with
    the official modules_to_save (grounder, verifier: their own embed_tokens and lm_head). Adapters are random
    (``init_lora_weights=False``) and the roles' matrix copies perturbed, so every role computes something else.
    Deterministic for a seed: the base weights do not depend on ``roles``.
    """
    import torch
    from transformers import GenerationConfig, Qwen2VLForConditionalGeneration

    from videomind.model.adapters import LoraSettings, add_role, role_lora_config
    from videomind.model.checkpoint import token_ids_from
    from videomind.model.config import VideoMindConfig
    from videomind.model.grounding_head import TimestampDecoder
    from videomind.model.modeling import VideoMindModel
    from videomind.model.processor import VideoMindProcessor
    from videomind.model.tiny import build_tiny_tokenizer

    shape = SHAPES[shape] if isinstance(shape, str) else shape
    processor = VideoMindProcessor(build_tiny_tokenizer())
    config = qwen_config(shape, processor.tokenizer)
    dtype = getattr(torch, dtype) if dtype else shape.torch_dtype
    torch.manual_seed(seed)
    base = Qwen2VLForConditionalGeneration._from_config(config, dtype=dtype, attn_implementation="sdpa")
    base.generation_config = GenerationConfig(
        bos_token_id=config.text_config.bos_token_id, pad_token_id=processor.pad_token_id,
        eos_token_id=[processor.im_end_id, processor.pad_token_id],
    )  # fmt: skip
    agent = VideoMindConfig(role="grounder", **processor.special_token_ids())
    head = None
    if "grounder" in roles:
        head = TimestampDecoder(config.text_config.hidden_size, agent.head).to(dtype)
    model = VideoMindModel(base, agent, token_ids_from(processor, agent, base.generation_config), head)
    lora = LoraSettings(r=shape.lora_r, alpha=shape.lora_alpha, dropout=shape.lora_dropout)
    layers = config.text_config.num_hidden_layers
    generator = torch.Generator().manual_seed(seed + 1)
    for role in roles:
        add_role(model, role, role_lora_config(role, layers, lora, init_lora_weights=False))
        _perturb_copies(model, role, generator)
    model.eval()
    return model.to(device), processor


def _perturb_copies(model, role: str, generator) -> None:
    import torch

    with torch.no_grad():
        for name, param in model.lm.named_parameters():
            if f".modules_to_save.{role}." in name:
                noise = torch.randn(param.shape, generator=generator, dtype=param.dtype)
                param.add_(noise.mul_(ADAPTER_NOISE))


# ---------------------------------------------------------------------------------------------- child processes
CHILD_FLAG = "--child"  # argv[1] of a bench module run as a measuring child process


def run_child(module: str, args: Sequence[str], what: str) -> str:
    """Run ``python -m module *args`` in a fresh interpreter and return its stdout; ``what`` names it on failure."""
    done = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return done.stdout


def child_report(module: str, args: Sequence[str], what: str) -> dict[str, Any]:
    """One measurement in a fresh interpreter (``module --child *args``): its last stdout line is the JSON report."""
    return json.loads(run_child(module, [CHILD_FLAG, *args], what).strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------- memory
def status_megabytes(field: str) -> float | None:
    """A ``kB`` field of ``/proc/self/status`` (Linux) in MB (10^6 bytes), or None."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return round(int(line.split()[1]) * 1024 / 1e6, 1)
    except (OSError, ValueError):
        pass
    return None


def reset_peak_rss() -> bool:
    """Restart the peak-resident-memory mark (``VmHWM``) at the current size (Linux >= 4.0); False if impossible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_since_reset() -> float | None:
    """The peak resident memory (MB) since the last ``reset_peak_rss`` (``VmHWM``)."""
    return status_megabytes("VmHWM")


def rss_megabytes() -> dict[str, float | None]:
    """This process's resident memory now (``VmRSS``) and at its peak (``ru_maxrss``), in MB (10^6 bytes)."""
    current = status_megabytes("VmRSS")
    try:
        import resource

        peak = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6, 1)  # Linux: KiB
    except ImportError:  # not on Windows
        peak = None
    return {"rss_mb": current, "peak_rss_mb": peak}
