"""The timestamp decoder head: official parameter layout, the oracle grounder case, batching, decoding."""

import math

import pytest
import torch
from safetensors.torch import load_file

from tests.conftest import ORACLE, load_expected
from videomind.errors import UserInputError
from videomind.model.grounding_head import (
    HeadOutput,
    TimestampDecoder,
    TimestampDecoderConfig,
    candidate_rows,
    positional_encoding,
)
from videomind.model.point_targets import point_table

HEAD_FILE = ORACLE / "tiny-videomind" / "pytorch_model.safetensors"
PREFIX = "base_model.model."
SMALL = TimestampDecoderConfig(dims=32, num_heads=4)  # same structure, fast


def official_head_state() -> dict[str, torch.Tensor]:
    return {k.removeprefix(PREFIX): v.float() for k, v in load_file(str(HEAD_FILE)).items()}


@pytest.fixture(scope="module")
def oracle_head() -> TimestampDecoder:
    head = TimestampDecoder(64, TimestampDecoderConfig())
    result = head.load_state_dict(official_head_state(), strict=True)
    assert result.missing_keys == [] and result.unexpected_keys == []
    return head.eval()


@pytest.fixture(scope="module")
def grounder_case():
    return load_file(str(ORACLE / "expected" / "grounder.safetensors")), load_expected("grounder")


def random_head(hidden: int = 16, dtype=torch.float32, seed: int = 0, **overrides) -> TimestampDecoder:
    """A small head with all parameters perturbed (so biases and scales matter)."""
    torch.manual_seed(seed)
    config = TimestampDecoderConfig(**{"dims": 32, "num_heads": 4, **overrides})
    head = TimestampDecoder(hidden, config).to(dtype)
    with torch.no_grad():
        for p in head.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return head


# ---------------------------------------------------------------------------------------------- layout
def test_state_dict_has_exactly_the_official_names_and_shapes():
    official = official_head_state()
    state = TimestampDecoder(64, TimestampDecoderConfig()).state_dict()
    assert len(state) == 93
    assert set(state) == set(official)
    for key, value in official.items():
        assert state[key].shape == value.shape, key


def test_no_buffers_and_mean_max_keeps_the_layout():
    head = TimestampDecoder(64, TimestampDecoderConfig(frame_pooling="mean_max"))
    assert list(head.buffers()) == []
    assert set(head.state_dict()) == set(official_head_state())


def test_fresh_initialisation_follows_the_reference():
    head = TimestampDecoder(64, TimestampDecoderConfig())
    ffn = head.vis_fuse[0].ffn.mapping[0]
    assert 0.019 < ffn.weight.std().item() < 0.021 and not ffn.bias.any()
    assert torch.equal(head.vis_norm.weight, torch.ones(256)) and not head.vis_norm.bias.any()
    assert torch.equal(head.coef.scale, torch.ones(4))
    assert 0.05 < head.vis_emb.weights.std().item() < 0.075  # randn / sqrt(256) = 0.0625
    conv = head.class_head.module[1]  # Xavier-uniform bound sqrt(6 / (768 + 768)) = 0.0625
    assert 0.9 * 0.0625 < conv.weight.abs().max().item() <= 0.0625 and not conv.bias.any()


def test_config_survives_a_json_round_trip_and_rejects_bad_values():
    loaded = TimestampDecoderConfig(
        strides=[1, 2, 4, 8], regression_ranges=[[0, 2], [2, 4], [4, 8], [8, "inf"]]
    )
    assert loaded == TimestampDecoderConfig()
    with pytest.raises(ValueError, match="frame_pooling"):
        TimestampDecoderConfig(frame_pooling="max")
    with pytest.raises(ValueError, match="divisible"):
        TimestampDecoderConfig(dims=30, num_heads=8)
    with pytest.raises(ValueError, match="powers of two"):
        TimestampDecoderConfig(strides=(1, 3), regression_ranges=((0, 3), (3, math.inf)))


# ---------------------------------------------------------------------------------------------- oracle
def test_vision_range_starts_after_vision_start_and_ends_before_vision_end(grounder_case):
    _, meta = grounder_case
    ids = load_file(str(ORACLE / "inputs" / "grounder.safetensors"))["input_ids"][0]
    start, end = meta["vision_token_range"]
    assert int(ids[start - 1]) == 1009 and int(ids[end]) == 1010  # [start, end): end exclusive
    assert end - start == meta["T"] * meta["W"]


