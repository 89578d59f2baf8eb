"""Shared pieces of the dataset sources' questions: option letters, answers placed among options, and the official
"moment before / after" queries (pure functions)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from videomind.prompts import clean_query, clean_question


def capitalize_first(text: str) -> str:
    """Upper-case the first character only (the official ``s[0].upper() + s[1:]``)."""
    return text[:1].upper() + text[1:]


def option_letter(index: int) -> str:
    return chr(ord("A") + index)


def letter_index(letter: str, num_options: int) -> int:
    """Index of an option letter ("A" -> 0); ``ValueError`` if it is not one of the options."""
    text = str(letter).strip().upper()
    if len(text) != 1 or not 0 <= ord(text) - ord("A") < num_options:
        raise ValueError(f"{letter!r} is not an option letter A-{option_letter(num_options - 1)}")
    return ord(text) - ord("A")


def stable_index(key: str, n: int) -> int:
    """A position in ``range(n)`` that depends only on ``key`` (same on every run, machine and process)."""
    return int.from_bytes(hashlib.sha1(key.encode("utf-8")).digest()[:8], "big") % n


def place_answer(key: str, answer: str, wrong: Sequence[str]) -> tuple[list[str], str]:
    """Options with the answer inserted among the wrong ones at a position fixed by ``key``, and its letter.

    The official QAEgo4D / EgoTimeQA loaders draw this position with ``random.randint`` at every load, so two
    evaluations of the same model disagree (REFERENCE s.13.18); a hash of the record keeps the spread and fixes it.
    """
    idx = stable_index(key, len(wrong) + 1)
    options = list(wrong)
    options.insert(idx, answer)
    return options, option_letter(idx)


BEFORE_TEMPLATE = "The moment before {}"


AFTER_TEMPLATE = "The moment after {}"


def before_after(
    spans: Sequence[tuple[float, float]], sentences: Sequence[str], max_gap: float | None = None
) -> list[tuple[str, tuple[float, float]]]:
    """The ``_bias`` queries: for consecutive events a, b (gap below ``max_gap`` when given), "The moment before
    <b>" -> a and "The moment after <a>" -> b."""
    out = []
    for i in range(len(spans) - 1):
        a, b = spans[i], spans[i + 1]
        if max_gap is None or b[0] - a[1] < max_gap:
            out.append((clean_query(BEFORE_TEMPLATE.format(sentences[i + 1])), a))
            out.append((clean_query(AFTER_TEMPLATE.format(sentences[i])), b))
    return out


def mcq(
    question: str, options: Sequence[str], letter: str | None, answer_text: str | None = None
) -> dict[str, Any]:
    """Sample fields of a multiple-choice question: cleaned question and query, options, letter and answer text.

    ``letter`` None means the split has no ground truth. ``ValueError`` if the letter is not one of the options.
    """
    fields: dict[str, Any] = {
        "question": clean_question(question),
        "query": clean_query(question),
        "options": tuple(options),
        "answer": None,
        "answer_text": None,
    }
    if letter is not None:
        idx = letter_index(letter, len(options))
        fields["answer"] = option_letter(idx)
        fields["answer_text"] = answer_text if answer_text is not None else options[idx]
    return fields


def answer_letter(options: Sequence[str], answer: str) -> str:
    """The letter of the option equal to ``answer``; ``ValueError`` naming both when it is not an option."""
    if answer not in options:
        raise ValueError(f"answer {answer!r} is not one of the options {list(options)!r}")
    return option_letter(list(options).index(answer))
