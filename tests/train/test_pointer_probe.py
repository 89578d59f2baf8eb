"""recipes.pointer_probe: the text-only "which option is X" check of a fresh tiny language model."""

import random

import pytest

from recipes.pointer_probe import LETTERS, WORDS, pointer_question, train_pointer
from videomind.model import build_tiny_model
from videomind.model.tiny import TinyShape


def test_pointer_question_is_the_answerer_prompt_and_its_letter():
    _, processor = build_tiny_model(seed=0, roles=(), shape=TinyShape(vocabulary=WORDS))
    tokenizer = processor.tokenizer
    rng = random.Random(3)
    letters = set()
    for _ in range(40):
        ids, letter = pointer_question(processor, rng)
        text = tokenizer.decode(ids)
        assert text.endswith("Best Option: (")
        named = text.split("Which option is ")[1].split("?")[0]
        answer = tokenizer.decode([letter])
        assert answer in LETTERS
        assert f"({answer}) {named}\n" in text  # the letter is the named option's
        letters.add(answer)
    assert letters == set(LETTERS)  # the answer's place is drawn, not fixed


@pytest.mark.slow
def test_a_tiny_model_learns_the_pointer_at_the_wider_init():
    # the tiny preset's width and depth; at Qwen2-VL's 0.02 this stays at chance for thousands of steps
    shape = TinyShape(hidden_size=128, intermediate_size=256, num_layers=4, mrope_section=(4, 6, 6),
                      vocabulary=WORDS, initializer_range=0.09)  # fmt: skip
    curve = train_pointer(shape, steps=800, batch_size=32, learning_rate=1e-3, seed=0, log_every=100)
    assert curve[-1][0] == 800
    assert curve[-1][1] >= 60.0, curve  # chance is 25 %
