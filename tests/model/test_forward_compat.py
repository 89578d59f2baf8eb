"""Forward compatibility: our calls use transformers' current names, so no library warning reaches a user."""

import warnings

import torch

from videomind.agent import AgentOptions, GenerationSettings, VideoMindAgent
from videomind.agent.backend import ModelBackend
from videomind.model import build_tiny_model
from videomind.model.modeling import cache_argument
from videomind.video.testing import make_test_video


def test_the_kv_cache_goes_by_the_decoders_own_name(tiny):
    import inspect

    model, _ = tiny
    name = cache_argument(model.text_model)
    assert name in inspect.signature(type(model.text_model).forward).parameters
    assert name == "cache"  # transformers 5.x: `past_key_values` is deprecated for removal in 5.40.0


def test_loading_and_a_whole_query_raise_no_library_warning(tmp_path):
    video = make_test_video(tmp_path / "clip.mp4", seconds=4.0, fps=4.0, size=(56, 56))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model, processor = build_tiny_model(seed=1)
        agent = VideoMindAgent(
            ModelBackend(model, processor), AgentOptions(generation=GenerationSettings(max_new_tokens=4))
        )
        with torch.no_grad():
            agent.run(video, "What colour is the circle?", ["red", "blue"])
    library = [w for w in caught if issubclass(w.category, (FutureWarning, DeprecationWarning, UserWarning))]
    assert not library, [f"{w.category.__name__}: {w.message} ({w.filename})" for w in library]
