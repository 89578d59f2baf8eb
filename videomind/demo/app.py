"""The Gradio page: ``build_demo(agent, config)`` -> ``gr.Blocks``; ``launch_demo`` serves it.

Rendering only: the agent is loaded once by the caller and every question goes through ``VideoMindAgent.run``
(streamed step by step by ``runner.stream_run``). Requests are checked (limits.py) before the agent sees them;
users get one-line messages, never tracebacks.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import warnings
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from videomind.demo import render
from videomind.demo.clip import ClipFolder
from videomind.demo.config import CONCURRENCY_LIMIT, DemoConfig
from videomind.demo.examples import EXAMPLES_DIR, load_examples
from videomind.demo.limits import UploadRejected, check_question, check_video, format_seconds, parse_options
from videomind.demo.runner import stream_run
from videomind.errors import UserInputError, VideoMindError
from videomind.records import AgentResult, AgentStep

log = logging.getLogger(__name__)

TITLE = "VideoMind: a Chain-of-LoRA agent for temporal-grounded video reasoning"
DELETE_CACHE = (3600, 3600)  # every hour, delete uploads and outputs older than an hour
LOOPBACK = ("127.0.0.1", "localhost", "::1")
FONTS = ["system-ui", "sans-serif"]  # no web fonts: the page works offline
ERROR_TITLE = "Cannot answer"
VIDEO_HEIGHT = 280
SLOW_START_TIMEOUT = 120.0  # seconds to wait for the first page on a busy machine

Outputs = tuple[Any, Any, Any, Any, Any]  # trace, answer, timeline, clip, raw result


class DemoHandlers:
    """The page's callbacks, bound to one agent (loaded once) and one config."""

    def __init__(self, agent, config: DemoConfig, work_dir: str | Path):
        self.agent = agent
        self.config = config
        self.clips = ClipFolder(Path(work_dir) / "clips")
        self.roots = (gr.utils.get_upload_folder(), EXAMPLES_DIR)

    def check_upload(self, video: str | None):
        """Check a fresh upload at once: a rejected file is cleared with a warning saying why."""
        if not video:
            return gr.skip()
        try:
            check_video(video, self.config.limits, self.roots)
        except UploadRejected as exc:
            gr.Warning(str(exc))
            return None
        return gr.skip()

    def ask(
        self, video: str | None, question: str, options_text: str, use_planner: bool, use_verifier: bool
    ) -> Iterator[Outputs]:
        """Run the agent, yielding the page after every role's step; the last yield carries everything."""
        limits = self.config.limits
        try:
            checked = check_video(video, limits, self.roots)
            question = check_question(question, limits)
            options = parse_options(options_text)
        except UploadRejected as exc:
            raise gr.Error(str(exc), title=ERROR_TITLE, print_exception=False) from None
        log.info("question on %s (%s): %r", checked.name, format_seconds(checked.duration), question)
        overrides = {
            "auto_planning": bool(use_planner),
            "auto_rephrasing": bool(use_planner),
            "use_verifier": bool(use_verifier),
        }
        yield render.render_trace([], running=True), "", render.empty_timeline("Working…"), None, None
        steps: list[AgentStep] = []
        result: AgentResult | None = None
        for item in self._run(checked.path, question, options, overrides):
            if isinstance(item, AgentStep):
                steps.append(item)
                yield render.render_trace(steps, running=True), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            else:
                result = item
        if result is None:  # stream_run ends with the result or raises; never silently without one
            raise gr.Error("The agent stopped without a result.", title=ERROR_TITLE)
        yield (
            render.render_trace(steps),
            render.render_answer(result),
            render.render_timeline(result, self.config.timeline_rows),
            self._clip(checked.path, result),
            result.to_dict(),
        )

    def _run(self, video: Path, question: str, options, overrides) -> Iterator[AgentStep | AgentResult]:
        try:
            yield from stream_run(self.agent, video, question, options, **overrides)
        except VideoMindError as exc:
            raise gr.Error(str(exc), title=ERROR_TITLE, print_exception=False) from None
        except Exception as exc:
            log.exception("the agent failed on %s", video)
            raise gr.Error(
                f"The agent failed ({type(exc).__name__}); the server log has the details.", title=ERROR_TITLE
            ) from None

    def _clip(self, video: Path, result: AgentResult) -> str | None:
        if result.moment is None:
            return None
        try:
            return str(self.clips.cut(video, result.moment.start, result.moment.end))
        except Exception:  # the answer stands without its clip
            log.warning("could not cut the chosen moment from %s", video, exc_info=True)
            return None


def _intro(config: DemoConfig) -> str:
    limits = config.limits
    note = f"**{config.model_note}**\n\n" if config.model_note else ""
    return (
        f"## {TITLE}\n{note}"
        "Upload a video (or pick an example), ask a question, optionally give answer options. The planner routes "
        "and rephrases, the grounder proposes moments, the verifier re-ranks them and the answerer answers from "
        "the best one; each step appears as it finishes.\n\n"
        f"Accepted: {', '.join(limits.suffixes)} up to {limits.max_upload_mb:g} MB and "
        f"{format_seconds(limits.max_duration)}."
    )


