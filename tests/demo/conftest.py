"""The demo's fixtures: a tiny random agent (no embedded model needed) and the app served on a free local port."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from videomind.agent import AgentOptions, GenerationSettings, VideoMindAgent
from videomind.demo.config import DemoConfig, DemoLimits
from videomind.demo.examples import load_examples

# The served app's limits: every example passes; the error tests make files that do not.
MAX_UPLOAD_MB = 0.5
MAX_DURATION = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def demo_agent(tiny):
    """The agent on a tiny random model: meaningless answers, the real pipeline, a few seconds per question.
    ``VIDEOMIND_DEMO_EMBEDDED=1`` serves the embedded model instead (how docs/demo.png is retaken, together with
    ``VIDEOMIND_UPDATE_SCREENSHOT=1``)."""
    import os

    from videomind.agent.backend import ModelBackend

    if os.environ.get("VIDEOMIND_DEMO_EMBEDDED"):
        return VideoMindAgent.from_pretrained(device="cpu")
    model, processor = tiny
    options = AgentOptions(generation=GenerationSettings(max_new_tokens=12))
    return VideoMindAgent(ModelBackend(model, processor), options)


@pytest.fixture(scope="session")
def example():
    return load_examples()[0]


@pytest.fixture(scope="module")
def served(demo_agent, tmp_path_factory):
    """(url, demo, config): the app launched in-process on 127.0.0.1, closed after the module."""
    pytest.importorskip("gradio")
    from videomind.demo.app import build_demo, launch_demo

    config = DemoConfig(
        port=free_port(), limits=DemoLimits(max_upload_mb=MAX_UPLOAD_MB, max_duration=MAX_DURATION)
    )
    demo = build_demo(demo_agent, config, work_dir=tmp_path_factory.mktemp("demo-work"))
    _, url, _ = launch_demo(demo, config, prevent_thread_lock=True, quiet=True)
    try:
        yield url, demo, config
    finally:
        demo.close()


@pytest.fixture
def not_a_video(tmp_path) -> Path:
    path = tmp_path / "notes.mp4"
    path.write_text("a text file with a video's name\n")
    return path


@pytest.fixture
def oversized(tmp_path) -> Path:
    path = tmp_path / "huge.mp4"
    path.write_bytes(b"\0" * int((MAX_UPLOAD_MB + 0.1) * 1024 * 1024))
    return path