def test_grounder_case_intermediates(oracle_head, grounder_case):
    tensors, meta = grounder_case
    start, end = meta["vision_token_range"]
    pooled = oracle_head.pool_frames(tensors["prefill_prenorm_states"][0, start:end], meta["W"])
    query = tensors["query_state"].reshape(1, 64)
    with torch.no_grad():
        assert torch.allclose(pooled, tensors["pooled_vis"][0], atol=1e-6)
        assert torch.allclose(oracle_head.vis_proj(pooled), tensors["vis_proj_out"][0], atol=1e-5)
        assert torch.allclose(oracle_head.reg_proj(query), tensors["reg_proj_out"][0], atol=1e-5)
        pe = positional_encoding(torch.tensor([meta["T"]]), meta["T"], oracle_head.config)
        assert torch.allclose(pe, tensors["vis_pos_pe"], atol=1e-6)
        out = oracle_head(pooled[None], query)
    joint = torch.cat((out.video_emb[0, 0], out.query_emb[0]))
    assert torch.allclose(joint, tensors["joint_after_vis_norm"][0], atol=1e-5)
    assert out.level_lengths == tuple(meta["level_lengths"])
    assert torch.equal(out.points, tensors["points"])
    logits = torch.cat([tensors[f"class_logits_level{i}"][0, :, 0] for i in range(4)])
    assert torch.allclose(out.class_logits[0, 0], logits, atol=1e-5)
    scale = oracle_head.coef.scale.detach()
    coords = torch.cat([tensors[f"coord_raw_level{i}"][0].exp() * scale[i] for i in range(4)])
    assert torch.allclose(out.coords[0, 0], coords, atol=1e-5)
    rows = candidate_rows(out.points, out.class_logits[0, 0], out.coords[0, 0], meta["T"])
    assert torch.allclose(rows, tensors["candidates_pre_nms"], atol=1e-5)


def test_grounder_case_reg_and_sal(oracle_head, grounder_case):
    tensors, meta = grounder_case
    start, end = meta["vision_token_range"]
    pooled = oracle_head.pool_frames(tensors["prefill_prenorm_states"][0, start:end], meta["W"])
    with torch.no_grad():
        (decoded,) = oracle_head.decode(oracle_head(pooled[None], tensors["query_state"].reshape(1, 64)))
    assert decoded.num_steps == 8
    assert decoded.spans.shape == (meta["num_kept"], 3)
    assert torch.allclose(decoded.spans, tensors["reg"], atol=1e-5)
    assert int((decoded.spans[:, 2] == 0).sum()) == meta["num_suppressed_in_top"]
    assert torch.allclose(decoded.saliency, tensors["sal"][:, 0], atol=1e-5)


# ---------------------------------------------------------------------------------------------- pieces
def test_pool_frames_mean_and_mean_max_by_hand():
    states = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 0.0], [7.0, 8.0]])
    mean = TimestampDecoder(2, SMALL).pool_frames(states, 2)
    assert torch.equal(mean, torch.tensor([[2.0, 3.0], [6.0, 4.0]]))
    mean_max = TimestampDecoder(2, TimestampDecoderConfig(dims=32, num_heads=4, frame_pooling="mean_max"))
    assert torch.equal(mean_max.pool_frames(states, 2), torch.tensor([[5.0, 7.0], [13.0, 12.0]]))
    assert mean_max.pool_frames(states.bfloat16(), 2).dtype == torch.bfloat16
    with pytest.raises(ValueError, match="do not split"):
        mean_max.pool_frames(states, 3)


def test_positional_encoding_by_hand():
    config = TimestampDecoderConfig(dims=4, num_heads=2)
    pe = positional_encoding(torch.tensor([2, 1]), 2, config)
    # sample 0, T=2: p_hat = p / 2 * 2pi = pi, 2pi; frequencies 1, 1, 100, 100
    first = [math.sin(math.pi), math.cos(math.pi), math.sin(math.pi / 100), math.cos(math.pi / 100)]
    second = [
        math.sin(2 * math.pi),
        math.cos(2 * math.pi),
        math.sin(2 * math.pi / 100),
        math.cos(2 * math.pi / 100),
    ]
    assert torch.allclose(pe[0], torch.tensor([first, second]), atol=1e-5)
    # sample 1, T=1: its only position is 2pi; the padded row is zero
    assert torch.allclose(pe[1, 0], torch.tensor(second), atol=1e-5)
    assert not pe[1, 1].any()


