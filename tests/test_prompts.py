import pytest

from tests.conftest import load_expected
from videomind import prompts

CHAT_HEAD = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<|vision_start|><|video_pad|><|vision_end|>"
CHAT_TAIL = "<|im_end|>\n<|im_start|>assistant\n"


def _user_text(case: str) -> str:
    text = load_expected(case)["prompt_text"]
    assert text.startswith(CHAT_HEAD) and text.endswith(CHAT_TAIL)
    return text[len(CHAT_HEAD) : -len(CHAT_TAIL)]


def test_planner_prompt_is_verbatim():
    assert prompts.planner_prompt("What color is the circle that moves?") == _user_text("planner")


def test_grounder_prompt_is_verbatim():
    assert prompts.grounder_prompt("A red circle moves to the right") == _user_text("grounder")


def test_verifier_prompt_is_verbatim():
    assert prompts.verifier_prompt("A red circle moves to the right.") == _user_text("verifier_A")


def test_mcq_layout():
    text, prefix = prompts.answerer_prompt("What color?", ["red", "green"], style="mcq")
    assert text == "What color?\nOptions:\n(A) Red\n(B) Green\nPlease only give the best option."
    assert prefix == "Best Option: ("
    assert prompts.answerer_prompt("What color?", ["red"], style="options")[1] == ""
    assert prompts.answerer_prompt("What color?", ["red"], style="direct") == ("What color?", "")
    with pytest.raises(ValueError, match="unknown answer style"):
        prompts.answerer_prompt("q", ["a"], style="free")


def test_subtitle_prefix():
    cues = [(10.0, 12.0, "hello"), (11.0, 40.0, "outside"), (15.25, 16.0, "bye")]
    out = prompts.subtitle_prefix(cues, 10.0, 30.0)
    assert (
        out
        == "You are given a video with 20.0 seconds long.\nSubtitles:\n0.0s - 2.0s, hello\n5.2s - 6.0s, bye\n"
    )


def test_planner_targets():
    assert prompts.planner_target(4, "q", None) == '[{"type": "answerer"}]'
    assert (
        prompts.planner_target(3, "q", "the dog")
        == '[{"type": "grounder", "value": "the dog"}, {"type": "verifier"}]'
    )
    assert '"value": "q"' in prompts.planner_target(2, "q", "the dog")
    with pytest.raises(ValueError):
        prompts.planner_target(5, "q", None)


def test_clean_query_and_question():
    assert prompts.clean_query("  A red   circle moves.  ") == "A red circle moves"
    assert prompts.clean_query("..dots.. ") == "dots"
    assert prompts.clean_question(" What\n is  it? ") == "What is it?"
