"""Training targets and losses of the timestamp decoder: the oracle training case, hand values, batches."""

import math
import random

import pytest
import torch
from safetensors.torch import load_file

from tests.conftest import ORACLE, load_expected
from tests.model.test_grounding_head import official_head_state, random_head
from videomind.data.span_targets import grounding_targets
from videomind.errors import UserInputError
from videomind.model import losses
from videomind.model.grounding_head import TimestampDecoder, TimestampDecoderConfig
from videomind.model.point_targets import assign_targets, point_table

CONFIG = TimestampDecoderConfig()


@pytest.fixture(scope="module")
def training_case():
    head = TimestampDecoder(64, CONFIG)
    head.load_state_dict(official_head_state(), strict=True)
    head.train()
    head.set_drop_path(0.0)  # the oracle run switched DropPath off
    expected = load_file(str(ORACLE / "expected" / "train_grounder_short.safetensors"))
    inputs = load_file(str(ORACLE / "inputs" / "train_grounder_short.safetensors"))
    meta = load_expected("train_grounder_short")
    # recorded deep-supervision rows: video_emb (3, T, 256), query_emb (3, 1, 256) -> (K, B=1, ...)
    output = head.predict(
        expected["video_emb"][:, None], expected["query_emb"][:, 0][:, None], torch.tensor([3])
    )
    return head, output, expected, inputs, meta


# ---------------------------------------------------------------------------------------------- oracle
def test_training_case_pyramid_outputs_and_masks(training_case):
    _, out, expected, _, meta = training_case
    assert out.level_lengths == tuple(meta["pymid_lengths"])  # T = 3 zero-padded to 8
    assert torch.equal(out.points, expected["points"])
    assert torch.allclose(out.class_logits[:, 0], expected["out_class"][..., 0], atol=1e-5)
    assert torch.allclose(out.coords[:, 0], expected["out_coord"], atol=1e-5)
    assert torch.equal(out.valid_mask[0].float(), expected["pymid_msk_concat"][0])


def test_training_case_targets(training_case):
    head, out, expected, inputs, meta = training_case
    cls_target, reg_target = head.targets(out, [inputs["timestamps"][0]])
    assert torch.equal(cls_target, expected["cls_tgt"])
    assert int(cls_target.sum()) == meta["num_positive_points"]
    assert torch.allclose(reg_target, expected["reg_tgt"], atol=1e-6)


def test_training_case_losses(training_case):
    head, out, _, inputs, meta = training_case
    for group in (None, [0]):
        got = head.loss(
            out, [inputs["timestamps"][0]], [inputs["saliency"]], [inputs["pos_clip"]], group=group
        )
        assert set(got) == {"loss_cls", "loss_reg", "loss_sal"}
        for name in got:
            assert got[name].item() == pytest.approx(meta[name], rel=1e-5), name
        assert sum(v.item() for v in got.values()) == pytest.approx(meta["loss_head"], rel=1e-5)


def test_assign_targets_by_hand():
    # T = 8; span a = [2, 4] tokens (length 2), span b = [1, 5] (length 4), both centred at 3
    points = point_table((8, 4, 2, 1), CONFIG.strides, CONFIG.regression_ranges)
    spans = torch.tensor([[0.25, 0.5], [0.125, 0.625]])
    cls_target, reg_target = assign_targets(points, spans, 8, sample_radius=1.5, tie_tolerance=1e-3)
    # stride 1 (range [0, 2]): p = 2, 3, 4 fit a (p = 3 also fits b; the shorter a wins)
    # stride 2 (range [2, 4]): p = 2, 4 fit a and b -> a; strides 4 and 8: reach too short or off-centre
    expected_cls = [0, 0, 1, 1, 1, 0, 0, 0] + [0, 1, 1, 0] + [0, 0] + [0]
    assert cls_target.tolist() == expected_cls
    positive = cls_target.bool()
    assert reg_target[positive].tolist() == [[0, 2], [1, 1], [2, 0], [0, 1], [1, 0]]


