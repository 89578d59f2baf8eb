"""``videomind ground VIDEO QUERY``: ranked moments for a text query (grounder + verifier)."""

from __future__ import annotations

import json

from videomind.cli.ask import add_model_arguments, build_agent, check_query_arguments, option_overrides
from videomind.cli.checks import positive_int

DEFAULT_TOP_K = 5  # the verifier's official number of candidates (agent.options.VERIFIER_TOP_K; not imported
# here: the agent package loads torch, and `videomind --help` must stay fast)


def register(sub) -> None:
    ground = sub.add_parser("ground", help="find the moments of a video that match a text query")
    ground.add_argument("video")
    ground.add_argument("query")
    ground.add_argument(
        "--top-k", type=positive_int, default=DEFAULT_TOP_K, help="moments to list (default %(default)s)"
    )
    ground.add_argument("--no-verifier", action="store_true")
    ground.add_argument("--json", action="store_true", help="print the moments as JSON")
    ground.add_argument("--plot", default=None, metavar="PNG")
    add_model_arguments(ground)
    ground.set_defaults(func=run_ground)


def run_ground(args) -> int:
    check_query_arguments(args, args.query)
    agent = build_agent(args)
    # the verifier ranks as many candidates as are listed (agent.ground's rule), at least the official five
    overrides = option_overrides(args) | {"verifier_top_k": max(args.top_k, agent.options.verifier_top_k)}
    result = agent.run(args.video, args.query, use_answerer=False, **overrides)
    moments = result.moments[: args.top_k]
    if args.plot:
        from videomind.cli.plot import plot_timeline

        plot_timeline(result, args.plot)
    if args.json:
        print(json.dumps([m.to_dict() for m in moments], indent=2))
        return 0
    for rank, m in enumerate(moments, 1):
        score = "" if m.score is None else f"  score {m.score:.3f}"
        print(f"{rank}. {m.start:8.2f}s - {m.end:8.2f}s{score}")
    return 0
