"""Recipe stage: warm a from-scratch tiny base's vision tower up alone (``videomind.train.vision_warmup``).

``python -m recipes.vision_warmup configs/train/tiny_vision.yaml --data data/synthetic --tie-words``

``--tie-words`` adds the ``WordProbe``: the visual tokens are also trained toward the language model's own
embeddings of the colour and shape words they show.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import torch

from videomind.train.vision_warmup import (
    WordProbe,
    load_clips,
    probe_accuracy,
    train_vision,
    word_embeddings,
)

log = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    from videomind.train.config import load_config
    from videomind.train.saving import save_base_run
    from videomind.train.setup import prepare_model

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("config", type=Path, help="the preset (configs/train/tiny_vision.yaml)")
    parser.add_argument(
        "--data", type=Path, default=Path("data/synthetic"), help="a `videomind synth make` folder"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="the base folder written (default: train.output_dir)"
    )
    parser.add_argument(
        "--videos", type=int, default=500, help="training videos to cut one-second clips from"
    )
    parser.add_argument("--steps", type=int, default=None, help="default: train.max_steps")
    parser.add_argument(
        "--tie-words",
        action="store_true",
        help="also train the visual tokens toward the LM's word embeddings",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    config = load_config(args.config)
    out = args.out or Path(config.train.output_dir)
    steps = args.steps or config.train.max_steps
    torch.manual_seed(config.train.seed)
    prepared = prepare_model(config.model)
    model, processor = prepared.model, prepared.processor
    started = time.perf_counter()
    clips, labels = load_clips(args.data, "train", args.videos, processor)
    test_clips, test_labels = load_clips(args.data, "test", 100, processor)
    log.info("%d training clips, %d held-out clips (%.0f s to decode)", len(clips), len(test_clips),
             time.perf_counter() - started)  # fmt: skip
    word_probe = WordProbe(word_embeddings(model, processor.tokenizer)) if args.tie_words else None
    curve, probe = train_vision(
        model,
        clips,
        labels,
        steps,
        config.train.batch_size,
        config.train.learning_rate,
        config.train.seed,
        word_probe=word_probe,
    )
    held_out = probe_accuracy(model, probe, test_clips, test_labels)
    if word_probe is not None:
        held_out["words"] = probe_accuracy(model, word_probe, test_clips, test_labels)
    log.info("held-out: %s", held_out)
    save_base_run(model, processor, out)
    report = {
        "held_out": held_out,
        "loss_every_100_steps": curve[::100],
        "seconds": time.perf_counter() - started,
    }
    (out / "vision_warmup.json").write_text(json.dumps(report, indent=2) + "\n")
    log.info("wrote %s (%.0f s)", out, report["seconds"])
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
