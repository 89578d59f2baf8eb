"""Annotation records of one video for every role, as JSON-safe dicts in the on-disk schema (docs/SYNTHETIC.md).

Kinds: ``grounding`` (query -> span, several paraphrases per event, plus the rephrased queries of grounded
questions), ``mcq`` (grounded multiple-choice questions with their evidence span), ``qa`` (whole-video questions,
route 4), ``planning`` (question -> route and rephrased query), ``verifying`` (query + candidate span -> Yes/No) and
``caption`` (what is visible when, per step). Field names follow the processed datasets of REFERENCE.md s.10
(``video_path``, ``duration``, ``query``, ``span``, ``question``, ``options``, ``answer`` text, ``ans`` letter).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from videomind.data.synthetic.config import BACKGROUNDS, WorldConfig
from videomind.data.synthetic.language import CAPTION_ACTIVITY, caption_item, paraphrases, when_question
from videomind.data.synthetic.questions import Question, all_questions
from videomind.data.synthetic.world import Actor, Event, Span, World

KINDS: tuple[str, ...] = ("grounding", "mcq", "qa", "planning", "verifying", "caption")
SOURCE = "synthetic"
VERIFY_IOU = 0.5  # a candidate is a positive ("Yes") iff its IoU with a ground-truth span is at least this
POSITIVE_MIN_IOU = 0.6  # candidates are drawn away from the threshold so labels are unambiguous
NEGATIVE_MAX_IOU = 0.4
MIN_CANDIDATE = 0.5  # seconds
CANDIDATE_DECIMALS = 1
DRAWS_PER_CANDIDATE = 10
# Candidate kinds, cycled per event: two near-misses that stay positives, four kinds of wrong span.
CANDIDATE_KINDS = ("jitter", "shifted", "too_long", "scaled", "too_short", "other_event")
LETTERS = "ABCDEFGH"


def iou(a: Span, b: Span) -> float:
    """Temporal IoU of two spans (0 for two empty spans); same values as ``videomind.spans.temporal_iou``."""
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = (a[1] - a[0]) + (b[1] - b[0]) - inter
    return inter / union if union > 0 else 0.0


def _draw_candidate(
    kind: str, gt: Span, world: World, others: list[Span], rng: np.random.Generator
) -> Span | None:
    s, e = gt
    length = e - s
    if kind == "jitter":
        s, e = s + rng.uniform(-0.15, 0.15) * length, e + rng.uniform(-0.15, 0.15) * length
    elif kind == "scaled":
        centre, half = (s + e) / 2, length * rng.uniform(0.75, 1.3) / 2
        s, e = centre - half, centre + half
    elif kind == "shifted":
        shift = rng.uniform(0.7, 1.3) * length * (1 if rng.random() < 0.5 else -1)
        if e + shift > world.duration or s + shift < 0:  # shift the other way when it would leave the video
            shift = -shift
        s, e = s + shift, e + shift
    elif kind == "too_long":
        extra = rng.uniform(1.6, 3.0) * length
        left = rng.uniform(0, extra)
        s, e = s - left, e + extra - left
    elif kind == "too_short":
        part = rng.uniform(0.15, 0.35) * length
        s = s + rng.uniform(0, length - part)
        e = s + part
    elif others:
        s, e = others[rng.integers(len(others))]
    else:
        return None
    s, e = (round(min(max(x, 0.0), world.duration), CANDIDATE_DECIMALS) for x in (s, e))
    return (s, e) if e - s >= MIN_CANDIDATE else None


def verification_pairs(
    event: Event, world: World, count: int, rng: np.random.Generator
) -> list[tuple[str, Span]]:
    """``count`` (kind, candidate) pairs around the event's span, each clearly a positive or a negative."""
    others = [ev.span for ev in world.events if iou(ev.span, event.span) <= NEGATIVE_MAX_IOU]
    out = []
    for i in range(count):
        kind = CANDIDATE_KINDS[i % len(CANDIDATE_KINDS)]
        positive = kind in ("jitter", "scaled")
        for _ in range(DRAWS_PER_CANDIDATE):
            cand = _draw_candidate(kind, event.span, world, others, rng)
            if cand is None:
                continue
            score = iou(cand, event.span)
            if (positive and score >= POSITIVE_MIN_IOU) or (not positive and score <= NEGATIVE_MAX_IOU):
                out.append((kind, cand))
                break
    return out


def step_captions(world: World, step: float) -> list[dict[str, Any]]:
    """For each ``step`` seconds: the shapes visible during it and what they are doing."""
    out = []
    n = int(np.ceil(world.duration / step - 1e-9))
    for k in range(n):
        t0, t1 = round(k * step, 6), round(min((k + 1) * step, world.duration), 6)
        items, ids = [], []
        for a in world.actors:
            if a.presence[0] < t1 and t0 < a.presence[1]:
                ids.append(a.id)
                items.append(caption_item(a, _activity(a, t0, t1)))
        out.append({"start": t0, "end": t1, "text": ", ".join(items) if items else "nothing", "actors": ids})
    return out


