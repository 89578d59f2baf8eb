"""Model shapes of the benchmarks: the 2B's real configuration, a medium of 0.1-0.3 B parameters, the tiny test model."""

from __future__ import annotations

import pytest
import torch
from transformers import Qwen2VLForConditionalGeneration

from videomind.bench.common import (
    SHAPES,
    build_model,
    parameter_summary,
    peak_rss_since_reset,
    qwen_config,
    reset_peak_rss,
    rss_megabytes,
)
from videomind.model.adapters import lora_layer_count, roles_of, shared_matrix_copies
from videomind.model.tiny import build_tiny_tokenizer


def _meta_parameters(config) -> int:
    with torch.device("meta"):
        model = Qwen2VLForConditionalGeneration(config)
    shared = {id(p): p.numel() for p in model.parameters()}  # tied embeddings counted once
    return sum(shared.values())


def test_2b_shape_is_qwen2_vl_2b():
    config = qwen_config(SHAPES["2b"], build_tiny_tokenizer())
    text, vision = config.text_config, config.vision_config
    assert (text.hidden_size, text.num_hidden_layers, text.intermediate_size) == (1536, 28, 8960)
    assert (text.num_attention_heads, text.num_key_value_heads, text.vocab_size) == (12, 2, 151_936)
    assert text.rope_parameters["mrope_section"] == [16, 24, 24] and text.rope_parameters["rope_theta"] == 1e6
    assert (vision.depth, vision.embed_dim, vision.num_heads, vision.hidden_size) == (32, 1280, 16, 1536)
    assert (vision.patch_size, vision.temporal_patch_size, vision.spatial_merge_size) == (14, 2, 2)
    assert config.tie_word_embeddings and SHAPES["2b"].dtype == "bfloat16"
    assert 2.1e9 < _meta_parameters(config) < 2.3e9  # Qwen2-VL-2B: 2.21 B


def test_medium_shape_size():
    config = qwen_config(SHAPES["medium"], build_tiny_tokenizer())
    assert 0.1e9 <= _meta_parameters(config) <= 0.3e9
    text = config.text_config
    assert text.hidden_size // text.num_attention_heads == 2 * sum(text.rope_parameters["mrope_section"])


def test_tiny_model_has_every_role_built_like_a_checkpoint():
    model, processor = build_model("tiny")
    assert roles_of(model) == ["planner", "grounder", "verifier"] and model.grounding_head is not None
    assert lora_layer_count(model, "grounder") == 8
    assert shared_matrix_copies(model, "grounder") == ["embed_tokens", "lm_head"]
    assert shared_matrix_copies(model, "planner") == []
    sizes = parameter_summary(model)
    assert sizes["total"] == sizes["base"] + sizes["adapters"] + sizes["head"] and sizes["adapters"] > 0
    base_only, _ = build_model("tiny", roles=())
    same = dict(base_only.base.named_parameters())
    for name, param in model.base.named_parameters():  # the base does not depend on the roles
        plain = name.replace(".base_layer.", ".").replace("base_model.model.", "")
        if ".lora_" not in name and ".modules_to_save." not in name and plain in same:
            assert torch.equal(param, same[plain]), name


def test_memory_helpers():
    now = rss_megabytes()
    assert now["rss_mb"] > 0 and now["peak_rss_mb"] >= now["rss_mb"] * 0.9
    if reset_peak_rss():
        assert peak_rss_since_reset() == pytest.approx(rss_megabytes()["rss_mb"], rel=0.2)
