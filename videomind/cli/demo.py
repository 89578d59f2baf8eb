"""``videomind demo``: the web demo (Gradio, from the ``demo`` extra; imported only when the command runs)."""

from __future__ import annotations

import logging

from videomind.cli.ask import add_model_arguments
from videomind.cli.checks import check_model_arguments
from videomind.demo.config import (
    DEFAULT_HOST,
    DEFAULT_MAX_DURATION,
    DEFAULT_MAX_UPLOAD_MB,
    DEFAULT_PORT,
    DEFAULT_QUEUE_SIZE,
    DemoConfig,
    DemoLimits,
    check_bindable,
)

EMBEDDED_NOTE = (
    "This demo runs the embedded tiny VideoMind, trained only on synthetic videos of moving coloured shapes (like "
    "the examples): on other videos its answers mean little. Start it with `--model` for a real checkpoint."
)
RANDOM_NOTE = "This demo runs a tiny RANDOM model (the embedded one is missing): answers are meaningless."

log = logging.getLogger(__name__)


def register(sub) -> None:
    demo = sub.add_parser(
        "demo",
        help="web demo: upload a video, ask, watch each role's step and the moments on a timeline",
        description="Serve the VideoMind web demo (needs the demo extra: pip install 'videomind[demo]'). It binds "
        "to 127.0.0.1 unless --host says otherwise and answers one question at a time.",
    )
    demo.add_argument(
        "--host", default=DEFAULT_HOST, help="address to bind (default %(default)s: this machine)"
    )
    demo.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default %(default)s)")
    demo.add_argument("--max-upload-mb", type=float, default=DEFAULT_MAX_UPLOAD_MB,
                      help="largest accepted upload in MB (default %(default)s)")  # fmt: skip
    demo.add_argument("--max-duration", type=float, default=DEFAULT_MAX_DURATION,
                      help="longest accepted video in seconds (default %(default)s)")  # fmt: skip
    demo.add_argument("--queue-size", type=int, default=DEFAULT_QUEUE_SIZE,
                      help="requests that may wait for the model; more are refused (default %(default)s)")  # fmt: skip
    add_model_arguments(demo)
    demo.set_defaults(func=run_demo)


def config_from_args(args) -> DemoConfig:
    limits = DemoLimits(max_upload_mb=args.max_upload_mb, max_duration=args.max_duration)
    return DemoConfig(host=args.host, port=args.port, queue_size=args.queue_size, limits=limits,
                      model_note=_model_note(args))  # fmt: skip


def _model_note(args) -> str | None:
    if args.model is not None:
        return None
    from videomind.model.hub import EMBEDDED_MODEL

    return EMBEDDED_NOTE if (EMBEDDED_MODEL / "config.json").is_file() else RANDOM_NOTE


def run_demo(args) -> int:
    from videomind.demo import require_gradio

    config = config_from_args(args)
    check_model_arguments(args)
    check_bindable(config.host, config.port)  # before the model loads: a busy port is reported at once
    require_gradio()  # likewise a missing extra
    from videomind.cli.ask import build_agent
    from videomind.demo.app import build_demo, launch_demo

    agent = build_agent(args)  # loaded once, shared by every request
    log.info("serving the demo on http://%s:%d (Ctrl+C stops it)", config.host, config.port)
    launch_demo(build_demo(agent, config), config)
    return 0
