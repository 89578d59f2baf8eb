"""The benchmark table: entries, constants taken from the per-dataset table, budgets, sources and splits."""

from __future__ import annotations

import pytest

from videomind.data import get_source, list_sources
from videomind.errors import UserInputError
from videomind.eval.benchmarks import BENCHMARKS, dataset_constants, get_benchmark, list_benchmarks
from videomind.records import Role
from videomind.video.budget import GROUNDER_BUDGET, VERIFIER_BUDGET

PAPER = {
    "cgbench", "rextime", "nextgqa", "deve_qa", "charades_sta", "activitynet_captions", "qvhighlights", "tacos",
    "ego4d_nlq", "activitynet_rtl", "videomme", "mlvu", "lvbench", "mvbench", "longvideobench",
}  # fmt: skip


def test_fifteen_paper_benchmarks_plus_synthetic_and_custom():
    assert set(list_benchmarks()) == PAPER | {"synthetic", "custom"}
    assert len(PAPER) == 15


@pytest.mark.parametrize("name", sorted(BENCHMARKS))
def test_entry_is_consistent(name):
    b = get_benchmark(name)
    assert b.name == name
    assert b.unit == dataset_constants(b.source).unit
    assert b.answer_crop == dataset_constants(b.source).answer_crop
    assert b.budgets[Role.ANSWERER] == dataset_constants(b.source).answerer_budget
    assert b.budgets[Role.GROUNDER] == GROUNDER_BUDGET and b.budgets[Role.VERIFIER] == VERIFIER_BUDGET
    assert b.metrics.headline, "every benchmark prints the paper's columns"
    assert (Role.ANSWERER in b.roles) == (b.answer_style is not None)
    assert b.to_dict()["roles"] == [r.value for r in b.roles]


@pytest.mark.parametrize("name", sorted(BENCHMARKS))
def test_source_and_split_exist_in_the_data_registry(name):
    b = BENCHMARKS[name]
    if b.source not in list_sources():
        assert name == "deve_qa", f"{b.source} is not a registered data source"
        return
    assert b.split in get_source(b.source, root="data").splits


def test_values_from_the_constants_table():
    assert BENCHMARKS["rextime"].answer_crop.min_len == 64.0
    assert BENCHMARKS["videomme"].answer_crop.min_length(100.0) == pytest.approx(80.0)
    assert BENCHMARKS["qvhighlights"].unit == 2.0 and BENCHMARKS["charades_sta"].unit == 0.1
    assert BENCHMARKS["qvhighlights"].roles == (Role.GROUNDER,)  # grounder only, like the official script
    assert BENCHMARKS["cgbench"].metrics.iou_thresholds == (0.1, 0.2, 0.3, 0.4, 0.5)


def test_unknown_benchmark_names_the_known_ones():
    with pytest.raises(UserInputError, match="charades_sta"):
        get_benchmark("charades")


def test_docs_table_lists_every_benchmark_with_its_split():
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "EVALUATION.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(" `"): line for line in doc.splitlines() if line.startswith("| `")}
    for name, b in BENCHMARKS.items():
        assert name in rows, f"docs/EVALUATION.md has no row for {name}"
        assert f"`{b.source}` / `{b.split}`" in rows[name]
        assert f"| {b.metrics.family} |" in rows[name]


def test_agent_options_keep_the_models_answerer_budget_unless_the_dataset_overrides_it():
    """The official rule (REFERENCE.md s.6): Video-MME and MVBench set their own answerer budget; every other
    benchmark keeps the model's (a tiny model's small budget must survive), with the dataset's unit and crop."""
    from videomind.agent import AgentOptions
    from videomind.eval.predict import agent_options
    from videomind.video.budget import FrameBudget

    model_budget = FrameBudget.from_tokens(fps=2.0, max_frames=8, min_tokens=4, max_tokens=16)
    base = AgentOptions(answerer_budget=model_budget)
    rextime = agent_options(get_benchmark("rextime"), base)
    assert rextime.answerer_budget == model_budget
    assert (rextime.round_unit, rextime.answer_crop.min_len) == (1.0, 64.0)
    videomme = agent_options(get_benchmark("videomme"), base)
    assert videomme.answerer_budget == dataset_constants("videomme").answerer_budget != model_budget
    assert videomme.answer_crop.min_ratio == 0.8
    charades = agent_options(get_benchmark("charades_sta"), base)
    assert (charades.use_answerer, charades.use_verifier, charades.round_unit) == (False, True, 0.1)
