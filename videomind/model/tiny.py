"""Tiny random VideoMind models and tokenizers, built in-process and offline (tests, examples, benchmarks).

The tokenizer is a byte-level BPE trained in a few milliseconds on the role prompts and a small English corpus,
with Qwen2's pre-tokenizer, the Qwen2-VL special tokens in Qwen2 order and the three VideoMind tokens, so the
whole pipeline (chat template, video-pad expansion, ``<|reg|>`` triggering, Yes/No lookup) runs as with the real
tokenizer. The model is a Qwen2-VL of the requested (tiny) shape with random weights; ``base="qwen2_5_vl"`` or
``"qwen3_vl"`` builds that family instead (its special tokens, chat template, vision settings and architecture:
windowed attention, DeepStack, patch 16), so every base runs through the same pipeline in tests.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import GenerationConfig, PretrainedConfig, Qwen2Tokenizer

from videomind import prompts
from videomind.model.adapters import LoraSettings, add_role, role_lora_config
from videomind.model.bases import family_of
from videomind.model.config import VideoMindConfig
from videomind.model.grounding_head import TimestampDecoder, TimestampDecoderConfig
from videomind.model.modeling import VideoMindModel
from videomind.model.processor import VideoMindProcessor
from videomind.model.templates import QWEN2_VL_CHAT_TEMPLATE, QWEN3_VL_CHAT_TEMPLATE

QWEN2_PRETOKENIZE = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2_SPECIAL_TOKENS = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>",
    "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>",
    "<|image_pad|>", "<|video_pad|>",
)  # fmt: skip
# What the newer tokenizers add after the Qwen2-VL tokens (Qwen2.5 tool / fill-in-the-middle tokens; Qwen3 also
# tool responses and thinking), so the VideoMind tokens get later ids as with the real tokenizers.
EXTRA_SPECIAL_TOKENS = {
    "qwen2_vl": (),
    "qwen2_5_vl": ("<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
                   "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>"),
}  # fmt: skip
EXTRA_SPECIAL_TOKENS["qwen3_vl"] = EXTRA_SPECIAL_TOKENS["qwen2_5_vl"] + (
    "<tool_response>",
    "</tool_response>",
    "<think>",
    "</think>",
)
CHAT_TEMPLATES = {"qwen2_vl": QWEN2_VL_CHAT_TEMPLATE, "qwen2_5_vl": QWEN2_VL_CHAT_TEMPLATE,
                  "qwen3_vl": QWEN3_VL_CHAT_TEMPLATE}  # fmt: skip
TINY_VOCAB_SIZE = 1000
# Tiny models look at tiny frames: 2x2 to 4x4 merged tokens per frame instead of the official 6x6 to 16x16,
# stored with the checkpoint (config.json "videomind" -> "agent_options") and read by VideoMindAgent.
TINY_AGENT_OPTIONS = {
    f"{role}_budget": {"fps": fps, "max_frames": frames, "min_pixels": 4 * 784, "max_pixels": 16 * 784}
    for role, fps, frames in (("planner", 1.0, 100), ("grounder", 1.0, 150), ("verifier", 2.0, 64),
                              ("answerer", 2.0, 32))
}  # fmt: skip
_BASE_CORPUS = (
    "Yes. No. Yes No yes no The relevant moment happens in . What color is the shape? What colour does it have? "
    "Options: (A) (B) (C) (D) (E) Best Option: ( A) B) C) D) Please only give the best option. "
    "red green blue yellow purple orange white black circle square triangle star diamond appears leaves moves "
    "left right up down changes before after while during first last how many shapes video the a an of to in "
    "on at with and or is are was it its which what when where who why happens moment query question answer "
    "0 1 2 3 4 5 6 7 8 9 seconds"
)


@functools.lru_cache(maxsize=8)
def _trained_bpe(corpus: tuple[str, ...], vocab_size: int) -> str:
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PRETOKENIZE), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])  # fmt: skip
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tok.train_from_iterator(corpus, trainer)
    return tok.to_str()


def default_corpus() -> tuple[str, ...]:
    """Text the tiny tokenizer is trained on: the role prompts, planner plans and a small vocabulary."""
    plans = [prompts.planner_target(r, "What happens?", "the red circle") for r in (1, 2, 3, 4)]
    texts = [
        prompts.PLANNER_PROMPT,
        prompts.GROUNDER_PROMPT,
        prompts.VERIFIER_PROMPT,
        prompts.GROUNDER_RESPONSE,
    ]
    return tuple(texts + plans + [_BASE_CORPUS] * 20)


def vocabulary_corpus(words: Sequence[str], repeats: int = 20) -> tuple[str, ...]:
    """Corpus lines that make a BPE learn each of ``words`` whole, in every form a prompt shows it: lower case and
    Capitalised (the options block capitalises each option), at the start of a line and after a space."""
    forms = [f for w in words for f in (w, w[:1].upper() + w[1:])]
    line = " ".join(forms) + "\n" + "\n".join(forms)
    return (line,) * repeats


def build_tiny_tokenizer(
    corpus: Iterable[str] | None = None, vocab_size: int = TINY_VOCAB_SIZE, base: str = "qwen2_vl"
) -> Qwen2Tokenizer:
    """A Qwen2-style tokenizer: trained BPE + the 14 Qwen2-VL special tokens (+ the newer base's extra ones) + the
    3 VideoMind tokens, and the base's chat template."""
    family = family_of(base)
    data = tuple(corpus) if corpus is not None else default_corpus()
    tokenizer = Qwen2Tokenizer(tokenizer_object=Tokenizer.from_str(_trained_bpe(data, vocab_size)))
    special = list(QWEN2_SPECIAL_TOKENS) + list(EXTRA_SPECIAL_TOKENS[family.name])
    tokenizer.add_special_tokens({"additional_special_tokens": special})
    tokenizer.add_special_tokens({"additional_special_tokens": list(prompts.SPECIAL_TOKENS)})
    tokenizer.pad_token = "<|endoftext|>"
    tokenizer.eos_token = "<|im_end|>"
    tokenizer.chat_template = CHAT_TEMPLATES[family.name]
    for word in ("Yes", "No"):
        if len(tokenizer.encode(word, add_special_tokens=False)) != 1:
            raise RuntimeError(f"the tiny tokenizer must hold {word!r} as one token; add it to the corpus")
    return tokenizer


@dataclass(frozen=True)
class TinyShape:
    """Sizes of a tiny model (defaults: the oracle's tiny Qwen2-VL, about 0.3 M parameters) and its base family
    (``qwen2_vl``, ``qwen2_5_vl`` or ``qwen3_vl``; ``build_tiny_model(base=...)`` overrides it)."""

    hidden_size: int = 64
    intermediate_size: int = 128
    num_layers: int = 2
    num_heads: int = 4
    num_kv_heads: int = 2
    vision_depth: int = 2
    vision_dim: int = 32
    vision_heads: int = 2
    mrope_section: tuple[int, int, int] = (2, 3, 3)
    tie_word_embeddings: bool = False
    base: str = "qwen2_vl"
    # Words the tokenizer learns whole, lower case and Capitalised (a model trained on a small world: its colours,
    # shapes, ...); each adds up to 4 tokens to the vocabulary. Empty: the default tokenizer.
    vocabulary: tuple[str, ...] = ()
    rope_theta: float = (
        1e6  # Qwen2-VL's; with a 32-wide head only ~3 of its 16 frequencies resolve nearby tokens
    )
    # Standard deviation of the language model's random weights (the vision tower keeps the family's 0.02).
    # Qwen2-VL's 0.02 suits a 1536-wide model; a 128-wide one trained from scratch then sits for thousands of steps
    # at chance on "which option is X" (docs/TINY_MODEL.md); ~1/sqrt(hidden_size) learns it in hundreds.
    initializer_range: float = 0.02


def tiny_qwen_config(
    tokenizer: Qwen2Tokenizer, shape: TinyShape = TinyShape(), base: str | None = None
) -> PretrainedConfig:
    ids = tokenizer.convert_tokens_to_ids
    vocab = -(-len(tokenizer) // 64) * 64  # padded like the real vocabularies (unused rows at the end)
    text = dict(
        vocab_size=vocab, hidden_size=shape.hidden_size, intermediate_size=shape.intermediate_size,
        num_hidden_layers=shape.num_layers, num_attention_heads=shape.num_heads,
        num_key_value_heads=shape.num_kv_heads, rms_norm_eps=1e-6, max_position_embeddings=32768,
        initializer_range=shape.initializer_range,
        rope_parameters={"rope_type": "default", "rope_theta": shape.rope_theta,
                         "mrope_section": list(shape.mrope_section)},
        bos_token_id=ids("<|endoftext|>"), eos_token_id=ids("<|im_end|>"), pad_token_id=ids("<|endoftext|>"),
    )  # fmt: skip
    vision = dict(depth=shape.vision_depth, width=shape.vision_dim, heads=shape.vision_heads)
    token_ids = dict(
        image_token_id=ids("<|image_pad|>"), video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"), vision_end_token_id=ids("<|vision_end|>"),
    )  # fmt: skip
    family = family_of(base if base is not None else shape.base)
    return family.tiny_config(text, vision, token_ids, shape.tie_word_embeddings)


def build_tiny_model(
    seed: int = 0,
    *,
    roles: Sequence[str] = ("planner", "grounder", "verifier"),
    shape: TinyShape = TinyShape(),
    lora: LoraSettings = LoraSettings(r=8, alpha=16, dropout=0.0),
    random_adapters: bool = True,
    head_config: TimestampDecoderConfig | None = None,
    tokenizer: Qwen2Tokenizer | None = None,
    dtype: torch.dtype = torch.float32,
    base: str | None = None,
) -> tuple[VideoMindModel, VideoMindProcessor]:
    """A tiny random VideoMind model + processor on the ``base`` family (``qwen2_vl``, ``qwen2_5_vl`` or
    ``qwen3_vl``; default ``shape.base``), offline, deterministic for a seed.

    With ``random_adapters`` the LoRA B matrices and the role copies of embed_tokens / lm_head are perturbed, so
    every role really changes the logits (fresh LoRA adapters equal the base model).
    """
    family = family_of(base if base is not None else shape.base)
    if tokenizer is None:
        corpus = default_corpus() + vocabulary_corpus(shape.vocabulary) if shape.vocabulary else None
        size = TINY_VOCAB_SIZE + 4 * len(shape.vocabulary)
        tokenizer = build_tiny_tokenizer(corpus, size, base=family.name)
    processor = VideoMindProcessor(tokenizer, family=family)
    config = tiny_qwen_config(tokenizer, shape, family.name)
    torch.manual_seed(seed)
    base = family.model_class(config).to(dtype)
    base.generation_config = GenerationConfig(
        bos_token_id=config.text_config.bos_token_id, pad_token_id=processor.pad_token_id,
        eos_token_id=[processor.im_end_id, processor.pad_token_id],
    )  # fmt: skip
    special = processor.special_token_ids()
    agent = VideoMindConfig(
        role="grounder" if "grounder" in roles else (roles[0] if roles else None),
        base_model=family.name,
        **special,
    )
    if head_config is not None:
        agent.head = head_config
    agent.extra["agent_options"] = TINY_AGENT_OPTIONS
    head = TimestampDecoder(shape.hidden_size, agent.head).to(dtype) if "grounder" in roles else None
    from videomind.model.checkpoint import token_ids_from  # local: checkpoint imports this module's siblings

    model = VideoMindModel(base, agent, token_ids_from(processor, agent, base.generation_config), head)
    generator = torch.Generator().manual_seed(seed + 1)
    for role in roles:
        add_role(
            model, role, role_lora_config(role, shape.num_layers, lora, init_lora_weights=not random_adapters)
        )
        if random_adapters:
            _perturb_role(model, role, generator)
    model.eval()
    return model, processor


def _perturb_role(model: VideoMindModel, role: str, generator: torch.Generator) -> None:
    with torch.no_grad():
        for name, param in model.lm.named_parameters():
            if f".modules_to_save.{role}." in name:
                param.add_(torch.randn(param.shape, generator=generator).to(param.dtype) * 0.05)
            elif f".lora_B.{role}." in name:
                param.copy_(torch.randn(param.shape, generator=generator).to(param.dtype) * 0.1)
