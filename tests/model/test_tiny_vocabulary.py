"""Tiny model options: a tokenizer that learns the words of its world whole, the rope base, the LM's init."""

from videomind.model import build_tiny_model
from videomind.model.tiny import TinyShape, build_tiny_tokenizer

WORDS = ("yellow", "circle", "checkerboard")


def _pieces(tokenizer, text):
    return [tokenizer.decode([i]) for i in tokenizer(text, add_special_tokens=False)["input_ids"]]


def test_vocabulary_words_are_single_tokens_lower_and_capitalised():
    default = build_tiny_tokenizer()
    assert len(_pieces(default, "(C) Yellow")) > 4  # the default tokenizer splits the capitalised option
    model, processor = build_tiny_model(seed=0, roles=(), shape=TinyShape(vocabulary=WORDS))
    tokenizer = processor.tokenizer
    assert _pieces(tokenizer, "(C) Yellow") == ["(", "C", ")", " Yellow"]
    for word in WORDS:
        for form in (word, word.capitalize()):
            assert _pieces(tokenizer, f"{form} {form}") == [form, f" {form}"], form
    assert model.qwen_config.text_config.vocab_size >= len(tokenizer)
    assert len(tokenizer) > len(default)


def test_rope_theta_reaches_the_language_model():
    model, _ = build_tiny_model(seed=0, roles=(), shape=TinyShape(rope_theta=1e4))
    assert model.qwen_config.text_config.rope_parameters["rope_theta"] == 1e4
    default, _ = build_tiny_model(seed=0, roles=())
    assert default.qwen_config.text_config.rope_parameters["rope_theta"] == 1e6  # Qwen2-VL's


def test_initializer_range_sets_the_language_model_weights_only():
    model, _ = build_tiny_model(seed=0, roles=(), shape=TinyShape(hidden_size=128, initializer_range=0.09))
    default, _ = build_tiny_model(seed=0, roles=(), shape=TinyShape(hidden_size=128))
    for built, expected in ((model, 0.09), (default, 0.02)):
        assert built.qwen_config.text_config.initializer_range == expected
        text = dict(built.base.model.language_model.named_parameters())
        for name in (
            "embed_tokens.weight",
            "layers.0.self_attn.q_proj.weight",
            "layers.1.mlp.down_proj.weight",
        ):
            assert abs(text[name].std().item() - expected) < 0.15 * expected, (name, expected)
        vision = built.base.model.visual.blocks[0].attn.qkv.weight
        assert abs(vision.std().item() - 0.02) < 0.005  # the tower keeps the family's initialisation
