"""The app over HTTP: gradio_client calls its API; limits, file access and the queue, as a client sees them."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from tests.demo.conftest import MAX_DURATION, MAX_UPLOAD_MB, free_port
from videomind.demo.config import DemoConfig
from videomind.demo.examples import EXAMPLES_DIR
from videomind.records import AgentResult
from videomind.video import probe_duration
from videomind.video.testing import make_test_video

pytest.importorskip("gradio")
pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402
from gradio_client.utils import Status  # noqa: E402


@pytest.fixture(scope="module")
def client(served):
    url, _, _ = served
    return Client(url, verbose=False)


def ask(client, video, question="What colour does the blue square turn?", options="red\nwhite\nyellow\ngreen",
        planner=False, verifier=True):  # fmt: skip
    return client.predict(handle_file(str(video)), question, options, planner, verifier, api_name="/ask")


def test_the_api_answers_with_moments_a_timeline_a_clip_and_the_raw_result(client, example):
    trace, answer, timeline, clip, raw = ask(client, example.video, example.question, example.options_text)
    assert raw["question"] == example.question and raw["duration"] == pytest.approx(15.0, abs=0.1)
    assert raw["moments"] and all(0 <= m["start"] < m["end"] <= raw["duration"] for m in raw["moments"])
    assert [s["role"] for s in raw["trace"]] == ["grounder", "verifier", "answerer"]
    assert raw["response"] and "Answer:" in answer
    assert timeline.count('class="vm-moment') == min(5, len(raw["moments"])) and "vm-chosen" in timeline
    assert all(f'data-role="{r}"' in trace for r in ("grounder", "verifier", "answerer"))
    best = raw["moments"][0]
    assert probe_duration(clip["video"] if isinstance(clip, dict) else clip) == pytest.approx(
        best["end"] - best["start"], abs=1.0
    )


def test_steps_stream_before_the_answer_and_the_planner_toggle_adds_its_step(client, example):
    job = client.submit(
        handle_file(str(example.video)), example.question, example.options_text, True, False, api_name="/ask"
    )
    job.result(timeout=300)
    outputs = job.outputs()
    assert len(outputs) >= 3  # "working", one per step, the final page
    first_step = next(o for o in outputs if 'data-role="' in o[0])
    assert "Answer:" not in str(first_step[1])  # a step shown while the answer is still to come
    raw = outputs[-1][4]
    assert [s["role"] for s in raw["trace"]] == ["planner", "grounder", "answerer"]  # verifier switched off


def test_a_file_that_is_not_a_video_gets_a_message_not_a_traceback(client, not_a_video, tmp_path):
    with pytest.raises(AppError) as info:
        ask(client, not_a_video)
    assert str(info.value).startswith("notes.mp4 is not a video") and "Traceback" not in str(info.value)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(
        AppError, match=r"notes\.txt is a \.txt file; the demo accepts video files of type \.mp4"
    ):
        ask(client, text)


def test_an_oversized_upload_is_refused_with_the_limit(client, served, oversized):
    url, _, config = served
    with pytest.raises(ValueError, match="exceeds the maximum file size"):  # gradio_client checks first
        ask(client, oversized)
    with oversized.open("rb") as f:  # the server refuses it too
        response = httpx.post(f"{url}gradio_api/upload", files={"files": ("huge.mp4", f, "video/mp4")})
    assert response.status_code == 413
    assert f"maximum allowed size of {config.limits.max_upload_bytes} bytes" in response.text
    assert config.limits.max_upload_mb == MAX_UPLOAD_MB


def test_a_too_long_video_and_bad_questions_get_messages(client, example, tmp_path):
    long_video = make_test_video(tmp_path / "long.mp4", seconds=MAX_DURATION + 10, fps=1, size=(48, 64))
    with pytest.raises(AppError, match=r"long\.mp4 is 40\.0 s long; the limit is 30\.0 s"):
        ask(client, long_video)
    with pytest.raises(AppError, match=r"Give at least two answer options"):
        ask(client, example.video, options="only one")
    with pytest.raises(AppError, match=r"Type a question"):
        ask(client, example.video, question="  ")


def test_only_uploads_and_examples_can_be_read(served, example):
    url, _, _ = served
    for path in ("/etc/passwd", str(EXAMPLES_DIR.parent.parent / "demo" / "app.py"), "README.md"):
        assert httpx.get(f"{url}gradio_api/file={path}").status_code == 403, path
    assert httpx.get(f"{url}gradio_api/file={example.video}").status_code == 200
    # an API call naming a server path instead of uploading it is refused before the agent runs
    data = [{"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}, "q?", "", False, True]
    event = httpx.post(f"{url}gradio_api/call/ask", json={"data": data}).json()["event_id"]
    stream = httpx.get(f"{url}gradio_api/call/ask/{event}", timeout=120).text
    assert "event: error" in stream and "root:" not in stream


def test_served_on_loopback_with_a_bounded_queue(served):
    url, demo, config = served
    assert url.startswith("http://127.0.0.1:")
    assert demo.max_file_size == config.limits.max_upload_bytes
    assert demo._queue.max_size == config.queue_size
    ask_fn = next(fn for fn in demo.fns.values() if fn.api_name == "ask")
    assert ask_fn.concurrency_limit == 1


class BlockingAgent:
    """Stands in for the agent: each run waits for ``release``; records how many ran at once."""

    def __init__(self):
        self.release, self.started = threading.Event(), threading.Semaphore(0)
        self.running = self.most = 0
        self.guard = threading.Lock()

    def run(self, video, question, options=None, on_step=None, **overrides):
        with self.guard:
            self.running += 1
            self.most = max(self.most, self.running)
        self.started.release()
        self.release.wait(120)
        with self.guard:
            self.running -= 1
        return AgentResult(question=question, duration=15.0, answer="A", options=options)


def test_one_run_at_a_time_and_a_bounded_queue(example, tmp_path):
    from videomind.demo.app import build_demo, launch_demo

    agent = BlockingAgent()
    config = DemoConfig(port=free_port(), queue_size=1)
    demo = build_demo(agent, config, work_dir=tmp_path)
    _, url, _ = launch_demo(demo, config, prevent_thread_lock=True, quiet=True)
    try:
        client = Client(url, verbose=False)
        args = (handle_file(str(example.video)), example.question, example.options_text, False, True)
        first = client.submit(*args, api_name="/ask")
        assert agent.started.acquire(timeout=120)  # the first run holds the model
        second = client.submit(*args, api_name="/ask")
        deadline = time.monotonic() + 60
        while second.status().code != Status.IN_QUEUE and time.monotonic() < deadline:
            time.sleep(0.1)
        third = client.submit(*args, api_name="/ask")
        with pytest.raises(Exception, match="Queue is full"):
            third.result(timeout=120)
        agent.release.set()
        assert (
            first.result(timeout=120)[4]["answer"] == "A" and second.result(timeout=120)[4]["answer"] == "A"
        )
        assert agent.most == 1
    finally:
        agent.release.set()
        demo.close()
