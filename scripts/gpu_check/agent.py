"""GPU check, part ``agent``: the embedded tiny model answers a bundled example end to end on the device.

For float32 and bfloat16 with SDPA, and bf16 with FlashAttention-2 when ``flash_attn`` imports on a GPU: the fast
agent and the plain official order (they must agree: exactly in float32, by ``videomind.bench.policy.compare_half``
in bf16), and a seeded sampling run twice (the same tokens both times; this raised on CUDA before the generator
followed the model's device). Passes when every bf16 query answers with
finite moments inside the video and no non-finite fallback, and the agreements hold. The answers against the
example's ground truth and bf16 against float32 are reported, not required.
"""

from __future__ import annotations

import json
from typing import Any

from scripts.gpu_check.common import EXAMPLES, all_passed, attention_implementations, prepare_device, run_part

SAMPLING = {"temperature": 0.7, "top_p": 0.9, "seed": 7}


def _summary(result) -> dict[str, Any]:
    return {
        "answer": result.answer,
        "response": result.response,
        "moments": [[m.start, m.end, m.score] for m in result.moments],
        "fallbacks": list(result.fallbacks),
        "seconds": round(sum(step.seconds for step in result.trace), 3),
    }


def _queries(agent, example: dict[str, Any]) -> dict[str, Any]:
    from videomind.agent import GenerationSettings

    video = str(EXAMPLES / example["video"])
    ask = {"question": example["question"], "options": example["options"]}
    out = {
        mode: _summary(agent.run(video, **ask, fast=fast))
        for mode, fast in (("fast", True), ("plain", False))
    }
    sampled = GenerationSettings(max_new_tokens=agent.options.generation.max_new_tokens, **SAMPLING)
    out["sampled"] = [_summary(agent.run(video, **ask, generation=sampled))["response"] for _ in range(2)]
    return out


def _checks(dtype: str, runs: dict[str, Any], duration: float) -> dict[str, Any]:
    from videomind.bench.agent import compare
    from videomind.bench.policy import compare_half

    fast, plain = runs["fast"], runs["plain"]
    agreement = compare(fast, plain) if dtype == "float32" else compare_half(fast, plain, duration)
    inside = all(-1e-6 <= m[0] <= m[1] <= duration + 1e-6 for m in fast["moments"] + plain["moments"])
    return {
        "answered": fast["answer"] is not None and plain["answer"] is not None,
        "moments_inside_video": inside and bool(fast["moments"]),
        "no_non_finite_fallback": not any("non-finite" in f for f in fast["fallbacks"] + plain["fallbacks"]),
        "fast_equals_plain": agreement["identical_outputs"],
        "seeded_sampling_repeats": runs["sampled"][0] == runs["sampled"][1],
    }, agreement


def body(args) -> dict[str, Any]:
    from videomind.agent import VideoMindAgent

    device = prepare_device(args.device)
    example = json.loads((EXAMPLES / "examples.json").read_text())["examples"][0]
    configs: dict[str, Any] = {}
    # FlashAttention-2 runs only in half precision
    pairs = [("float32", "sdpa")] + [("bfloat16", attn) for attn in attention_implementations()]
    for dtype, attn in pairs:
        agent = VideoMindAgent.from_pretrained(
            None, device=str(device), dtype=dtype, attn_implementation=attn
        )
        runs = _queries(agent, example)
        checks, agreement = _checks(dtype, runs, example["duration"])
        runs.update(checks=checks, agreement=agreement, passed=all_passed(checks),
                    correct=runs["fast"]["answer"] == example["answer"])  # fmt: skip
        configs[f"{dtype}/{attn}"] = runs
    reference = configs["float32/sdpa"]["fast"]
    return {
        "example": {k: example[k] for k in ("video", "question", "options", "answer", "evidence")},
        "configs": configs,
        "bf16_same_answer_as_float32": configs["bfloat16/sdpa"]["fast"]["answer"] == reference["answer"],
        "passed": all(c["passed"] for c in configs.values()),
    }


if __name__ == "__main__":
    raise SystemExit(run_part("agent", __doc__.splitlines()[0], body))
