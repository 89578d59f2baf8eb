import pytest
import torch
from safetensors.torch import load_file

from tests.conftest import ORACLE, load_expected
from videomind import prompts
from videomind.model.processor import VideoMindProcessor


@pytest.fixture(scope="module")
def processor():
    return VideoMindProcessor.from_pretrained(ORACLE / "tiny-videomind")


@pytest.mark.parametrize(
    ("case", "text"),
    [
        ("grounder", prompts.grounder_prompt("A red circle moves to the right")),
        ("planner", prompts.planner_prompt("What color is the circle that moves?")),
    ],
)
def test_matches_official_processor_bit_for_bit(processor, case, text):
    recorded = load_file(str(ORACLE / "inputs" / f"{case}.safetensors"))
    rendered = processor.render(prompts.video_message(text))
    assert rendered == load_expected(case)["prompt_text"]
    batch = processor([rendered], [recorded["video_frames_uint8"]])
    assert torch.equal(batch["input_ids"], recorded["input_ids"])
    assert torch.equal(batch["pixel_values_videos"], recorded["pixel_values_videos"])
    assert torch.equal(batch["video_grid_thw"], recorded["video_grid_thw"])
    types = batch["mm_token_type_ids"][0]
    assert int((types == 2).sum()) == 8 * 4 * 4 // 4  # T x h x w / merge^2
    assert types[batch["input_ids"][0] != processor.video_token_id].eq(0).all()


def test_special_tokens_and_single_token_lookup(processor):
    assert processor.special_token_ids() == {
        "reg_token_id": 1014,
        "seg_s_token_id": 1015,
        "seg_e_token_id": 1016,
    }
    assert processor.token_id("Yes") == 260 and processor.token_id("No") == 259
    with pytest.raises(Exception, match="not a single token"):
        processor.token_id("Yes indeed")


def test_odd_frame_count_repeats_last_frame(processor):
    frames = torch.randint(0, 256, (3, 3, 28, 56), dtype=torch.uint8)
    padded = torch.cat([frames, frames[-1:]])
    a, grid_a = processor.patchify(frames)
    b, grid_b = processor.patchify(padded)
    assert torch.equal(a, b) and grid_a.tolist() == [[2, 2, 4]]


def test_rejects_unresized_frames_and_placeholder_mismatch(processor):
    with pytest.raises(ValueError, match="multiple of 28"):
        processor.patchify(torch.zeros(2, 3, 30, 28, dtype=torch.uint8))
    with pytest.raises(ValueError, match="placeholders"):
        processor(["no video here"], [torch.zeros(2, 3, 28, 28, dtype=torch.uint8)])


def test_left_padding_batch(processor):
    batch = processor.pad([[5, 6, 7], [8]], padding_side="left")
    assert batch["input_ids"].tolist() == [[5, 6, 7], [processor.pad_token_id] * 2 + [8]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [0, 0, 1]]
