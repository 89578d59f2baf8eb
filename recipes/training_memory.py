"""Peak memory of one training step per base size and role (docs/MODEL.md, "Bases", memory table).

Random weights of the published sizes (no download), the official frame budgets at their maximum (grounder 150
frames, planner 100, verifier 64; 64 tokens per temporal step), the roles set up as ``videomind train`` does
(LoRA r64, embedding / output copies, timestamp decoder), gradient checkpointing, bf16 autocast, AdamW, two steps
(the second holds the optimizer state). One JSON line per (size, role, parameter dtype).

``python -m recipes.training_memory Qwen3-VL-8B,Qwen2.5-VL-7B grounder,verifier,planner float32,bfloat16``
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from videomind.data.span_targets import grounding_targets
from videomind.model.bases import family_of
from videomind.model.config import VideoMindConfig
from videomind.model.modeling import VideoMindModel
from videomind.model.rope_index import TokenIds
from videomind.train.config import ModelConfig
from videomind.train.setup import _attach_role, enable_gradient_checkpointing

VOCAB = 151936
IDS = TokenIds(vision_start=151652, vision_end=151653, video_pad=151656, image_pad=151655, pad=151643,
               eos=(151645,), reg=151700, seg_start=151701, seg_end=151702)  # fmt: skip
STEPS = {"grounder": 75, "planner": 50, "verifier": 32}  # temporal steps of the official budgets' maximum
PER_STEP, GRID = 64, 16  # tokens per step: a 16x16-patch frame pair
M25 = {"rope_type": "default", "rope_theta": 1e6, "mrope_section": [16, 24, 24]}
M3 = {"rope_type": "default", "rope_theta": 5e6, "mrope_section": [24, 20, 20], "mrope_interleaved": True}
V25 = dict(depth=32, hidden_size=1280, intermediate_size=3420, num_heads=16, window_size=112,
           fullatt_block_indexes=[7, 15, 23, 31], tokens_per_second=2)  # fmt: skip


def _text(hidden, inter, layers, heads, kv, rope, **extra):
    return dict(vocab_size=VOCAB, hidden_size=hidden, intermediate_size=inter, num_hidden_layers=layers,
                num_attention_heads=heads, num_key_value_heads=kv, rope_parameters=rope, **extra)  # fmt: skip


def _v3(depth, width, inter, out, levels):
    return dict(depth=depth, hidden_size=width, intermediate_size=inter, num_heads=16, out_hidden_size=out,
                deepstack_visual_indexes=levels)  # fmt: skip


# The published configs' sizes (parameter counts match the model cards: 2.21, 8.29, 3.75, 8.29, 2.13, 4.44, 8.77 B)
SIZES = {
    "Qwen2-VL-2B": ("qwen2_vl", _text(1536, 8960, 28, 12, 2, M25), dict(depth=32, embed_dim=1280, num_heads=16, hidden_size=1536), True),
    "Qwen2-VL-7B": ("qwen2_vl", _text(3584, 18944, 28, 28, 4, M25), dict(depth=32, embed_dim=1280, num_heads=16, hidden_size=3584), False),
    "Qwen2.5-VL-3B": ("qwen2_5_vl", _text(2048, 11008, 36, 16, 2, M25), dict(V25, out_hidden_size=2048), True),
    "Qwen2.5-VL-7B": ("qwen2_5_vl", _text(3584, 18944, 28, 28, 4, M25), dict(V25, out_hidden_size=3584), False),
    "Qwen3-VL-2B": ("qwen3_vl", _text(2048, 6144, 28, 16, 8, M3, head_dim=128), _v3(24, 1024, 4096, 2048, [5, 11, 17]), True),
    "Qwen3-VL-4B": ("qwen3_vl", _text(2560, 9728, 36, 32, 8, M3, head_dim=128), _v3(24, 1024, 4096, 2560, [5, 11, 17]), True),
    "Qwen3-VL-8B": ("qwen3_vl", _text(4096, 12288, 36, 32, 8, M3, head_dim=128), _v3(27, 1152, 4304, 4096, [8, 16, 24]), False),
}  # fmt: skip


def step_batch(family, role: str, patch: int, device) -> dict:
    """One sample of the role's maximum length in the family's layout (random text, random pixels)."""
    text = lambda n: torch.randint(1000, 100000, (n,)).tolist()  # noqa: E731
    steps = STEPS[role]
    if family.name == "qwen3_vl":  # one block per step after its time as text
        video = []
        for _ in range(steps):
            video += text(6) + [IDS.vision_start] + [IDS.video_pad] * PER_STEP + [IDS.vision_end]
    else:
        video = [IDS.vision_start] + [IDS.video_pad] * (steps * PER_STEP) + [IDS.vision_end]
    if role == "verifier":
        video.insert(video.index(IDS.video_pad) + steps // 4 * PER_STEP, IDS.seg_start)
        video.insert(len(video) - 1 - steps // 4 * PER_STEP, IDS.seg_end)
    reply = text(20) + [IDS.reg] * (role == "grounder") + text(5)
    ids = text(120) + video + text(60) + reply
    batch = {"input_ids": torch.tensor([ids]), "attention_mask": torch.ones(1, len(ids), dtype=torch.long),
             "labels": torch.tensor([[-100] * (len(ids) - len(reply)) + reply]),
             "pixel_values_videos": torch.randn(steps * PER_STEP * 4, 3 * 2 * patch * patch),
             "video_grid_thw": torch.tensor([[steps, GRID, GRID]])}  # fmt: skip
    if family.name == "qwen2_5_vl":
        batch["second_per_grid_ts"] = torch.tensor([2.0])
    if role == "grounder":
        t = grounding_targets([[10.0, 30.0]], 150.0, steps)
        batch.update(
            timestamps=[[list(s) for s in t.timestamps_norm]], saliency=[t.saliency], pos_clip=[t.pos_clip]
        )
    return {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()}


def measure(name: str, role: str, dtype: torch.dtype, device: str = "cuda") -> dict:
    family_name, text, vision, tie = SIZES[name]
    family = family_of(family_name)
    config = family.config_class(text_config=text, vision_config=vision, tie_word_embeddings=tie)
    cuda = device == "cuda"
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    start = time.time()
    with torch.device(device):
        base = family.model_class._from_config(config, dtype=dtype, attn_implementation="sdpa")
    agent = VideoMindConfig(role=None, base_model=family.name, reg_token_id=IDS.reg, seg_s_token_id=IDS.seg_start,
                            seg_e_token_id=IDS.seg_end)  # fmt: skip
    model = VideoMindModel(base, agent, IDS)
    _attach_role(model, ModelConfig(base=name, role=role))
    model.to(device)
    enable_gradient_checkpointing(model)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-6)
    weights = torch.cuda.memory_allocated() if cuda else 0
    batch = step_batch(family, role, config.vision_config.patch_size, device)
    for _ in range(2):
        with torch.autocast(device, dtype=torch.bfloat16):
            loss = model(**batch)["loss"]
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    peak = torch.cuda.max_memory_allocated() if cuda else 0
    return dict(base=name, role=role, dtype=str(dtype).removeprefix("torch."), tokens=batch["input_ids"].shape[1],
                params_b=round(sum(p.numel() for p in model.parameters()) / 1e9, 3),
                trainable_m=round(sum(p.numel() for p in params) / 1e6, 1), weights_gib=round(weights / 2**30, 2),
                peak_gib=round(peak / 2**30, 2), seconds=round(time.time() - start, 1))  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("sizes", help=f"comma list of {', '.join(SIZES)}")
    parser.add_argument("roles", help="comma list of grounder, verifier, planner")
    parser.add_argument("dtypes", nargs="?", default="float32", help="parameter dtypes (default float32)")
    parser.add_argument("--device", default="cuda", help="cuda (memory is read from CUDA's allocator)")
    args = parser.parse_args(argv)
    for name in args.sizes.split(","):
        for dtype in args.dtypes.split(","):
            for role in args.roles.split(","):
                print(json.dumps(measure(name, role, getattr(torch, dtype), args.device)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