# --------------------------------------------------------------------------------------------- batches
@pytest.mark.parametrize("training", [False, True])
def test_output_shapes_for_batch_1_and_3(training):
    head = TimestampDecoder(64, TimestampDecoderConfig()).train(training)
    k = 3 if training else 1
    with torch.no_grad():
        one = head(torch.randn(1, 8, 64), torch.randn(1, 64))
        three = head([torch.randn(t, 64) for t in (5, 9, 12)], torch.randn(3, 64))
    assert one.class_logits.shape == (k, 1, 15) and one.coords.shape == (k, 1, 15, 2)
    assert one.video_emb.shape == (k, 1, 8, 256) and one.query_emb.shape == (k, 1, 256)
    assert one.points.shape == (15, 4) and one.point_mask.all()
    assert three.level_lengths == (12, 6, 3, 1)  # T_max = 12 >= 8, so padding changes nothing here
    assert three.class_logits.shape == (k, 3, 22) and three.coords.shape == (k, 3, 22, 2)
    assert three.video_emb.shape == (k, 3, 12, 256)
    # own pyramids: eval 5+2+1, 9+4+2+1, 12+6+3+1; training pads T=5 to 8 -> 8+4+2+1
    expected = [15 if training else 8, 16, 22]
    assert three.point_mask.sum(dim=1).tolist() == expected
    assert three.valid_mask.sum(dim=1).tolist() == [5 + 3 + 2 + 1 if training else 8, 16, 22]
    assert [d.spans.shape[0] for d in head.decode(three)] == expected


def test_eval_skips_levels_longer_than_the_video():
    head = random_head().eval()
    with torch.no_grad():
        out = head(torch.randn(1, 3, 16), torch.randn(1, 16))
    assert out.level_lengths == (3, 1)  # strides 4 and 8 exceed T = 3, as in the official inference
    assert out.points[:, 0].tolist() == [0, 1, 2, 0]


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize(("dtype", "atol"), [(torch.float64, 1e-9), (torch.float32, 1e-5)])
def test_batch_with_different_lengths_equals_each_sample_alone(training, dtype, atol):
    head = random_head(dtype=dtype).train(training)
    head.set_drop_path(0.0)
    lengths = [3, 13, 8]
    frames = [torch.randn(t, 16, dtype=dtype) for t in lengths]
    queries = torch.randn(3, 16, dtype=dtype)
    with torch.no_grad():
        batch = head(frames, queries)
        decoded = head.decode(batch)
        for i, t in enumerate(lengths):
            alone = head([frames[i]], queries[i : i + 1])
            own = batch.point_mask[i]
            assert torch.equal(batch.points[own], alone.points)
            assert torch.equal(batch.valid_mask[i, own], alone.valid_mask[0])
            assert torch.allclose(batch.video_emb[:, i, :t], alone.video_emb[:, 0], atol=atol)
            assert not batch.video_emb[:, i, t:].any()
            assert torch.allclose(batch.query_emb[:, i], alone.query_emb[:, 0], atol=atol)
            assert torch.allclose(batch.class_logits[:, i, own], alone.class_logits[:, 0], atol=atol)
            assert torch.allclose(batch.coords[:, i, own], alone.coords[:, 0], atol=atol)
            (single,) = head.decode(alone)
            assert torch.allclose(decoded[i].spans, single.spans, atol=atol)
            assert torch.allclose(decoded[i].saliency, single.saliency, atol=atol)


def test_padded_tensor_input_with_lengths_ignores_garbage_past_each_length():
    head = random_head().eval()
    frames = torch.randn(2, 10, 16)
    garbage = frames.clone()
    garbage[0, 6:] = float("nan")
    with torch.no_grad():
        clean = head(frames, torch.ones(2, 16), lengths=[6, 10])
        dirty = head(garbage, torch.ones(2, 16), lengths=torch.tensor([6, 10]))
    assert torch.equal(clean.class_logits, dirty.class_logits)
    assert torch.isfinite(dirty.coords).all()


def test_calls_leave_no_state_on_the_module():
    head = random_head().eval()
    before = {k: v.clone() for k, v in head.state_dict().items()}
    attributes = set(vars(head))
    a_in, b_in = (torch.randn(1, 9, 16), torch.randn(1, 16)), (torch.randn(1, 5, 16), torch.randn(1, 16))
    with torch.no_grad():
        a = head.decode(head(*a_in))[0]
        head.decode(head(*b_in))  # a second caller in between
        again = head.decode(head(*a_in))[0]
    assert torch.equal(a.spans, again.spans)
    assert set(vars(head)) == attributes
    assert all(torch.equal(before[k], v) for k, v in head.state_dict().items())


