"""Recipe check: can a tiny language model, trained from scratch, learn to name an option's letter?

``python -m recipes.pointer_probe configs/train/tiny_vision.yaml --steps 1000 --initializer-range 0.02``

Text only, no video: "Which option is Yellow?" over four one-word options, in exactly the answerer's prompt (the
``mcq`` options block, the chat template, the "Best Option: (" prefill), trained with the loss on the letter
alone. This is the skill the answerer needs before it can bind what it sees to a letter: the letter comes BEFORE
its option's text, so the model must carry each letter forward into its option's words and then match the
question against them. A fresh model is built from the preset's ``model.tiny`` (``--initializer-range`` overrides
its init); the report is the accuracy over the last 100 steps, logged every ``--log-every`` steps.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import random
import time
from pathlib import Path

import torch

from videomind.data.synthetic.config import COLOUR_NAMES, SHAPES

log = logging.getLogger(__name__)

WORDS = (*COLOUR_NAMES, *SHAPES)  # the synthetic world's nouns
LETTERS = "ABCD"


def pointer_question(processor, rng: random.Random) -> tuple[list[int], int]:
    """One question's prompt ids (ending at the prefill) and the id of its answer letter."""
    from videomind import prompts

    options = rng.sample(WORDS, len(LETTERS))
    answer = rng.randrange(len(LETTERS))
    text, prefix = prompts.answerer_prompt(f"Which option is {options[answer].capitalize()}?", options, "mcq")
    rendered = processor.render([{"role": "user", "content": [{"type": "text", "text": text}]}]) + prefix
    encode = processor.tokenizer
    letter = encode(LETTERS[answer], add_special_tokens=False)["input_ids"]
    return encode(rendered, add_special_tokens=False)["input_ids"], letter[0]


def train_pointer(
    shape, steps: int, batch_size: int, learning_rate: float, seed: int, log_every: int
) -> list:
    """Train a fresh tiny model's language model on pointer questions; ``[(step, accuracy over the last 100)]``."""
    from videomind.model import build_tiny_model

    model, processor = build_tiny_model(seed, roles=(), shape=shape)
    language_model = model.base.train()
    optimizer = torch.optim.AdamW(language_model.parameters(), lr=learning_rate, weight_decay=0.01)
    rng = random.Random(seed)
    hits: list[float] = []
    curve = []
    for step in range(1, steps + 1):
        batch = [pointer_question(processor, rng) for _ in range(batch_size)]
        length = max(len(ids) for ids, _ in batch)
        input_ids = torch.full((batch_size, length), processor.pad_token_id)
        attention_mask = torch.zeros((batch_size, length), dtype=torch.long)
        for row, (ids, _) in enumerate(batch):  # left padding: every row's last position is the prefill's "("
            input_ids[row, length - len(ids) :] = torch.tensor(ids)
            attention_mask[row, length - len(ids) :] = 1
        target = torch.tensor([letter for _, letter in batch])
        for group in optimizer.param_groups:  # 100 warm-up steps
            group["lr"] = learning_rate * min(1.0, step / 100)
        logits = language_model(input_ids=input_ids, attention_mask=attention_mask).logits[:, -1]
        loss = torch.nn.functional.cross_entropy(logits, target)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(language_model.parameters(), 1.0)
        optimizer.step()
        hits.extend((logits.argmax(-1) == target).tolist())
        if step % log_every == 0 or step == steps:
            recent = hits[-100 * batch_size :]
            curve.append((step, round(100 * sum(recent) / len(recent), 1)))
            log.info("step %d: accuracy %.1f %% (last 100 steps), loss %.3f", step, curve[-1][1], loss.item())
    return curve


def main(argv: list[str] | None = None) -> int:
    from videomind.train.config import load_config

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("config", type=Path, help="a preset whose model.tiny gives the shape")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--initializer-range", type=float, default=None, help="default: the preset's")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log-every", type=int, default=100)
    parser.add_argument("--out", type=Path, default=None, help="write the curve as JSON here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(1)
    shape = load_config(args.config).model.tiny.shape()
    if args.initializer_range is not None:
        shape = dataclasses.replace(shape, initializer_range=args.initializer_range)
    started = time.perf_counter()
    curve = train_pointer(shape, args.steps, args.batch_size, args.learning_rate, args.seed, args.log_every)
    report = {"initializer_range": shape.initializer_range, "learning_rate": args.learning_rate,
              "batch_size": args.batch_size, "seed": args.seed, "seconds": round(time.perf_counter() - started),
              "accuracy_curve": curve}  # fmt: skip
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    log.info("%s", json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
