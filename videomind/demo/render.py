"""HTML for the demo page: each role's step, the answer, and the moments on a timeline. Pure functions, no gradio.

Every piece of text that comes from a user or the model is escaped. Elements carry classes and ``data-`` attributes
(``vm-step``/``data-role``, ``vm-moment``/``data-start``/``data-end``/``data-score``, ``vm-chosen``) so the browser
test can find them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any

from videomind.prompts import clean_query
from videomind.records import AgentResult, AgentStep, Moment, Role

ROLE_TITLES = {
    Role.PLANNER: "Planner",
    Role.GROUNDER: "Grounder",
    Role.VERIFIER: "Verifier",
    Role.ANSWERER: "Answerer",
}
PLAN_ACTIONS = {
    "grounder": "Localise the relevant moment",
    "verifier": "Verify the candidate moments",
    "answerer": "Answer the question",
}
TICK_STEPS = (0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)
MAX_TICKS = 8
CHOSEN_COLOUR = "#f59e0b"
OTHER_COLOUR = "#93c5fd"
_TABLE = "border-collapse:collapse;font-size:13px;margin:4px 0"
_CELL = "padding:2px 10px;border-bottom:1px solid #ddd;text-align:left"


def seconds(t: float) -> str:
    """``12.3 s`` below a minute, else ``m:ss.s``."""
    if t < 60:
        return f"{t:.1f} s"
    minutes, rest = divmod(t, 60)
    return f"{int(minutes)}:{rest:04.1f}"


def _span(start: float, end: float) -> str:
    return f"{seconds(start)} – {seconds(end)}"


def _score(value: Any) -> str:
    return "–" if value is None else f"{float(value):.3f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f'<th style="{_CELL}">{escape(h)}</th>' for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td style="{_CELL}">{escape(str(c))}</td>' for c in row) + "</tr>" for row in rows
    )
    return f'<table style="{_TABLE}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _raw(step: AgentStep) -> str:
    if not step.response:
        return ""
    return (
        '<details><summary style="font-size:12px">raw response</summary>'
        f'<pre style="white-space:pre-wrap;font-size:12px">{escape(step.response)}</pre></details>'
    )


# ---------------------------------------------------------------------------------------------- steps
def _planner_body(step: AgentStep) -> str:
    actions = step.parsed if isinstance(step.parsed, list) else []
    items, query = [], None
    for action in actions:
        kind = str(action.get("type", "")).lower() if isinstance(action, dict) else str(action)
        text = PLAN_ACTIONS.get(kind, kind or "?")
        value = action.get("value") if isinstance(action, dict) else None
        if kind == "grounder" and value:
            query = str(value)
        items.append(f"<li>{escape(text)}</li>")
    out = f"<ol>{''.join(items)}</ol>" if items else "<p>No valid plan.</p>"
    if query:
        out += f'<p>Rephrased query: <b class="vm-query">{escape(query)}</b></p>'
    return out


def _grounder_body(step: AgentStep) -> str:
    rows = [
        (i + 1, _span(m["start"], m["end"]), _score(m.get("score"))) for i, m in enumerate(step.parsed or [])
    ]
    return "<p>Candidate moments:</p>" + _table(("#", "moment", "confidence"), rows)


def _verifier_body(step: AgentStep, candidates: Sequence[dict]) -> str:
    parsed = step.parsed if isinstance(step.parsed, dict) else {}
    scores, ranks = parsed.get("scores") or [], parsed.get("ranks") or []
    rank_of = {index: r + 1 for r, index in enumerate(ranks)}
    rows = []
    for i, score in enumerate(scores):
        span = _span(candidates[i]["start"], candidates[i]["end"]) if i < len(candidates) else "?"
        rows.append((i + 1, span, _score(score), rank_of.get(i, "–")))
    return "<p>P(Yes) for each candidate, re-ranked:</p>" + _table(
        ("#", "moment", "P(Yes)", "new rank"), rows
    )


def _answerer_body(step: AgentStep) -> str:
    answer = step.parsed if step.parsed is not None else step.response
    return f"<p>Answer: <b>{escape(str(answer).strip())}</b></p>"


def render_step(step: AgentStep, candidates: Sequence[dict] = ()) -> str:
    """One role's step as a collapsible block: what it saw, what it found, how long it took."""
    title = f"{ROLE_TITLES.get(step.role, str(step.role))} · {step.seconds:.2f} s"
    if step.role == Role.PLANNER:
        body = _planner_body(step)
    elif step.role == Role.GROUNDER:
        body = _grounder_body(step)
    elif step.role == Role.VERIFIER:
        body = _verifier_body(step, candidates)
    else:
        body = _answerer_body(step)
    if step.view is not None:
        v = step.view
        body = (
            f'<p style="font-size:12px;opacity:.75">saw {v.num_frames} frames of {_span(v.start, v.end)} '
            f"at {v.fps:g} fps, {v.width}x{v.height}</p>" + body
        )
    if step.note:
        body += f'<p style="font-size:12px;color:#b45309">note: {escape(step.note)}</p>'
    return (
        f'<details open class="vm-step" data-role="{escape(step.role.value)}" style="margin:6px 0">'
        f'<summary style="font-weight:600">{escape(title)}</summary>{body}{_raw(step)}</details>'
    )


def render_trace(steps: Sequence[AgentStep], running: bool = False) -> str:
    """All steps so far, in order; ``running`` adds a line saying the agent is still working."""
    parts, candidates = [], []
    for step in steps:
        if step.role == Role.GROUNDER:
            candidates = list(step.parsed or [])
        parts.append(render_step(step, candidates))
    if running:
        parts.append('<p class="vm-working">Working…</p>')
    return f'<div class="vm-trace">{"".join(parts)}</div>'


