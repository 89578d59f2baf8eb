"""Vision warm-up for a from-scratch tiny base: teach the vision tower to tell the synthetic shapes apart.

A language model trained from scratch on video + text first learns the text's priors and leaves a random vision
tower unused (we measured it: identical captions for every video, chance accuracy on questions after 4000
samples). This stage gives the vision tower (and its merger into the language model's width) a direct signal: for
one-second clips of the synthetic world, predict which (colour, shape) pairs are visible, and which of them is
moving (which way) or grown bigger, and the video's background texture — a multi-label classification from the
mean and max of the clip's merged visual tokens. A shape that is recoloured shows its new colour during the action,
and is labelled with it. It takes minutes on a CPU; the language stages that follow start from features that
already separate the shapes. Not part of the official recipe (the real Qwen2-VL arrives pretrained).

A ``WordProbe`` ties the signal to the language model's own words: each colour and shape word is scored by the
cosine between its input embedding and the clip's best visual token, so the tower learns to put a blue square's
tokens where the language model reads " blue" and " square" (separable features alone were never matched against
option words by the tiny language model). An option: measured, it did not yet make the model answer from what it
sees (docs/TINY_MODEL.md, "Seen -> word").

The command-line stage is the recipe ``python -m recipes.vision_warmup configs/train/tiny_vision.yaml``.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from videomind.data.synthetic.config import BACKGROUNDS, COLOUR_NAMES, SHAPES

log = logging.getLogger(__name__)

CLASSES = [f"{c} {s}" for c in COLOUR_NAMES for s in SHAPES]
# what a one-second clip shows a shape doing (the captions' activities but recolouring, which shows as a colour)
ACTIVITIES = ("moving up", "moving down", "moving left", "moving right", "grown bigger")
ACTIVITY_CLASSES = [f"{pair} {activity}" for pair in CLASSES for activity in ACTIVITIES]
# the video's background texture, as a question names it: without it the tower kept no trace of the background
# (a linear probe on the shipped tower's tokens: 20.5 % on held-out videos, chance 19.5 %; docs/TINY_MODEL.md)
BACKGROUND_CLASSES = list(BACKGROUNDS.values())
LABELS = [*CLASSES, *ACTIVITY_CLASSES, *BACKGROUND_CLASSES]  # the probe's outputs: the pairs first
WORDS = (*COLOUR_NAMES, *SHAPES)  # the WordProbe's words: colours, then shapes
CLIP_FPS = 2.0  # two frames per one-second caption step = one temporal patch


def labels_of(text: str, background: str | None = None) -> torch.Tensor:
    """Multi-hot ``LABELS`` vector of a caption step: the (colour, shape) pairs on screen and what each is doing
    ("red circle moving up, blue square" -> "red circle", "red circle moving up", "blue square"), and the video's
    ``background`` (a ``BACKGROUND_CLASSES`` name) when given. A recoloured shape ("purple diamond turned yellow")
    is on screen in its new colour ("yellow diamond")."""
    target = torch.zeros(len(LABELS))
    if background is not None:
        if background not in BACKGROUND_CLASSES:
            raise ValueError(f"unknown background {background!r}: one of {BACKGROUND_CLASSES}")
        target[LABELS.index(background)] = 1.0
    for item in text.split(","):
        words = item.split()
        if len(words) < 2:
            continue
        colour, kind, activity = words[0], words[1], " ".join(words[2:])
        if len(words) == 4 and words[2] == "turned":
            colour, activity = words[3], ""
        pair = f"{colour} {kind}"
        if pair in CLASSES:
            target[CLASSES.index(pair)] = 1.0
            if activity in ACTIVITIES:
                target[LABELS.index(f"{pair} {activity}")] = 1.0
    return target


def word_labels(labels: torch.Tensor) -> torch.Tensor:
    """Multi-hot labels (clips, LABELS or CLASSES) -> the colours and shapes visible (clips, WORDS)."""
    grid = labels[:, : len(CLASSES)].reshape(len(labels), len(COLOUR_NAMES), len(SHAPES))
    return torch.cat([grid.amax(2), grid.amax(1)], dim=1)


def word_embeddings(model, tokenizer) -> torch.Tensor:
    """(WORDS, width): each word's input embedding in ``model``'s language model, the mean of its " word" and
    " Word" tokens (as captions and the options block show it)."""
    table = model.base.get_input_embeddings().weight
    rows = []
    for word in WORDS:
        ids = [
            tokenizer(f" {form}", add_special_tokens=False)["input_ids"] for form in (word, word.capitalize())
        ]
        if any(len(piece) != 1 for piece in ids):
            raise ValueError(
                f"the tokenizer splits {word!r}: list the world's words in model.tiny.vocabulary"
            )
        rows.append(table[[piece[0] for piece in ids]].mean(0))
    return torch.stack(rows).detach()


class Clips:
    """One-second clips kept as their uint8 frames ``(2, 3, H, W)`` (a quarter of the memory of the patches they
    become: ~75 KB a clip at 112 x 112, so that all the training videos fit), patchified a batch at a time."""

    def __init__(self, frames: list[torch.Tensor], processor) -> None:
        self.frames, self.processor = frames, processor

    def __len__(self) -> int:
        return len(self.frames)

    def batch(self, indices) -> tuple[torch.Tensor, torch.Tensor]:
        """``(pixel_values, grid_thw)`` of the clips at ``indices``, one grid row each."""
        patches = [self.processor.patchify(self.frames[i]) for i in indices]
        return torch.cat([p[0] for p in patches]), torch.cat([p[1] for p in patches])


def load_clips(data: Path, split: str, max_videos: int | None, processor) -> tuple[Clips, torch.Tensor]:
    """The two frames of every one-second step of every caption sample, and their multi-hot labels."""
    from videomind.data.sources.synthetic import SyntheticSource
    from videomind.video import open_video

    samples = SyntheticSource(data).load(split, kind="caption")[:max_videos]
    frames, labels = [], []
    for sample in samples:
        with open_video(sample.video) as reader:
            video = reader.get_frames(range(reader.num_frames))
            times = torch.tensor(reader.timestamps)
        for cap in sample.extra["captions"]:
            picks = [int((times - (cap["start"] + k / CLIP_FPS)).abs().argmin()) for k in range(2)]
            frames.append(video[picks].clone())  # not a view: the whole video's frames are freed
            labels.append(labels_of(cap["text"], sample.extra.get("background")))
    return Clips(frames, processor), torch.stack(labels)


class Probe(nn.Module):
    def __init__(self, width: int, classes: int = len(LABELS)) -> None:
        super().__init__()
        self.linear = nn.Linear(2 * width, classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:  # (clips, tokens, width)
        return self.linear(torch.cat([tokens.mean(1), tokens.amax(1)], dim=-1))


class WordProbe(nn.Module):
    """Scores each of ``WORDS`` in a clip: the cosine between the word's (fixed) input embedding and the clip's
    closest visual token, scaled and shifted by learnt numbers."""

    def __init__(self, words: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("words", F.normalize(words, dim=-1))
        self.scale = nn.Parameter(torch.tensor(10.0))
        self.bias = nn.Parameter(torch.full((len(words),), -5.0))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:  # (clips, tokens, width)
        return self.scale * (F.normalize(tokens, dim=-1) @ self.words.T).amax(1) + self.bias


def train_vision(
    model,
    clips: Clips,
    labels,
    steps: int,
    batch: int,
    lr: float,
    seed: int = 0,
    weight_decay: float = 0.01,
    word_probe: WordProbe | None = None,
) -> tuple[list[float], Probe]:
    """Train ``model.visual`` (patch embedding, blocks, merger) with a linear probe, and with ``word_probe`` too
    when given (trained in place, its loss added); returns the loss curve."""
    visual = model.visual
    visual.train()
    probe = Probe(model.qwen_config.text_config.hidden_size, labels.shape[1])
    params = list(visual.parameters()) + list(probe.parameters())
    if word_probe is not None:
        params += list(word_probe.parameters())
    optimiser = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, lr, total_steps=steps, pct_start=0.05)
    rng = random.Random(seed)
    curve = []
    for step in range(steps):
        picked = rng.sample(range(len(clips)), batch)
        pixels, grids = clips.batch(picked)
        tokens = visual(pixels, grid_thw=grids).pooler_output.view(batch, -1, probe.linear.in_features // 2)
        loss = F.binary_cross_entropy_with_logits(probe(tokens), labels[picked])
        if word_probe is not None:
            loss = loss + F.binary_cross_entropy_with_logits(word_probe(tokens), word_labels(labels[picked]))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        curve.append(loss.item())
        if step % 100 == 0 or step == steps - 1:
            log.info("vision warm-up step %d: loss %.4f", step, sum(curve[-100:]) / len(curve[-100:]))
    visual.eval()
    return curve, probe


def _tokens(model, clips: Clips, indices: range, width: int) -> torch.Tensor:
    pixels, grids = clips.batch(indices)
    return model.visual(pixels, grid_thw=grids).pooler_output.view(len(indices), -1, width)


@torch.no_grad()
def probe_accuracy(
    model, probe: Probe | WordProbe, clips: Clips, labels, batch: int = 128
) -> dict[str, float]:
    """On held-out clips: the share whose predicted set of (colour, shape) pairs (of colours and shapes, for a
    ``WordProbe``) is exactly right, and recall / precision over the pairs and activities; with activity labels,
    also the recall / precision of the activities alone; with background labels, the share of the clips that
    have one whose most likely background is it."""
    width = model.qwen_config.text_config.hidden_size
    logits = torch.cat([
        probe(_tokens(model, clips, range(i, min(i + batch, len(clips))), width))
        for i in range(0, len(clips), batch)
    ])  # fmt: skip
    predicted = logits > 0
    truth = (word_labels(labels) if isinstance(probe, WordProbe) else labels).bool()
    pairs = len(WORDS) if isinstance(probe, WordProbe) else len(CLASSES)
    seen = pairs + len(ACTIVITY_CLASSES) if truth.shape[1] > pairs else pairs  # pairs and activities
    scores = {"exact_set": 100 * (predicted[:, :pairs] == truth[:, :pairs]).all(1).float().mean().item(),
              **_recall_precision(predicted[:, :seen], truth[:, :seen])}  # fmt: skip
    if seen > pairs:
        scores["activities"] = _recall_precision(predicted[:, pairs:seen], truth[:, pairs:seen])
    backgrounds = truth[:, seen:]
    with_background = backgrounds.any(1)
    if backgrounds.shape[1] and with_background.any():
        right = logits[:, seen:].argmax(1) == backgrounds.float().argmax(1)
        scores["background"] = 100 * right[with_background].float().mean().item()
    return scores


def _recall_precision(predicted: torch.Tensor, truth: torch.Tensor) -> dict[str, float]:
    hits = (predicted & truth).sum().item()
    return {
        "recall": 100 * hits / max(truth.sum().item(), 1),
        "precision": 100 * hits / max(predicted.sum().item(), 1),
    }
