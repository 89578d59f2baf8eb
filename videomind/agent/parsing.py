"""Parsing the roles' text outputs (pure functions)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Plan:
    """The planner's answer as the official agent reads it: only the FIRST action is interpreted.

    ``actions`` is the parsed list (or None when the response was not valid plan JSON, then ``error`` says why);
    ``answer_only`` is True when the first action is "answerer"; ``query`` is the first action's grounding query
    when it is a grounder action with a non-empty value.
    """

    actions: list[dict[str, Any]] | None
    answer_only: bool = False
    query: str | None = None
    error: str | None = None
    roles: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.error is None


def parse_plan(response: str) -> Plan:
    """``json.loads`` of the whole response; a list's first element (or the object itself) is the first action."""
    try:
        data = json.loads(response)
    except (json.JSONDecodeError, TypeError) as exc:
        return Plan(None, error=f"plan is not JSON: {exc}")
    actions = data if isinstance(data, list) else [data]
    if not actions or not all(isinstance(a, dict) for a in actions):
        return Plan(None, error="plan must be a list of JSON objects")
    first = actions[0]
    kind = str(first.get("type", "")).lower()
    if kind not in ("grounder", "verifier", "answerer"):
        return Plan(actions, error=f"unknown first action type {first.get('type')!r}")
    value = first.get("value")
    query = str(value).strip() if kind == "grounder" and value is not None and str(value).strip() else None
    roles = [str(a.get("type", "")).lower() for a in actions]
    return Plan(actions, answer_only=kind == "answerer", query=query, roles=roles)
