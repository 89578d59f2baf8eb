"""Every base family (issue 17) on tiny random models: the positions we feed are what the stock transformers model
computes (and where they deliberately differ, exactly how), our forward equals the stock forward (vision call,
DeepStack injection), the grounding head reads exactly the frame tokens, the processor lays videos and segment
tokens out per family, and checkpoints round-trip."""

import json

import pytest
import torch

from videomind.errors import CheckpointError
from videomind.model import build_tiny_model, load_model, save_checkpoint
from videomind.model.bases import family_of
from videomind.prompts import GROUNDER_PROMPT, insert_segment_tokens, video_message

BASES = ["qwen2_vl", "qwen2_5_vl", "qwen3_vl"]
TIMES = [0.5 * i for i in range(8)]  # 8 frames at 2 fps: 4 temporal steps, one second each


@pytest.fixture(scope="module", params=BASES)
def tiny(request):
    model, processor = build_tiny_model(seed=3, roles=("grounder",), base=request.param)
    return request.param, model, processor


def frames(processor, n=8, seed=0):
    side = 2 * processor.vision.factor  # 2x2 merged tokens per frame
    return torch.randint(0, 256, (n, 3, side, side), generator=torch.Generator().manual_seed(seed)).to(
        torch.uint8
    )


def prompt_batch(processor, text="the red circle", **kwargs):
    rendered = processor.render(video_message(GROUNDER_PROMPT.format(text)))
    return processor([rendered], [frames(processor)], timestamps=[TIMES], **kwargs)


def stock_rope(model, batch):
    extra = {"second_per_grid_ts": batch["second_per_grid_ts"]} if "second_per_grid_ts" in batch else {}
    return model.base.model.get_rope_index(
        batch["input_ids"], batch["mm_token_type_ids"], video_grid_thw=batch["video_grid_thw"].clone(),
        attention_mask=batch.get("attention_mask"), **extra,
    )  # fmt: skip


def fed_positions(model, batch):
    """The position ids our code passes to the decoder in a plain forward."""
    seen = []
    hook = model.text_model.register_forward_pre_hook(
        lambda _m, _a, kwargs: seen.append(kwargs["position_ids"]), with_kwargs=True
    )
    try:
        model.last_logits(batch)
    finally:
        hook.remove()
    return seen[0]


