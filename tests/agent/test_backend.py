"""The model backend on the oracle checkpoint: verifier inputs and scores as the official code computes them."""

import pytest
import torch
from safetensors.torch import load_file

from tests.conftest import ORACLE, load_expected
from videomind.agent.backend import ClipInput, ModelBackend
from videomind.prompts import insert_segment_tokens, verifier_prompt

CASES = ["verifier_A", "verifier_B"]


@pytest.mark.parametrize("case", CASES)
def test_segment_tokens_inserted_at_official_indices(oracle_model, case):
    model, processor = oracle_model
    meta = load_expected(case)
    recorded = load_file(str(ORACLE / "inputs" / f"{case}.safetensors"))["input_ids"][0].tolist()
    ids = model.token_ids
    # the prompt text itself names <|seg_start|> / <|seg_end|>: drop only the two inserted tokens
    inserted = (meta["seg_start_index"], meta["seg_end_index"])
    without = [t for i, t in enumerate(recorded) if i not in inserted]
    assert len(without) == meta["input_ids_before_insertion_len"]
    out = insert_segment_tokens(without, ids.vision_start, meta["T"], meta["W"], (meta["ss"], meta["se"]),
                                ids.seg_start, ids.seg_end)  # fmt: skip
    assert out == recorded
    assert out[meta["seg_start_index"]] == ids.seg_start and out[meta["seg_end_index"]] == ids.seg_end
    if meta["k_s"] == 0:  # oracle README s.7: seg_start right after vision_start
        assert out[meta["vision_start_index"] + 1] == ids.seg_start


def test_banker_rounding_of_segment_steps():
    # T = 6: ss*T = 1.5 -> 2 and se*T = 4.5 -> 4 (half-up would give 5)
    out = insert_segment_tokens([7, 1, 9, 9, 9, 9, 9, 9, 2], 1, 6, 1, (0.25, 0.75), 100, 101)
    assert out == [7, 1, 9, 9, 100, 9, 9, 101, 9, 9, 2]


def _clips(case):
    frames = load_file(str(ORACLE / "inputs" / f"{case}.safetensors"))["video_frames_uint8"]
    return ClipInput(frames, (case,))


def test_verifier_scores_batched_equal_official_and_single(oracle_model):
    model, processor = oracle_model
    metas = [load_expected(c) for c in CASES]
    clips = [_clips(c) for c in CASES]
    bounds = [(m["ss"], m["se"]) for m in metas]
    text = verifier_prompt(metas[0]["question"])
    batched = ModelBackend(model, processor, batch_verifier=True).verify(clips, text, bounds)
    single = ModelBackend(model, processor, batch_verifier=False).verify(clips, text, bounds)
    assert single == pytest.approx([m["score"] for m in metas], abs=1e-6)
    assert batched == pytest.approx(single, abs=1e-5)


def test_vision_features_are_shared_across_roles(oracle_model):
    model, processor = oracle_model
    backend = ModelBackend(model, processor, share_features=True)
    clip = _clips("verifier_A")
    bound = [(0.25, 0.75)]
    first = backend.verify([clip], verifier_prompt("q"), bound)
    second = backend.verify([clip], verifier_prompt("q"), bound)
    assert backend.vision_calls == 1 and first == second
    backend.reset()
    backend.verify([clip], verifier_prompt("q"), bound)
    assert backend.vision_calls == 2
    assert torch.is_tensor(clip.frames)


def _streamed(case, piece):
    frames = _clips(case).frames
    pieces = iter(frames.split(piece))
    return ClipInput.streamed(pieces, (case, "streamed"), frames.shape[0], tuple(frames.shape[2:]))


@pytest.mark.parametrize("piece, patches", [(2, 1), (4, 10**6), (4, 1)])
def test_streamed_clips_score_as_whole_clips(oracle_model, piece, patches):
    """Frames fed to the vision tower piece by piece (fast mode) give the official scores, batched or not."""
    model, processor = oracle_model
    metas = [load_expected(c) for c in CASES]
    bounds = [(m["ss"], m["se"]) for m in metas]
    text = verifier_prompt(metas[0]["question"])
    whole = ModelBackend(model, processor, batch_verifier=False).verify(
        [_clips(c) for c in CASES], text, bounds
    )
    for batch in (False, True):
        backend = ModelBackend(model, processor, batch_verifier=batch, vision_patches_per_call=patches)
        streamed = backend.verify([_streamed(c, piece) for c in CASES], text, bounds)
        assert streamed == pytest.approx(whole, abs=1e-6)
        assert backend.vision_calls == len(CASES)


def test_clip_input_holds_frames_or_a_stream():
    with pytest.raises(ValueError, match="either frames or a stream"):
        ClipInput(None, ("k",))
    with pytest.raises(ValueError, match="either frames or a stream"):
        ClipInput(torch.zeros(2, 3, 28, 28, dtype=torch.uint8), ("k",), stream=iter([]))


def test_vision_calls_hold_whole_frame_pairs_of_about_the_patch_budget(oracle_model):
    model, processor = oracle_model
    patch = processor.vision.patch_size
    backend = ModelBackend(model, processor, vision_patches_per_call=100)
    assert backend._frames_per_call((5 * patch, 4 * patch)) == 10  # 20 patches per pair: 5 pairs
    assert backend._frames_per_call((20 * patch, 20 * patch)) == 2  # a pair over the budget still goes whole
