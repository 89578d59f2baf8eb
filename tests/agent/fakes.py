"""A scripted backend and an in-memory video for testing the agent's control flow without a model."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import torch

from videomind.agent.backend import GroundOutput
from videomind.records import VideoView
from videomind.video.reader import SamplePlan


@dataclass
class FakeClip:
    frames: torch.Tensor
    indices: list[int]
    view: VideoView

    @property
    def timestamps(self) -> tuple[float, ...]:
        return tuple(i / 10 for i in self.indices)  # FakeReader's videos are 10 fps


class FakeReader:
    """A 'video' of ``duration`` seconds at 10 fps whose frames are never decoded for real."""

    def __init__(self, duration: float = 60.0, calls: list | None = None):
        self.duration = duration
        self.calls = calls if calls is not None else []

    def plan(self, budget, start=None, end=None):
        start = 0.0 if start is None else start
        end = self.duration if end is None else end
        self.calls.append((budget.fps, start, end))
        count = 4
        indices = tuple(int((start + (end - start) * i / (count - 1)) * 10) for i in range(count))
        return SamplePlan(indices, (28, 28), VideoView(start, end, budget.fps, count, 28, 28))

    def sample(self, budget, start=None, end=None):
        plan = self.plan(budget, start, end)
        return FakeClip(_frames(len(plan)), list(plan.indices), plan.view)

    def sample_chunks(self, plan, chunk):
        for first in range(0, len(plan), chunk):
            yield _frames(len(plan.indices[first : first + chunk]))

    def prefetch(self, budget, windows):
        return 0


def _frames(count: int) -> torch.Tensor:
    return torch.zeros(count, 3, 28, 28, dtype=torch.uint8)


def fake_opener(duration: float = 60.0, calls: list | None = None):
    @contextlib.contextmanager
    def open_video(path, **kwargs):
        yield FakeReader(duration, calls)

    return open_video


@dataclass
class ScriptedBackend:
    """Answers each role from a script; records every call."""

    plan: str = '[{"type": "grounder", "value": "the dog runs"}, {"type": "verifier"}, {"type": "answerer"}]'
    rows: list[list[float]] | None = field(
        default_factory=lambda: [[0.1, 0.2, 0.9], [0.5, 0.7, 0.8], [0.0, 1.0, 0.1]]
    )
    scores: list[float] | None = None
    answer: str = "B) green"
    roles: tuple[str, ...] = ("planner", "grounder", "verifier", "answerer")
    calls: list = field(default_factory=list)

    def has_role(self, role):
        return role in self.roles

    def generate(self, role, clip, text, prefix, settings):
        self.calls.append((role, text, prefix))
        return self.plan if role == "planner" else self.answer

    def ground(self, clip, text, settings):
        self.calls.append(("grounder", text, ""))
        return GroundOutput("The relevant moment happens in <|reg|>.", self.rows)

    def verify(self, clips, text, bounds):
        self.calls.append(("verifier", text, tuple(bounds)))
        return list(self.scores) if self.scores is not None else [0.5] * len(clips)

    def session(self, fast):
        self.fast = fast
        return self