# ---------------------------------------------------------------------------------------------- answer
def answer_text(result: AgentResult) -> str:
    """The answer as a person reads it: ``(B) green`` for a multiple-choice question, else the response."""
    if result.options and result.answer and len(result.answer) == 1:
        index = ord(result.answer.upper()) - ord("A")
        if 0 <= index < len(result.options):
            return f"({result.answer.upper()}) {result.options[index]}"
    if result.answer:
        return result.answer
    return (result.response or "").strip() or "(no answer)"


def render_answer(result: AgentResult) -> str:
    """The answer, the chosen moment and any fallback or warning the run reported."""
    out = f'<div class="vm-answer"><p style="font-size:20px;margin:4px 0">Answer: <b>{escape(answer_text(result))}</b></p>'
    if result.moment is not None:
        m = result.moment
        out += f"<p>Chosen moment: <b>{_span(m.start, m.end)}</b> of {seconds(result.duration)} (score {_score(m.score)})</p>"
    if result.query and result.query != clean_query(result.question):
        out += f'<p>Searched for (the planner\'s query): <b class="vm-query">{escape(result.query)}</b></p>'
    for line in result.fallbacks + result.warnings:
        out += f'<p style="font-size:12px;color:#b45309">note: {escape(line)}</p>'
    return out + "</div>"


# ---------------------------------------------------------------------------------------------- timeline
def tick_step(duration: float) -> float:
    """The smallest round step that puts at most ``MAX_TICKS`` intervals on ``[0, duration]``."""
    for step in TICK_STEPS:
        if duration / step <= MAX_TICKS:
            return step
    return float(math.ceil(duration / MAX_TICKS / 3600) * 3600)


def _percent(t: float, duration: float) -> float:
    return 100.0 * min(max(t, 0.0), duration) / duration if duration > 0 else 0.0


def _moment_label(rank: int, moment: Moment, result: AgentResult) -> str:
    label = f"#{rank}"
    grounder = next((c.score for c in result.candidates if c.as_span() == moment.as_span()), None)
    if result.verifier_scores is not None:
        label += f" · verifier {_score(moment.score)}"
        if grounder is not None:
            label += f" · grounder {_score(grounder)}"
    else:
        label += f" · confidence {_score(moment.score)}"
    return label


def _axis(duration: float) -> str:
    step = tick_step(duration)
    ticks = [k * step for k in range(int(duration / step + 1e-9) + 1)]
    marks = "".join(
        f'<span style="position:absolute;left:{_percent(t, duration):.2f}%;transform:translateX(-50%);'
        f'font-size:11px">{t:g}</span>'
        for t in ticks
    )
    return _row("seconds", f'<div style="position:relative;height:16px">{marks}</div>', muted=True)


def _row(label: str, track: str, muted: bool = False) -> str:
    style = "opacity:.7;" if muted else ""
    return (
        '<div style="display:flex;align-items:center;gap:8px;margin:3px 0">'
        f'<span style="{style}flex:0 0 250px;font-size:12px;white-space:nowrap">{escape(label)}</span>'
        f'<div style="flex:1;position:relative">{track}</div></div>'
    )


def _bar(rank: int, moment: Moment, duration: float, label: str) -> str:
    left = _percent(moment.start, duration)
    width = max(_percent(moment.end, duration) - left, 0.6)
    chosen = rank == 1
    colour = CHOSEN_COLOUR if chosen else OTHER_COLOUR
    css = "vm-moment vm-chosen" if chosen else "vm-moment"
    bar = (
        f'<div class="{css}" data-rank="{rank}" data-start="{moment.start:.3f}" data-end="{moment.end:.3f}" '
        f'data-score="{_score(moment.score)}" title="{escape(label)}: {_span(moment.start, moment.end)}" '
        f'style="position:absolute;top:2px;bottom:2px;left:{left:.2f}%;width:{width:.2f}%;background:{colour};'
        f'border-radius:3px;{"outline:2px solid #b45309;" if chosen else ""}"></div>'
    )
    track = f'<div style="position:relative;height:22px;background:rgba(127,127,127,.15);border-radius:3px">{bar}</div>'
    return _row(label + (" · chosen" if chosen else ""), track)


def render_timeline(result: AgentResult, max_rows: int = 5) -> str:
    """The best ``max_rows`` moments as bars over ``[0, duration]``, labelled with their scores; #1 highlighted."""
    duration = result.duration
    head = (
        f'<div class="vm-timeline" data-duration="{duration:.3f}" style="width:100%">'
        f'<p style="font-weight:600;margin:2px 0">Moments over the video ({seconds(duration)})</p>'
    )
    if not result.moments:
        reason = (
            "the planner chose to answer from the whole video"
            if result.grounder_success is None
            else "no moment was found"
        )
        return head + f'<p class="vm-no-moments">No moments: {escape(reason)}.</p></div>'
    rows = [_axis(duration)]
    for rank, moment in enumerate(result.moments[:max_rows], start=1):
        rows.append(_bar(rank, moment, duration, _moment_label(rank, moment, result)))
    return head + "".join(rows) + "</div>"


def empty_timeline(message: str = "The moments appear here after a run.") -> str:
    return f'<div class="vm-timeline vm-empty"><p style="opacity:.7">{escape(message)}</p></div>'
