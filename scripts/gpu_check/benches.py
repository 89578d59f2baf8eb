"""GPU check, bench parts: the figures taken from ``videomind bench agent|memory|scale`` reports into the summary
(the whole reports stay beside it as ``bench_*.json``), and what passes: the agent's two orders give identical
outputs (the dtype's rule; the 2x target is reported, not required), every memory case and scale length measured."""

from __future__ import annotations

from typing import Any


def bench_figures(name: str, report: dict[str, Any], code: int) -> dict[str, Any]:
    if code != 0 or "bench" not in report:
        return {"passed": False, "error": report.get("error", f"the bench exited {code}")}
    return {"bench_agent": _agent, "bench_memory": _memory, "bench_scale": _scale}[name](report)


def _agent(r: dict[str, Any]) -> dict[str, Any]:
    modes = r["modes"]
    return {
        "passed": bool(r["identical_outputs"]),
        "shape": r["shape"], "dtype": r["dtype"], "device": r["device"],
        "baseline_over_ours": r["ratios"]["baseline_over_ours"],
        "cpu_baseline_over_ours": r["ratios"]["cpu_baseline_over_ours"],
        "per_role": r["ratios"]["per_role"],
        "target_ratio": r["target_ratio"], "target_reached": r["target_reached"],
        "identical_outputs": r["identical_outputs"], "comparison": r["comparison"],
        "seconds": {mode: modes[mode]["seconds"] for mode in modes},
        "roles": {mode: modes[mode]["roles"] for mode in modes},
        "decoded_frames": {mode: modes[mode]["decoded_frames"] for mode in modes},
        "decode_ahead": r["decode_ahead"], "decode_threads": r["decode_threads"],
        "prefetch_answer_clips": r["prefetch_answer_clips"], "policy_sweep": r["policy_sweep"],
        "video": r["video"],
    }  # fmt: skip


def _memory(r: dict[str, Any]) -> dict[str, Any]:
    cases = r["cases"]
    keys = (
        "peak_rss_mb",
        "rss_mb",
        "parameter_mb",
        "gpu_peak_mb",
        "gpu_allocated_mb",
        "load_seconds",
        "skipped",
    )
    return {
        "passed": all("skipped" not in c and c.get("peak_rss_mb") for c in cases.values()),
        "shape": r["shape"], "dtype": r["dtype"], "device": r["device"],
        "cases": {name: {k: c[k] for k in keys if k in c} for name, c in cases.items()},
        "ratios": r["ratios"],
    }  # fmt: skip


def _scale(r: dict[str, Any]) -> dict[str, Any]:
    keys = ("minutes", "seconds", "decode_seconds", "vision_seconds", "text_seconds", "decoded_frames",
            "peak_rss_mb", "gpu_peak_mb")  # fmt: skip
    series = [{k: p.get(k) for k in keys} for p in r["series"]]
    return {
        "passed": bool(series) and all(p["seconds"] for p in series),
        "shape": r["shape"], "device": r["device"], "series": series, "ratios": r["ratios"],
    }  # fmt: skip
