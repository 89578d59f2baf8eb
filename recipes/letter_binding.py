"""Recipe check: can a base learn to bind what it SEES to an option letter? Letter-only training with the clips.

``python -m recipes.letter_binding runs/tiny-pointer --presence data/presence/train.jsonl --steps 3000
--out binding.json``

The presence questions (``recipes.presence_questions``) with their clips, in the answerer's ``mcq`` layout and the
base preset's frame budgets and answer crop, trained with the loss on the answer letter alone (the token after the
prefill's "(") on every parameter. Scored every ``--eval-every`` steps on questions kept out of training (from
the file's last 2000 lines): the hinted ones (the answer stated in words: pointing only) and the unhinted ones
(the answer only on screen: seeing, then pointing), each as accuracy and the share of the most frequent letter,
and the unhinted ones again with blank clips (``unhinted_blank``: every pixel at the normalisation mean), the
control for what the question and its options give away without looking. Before training, the hinted ones are also
read with blank clips (``hinted_blank``) and as text without any video block (``hinted_as_text``, the pointer
stage's prompt): what a video block costs the starting model's reading of the hint.
This isolates binding from everything else the base stage teaches (docs/TINY_MODEL.md): a base that stays at the
text prior on the unhinted questions here will not answer from the video after the base stage either. Writes the
report, and with ``--save DIR`` the trained model as a base folder (a curriculum stage: the next one starts there)
with the report beside it; a run with ``--save`` keeps a checkpoint there at every evaluation, and the same command
after a kill resumes from it. ``--gate STEP PERCENT`` stops the run at evaluation step STEP when the held-out
unhinted accuracy there is below PERCENT (exit status 3, the checkpoint kept and the scores in
``letter_binding_gate_missed.json``): the recipe's glance stage does not train on a model that does not look.
``--freeze-vision`` trains the language model alone: trained with it at the same rate, the warmed-up tower lost what
its probe reads and the glance did not learn to look (docs/TINY_MODEL.md, thirteenth sitting).

Records without options (``recipes.presence_questions --types describe``) are trained on their whole free-text
reply and never scored.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import time
from pathlib import Path

import torch
import torch.nn.functional as F

log = logging.getLogger(__name__)

CHECKPOINT = "letter_binding_checkpoint.pt"  # in the --save folder, at every evaluation; removed at the end
REPORT = "letter_binding.json"  # in the --save folder once the model there is final
GATE_MISSED = "letter_binding_gate_missed.json"  # in the --save folder when a run stopped at its gate
GATE_EXIT_CODE = 3  # the command's exit status when it stopped at its gate


class GateMissed(RuntimeError):
    """The held-out unhinted accuracy at the gate's step was below its bar: the run stopped there."""


HELD_OUT_TAIL = 2000  # the held-out questions come from the file's last lines, never trained on
REPO = Path(__file__).resolve().parents[1]


def letter_only(item: dict, tokenizer) -> dict:
    """``item`` with its labels cut to the answer letter: the first supervised token that follows a "("."""
    from videomind.data.collator import IGNORE_INDEX, answer_letter_position

    labels = item["labels"]
    letter = answer_letter_position(item["input_ids"].tolist(), labels.tolist(), tokenizer)
    if letter < 0:
        raise ValueError("no answer letter after the prefill: is this an mcq answering example?")
    kept = torch.full_like(labels, IGNORE_INDEX)
    kept[letter] = labels[letter]
    return {**item, "labels": kept}


