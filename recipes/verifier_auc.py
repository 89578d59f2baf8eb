"""Recipe check: does the verifier rank the grounder's candidates? ROC AUC on held-out candidates, per checkpoint.

``python -m recipes.verifier_auc runs/tiny-verifier runs/tiny-grounder/held_out_predictions.jsonl``

The candidates are a grounder's top 5 on queries the verifier never trained on (official verifier-data lines:
``video_path``, ``duration``, ``query``, ``span``, ``pred``; the tiny recipe's ``verifier_data`` stage writes them),
labelled by the official rule (IoU >= 0.5 with a ground-truth span). Each one is scored exactly as the agent does
(zoomed clip, segment tokens, the official Yes/No score), with the frame budgets the tiny model is trained with.

The candidates may also be verifier pairs (``recipes.presence_pairs --split test``: a query, a candidate and its
label each), scored one by one: their AUC says whether the verifier tells a shape in the clip from one nowhere
near it. For the run and each ``checkpoint-*`` in it: ROC AUC over all candidates, the share of queries whose first
candidate is right in the grounder's order (``top1_grounder``) and in the verifier's (``top1_verifier``: what the
agent's re-ranking gives), and the spread of the scores. A verifier whose loss falls while its AUC stays at 0.5
learnt the share of "Yes"; these numbers tell.

A verifier trained as a whole language model (``configs/train/tiny_verifier_whole.yaml``, role ``base``) is scored
through the adapter ``recipes.full_rank`` makes of each checkpoint: ``--full-rank-base runs/tiny-base``.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from pathlib import Path

import torch

log = logging.getLogger(__name__)


def roc_auc(scores: Sequence[float], labels: Sequence[bool]) -> float | None:
    """Probability that a random positive outscores a random negative (ties count half); None without both."""
    s = torch.tensor(scores, dtype=torch.float64)
    y = torch.tensor(labels, dtype=torch.bool)
    positives, negatives = s[y], s[~y]
    if len(positives) == 0 or len(negatives) == 0:
        return None
    above = (positives[:, None] > negatives[None, :]).double().mean()
    tied = (positives[:, None] == negatives[None, :]).double().mean()
    return float(above + 0.5 * tied)


def candidates_report(scored: Sequence[tuple[list[bool], list[float]]]) -> dict:
    """AUC and top-1 accuracy before / after re-ranking, from (labels, verifier scores) per query, grounder order."""
    labels = [label for query_labels, _ in scored for label in query_labels]
    scores = [score for _, query_scores in scored for score in query_scores]
    verified = [
        query_labels[max(range(len(s)), key=lambda i: (s[i], -i))] for query_labels, s in scored if s
    ]  # the highest score; ties keep the grounder's order
    return {
        "queries": len(scored),
        "candidates": len(labels),
        "positives": sum(labels),
        "roc_auc": roc_auc(scores, labels),
        "top1_grounder": sum(q[0] for q, _ in scored if q) / max(1, len(scored)),
        "top1_verifier": sum(verified) / max(1, len(verified)),
        "any_of_candidates": sum(any(q) for q, _ in scored) / max(1, len(scored)),
        "score_spread_within_query": (sum(max(s) - min(s) for _, s in scored if s) / max(1, len(scored))),
    }


def score_checkpoint(model_path: Path, records: list[dict], top_k: int = 5) -> dict:
    from recipes.tiny_model import EMBEDDED_AGENT_OPTIONS
    from videomind.agent import VideoMindAgent
    from videomind.agent.agent import options_from_dict
    from videomind.data.conversations import verifier_label
    from videomind.records import Moment

    agent = VideoMindAgent.from_pretrained(
        model_path, device="cpu", options=options_from_dict(EMBEDDED_AGENT_OPTIONS)
    )
    scored = []
    for record in records:
        candidates = [tuple(p) for p in record["pred"][:top_k]]
        scores = agent.verify(record["video_path"], record["query"], [Moment(*c) for c in candidates])
        scored.append(([verifier_label(c, record["span"]) for c in candidates], scores))
    return candidates_report(scored)


def official_line(record: dict) -> dict:
    """A candidates file's line as an official verifier-data line: grounder predictions are already; a verifier pair
    (``extra``: ``candidate``, ``label``) becomes a one-candidate line whose span is its candidate when "Yes"."""
    extra = record.get("extra") or {}
    if "pred" in record or "candidate" not in extra:
        return record
    candidate = list(extra["candidate"])
    return {"video_path": record["video"], "duration": record.get("duration"), "query": record["query"],
            "span": [candidate] if extra["label"] == "Yes" else [], "pred": [candidate]}  # fmt: skip


def as_verifier(base: Path, tuned: Path) -> Path:
    """The verifier adapter of a checkpoint trained whole from ``base`` (``recipes.full_rank``), made once."""
    from recipes.full_rank import full_rank

    out = tuned / "as-verifier"
    if not (out / "verifier" / "adapter_model.safetensors").is_file():
        full_rank(base, tuned, out, "verifier")
    return out


def checkpoints(run: Path) -> list[tuple[int | None, Path]]:
    """(step, folder) of every complete checkpoint of a training run, oldest first, then the run itself (None)."""
    from videomind.train.checkpoints import checkpoint_step, complete_checkpoints

    return [*((checkpoint_step(p), p) for p in complete_checkpoints(run)), (None, run)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run", type=Path, help="a verifier training run (its checkpoints are scored too)")
    parser.add_argument(
        "candidates",
        type=Path,
        help="held-out grounder predictions (official verifier lines) or verifier pairs",
    )
    parser.add_argument("--queries", type=int, default=None, help="the first N queries only")
    parser.add_argument("--final-only", action="store_true", help="the run's final weights, no checkpoints")
    parser.add_argument(
        "--full-rank-base",
        type=Path,
        default=None,
        help="the run trained the verifier whole from this base (model.role: base): each checkpoint is scored as "
        "the verifier adapter recipes.full_rank makes of it (written to <checkpoint>/as-verifier)",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="JSON report (default: <run>/verifier_auc.json)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    lines = args.candidates.read_text(encoding="utf-8").splitlines()
    records = [official_line(json.loads(line)) for line in lines if line.strip()][: args.queries]
    report = {"candidates_file": str(args.candidates), "by_step": []}
    for step, folder in checkpoints(args.run)[-1:] if args.final_only else checkpoints(args.run):
        if args.full_rank_base is not None:
            folder = as_verifier(args.full_rank_base, folder)
        row = {"step": step if step is not None else "final", **score_checkpoint(folder, records)}
        log.info("%s", json.dumps(row))
        report["by_step"].append(row)
    out = args.out or args.run / "verifier_auc.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    log.info("wrote %s", out)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