def test_positions_equal_stock_up_to_the_video_end_and_after_it_as_documented(tiny):
    base, model, processor = tiny
    batch = prompt_batch(processor)
    ours, stock = fed_positions(model, batch)[:, 0], stock_rope(model, batch)[0][:, 0]
    ids = batch["input_ids"][0]
    last_pad = int((ids == processor.video_token_id).nonzero().max())
    assert torch.equal(ours[:, : last_pad + 1], stock[:, : last_pad + 1])
    video_max = int(ours[:, : last_pad + 1].max())
    after = torch.arange(ids.numel() - last_pad - 1)
    # ours (and the reference implementations the weights were trained with): text resumes at the maximum + 1
    assert torch.equal(ours[:, last_pad + 1 :], (after + video_max + 1).expand(3, -1))
    if base == "qwen3_vl":  # one block per step: transformers 5.25 agrees everywhere
        assert torch.equal(ours, stock)
    else:  # transformers 5.25 resumes at the last block's start + max(h, w) / merge, inside the video's time axis
        first_pad = int((ids == processor.video_token_id).nonzero().min())
        h, w = (int(x) // 2 for x in batch["video_grid_thw"][0, 1:])
        assert torch.equal(
            stock[:, last_pad + 1 :], (after + int(ours[1, first_pad]) + max(h, w)).expand(3, -1)
        )
        assert video_max + 1 > int(ours[1, first_pad]) + max(h, w)  # so this input shows the difference


def test_qwen2_5_positions_carry_the_frame_rate():
    model, processor = build_tiny_model(seed=3, roles=(), base="qwen2_5_vl")
    temporal = {}
    for fps in (1.0, 2.0, 4.0):
        rendered = processor.render(video_message("x"))
        batch = processor([rendered], [frames(processor)], timestamps=[[i / fps for i in range(8)]])
        assert batch["second_per_grid_ts"].tolist() == [pytest.approx(2 / fps)]
        positions = fed_positions(model, batch)[0, 0]
        pads = batch["input_ids"][0] == processor.video_token_id
        temporal[fps] = sorted(set(positions[pads].tolist()))
    start = temporal[1.0][0]
    # tokens_per_second 2: a step of 2 s is 4 positions, of 1 s 2, of 0.5 s 1
    assert [t - start for t in temporal[1.0]] == [0, 4, 8, 12]
    assert [t - start for t in temporal[2.0]] == [0, 2, 4, 6]
    assert [t - start for t in temporal[4.0]] == [0, 1, 2, 3]


def test_left_padded_rows_get_their_own_positions(tiny):
    _, model, processor = tiny
    texts = [processor.render(video_message(t)) for t in ("a", "a much longer question about the shapes")]
    videos = [frames(processor, seed=1), frames(processor, n=6, seed=2)]
    batch = processor(texts, videos, padding_side="left", timestamps=[TIMES, TIMES[:6]])
    together = fed_positions(model, batch)
    for row in range(2):
        alone = processor([texts[row]], [videos[row]], timestamps=[[TIMES, TIMES[:6]][row]])
        keep = batch["attention_mask"][row].bool()
        assert torch.equal(together[:, row, keep], fed_positions(model, alone)[:, 0])


@torch.no_grad()
def test_our_forward_equals_the_stock_forward(tiny):
    base, model, processor = tiny
    batch = prompt_batch(processor)
    with model.lm.disable_adapter():
        _, ours = model.last_logits(batch)
        positions = fed_positions(model, batch)
        captured = []
        hook = model.text_model.norm.register_forward_pre_hook(lambda _m, a: captured.append(a[0]))
        extra = {k: batch[k] for k in ("second_per_grid_ts",) if k in batch}
        stock = model.base.model(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
            pixel_values_videos=batch["pixel_values_videos"], video_grid_thw=batch["video_grid_thw"],
            mm_token_type_ids=batch["mm_token_type_ids"], position_ids=positions, **extra,
        ).last_hidden_state  # fmt: skip
        hook.remove()
        torch.testing.assert_close(ours.hidden, stock, rtol=0, atol=1e-5)
        torch.testing.assert_close(ours.prenorm, captured[0], rtol=0, atol=1e-5)
        if base == "qwen3_vl":  # and without DeepStack the states would differ: the comparison above sees it
            embeds = model.embed(
                batch["input_ids"], model.encode_video(batch["pixel_values_videos"], batch["video_grid_thw"])
            )
            plain = model.run_text(embeds, positions, batch["attention_mask"])
            assert (plain.hidden - stock).abs().max() > 1e-2


def test_the_head_reads_exactly_the_frame_tokens(tiny):
    base, model, processor = tiny
    batch = prompt_batch(processor)
    ids, grid = batch["input_ids"][0], batch["video_grid_thw"][0]
    steps, per_step = int(grid[0]), int(grid[1] * grid[2]) // 4
    positions = model.frame_positions(ids, grid)
    assert positions.shape == (steps, per_step)
    assert bool((ids[positions] == processor.video_token_id).all())
    assert positions.flatten().tolist() == (ids == processor.video_token_id).nonzero().flatten().tolist()
    hidden = model.grounding_head.hidden_size
    prenorm = torch.arange(ids.numel(), dtype=torch.float32)[:, None].expand(-1, hidden)
    states, num_steps = model._frame_states(ids, grid, prenorm)
    assert num_steps == steps
    torch.testing.assert_close(states[:, 0], positions.float().mean(dim=1))
    # what lies between the first <|vision_start|> and the last <|vision_end|>: for Qwen3-VL also the timestamp
    # text of every step (so a span would not be the frames), for the others only the frames
    first = int((ids == processor.vision_start_id).nonzero().min()) + 1
    last = int((ids == processor.vision_end_id).nonzero().max())
    assert (last - first == steps * per_step) == (base != "qwen3_vl")


def test_timestamps_and_segment_tokens_follow_each_layout(tiny):
    base, model, processor = tiny
    seconds = [1.0, 2.0, 3.0, 4.0]
    rendered = processor.render(video_message("q"))
    plain = processor([rendered], [frames(processor, n=4)], timestamps=[seconds])
    marked = processor([rendered], [frames(processor, n=4)], timestamps=[seconds], segments=[(0.5, 1.0)])
    text = processor.decode(marked["input_ids"][0].tolist())
    special = processor.special_token_ids()
    if base == "qwen3_vl":
        assert "<1.5 seconds><|vision_start|>" in text and "<3.5 seconds><|vision_start|>" in text
        assert "<|vision_end|><|seg_start|><3.5 seconds><|vision_start|>" in text
        assert text.count("<|vision_start|>") == 2 and "<|vision_end|><|seg_end|>q<|im_end|>" in text
    else:
        assert "seconds>" not in text
        grid = plain["video_grid_thw"][0]
        expected = insert_segment_tokens(
            plain["input_ids"][0].tolist(), processor.vision_start_id, int(grid[0]), int(grid[1] * grid[2]) // 4,
            (0.5, 1.0), special["seg_s_token_id"], special["seg_e_token_id"],
        )  # fmt: skip
        assert marked["input_ids"][0].tolist() == expected
    if base == "qwen2_5_vl":
        assert marked["second_per_grid_ts"].tolist() == [pytest.approx(2.0)]
    else:
        assert "second_per_grid_ts" not in marked


@torch.no_grad()
def test_vision_features_in_pieces_equal_one_call_and_generation_equals_a_full_forward(tiny):
    base, model, processor = tiny
    clip = frames(processor)
    whole = model.encode_video(*processor.patchify(clip))
    pieces = torch.cat([model.encode_video(*processor.patchify(part)) for part in clip.split(4)])
    assert torch.equal(whole, pieces)  # the backend's streaming stays exact (windows, DeepStack per step)
    batch = prompt_batch(processor)
    forced = [processor.token_id("Yes"), processor.token_id("No")]
    out = model.generate(batch, max_new_tokens=2, record_logits=True, forced_ids=forced)
    longer = dict(batch, input_ids=torch.cat([batch["input_ids"], torch.tensor([forced[:1]])], dim=1))
    longer["attention_mask"] = torch.ones_like(longer["input_ids"])
    longer["mm_token_type_ids"] = processor.token_types(longer["input_ids"])
    logits, _ = model.last_logits(longer)
    torch.testing.assert_close(out.step_logits[1], logits[0], rtol=0, atol=1e-4)


def test_checkpoints_round_trip_and_name_the_family(tiny, tmp_path):
    base, model, processor = tiny
    build_tiny_model(seed=3, roles=(), base=base)[0].base.save_pretrained(tmp_path / "base")
    folder = save_checkpoint(model, processor, tmp_path / "ckpt", base_model_path="../base")
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == f"agent_{base}" and config["base_model"] == base
    assert ("text_config" in config) == (base != "qwen2_vl")  # Qwen2-VL keeps the released flat layout
    loaded, loaded_processor = load_model(folder, device="cpu", dtype=torch.float32)
    assert loaded.family is family_of(base) and loaded_processor.family is family_of(base)
    assert loaded_processor.vision == processor.vision
    expected, found = model.state_dict(), loaded.state_dict()
    assert expected.keys() == found.keys()
    assert all(torch.equal(tensor, found[name]) for name, tensor in expected.items())


def test_an_unsupported_base_is_named():
    with pytest.raises(
        CheckpointError, match="'llava' is not a supported base; supported: qwen2_vl, qwen2_5_vl"
    ):
        family_of("llava")
