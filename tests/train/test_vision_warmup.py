"""The tiny base's vision warm-up: caption text -> multi-hot labels, and the probe training drives its loss down."""

import pytest
import torch

from videomind.model import build_tiny_model
from videomind.model.tiny import TinyShape
from videomind.train.vision_warmup import (
    ACTIVITY_CLASSES,
    BACKGROUND_CLASSES,
    CLASSES,
    LABELS,
    WORDS,
    Clips,
    WordProbe,
    _tokens,
    labels_of,
    probe_accuracy,
    train_vision,
    word_embeddings,
    word_labels,
)


def test_labels_of_reads_colour_shape_pairs_and_what_they_do():
    target = labels_of("red circle moving up, blue square grown bigger, nothing")
    on = {LABELS[i] for i in target.nonzero().flatten().tolist()}
    assert on == {"red circle", "red circle moving up", "blue square", "blue square grown bigger"}
    assert LABELS[: len(CLASSES)] == CLASSES
    assert labels_of("nothing").sum() == 0


def test_the_videos_background_is_one_more_label():
    target = labels_of("red circle", background="polka dots")
    assert {LABELS[i] for i in target.nonzero().flatten().tolist()} == {"red circle", "polka dots"}
    assert LABELS[len(CLASSES) + len(ACTIVITY_CLASSES) :] == BACKGROUND_CLASSES
    with pytest.raises(ValueError, match="unknown background"):
        labels_of("red circle", background="tartan")


def test_a_recoloured_shape_is_labelled_with_the_colour_it_shows():
    target = labels_of("purple diamond turned yellow, green star")
    assert {LABELS[i] for i in target.nonzero().flatten().tolist()} == {"yellow diamond", "green star"}


def _flat_clips(colours, processor):
    """Clips of two 56 x 56 uint8 frames, each a flat colour."""
    return Clips(
        [c.view(1, 3, 1, 1).expand(2, 3, 56, 56).to(torch.uint8).clone() for c in colours], processor
    )


def test_clips_keep_uint8_frames_and_patchify_a_batch_like_the_processor():
    _, processor = build_tiny_model(seed=0, roles=())
    clips = _flat_clips(torch.tensor([[255, 0, 0], [0, 0, 255], [0, 255, 0]]), processor)
    assert clips.frames[0].dtype == torch.uint8 and len(clips) == 3
    pixels, grids = clips.batch([2, 0])
    one, grid = processor.patchify(clips.frames[2])
    assert grids.tolist() == [grid[0].tolist(), grid[0].tolist()]
    assert torch.equal(pixels[: len(one)], one) and not torch.equal(pixels[len(one) :], one)


def test_probe_training_fits_a_few_clips():
    torch.manual_seed(0)
    model, processor = build_tiny_model(seed=0, roles=())
    # four distinct "clips" of two 56x56 frames, each a flat colour: separable by the probe
    colours = torch.tensor([[255, 0, 0], [0, 0, 255], [0, 255, 0], [255, 255, 0]], dtype=torch.float32)
    clips = _flat_clips(colours, processor)
    labels = torch.zeros(4, len(LABELS))
    for i in range(4):
        labels[i, i] = 1.0
    labels[1, len(CLASSES)] = 1.0  # one clip's shape is also doing something
    backgrounds = [LABELS.index(name) for name in BACKGROUND_CLASSES[:2]]
    labels[0, backgrounds[0]] = labels[2, backgrounds[1]] = 1.0  # two clips with a known background
    curve, probe = train_vision(model, clips, labels, steps=60, batch=4, lr=1e-2)
    assert sum(curve[-5:]) / 5 < 0.5 * sum(curve[:5]) / 5
    scores = probe_accuracy(model, probe, clips, labels)
    assert scores["recall"] == 100.0 and scores["exact_set"] == 100.0
    assert scores["activities"] == {"recall": 100.0, "precision": 100.0}
    assert scores["background"] == 100.0  # over the two clips that have one


def test_word_labels_are_the_colours_and_shapes_of_the_pairs():
    pairs = labels_of("red circle moving up, blue square").unsqueeze(0)
    words = word_labels(pairs)[0]
    assert {WORDS[i] for i in words.nonzero().flatten().tolist()} == {"red", "blue", "circle", "square"}


def test_the_word_probe_turns_visual_tokens_toward_the_words_they_show():
    torch.manual_seed(0)
    model, processor = build_tiny_model(seed=0, roles=(), shape=TinyShape(vocabulary=WORDS))
    probe = WordProbe(word_embeddings(model, processor.tokenizer))
    colours = torch.tensor([[255, 0, 0], [0, 0, 255]], dtype=torch.float32)
    clips = _flat_clips(colours, processor)
    labels = torch.stack([labels_of("red circle"), labels_of("blue square")])

    def closeness(word: str) -> float:  # the red clip's best token against the word's embedding
        width = model.qwen_config.text_config.hidden_size
        with torch.no_grad():
            tokens = torch.nn.functional.normalize(_tokens(model, clips, range(1), width), dim=-1)
            return (tokens @ probe.words[WORDS.index(word)]).max().item()

    before = closeness("red") - closeness("blue")
    train_vision(model, clips, labels, steps=60, batch=2, lr=1e-2, word_probe=probe)
    assert closeness("red") - closeness("blue") > before + 0.1
    assert probe_accuracy(model, probe, clips, labels)["exact_set"] == 100.0


def test_word_embeddings_need_the_words_whole():
    model, processor = build_tiny_model(seed=0, roles=(), shape=TinyShape(vocabulary=("the",)))
    with pytest.raises(ValueError, match="model.tiny.vocabulary"):
        word_embeddings(model, processor.tokenizer)