def test_longer_span_wins_where_the_shorter_one_does_not_fit():
    # a = [2, 4], b = [0, 8] tokens. Stride 4 (range [4, 8], centre regions a: [2, 4], b: [0, 8]):
    # p = 0 fits only b (reach 8); p = 4 lies in both regions but a's reach 2 < 4, so b (reach 4) wins
    points = point_table((8, 4, 2, 1), CONFIG.strides, CONFIG.regression_ranges)
    cls_target, reg_target = assign_targets(points, torch.tensor([[0.25, 0.5], [0.0, 1.0]]), 8, 1.5, 1e-3)
    assert cls_target[12:14].tolist() == [1, 1]
    assert reg_target[12:14].tolist() == [[0.0, 2.0], [1.0, 1.0]]  # (0 - 0, 8 - 0) / 4 and (4 - 0, 8 - 4) / 4


# ------------------------------------------------------------------------------------------ loss terms
def test_focal_loss_by_hand():
    logits, target = torch.tensor([0.0, 2.0, -1.0]), torch.tensor([1.0, 0.0, 0.0])
    p2, p3 = 1 / (1 + math.exp(-2)), 1 / (1 + math.exp(1))
    expected = [math.log(2) * 0.25, math.log(1 + math.exp(2)) * p2**2, math.log(1 + math.exp(-1)) * p3**2]
    assert torch.allclose(losses.sigmoid_focal_loss(logits, target, 2.0), torch.tensor(expected), atol=1e-6)
    balanced = losses.sigmoid_focal_loss(logits, target, 2.0, alpha=0.25)
    assert torch.allclose(balanced, torch.tensor(expected) * torch.tensor([0.25, 0.75, 0.75]), atol=1e-6)


def test_classification_loss_divides_by_valid_points_and_sums_rows():
    logits = torch.zeros(2, 1, 4)  # each element: ln2 / 4
    valid = torch.tensor([[True, True, False, False]])
    got = losses.classification_loss(logits, torch.tensor([[1.0, 0.0, 1.0, 1.0]]), valid, 2.0)
    assert got.item() == pytest.approx(2 * math.log(2) / 4, rel=1e-6)


def test_regression_loss_by_hand():
    coords = torch.tensor([[[[1.0, 2.0], [3.0, 4.0], [0.0, 0.0]]]])
    target = torch.tensor([[[1.0, 1.0], [1.0, 1.0], [9.0, 9.0]]])
    positive = torch.tensor([[True, True, False]])
    assert losses.regression_loss(coords, target, positive).item() == pytest.approx(6 / 4)