def build_demo(agent, config: DemoConfig | None = None, work_dir: str | Path | None = None) -> gr.Blocks:
    """The demo page over a loaded agent, with its queue set up (one run at a time, ``queue_size`` waiting)."""
    config = config or DemoConfig()
    own_dir = work_dir is None
    work_dir = Path(work_dir) if work_dir is not None else Path(tempfile.mkdtemp(prefix="videomind-demo-"))
    handlers = DemoHandlers(agent, config, work_dir)
    examples = load_examples()
    with gr.Blocks(title="VideoMind demo", analytics_enabled=False, delete_cache=DELETE_CACHE) as demo:
        gr.Markdown(_intro(config))
        with gr.Row():
            with gr.Column(scale=1):
                video = gr.Video(label="Video", sources=["upload"], height=VIDEO_HEIGHT, elem_id="video")
                question = gr.Textbox(label="Question", lines=2, elem_id="question",
                                      placeholder="Ask a question about the video, or describe a moment to find")  # fmt: skip
                options = gr.Textbox(
                    label="Answer options (optional, one per line)", lines=4, elem_id="options"
                )
                with gr.Row():
                    planner = gr.Checkbox(label="Planner (route, rephrase)", value=False, elem_id="planner")
                    verifier = gr.Checkbox(
                        label="Verifier (re-rank candidates)", value=True, elem_id="verifier"
                    )
                submit = gr.Button("Ask", variant="primary", elem_id="ask")
                gr.Examples(
                    examples=[[str(e.video), e.question, e.options_text] for e in examples],
                    inputs=[video, question, options],
                    label="Examples (synthetic clips made by `videomind synth make`)",
                )
            with gr.Column(scale=1):
                answer = gr.HTML(elem_id="answer")
                timeline = gr.HTML(render.empty_timeline(), elem_id="timeline")
                clip = gr.Video(label="Chosen moment", interactive=False, height=VIDEO_HEIGHT, elem_id="clip")
                trace = gr.HTML(elem_id="trace")
                with gr.Accordion("Raw AgentResult (JSON)", open=False, elem_id="raw-accordion"):
                    raw = gr.JSON(elem_id="raw")
        video.upload(handlers.check_upload, inputs=video, outputs=video, api_visibility="private")
        submit.click(
            handlers.ask,
            inputs=[video, question, options, planner, verifier],
            outputs=[trace, answer, timeline, clip, raw],
            api_name="ask",
            concurrency_limit=CONCURRENCY_LIMIT,
            show_progress="minimal",
        )
    demo.queue(default_concurrency_limit=CONCURRENCY_LIMIT, max_size=config.queue_size)
    if own_dir:  # the cut clips live there: removed with the page, or at the latest when the process exits
        weakref.finalize(demo, shutil.rmtree, work_dir, ignore_errors=True)
    return demo


def launch_demo(demo: gr.Blocks, config: DemoConfig | None = None, **launch_kwargs):
    """Serve ``demo`` on ``config.host:config.port`` with the upload limit; extra keywords go to ``launch``.

    Returns ``launch``'s ``(app, local_url, share_url)``; blocks until stopped unless ``prevent_thread_lock``.
    """
    config = config or DemoConfig()
    # gradio 6's queue (gradio/queueing.py, Queue._get_df) uses pandas' infer_objects(copy=False) and the option
    # future.no_silent_downcasting, both deprecated in pandas 3: Pandas4Warnings on the server's terminal for every
    # request, which no user can act on.
    warnings.filterwarnings(
        "ignore",
        message=r"(The copy keyword|'future\.no_silent_downcasting') is deprecated",
        module=r"gradio\.queueing",
    )
    if config.host not in LOOPBACK:
        log.warning("serving on %s: the demo is reachable from other machines and has no login", config.host)
    kwargs = {
        "server_name": config.host,
        "server_port": config.port,
        "max_file_size": config.limits.max_upload_bytes,
        "allowed_paths": [str(EXAMPLES_DIR)],
        "theme": gr.themes.Default(font=FONTS, font_mono=["monospace"]),
        "ssr_mode": False,
        "mcp_server": False,
        "enable_monitoring": False,
        "run_history": False,  # nothing about a run is kept, or offered for upload elsewhere
        "footer_links": ["api", "settings"],
    } | launch_kwargs
    try:
        return demo.launch(**kwargs)
    except OSError as exc:  # taken between the command line's check and now
        if "empty port" not in str(exc):
            raise
        raise UserInputError(f"port {config.port} on {config.host} is in use; pick another --port") from None
    except ValueError as exc:
        # gradio's post-start check gives up when the page's first HEAD takes over 3 s (a busy CPU), although
        # the server is up (https://github.com/gradio-app/gradio/issues/9817): check it again, more patiently.
        if "localhost is not accessible" not in str(exc) or not _answers(demo.local_url):
            raise
    log.warning(
        "the server was slow to answer its first request (busy machine); it is up at %s", demo.local_url
    )
    if not kwargs.get("prevent_thread_lock"):
        demo.block_thread()
    return demo.server_app, demo.local_url, None


def _answers(url: str | None, timeout: float = SLOW_START_TIMEOUT) -> bool:
    import httpx

    if not url:
        return False
    try:
        return httpx.get(url, timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False
