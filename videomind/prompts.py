"""Role prompts (interface constants of the released checkpoints, reproduced verbatim) and pure message builders.

The constants are Python format strings with one ``{}`` slot. Their typos ("answer" in the plan list, "potentialy")
are part of what the released weights were trained on: do not edit them. Beside them: the verifier's segment-token
layout (``insert_segment_tokens``) and the official text cleaning of queries and questions (``clean_query``,
``clean_question``), all pure functions of their inputs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from string import ascii_uppercase
from typing import Any

REG_TOKEN = "<|reg|>"
SEG_START_TOKEN = "<|seg_start|>"
SEG_END_TOKEN = "<|seg_end|>"
SPECIAL_TOKENS = (REG_TOKEN, SEG_START_TOKEN, SEG_END_TOKEN)

PLANNER_PROMPT = (
    "You are acting as the planner now. Given a question about the video, your task is to analyze the question and "
    "identify the best way to answer this question. You have access to the following tools:\n\n"
    "Grounder: Accepts a text query and localize the relevant video segment according to the query.\n"
    "Verifier: A tool supporting grounder by verifying the reliability of its outputs.\n"
    "Answerer: Answer a given question directly based on the whole video or a cropped video segment.\n\n"
    'Your response must be a list in JSON format. A valid plan for reasoning could be "grounder, verifier, answer", '
    '"grounder, verifier", or "answerer", depending on the given question. Please see an example for the format '
    "below.\n\n"
    '[{{"type": "grounder", "value": "<text query>"}}, {{"type": "verifier"}}, {{"type": "answerer"}}]\n\n'
    'Note that only the grounder can accept an argument called "value", which is the text query used for grounding. '
    "Now I give you the question: '{}'. Please think carefully and respond with your plan in JSON directly."
)

GROUNDER_PROMPT = (
    "You are acting as the grounder now. Given a video and a text query, your goal is to temporally localize the "
    "video moment described by the query. If the query is directly describing a moment, simply localize it according "
    "to its content. Otherwise, if the moment is described as 'before/after a pivotal event', you need to determine "
    "the actual event it refers to. The localized moment should only cover the target event. Now I give you the "
    "query: '{}'. Please think carefully and provide your response."
)

VERIFIER_PROMPT = (
    "You are acting as the verifier now. You will be presented a text query describing a moment that potentialy "
    "happens in the given video. Your task is to identify whether the video segment between <|seg_start|> and "
    "<|seg_end|> perfectly covers the moment. If the described moment can be seen in the video, please focus on "
    "verifying whether the moment starts at <|seg_start|> and ends at <|seg_end|>. Respond with 'Yes' if you think "
    "the moment boundaries are correct, otherwise 'No'. If the described moment cannot be seen in the video, "
    "respond with 'No' directly. Now I give you the query: '{}'. Please think carefully and respond with 'Yes' or "
    "'No' directly."
)

GROUNDER_RESPONSE = "The relevant moment happens in <|reg|>."
VERIFIER_YES = "Yes."
VERIFIER_NO = "No."
MCQ_ANSWER_PREFIX = "Best Option: ("
OPTIONS_HEADER = "Options:"
OPTIONS_FOOTER = "Please only give the best option."
DEMO_ANSWER_SUFFIX = " Please think step by step and provide your response."
SUBTITLE_HEADER = "You are given a video with {} seconds long.\nSubtitles:\n"
MAX_SUBTITLE_CUES = 100


def planner_prompt(question: str) -> str:
    return PLANNER_PROMPT.format(question)


def grounder_prompt(query: str) -> str:
    return GROUNDER_PROMPT.format(query)


def verifier_prompt(query: str) -> str:
    return VERIFIER_PROMPT.format(query)


def option_letter(index: int) -> str:
    return ascii_uppercase[index]


def options_block(question: str, options: Sequence[str]) -> str:
    """The mcq / options answerer text: question, "Options:", "(A) Text" lines, the closing instruction."""
    lines = [question, OPTIONS_HEADER]
    for i, option in enumerate(options):
        text = option[:1].upper() + option[1:]
        lines.append(f"({option_letter(i)}) {text}")
    lines.append(OPTIONS_FOOTER)
    return "\n".join(lines)


def subtitle_prefix(cues: Sequence[tuple[float, float, str]], start: float, end: float) -> str:
    """Subtitle preamble for the answerer: cues fully inside [start, end], times relative to ``start``."""
    kept = [(a, b, text) for a, b, text in cues if a >= start and b <= end][:MAX_SUBTITLE_CUES]
    lines = "".join(f"{round(a - start, 1)}s - {round(b - start, 1)}s, {text}\n" for a, b, text in kept)
    return SUBTITLE_HEADER.format(round(end - start, 1)) + lines


def answerer_prompt(
    question: str,
    options: Sequence[str] | None = None,
    style: str = "mcq",
    subtitles: str | None = None,
) -> tuple[str, str]:
    """Return ``(user_text, assistant_prefix)`` for the answerer.

    ``style`` is ``mcq`` (options + "Best Option: (" prefill), ``options`` (options, no prefill), ``direct``
    (question only) or ``demo`` (the official demo's step-by-step wording).
    """
    if style not in ("mcq", "options", "direct", "demo"):
        raise ValueError(f"unknown answer style {style!r}: use 'mcq', 'options', 'direct' or 'demo'")
    if style in ("mcq", "options") and options:
        text = options_block(question, options)
    elif style == "demo":
        text = question + DEMO_ANSWER_SUFFIX
    else:
        text = question
    if subtitles:
        text = subtitles + text
    prefix = MCQ_ANSWER_PREFIX if style == "mcq" and options else ""
    return text, prefix


def planner_target(route: int, question: str, query: str | None) -> str:
    """The planner's training target for a route (1-4), built by string interpolation as the reference does."""
    if route == 1:
        return f'[{{"type": "grounder", "value": "{query}"}}, {{"type": "verifier"}}, {{"type": "answerer"}}]'
    if route == 2:
        return (
            f'[{{"type": "grounder", "value": "{question}"}}, {{"type": "verifier"}}, {{"type": "answerer"}}]'
        )
    if route == 3:
        return f'[{{"type": "grounder", "value": "{query}"}}, {{"type": "verifier"}}]'
    if route == 4:
        return '[{"type": "answerer"}]'
    raise ValueError(f"planner route must be 1-4, got {route}")


def video_message(text: str, video: Any = None) -> list[dict[str, Any]]:
    """A single user turn holding [video element, text element], the layout every role uses."""
    return [{"role": "user", "content": [{"type": "video", "video": video}, {"type": "text", "text": text}]}]


# The verifier's input layout: segment tokens inserted among the visual tokens (REFERENCE.md s.4.3).
def segment_steps(bounds: tuple[float, float], num_steps: int) -> tuple[int, int]:
    """The temporal steps ``(k_s, k_e)`` a segment ``(ss, se)`` (fractions of the clip) marks: ``<|seg_start|>``
    goes before step ``round(ss*T)``, ``<|seg_end|>`` after step ``round(se*T) - 1`` (Python rounding, clamped to
    [0, T])."""
    ss, se = bounds
    k_s = min(max(round(ss * num_steps), 0), num_steps)
    k_e = min(max(round(se * num_steps), 0), num_steps)
    if k_s > k_e:
        raise ValueError(f"segment start step {k_s} is after its end step {k_e}")
    return k_s, k_e


def insert_segment_tokens(
    ids: list[int],
    vision_start: int,
    num_steps: int,
    tokens_per_step: int,
    bounds: tuple[float, float],
    seg_start: int,
    seg_end: int,
) -> list[int]:
    """The verifier's input: ``<|seg_start|>`` before the visual tokens of step ``round(ss*T)`` and ``<|seg_end|>``
    after those of step ``round(se*T) - 1`` (Python rounding, clamped to [0, T]; REFERENCE.md s.4.3)."""
    k_s, k_e = segment_steps(bounds, num_steps)
    b = ids.index(vision_start)
    out = list(ids)
    out.insert(b + 1 + k_s * tokens_per_step, seg_start)
    out.insert(b + 2 + k_e * tokens_per_step, seg_end)
    return out


# Text cleaning applied to queries and questions before they enter a prompt (REFERENCE.md s.6.1).
def clean_query(query: str) -> str:
    """The reference ``parse_query``: collapse whitespace, strip, strip dots at both ends, strip again."""
    return re.sub(r"\s+", " ", query).strip().strip(".").strip()


def clean_question(question: str) -> str:
    """The reference ``parse_question``: collapse whitespace and strip."""
    return re.sub(r"\s+", " ", question).strip()