def test_saliency_loss_by_hand():
    video = torch.tensor([[[[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]]])  # cos with the query: 1, 0, -1
    query = torch.tensor([[[1.0, 0.0]]])
    scale = losses.nce_scale(0.07, 100.0)
    assert scale.item() == pytest.approx(1 / 0.07, rel=1e-6)
    s = 1 / 0.07
    valid = torch.ones(1, 3, dtype=torch.bool)
    binary = losses.saliency_loss(
        video, query, valid, torch.tensor([[0.0, 0.0, 1.0]]), torch.tensor([2]), scale
    )
    assert binary.item() == pytest.approx(math.log(math.exp(s) + 1 + math.exp(-s)) + s, rel=1e-5)  # ~ 2s
    # graded saliency: only tokens not more salient than the positive (0.5) enter: tokens 1 and 2
    graded = losses.saliency_loss(
        video, query, valid, torch.tensor([[0.9, 0.2, 0.5]]), torch.tensor([2]), scale
    )
    assert graded.item() == pytest.approx(math.log(1 + math.exp(-s)) + s, rel=1e-5)  # ~ s
    masked = losses.saliency_loss(video, query, torch.tensor([[False, True, True]]),
                                  torch.tensor([[0.0, 0.0, 1.0]]), torch.tensor([2]), scale)  # fmt: skip
    assert masked.item() == pytest.approx(math.log(1 + math.exp(-s)) + s, rel=1e-5)


def test_average_per_sample():
    per_query = torch.tensor([1.0, 3.0, 5.0])
    assert losses.average_per_sample(per_query, [0, 0, 1]).item() == pytest.approx(3.5)  # (2 + 5) / 2
    assert losses.average_per_sample(per_query, None).item() == pytest.approx(3.0)
    with pytest.raises(ValueError):
        losses.average_per_sample(per_query, [0, 1])


# --------------------------------------------------------------------------------------------- batches
def batch_inputs(lengths, seed=0, dtype=torch.float32):
    gen = random.Random(seed)
    frames = [torch.randn(t, 16, dtype=dtype) for t in lengths]
    targets = [grounding_targets([[0.2 * t, 0.6 * t]], float(t), t, gen) for t in lengths]
    return frames, targets


def call_loss(head, frames, queries, targets, group=None):
    out = head(frames, queries)
    return head.loss(
        out,
        [t.timestamps_norm for t in targets],
        [t.saliency for t in targets],
        [t.pos_clip for t in targets],
        group,
    )


def test_batched_loss_is_the_mean_of_per_sample_losses():
    head = random_head(dtype=torch.float64).train()
    head.set_drop_path(0.0)
    frames, targets = batch_inputs([3, 13, 8], dtype=torch.float64)
    queries = torch.randn(3, 16, dtype=torch.float64)
    with torch.no_grad():
        batch = call_loss(head, frames, queries, targets)
        alone = [call_loss(head, [f], queries[i : i + 1], [targets[i]]) for i, f in enumerate(frames)]
    for name, value in batch.items():
        assert value.item() == pytest.approx(sum(a[name].item() for a in alone) / 3, rel=1e-9), name


def test_queries_of_one_sample_are_averaged_before_samples():
    head = random_head(dtype=torch.float64).train()
    head.set_drop_path(0.0)
    frames, targets = batch_inputs([6, 6, 10], dtype=torch.float64)
    frames[1] = frames[0]  # two <|reg|> queries of sample 0, one of sample 1
    queries = torch.randn(3, 16, dtype=torch.float64)
    with torch.no_grad():
        grouped = call_loss(head, frames, queries, targets, group=[0, 0, 1])
        rows = [call_loss(head, [f], queries[i : i + 1], [targets[i]]) for i, f in enumerate(frames)]
    for name, value in grouped.items():
        expected = ((rows[0][name] + rows[1][name]) / 2 + rows[2][name]) / 2
        assert value.item() == pytest.approx(expected.item(), rel=1e-9), name


def test_losses_are_finite_with_finite_gradients():
    head = TimestampDecoder(64, CONFIG).train()
    frames, targets = batch_inputs([4, 12])
    frames = [torch.randn(f.shape[0], 64) for f in frames]
    got = call_loss(head, frames, torch.randn(2, 64), targets)
    total = sum(got.values())
    total.backward()
    assert all(torch.isfinite(v) and v > 0 for v in got.values())
    grads = [p.grad for p in head.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


def test_padding_points_can_be_regression_positives_as_in_the_official_code():
    # T = 3 padded to 8; span [2, 3] tokens ends at the video end: the level-0 point at position 3 lies in the
    # padding (masked for the class loss) but is a positive for the regression loss (reach 1, inside the centre)
    head = random_head().train()
    out = head(torch.randn(1, 3, 16), torch.randn(1, 16))
    cls_target, _ = head.targets(out, [[[2 / 3, 1.0]]])
    assert cls_target[0, :8].tolist() == [0, 0, 1, 1, 0, 0, 0, 0]
    assert out.valid_mask[0, :8].tolist() == [True] * 3 + [False] * 5


def test_spans_without_any_positive_point_are_rejected():
    head = random_head().train()
    out = head(torch.randn(1, 8, 16), torch.randn(1, 16))
    with pytest.raises(UserInputError, match="no positive point"):
        head.loss(
            out, [[[0.51, 0.52]]], [[0, 0, 0, 0, 1, 0, 0, 0]], [4]
        )  # 4.08..4.16 tokens: no point inside


def test_toy_overfit_drives_the_loss_down():
    head = random_head(seed=3).train()
    head.set_drop_path(0.0)
    lengths = [6, 10, 16]
    gen = random.Random(0)
    frames = [torch.randn(t, 16) for t in lengths]
    targets = [
        grounding_targets([[0.3 * t, 0.3 * t + 1]], float(t), t, gen) for t in lengths
    ]  # one token each
    queries = torch.randn(3, 16)
    optimiser = torch.optim.Adam(head.parameters(), lr=1e-3)
    history = []
    for _ in range(100):
        terms = call_loss(head, frames, queries, targets)
        total = sum(terms.values())
        optimiser.zero_grad()
        total.backward()
        optimiser.step()
        history.append({name: value.item() for name, value in terms.items()})
    first, last = sum(history[0].values()), sum(history[-1].values())
    assert last < first / 20  # measured: about 9.0 -> 0.07
    assert all(history[-1][name] < history[0][name] / 5 for name in history[0])
