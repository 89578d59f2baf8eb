"""Checks of a query's text inputs, run before any model work (the command line runs them before loading one).

A question (or grounding query) must be a non-empty string of at most ``MAX_QUESTION_CHARS`` characters: the
prompt must leave the model's context to the video's frames (a Qwen2-VL context holds 32,768 tokens, of which a
role's frames take up to ~16,000), and an overlong text only costs time without helping. Longer questions are
refused, not cut: a cut question may ask something else. Multiple-choice options: 2-26 non-empty strings of at most
``MAX_OPTION_CHARS`` each (the letters A-Z).
"""

from __future__ import annotations

from collections.abc import Sequence

from videomind.errors import UserInputError

MAX_QUESTION_CHARS = 8000  # about 2,000 tokens; the longest benchmark question is under 1,000 characters
MAX_OPTION_CHARS = 1000
MIN_OPTIONS, MAX_OPTIONS = 2, 26


def check_question(question) -> str:
    """The question itself, or ``UserInputError`` saying what is wrong with it."""
    if not isinstance(question, str) or not question.strip():
        raise UserInputError("the question (or query) must be a non-empty string")
    if len(question) > MAX_QUESTION_CHARS:
        raise UserInputError(
            f"the question is {len(question):,} characters long; the limit is {MAX_QUESTION_CHARS:,} (the prompt "
            "must leave the model's context to the video): shorten it"
        )
    return question


def check_options(options: Sequence[str] | None) -> list[str] | None:
    """The options as a list (None stays None), or ``UserInputError`` saying what is wrong with them."""
    if options is None:
        return None
    if isinstance(options, str) or not all(isinstance(o, str) and o.strip() for o in options):
        raise UserInputError("options must be a list of non-empty strings, e.g. ['red', 'green', 'blue']")
    if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
        raise UserInputError(
            f"give between {MIN_OPTIONS} and {MAX_OPTIONS} options (the letters A-Z), got {len(options)}"
        )
    long = [i for i, o in enumerate(options) if len(o) > MAX_OPTION_CHARS]
    if long:
        raise UserInputError(
            f"option {chr(ord('A') + long[0])} is {len(options[long[0]]):,} characters long; the limit is "
            f"{MAX_OPTION_CHARS:,}: shorten it"
        )
    return list(options)


def check_top_k(top_k) -> int:
    """``top_k`` as an int of at least 1."""
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise UserInputError(f"top_k must be a whole number of at least 1, got {top_k!r}")
    return top_k
