"""What ``bench agent`` adds for accelerators: agreement of the two orders in half precision, and the decoding
policy measured (``--sweep``).

In float32 the fast agent and the plain order compute the same passes bit for bit (``agent.compare``, 1e-5). In
bf16 / fp16 they do not: the batched verifier pads its candidates into one pass and the vision tower runs on pieces
of a clip, so reductions change order and half-precision rounding shows in the third decimal. There
``identical_outputs`` means the same results a user sees: the same response and answer, and the same moments (as a
set: two candidates whose verifier scores differ by less than the noise may swap places) with starts / ends within
``SPAN_TOLERANCE`` of the video's duration and scores within ``SCORE_TOLERANCE``; the chosen (top-1) moment must be
the same within that tolerance. The largest differences are reported either way.
"""

from __future__ import annotations

import itertools
from typing import Any

HALF_DTYPES = ("bfloat16", "float16")
SPAN_TOLERANCE = 0.01  # of the video's duration (0.6 s on a 1-minute video)
SCORE_TOLERANCE = 0.02  # verifier scores are sigmoid(P(Yes) - P(No)) in (0, 1)
SWEEP_THREADS = (1, 0)  # FFmpeg threads of the query's reader (0: FFmpeg picks, one per core)
SWEEP_PREFETCH = (True, False)  # answer clips prefetched while the verifier runs


def compare_half(ours: dict[str, Any], baseline: dict[str, Any], duration: float) -> dict[str, Any]:
    """The half-precision agreement rule of the module docstring."""
    span_tol = SPAN_TOLERANCE * duration
    a, b = sorted(ours["moments"]), sorted(baseline["moments"])
    span_delta = max((abs(x - y) for ma, mb in zip(a, b) for x, y in zip(ma[:2], mb[:2])), default=0.0)
    score_delta = max((abs(ma[2] - mb[2]) for ma, mb in zip(a, b)), default=0.0)
    top = ours["moments"][:1], baseline["moments"][:1]
    top_delta = (
        max((abs(x - y) for x, y in zip(top[0][0][:2], top[1][0][:2])), default=0.0) if all(top) else 0.0
    )
    same_answer = ours["answer"] == baseline["answer"] and ours["response"] == baseline["response"]
    same_moments = len(a) == len(b) and span_delta <= span_tol and score_delta <= SCORE_TOLERANCE
    same_top = bool(top[0]) == bool(top[1]) and top_delta <= span_tol
    return {
        "identical_outputs": bool(same_answer and same_moments and same_top),
        "rule": f"half precision: same answer and response; moments as a set within {SPAN_TOLERANCE:g} x duration "
        f"({span_tol:.3f} s) and scores within {SCORE_TOLERANCE:g}; same top-1 moment",
        "same_answer": same_answer,
        "same_top_moment": same_top,
        "max_span_difference_s": round(span_delta, 6),
        "max_score_difference": round(score_delta, 6),
        "moments": len(a),
    }


def sweep(query, device) -> dict[str, Any]:
    """Time the fast agent under each decoding policy; ``query(**overrides)`` runs one timed fast query and returns
    its ``run_query`` dict. Reports seconds per policy, the fastest, and what the device's default rule picks."""
    from videomind.agent.feeder import decode_threads, prefetch_answer_clips

    runs: dict[str, Any] = {}
    for threads, prefetch in itertools.product(SWEEP_THREADS, SWEEP_PREFETCH):
        result = query(decode_ahead=True, decode_threads=threads, prefetch_answer_clips=prefetch)
        runs[_name(threads, prefetch)] = {
            "seconds": result["seconds"],
            "decode_wait": round(sum(r.get("decode", 0.0) for r in result["roles"].values()), 3),
            "answerer_seconds": result["roles"].get("answerer", {}).get("seconds"),
        }
    best = min(runs, key=lambda name: runs[name]["seconds"])
    default = _name(decode_threads(None, device, True), prefetch_answer_clips(None, device))
    return {
        "runs": runs,
        "fastest": best,
        "default_rule": default,
        "default_over_fastest": round(runs[default]["seconds"] / runs[best]["seconds"], 3),
    }


def _name(threads: int, prefetch: bool) -> str:
    return f"threads={threads or 'auto'},prefetch={'on' if prefetch else 'off'}"
