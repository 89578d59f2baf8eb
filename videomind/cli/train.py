"""``videomind train CONFIG.yaml [key=value ...]`` and ``videomind train combine OUT RUN1 RUN2 ...``.

The first trains one role (or a base model) as configured (docs/TRAINING.md); ``torchrun`` and ``deepspeed``
launch the same command (``torchrun --nproc_per_node 2 -m videomind train ...``). The second merges role runs into
one multi-role checkpoint folder.
"""

from __future__ import annotations

import argparse
import sys

from videomind.errors import UserInputError

COMBINE = "combine"
USAGE = """videomind train CONFIG.yaml [key=value ...] [--print-config]
       videomind train combine OUT RUN1 [RUN2 ...]"""
EPILOG = """examples (from a clone of the repository; the first two work on a fresh one):
  videomind synth make data/synthetic --videos 20 --split train       # data of the tiny presets (a minute)
  videomind train configs/train/tiny_grounder.yaml model.base=videomind/assets/tiny/base train.max_steps=50
  videomind train configs/train/pretrain_grounder_2b.yaml model.base=/models/Qwen2-VL-2B-Instruct train.max_steps=10
  torchrun --nproc_per_node 2 -m videomind train configs/train/tiny_grounder.yaml model.base=videomind/assets/tiny/base train.output_dir=runs/ddp
  videomind train combine runs/tiny-all runs/tiny-grounder runs/tiny-verifier runs/tiny-planner"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train", help="train a role (or a base model), or combine role runs", usage=USAGE, epilog=EPILOG,
        description="Train one role from a YAML preset (configs/train/) with strict key=value overrides; the "
        "resolved config, checkpoints and the final weights (released layout) go to train.output_dir.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("config", help="a YAML preset, or 'combine'")
    parser.add_argument("rest", nargs="*", help="key=value overrides (for combine: OUT RUN1 RUN2 ...)")
    parser.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    parser.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    if args.config == COMBINE:
        return _combine(args.rest)
    from videomind.train.config import load_config, to_dict

    config = load_config(args.config, args.rest)
    if args.print_config:
        import yaml

        sys.stdout.write(yaml.safe_dump(to_dict(config), sort_keys=False))
        return 0
    from videomind.train.run import is_main_process, run_training

    result = run_training(config)
    if is_main_process():
        loss = "n/a" if result.final_loss is None else f"{result.final_loss:.4f}"
        print(f"trained {config.model.role} for {result.global_step} steps (mean loss {loss}); "
              f"weights in {result.output_dir}")  # fmt: skip
    return 0


def _combine(rest: list[str]) -> int:
    if len(rest) < 2:
        raise UserInputError("usage: videomind train combine OUT RUN1 [RUN2 ...]")
    from videomind.train.combine import combine_runs, run_roles

    out = combine_runs(rest[0], rest[1:])
    print(f"wrote {out} with roles: {', '.join(run_roles(out))}")
    return 0