def test_drop_path_is_random_in_training_only():
    head = random_head(drop_path=0.5).train()
    frames, query = torch.randn(8, 6, 16), torch.randn(8, 16)
    torch.manual_seed(1)
    first = head(frames, query).video_emb
    torch.manual_seed(2)
    assert not torch.allclose(first, head(frames, query).video_emb)
    head.eval()
    with torch.no_grad():
        assert torch.equal(head(frames, query).class_logits, head(frames, query).class_logits)
    head.train()
    head.set_drop_path(0.0)
    with torch.no_grad():
        deterministic = head(frames, query).video_emb[-1]
        head.eval()
        assert torch.allclose(deterministic, head(frames, query).video_emb[0], atol=1e-6)


def test_too_many_tokens_for_the_point_buffer_is_a_clear_error():
    head = random_head(point_buffer=16).eval()
    with pytest.raises(UserInputError, match="point buffer"):
        head(torch.randn(1, 17, 16), torch.randn(1, 16))


# -------------------------------------------------------------------------------------------- decoding
def hand_made_output(scores, distances, num_steps=4, level_lengths=(4, 2, 1)) -> HeadOutput:
    config = TimestampDecoderConfig()
    points = point_table(level_lengths, config.strides, config.regression_ranges)
    logits = torch.tensor([math.log(s / (1 - s)) for s in scores])
    masks = tuple(torch.ones(1, n, dtype=torch.bool) for n in level_lengths)
    return HeadOutput(
        class_logits=logits[None, None], coords=torch.tensor(distances)[None, None], points=points,
        level_masks=masks, point_mask=torch.ones(1, len(scores), dtype=torch.bool),
        video_emb=torch.zeros(1, 1, num_steps, 8), query_emb=torch.zeros(1, 1, 8),
        lengths=torch.tensor([num_steps]),
    )  # fmt: skip


# T = 4; points (position, stride): (0,1) (1,1) (2,1) (3,1) (0,2) (2,2) (0,4)
HAND_SCORES = [0.9, 0.2, 0.6, 0.3, 0.8, 0.7, 0.4]
HAND_DISTANCES = [[0, 1], [1, 1.8], [0.5, 0.5], [0.5, 1], [0, 0.5], [0.5, 0.5], [0, 0.75]]
# candidate spans: [0,.25] [0,.7] [.375,.625] [.625,1] [0,.25] [.25,.75] [0,.75]
# NMS: [0,.25] suppresses its duplicate (IoU 1); [0,.75] suppresses [0,.7] (IoU .7/.75 = .93 >= .75);
# [.25,.75] vs [0,.75] has IoU .667 and survives. Suppressed rows keep their place behind the swaps.
HAND_EXPECTED = [
    [0.0, 0.25, 0.9], [0.25, 0.75, 0.7], [0.375, 0.625, 0.6], [0.0, 0.75, 0.4], [0.625, 1.0, 0.3],
    [0.0, 0.25, 0.0], [0.0, 0.7, 0.0],
]  # fmt: skip


def test_decode_hand_made_spans_with_nms_suppression():
    head = TimestampDecoder(8, SMALL)
    (decoded,) = head.decode(hand_made_output(HAND_SCORES, HAND_DISTANCES))
    assert decoded.num_steps == 4
    assert torch.allclose(decoded.spans, torch.tensor(HAND_EXPECTED), atol=1e-6)
    assert torch.allclose(decoded.saliency, torch.tensor(HAND_SCORES), atol=1e-6)


def test_decode_keeps_top_k_rows():
    head = TimestampDecoder(8, TimestampDecoderConfig(dims=32, num_heads=4, top_k=5))
    (decoded,) = head.decode(hand_made_output(HAND_SCORES, HAND_DISTANCES))
    assert torch.allclose(decoded.spans, torch.tensor(HAND_EXPECTED[:5]), atol=1e-6)


def test_decode_normalises_by_each_samples_own_length():
    # one point at position 2 with stride 1, distances (1, 2): [1, 4] tokens -> /8 and /4
    out = hand_made_output([0.5], [[1.0, 2.0]], num_steps=8, level_lengths=(1,))
    head = TimestampDecoder(8, SMALL)
    assert torch.allclose(head.decode(out)[0].spans, torch.tensor([[-0.125, 0.25, 0.5]]))
    shifted = torch.tensor([[2.0, 0.0, 2.0, 1.0]])
    rows = candidate_rows(shifted, torch.zeros(1), torch.tensor([[1.0, 2.0]]), 4)
    assert torch.allclose(rows, torch.tensor([[0.25, 1.0, 0.5]]))