def _activity(actor: Actor, t0: float, t1: float) -> str | None:
    act = actor.action
    if act is None or not (act.span[0] < t1 and t0 < act.span[1]):
        return None
    return CAPTION_ACTIVITY[act.type].format(dir=act.direction, c2=act.colour)


def _mcq_record(q: Question, base: dict[str, Any], rid: str) -> dict[str, Any]:
    return {
        "id": rid,
        **base,
        "data_type": "multimodal",
        "task": ["mcq", q.type],
        "question": q.question,
        "options": list(q.options),
        "answer": q.options[q.answer],
        "ans": LETTERS[q.answer],
        "span": [list(s) for s in q.evidence],
        "route": q.route,
        "query": q.query,
    }


def _event_records(
    world: World,
    cfg: WorldConfig,
    base: dict[str, Any],
    rng: np.random.Generator,
    out: dict[str, list[dict[str, Any]]],
) -> None:
    """Grounding paraphrases, verification pairs and a route-3 planning question for every event."""
    for e in world.events:
        actor = world.actor(e.actor)
        queries = paraphrases(e, actor, cfg.paraphrases, rng)
        for j, q in enumerate(queries):
            out["grounding"].append(
                {
                    "id": f"{base['vid']}_g{e.id:02d}_{j}",
                    **base,
                    "data_type": "grounding",
                    "task": ["grounding"],
                    "query": q,
                    "span": [list(e.span)],
                    "event": e.id,
                    "event_type": e.type,
                    "paraphrase": j,
                    "relative": False,
                }
            )
        # Each pair's wording is drawn on its own (its own generator, so every other record stays as it was): taken
        # in turn, as up to generator version 1, the canonical wording always came with the "Yes" kinds (jitter,
        # scaled) and the others with "No", and a verifier learnt the label from the words, not the video.
        wording = np.random.default_rng([world.seed, 2, e.id])
        for k, (kind, cand) in enumerate(verification_pairs(e, world, cfg.verify_pairs, rng)):
            score = iou(cand, e.span)
            out["verifying"].append(
                {
                    "id": f"{base['vid']}_v{e.id:02d}_{k}",
                    **base,
                    "data_type": "multimodal",
                    "task": ["verifying"],
                    "query": queries[int(wording.integers(len(queries)))],
                    "span": [list(e.span)],
                    "candidate": list(cand),
                    "label": "Yes" if score >= VERIFY_IOU else "No",
                    "iou": round(score, 4),
                    "candidate_kind": kind,
                    "event": e.id,
                }
            )
        out["planning"].append(
            {
                "id": f"{base['vid']}_p{e.id:02d}",
                **base,
                "data_type": "multimodal",
                "task": ["planning"],
                "question": when_question(e, actor, rng),
                "route": 3,
                "query": queries[0],
                "span": [list(e.span)],
                "question_type": "when",
            }
        )


def _question_records(
    grounded: list[Question],
    whole: list[Question],
    base: dict[str, Any],
    out: dict[str, list[dict[str, Any]]],
) -> None:
    """MCQ / QA records, the grounding records of the grounded questions' queries, and their planning records."""
    vid = base["vid"]
    for k, q in enumerate(grounded):
        out["mcq"].append(_mcq_record(q, base, f"{vid}_m{k:02d}"))
        out["grounding"].append(
            {
                "id": f"{vid}_r{k:02d}",
                **base,
                "data_type": "grounding",
                "task": ["grounding"],
                "query": q.query,
                "span": [list(s) for s in q.evidence],
                "event": None,
                "event_type": q.type,
                "paraphrase": 0,
                "relative": True,
            }
        )
    for k, q in enumerate(whole):
        out["qa"].append(_mcq_record(q, base, f"{vid}_q{k:02d}"))
    for k, q in enumerate(grounded + whole):
        out["planning"].append(
            {
                "id": f"{vid}_pq{k:02d}",
                **base,
                "data_type": "multimodal",
                "task": ["planning"],
                "question": q.question,
                "route": q.route,
                "query": q.query,
                "span": [list(s) for s in q.evidence],
                "question_type": q.type,
            }
        )


def build_annotations(
    world: World, cfg: WorldConfig, vid: str, video_path: str
) -> dict[str, list[dict[str, Any]]]:
    """All annotation records of one video, by kind (deterministic: drawn from the world's seed)."""
    rng = np.random.default_rng([world.seed, 1])
    base = {"source": SOURCE, "vid": vid, "video_path": video_path, "duration": world.duration}
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}
    grounded, whole = all_questions(world, rng)
    _event_records(world, cfg, base, rng, out)
    _question_records(grounded, whole, base, out)
    out["caption"].append(
        {
            "id": f"{vid}_c",
            **base,
            "data_type": "multimodal",
            "task": ["caption"],
            "span": [],
            "step": cfg.caption_step,
            "background": BACKGROUNDS[world.background.kind],
            "captions": step_captions(world, cfg.caption_step),
        }
    )
    return out