def letter_logits(model, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """The logits at each row's supervised position and the letters they should give."""
    from videomind.data.collator import IGNORE_INDEX

    out = model.text_pass(
        batch["input_ids"],
        batch["attention_mask"],
        batch["pixel_values_videos"],
        batch["video_grid_thw"],
        batch.get("second_per_grid_ts"),
    )
    targets = batch["labels"][:, 1:]
    keep = targets != IGNORE_INDEX
    return model.logits(out.hidden[:, :-1][keep]).float(), targets[keep]


def held_out(records: list[dict], count: int) -> dict[str, list[int]]:
    """Indices of ``count`` hinted and ``count`` unhinted multiple-choice questions among the last
    ``HELD_OUT_TAIL`` lines (free-text ones are neither: they are never scored)."""
    tail = [i for i in range(max(0, len(records) - HELD_OUT_TAIL), len(records)) if records[i].get("options")]
    hinted = [i for i in tail if records[i]["extra"].get("hinted")]
    unhinted = [i for i in tail if not records[i]["extra"].get("hinted")]
    return {"hinted": hinted[:count], "unhinted": unhinted[:count]}


@torch.no_grad()
def accuracy(
    model,
    items,
    collate,
    tokenizer,
    batch_size: int = 16,
    blank: bool = False,
    types: list[str] | None = None,
) -> dict:
    """Greedy answer letter (over the whole vocabulary, as the agent decodes) against the truth; ``blank``: with
    every clip's pixels at the normalisation mean; ``types`` (one per item): also the accuracy of each type."""
    from recipes.answerer_probe import accuracy_by_type, letter_scores

    was_training = model.training
    model.eval()
    said, truth = [], []
    for start in range(0, len(items), batch_size):
        batch = collate([letter_only(item, tokenizer) for item in items[start : start + batch_size]])
        if blank:
            batch["pixel_values_videos"] = torch.zeros_like(batch["pixel_values_videos"])
        logits, target = letter_logits(model, batch)
        said += logits.argmax(-1).tolist()
        truth += target.tolist()
    model.train(was_training)
    scores: dict = letter_scores(said, truth)
    if types is not None:
        scores["by_type"] = accuracy_by_type(said, truth, types)
    return scores


def run(
    base: Path,
    presence: Path,
    steps: int,
    batch_size: int = 8,
    learning_rate: float = 5e-4,
    held_out_count: int = 300,
    eval_every: int = 1000,
    preset: Path = REPO / "configs" / "train" / "tiny_base.yaml",
    seed: int = 0,
    save: Path | None = None,
    gate: tuple[int, float] | None = None,
    freeze_vision: bool = False,
) -> dict:
    """Train ``base`` on the letters of ``presence``'s questions and return the report. ``gate``: (step, %) where
    the held-out unhinted accuracy must have reached % by that step's evaluation, else the run stops there with
    ``GateMissed`` (its checkpoint kept, the scores in ``save``/``GATE_MISSED``) instead of training on.
    ``freeze_vision``: only the language model trains; the vision tower and its merger keep their weights."""
    from videomind.data.collator import IGNORE_INDEX, Collator
    from videomind.data.mixing import RoleDataset, SourceSpec, build_mix
    from videomind.model import load_model
    from videomind.train.config import load_config
    from videomind.train.setup import _train_everything

    data = load_config(preset).data
    model, processor = load_model(base, device="cpu", dtype="float32")
    tokenizer = processor.tokenizer
    with open(presence, encoding="utf-8") as file:
        records = [json.loads(line) for line in file]
    spec = SourceSpec(name="custom", root=str(presence.parent), task="answering")
    examples = build_mix([spec], "base", data.settings(), data.filter(), seed)
    if len(examples) != len(records):  # one example a question, in file order
        raise ValueError(f"{presence}: {len(records)} questions but {len(examples)} examples (filtered?)")
    dataset = RoleDataset(examples, processor, seed=seed)
    collate = Collator(processor)
    scored = held_out(records, held_out_count)
    score_items = {name: [dataset[i] for i in indices] for name, indices in scored.items()}
    kept_out = {*scored["hinted"], *scored["unhinted"]}
    trained = [i for i in range(len(records)) if i not in kept_out]
    if not trained:
        raise ValueError(f"{presence}: all {len(records)} questions are held out; lower --held-out")

    types = {
        name: [records[i]["extra"].get("presence_type", "?") for i in ids] for name, ids in scored.items()
    }

    def evaluate() -> dict:
        scores = {name: accuracy(model, items, collate, tokenizer, types=types[name])
                  for name, items in score_items.items()}  # fmt: skip
        scores["unhinted_blank"] = accuracy(
            model, score_items["unhinted"], collate, tokenizer, blank=True, types=types["unhinted"]
        )
        return scores

    def hint_reading(hinted: list[dict]) -> dict:
        """How the starting model reads the held-out hinted questions without what their clips show: with every
        pixel at the normalisation mean, and as text with no video block at all (the pointer stage's prompt). Against
        ``hinted`` (with the clips) they say what a video block costs the model's reading of the hint."""
        from recipes.pointer_warmup import pointer_accuracy, text_question

        if not hinted:
            return {}
        as_text = [text_question(record) for record in hinted]
        return {
            "hinted_blank": accuracy(
                model, score_items["hinted"], collate, tokenizer, blank=True, types=types["hinted"]
            ),
            "hinted_as_text": pointer_accuracy(model, processor, len(as_text), hinted=as_text),
        }

    has_options = [bool(record.get("options")) for record in records]

    def supervised(index: int, item: dict) -> dict:
        """A question's item with the loss on its letter; a free-text one's (no options) on its whole reply."""
        return letter_only(item, tokenizer) if has_options[index] else item

    # the base stage's own switch: with freeze_vision the tower and its merger keep their warm-up weights
    _train_everything(model, freeze_vision)
    trained_parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trained_parameters, lr=learning_rate, weight_decay=0.01)
    rng = random.Random(seed)
    checkpoint = save / CHECKPOINT if save is not None else None
    if checkpoint is not None and checkpoint.is_file():  # resume where the last evaluation left off
        state = torch.load(checkpoint, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        rng.setstate(state["rng"])
        torch.set_rng_state(state["torch_rng"])
        report, hits, done = state["report"], state["hits"], state["step"]
        log.info("resuming %s at step %d", save, done)
    else:
        before = {**evaluate(), **hint_reading([records[i] for i in scored["hinted"]])}
        report = {"base": str(base), "presence": str(presence), "steps": steps, "batch_size": batch_size,
                  "learning_rate": learning_rate, "freeze_vision": freeze_vision, "held_out": {k: len(v) for k, v in scored.items()},
                  "before": before, "curve": []}  # fmt: skip
        hits, done = [], 0
        log.info("before: %s", report["before"])
    started = time.perf_counter() - (report["curve"][-1]["seconds"] if report["curve"] else 0)
    model.train()
    for step in range(done + 1, steps + 1):
        for group in optimizer.param_groups:  # 100 warm-up steps
            group["lr"] = learning_rate * min(1.0, step / 100)
        picked = rng.sample(trained, min(batch_size, len(trained)))
        batch = collate([supervised(i, dataset[(i, step)]) for i in picked])
        logits, target = letter_logits(model, batch)
        loss = F.cross_entropy(logits, target)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trained_parameters, 1.0)
        optimizer.step()
        per_row = (batch["labels"][:, 1:] != IGNORE_INDEX).sum(1)  # letter_logits' positions, row by row
        is_letter = torch.tensor([has_options[i] for i in picked]).repeat_interleave(per_row)
        hits += (logits.argmax(-1) == target)[is_letter].tolist()  # the letters' accuracy only
        if step % eval_every == 0 or step == steps:
            recent = hits[-100 * batch_size :]
            # None when only free-text records were trained
            trained_letters = round(100 * sum(recent) / len(recent), 1) if recent else None
            point = {"step": step, "train_last_100_steps": trained_letters,
                     **evaluate(), "seconds": round(time.perf_counter() - started)}  # fmt: skip
            report["curve"].append(point)
            log.info("%s", point)
            missed = gate is not None and step == gate[0] and point["unhinted"]["accuracy"] < gate[1]
            if checkpoint is not None and step < steps:
                checkpoint.parent.mkdir(parents=True, exist_ok=True)
                state = {"step": step, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                         "rng": rng.getstate(), "torch_rng": torch.get_rng_state(), "hits": hits,
                         "report": report}  # fmt: skip
                torch.save(state, checkpoint.with_suffix(".tmp"))
                checkpoint.with_suffix(".tmp").replace(checkpoint)
            if missed:
                message = (f"held-out unhinted accuracy {point['unhinted']['accuracy']:.1f} % at step {step} is "
                           f"below the gate's {gate[1]:g} %: stopped")  # fmt: skip
                if save is not None:
                    save.mkdir(parents=True, exist_ok=True)
                    missed_report = {"gate": {"step": gate[0], "unhinted": gate[1]}, **report}
                    (save / GATE_MISSED).write_text(json.dumps(missed_report, indent=1) + "\n")
                raise GateMissed(message)
    if save is not None:
        from videomind.train.saving import save_base_run

        save_base_run(model, processor, save)
        (save / REPORT).write_text(json.dumps(report, indent=1) + "\n")  # the stage's "finished" mark
        if checkpoint.is_file():
            checkpoint.unlink()
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("base", type=Path, help="a base folder (runs/tiny-pointer)")
    parser.add_argument(
        "--presence", type=Path, required=True, help="a recipes.presence_questions train.jsonl"
    )
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--learning-rate", type=float, default=5e-4)
    parser.add_argument(
        "--held-out", type=int, default=300, help="hinted and unhinted questions scored, each"
    )
    parser.add_argument("--eval-every", type=int, default=1000)
    parser.add_argument("--preset", type=Path, default=REPO / "configs" / "train" / "tiny_base.yaml",
                        help="frame budgets and answer crop from this preset's data section")  # fmt: skip
    parser.add_argument("--out", type=Path, default=None, help="write the report here (JSON)")
    parser.add_argument("--save", type=Path, default=None, help="keep the trained model here (a base folder)")
    parser.add_argument("--gate", nargs=2, type=float, metavar=("STEP", "PERCENT"), default=None,
                        help=f"stop (exit {GATE_EXIT_CODE}) when the held-out unhinted accuracy at STEP (an "
                             "evaluation step) is below PERCENT")  # fmt: skip
    parser.add_argument("--freeze-vision", action="store_true",
                        help="train the language model only: the vision tower and its merger stay as they are")  # fmt: skip
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(1)
    torch.manual_seed(0)
    gate = (int(args.gate[0]), args.gate[1]) if args.gate else None
    try:
        report = run(args.base, args.presence, args.steps, args.batch_size, args.learning_rate, args.held_out,
                     args.eval_every, args.preset, save=args.save, gate=gate,
                     freeze_vision=args.freeze_vision)  # fmt: skip
    except GateMissed as missed:
        log.error("%s", missed)
        return GATE_EXIT_CODE
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
