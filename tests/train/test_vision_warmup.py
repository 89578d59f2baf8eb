"""The tiny base's vision warm-up: caption text -> multi-hot labels, and the probe training drives its loss down."""

import torch

from videomind.model import build_tiny_model
from videomind.train.vision_warmup import CLASSES, labels_of, probe_accuracy, train_vision


def test_labels_of_reads_colour_shape_pairs_and_ignores_the_rest():
    target = labels_of("red circle moving up, blue square, nothing")
    assert target.sum() == 2
    assert target[CLASSES.index("red circle")] == 1 and target[CLASSES.index("blue square")] == 1
    assert labels_of("nothing").sum() == 0


def test_probe_training_fits_a_few_clips():
    torch.manual_seed(0)
    model, processor = build_tiny_model(seed=0, roles=())
    # four distinct "clips" of two 56x56 frames, each a flat colour: separable by the probe
    colours = torch.tensor([[255, 0, 0], [0, 0, 255], [0, 255, 0], [255, 255, 0]], dtype=torch.float32)
    clips = [processor.patchify(c.view(1, 3, 1, 1).expand(2, 3, 56, 56).clone()) for c in colours]
    labels = torch.zeros(4, len(CLASSES))
    for i in range(4):
        labels[i, i] = 1.0
    curve, probe = train_vision(model, clips, labels, steps=60, batch=4, lr=1e-2)
    assert sum(curve[-5:]) / 5 < 0.5 * sum(curve[:5]) / 5
    assert probe_accuracy(model, probe, clips, labels)["recall"] == 100.0
