"""Device and dtype rules, and seeded sampling wherever the probabilities live (issue 19's CUDA risks)."""

import pytest
import torch

from videomind.model import devices
from videomind.model.devices import resolve_dtype
from videomind.model.modeling import _sample


@pytest.mark.parametrize("native, expected", [(True, torch.bfloat16), (False, torch.float16)])
def test_auto_dtype_on_cuda_is_bf16_where_native(monkeypatch, native, expected):
    monkeypatch.setattr(devices, "cuda_bf16_supported", lambda: native)
    assert resolve_dtype("auto", torch.device("cuda")) == expected
    assert resolve_dtype("auto", torch.device("cuda:1")) == expected


def test_auto_dtype_elsewhere_and_explicit_names():
    assert resolve_dtype("auto", torch.device("cpu")) == torch.float32
    assert resolve_dtype("auto", torch.device("mps")) == torch.float32
    assert resolve_dtype("float16", torch.device("cuda")) == torch.float16  # the release's dtype, on request
    assert resolve_dtype("bf16") == torch.bfloat16 and resolve_dtype(torch.float64) == torch.float64
    with pytest.raises(ValueError, match="unknown dtype"):
        resolve_dtype("half-ish")


def _logits(device):
    return torch.randn(300, generator=torch.Generator().manual_seed(0)).mul_(2).to(device)


def test_seeded_sampling_repeats_and_respects_top_p(device):
    logits = _logits(device)
    for gen_device in {torch.device("cpu"), torch.device(device)}:
        draws = [
            [_sample(logits, 1.0, 0.6, torch.Generator(device=gen_device).manual_seed(s)) for s in range(20)]
            for _ in range(2)
        ]
        assert draws[0] == draws[1]
        probs = torch.softmax(logits.cpu(), -1)
        ordered = probs.sort(descending=True)
        nucleus = set(ordered.indices[(ordered.values.cumsum(0) - ordered.values) < 0.6].tolist())
        assert set(draws[0]) <= nucleus and len(set(draws[0])) > 1


@pytest.mark.gpu
def test_cuda_probabilities_with_a_cpu_generator_draw_as_on_the_cpu():
    """Failed before the fix: torch.multinomial refuses a CPU generator for CUDA probabilities."""
    logits = _logits("cpu")
    on_cpu = [_sample(logits, 0.8, 0.9, torch.Generator().manual_seed(s)) for s in range(10)]
    on_cuda = [_sample(logits.cuda(), 0.8, 0.9, torch.Generator().manual_seed(s)) for s in range(10)]
    assert on_cuda == on_cpu
    cuda_generator = torch.Generator(device="cuda").manual_seed(1)
    assert 0 <= _sample(logits.cuda(), 0.8, 1.0, cuda_generator) < logits.numel()


@pytest.mark.gpu
def test_auto_dtype_on_this_gpu():
    native = torch.cuda.get_device_capability() >= (8, 0)
    assert resolve_dtype("auto", torch.device("cuda")) == (torch.bfloat16 if native else torch.float16)
