"""VideoMind on every base family (issue 17), end to end with the same commands: each role trains a few steps with
``videomind train`` (loss falls), the roles combine into one checkpoint that reloads with every tensor equal,
``VideoMindAgent`` answers with moments inside the video, and ``videomind eval predict`` + ``score`` run on a
``videomind synth make`` set. Tiny random models, CPU, offline; about 20-40 s per base."""

import json
from pathlib import Path

import pytest
import torch

from tests.train.conftest import tiny_overrides
from videomind.cli.main import main
from videomind.data.collator import Collator
from videomind.model import load_model
from videomind.model.adapters import roles_of, use_role
from videomind.train.config import load_config
from videomind.train.run import build_dataset
from videomind.train.setup import prepare_model

BASES = ["qwen2_vl", "qwen2_5_vl", "qwen3_vl"]
ROLES = ["grounder", "verifier", "planner", "answerer"]
PRESETS = {"qwen2_vl": "pretrain_{}_2b", "qwen2_5_vl": "qwen2_5_vl_3b_{}", "qwen3_vl": "qwen3_vl_2b_{}"}
PRESET_DIR = Path(__file__).resolve().parents[2] / "configs" / "train"
# the realistic presets made into seconds-long CPU runs (their data, schedule and precision are overridden)
CPU_RUN = ["train.precision=fp32", "train.deepspeed=null", "train.gradient_checkpointing=false",
           "train.num_workers=0", "train.report_to=[none]"]  # fmt: skip


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    """Train and test splits made with the CLI, as a user would."""
    root = tmp_path_factory.mktemp("bases") / "synthetic"
    args = ["synth", "make", str(root), "--videos", "3", "--split", "train,test", "--preset", "easy",
            "--size", "56", "--duration", "8", "10", "--fps", "2", "--no-progress"]  # fmt: skip
    assert main(args) == 0
    return root


def _overrides(base: str, role: str, out: Path, root: Path) -> list[str]:
    return [*tiny_overrides(role, out, root, steps=6), f"model.tiny.base={base}", *CPU_RUN]


def _preset(base: str, role: str) -> str:
    """The base's realistic preset of the role (the answerer has none: any preset's role is overridden)."""
    return str(PRESET_DIR / (PRESETS[base].format(role if role != "answerer" else "planner") + ".yaml"))


@torch.no_grad()
def _loss(model, batch, role) -> float:
    model.eval()
    with use_role(model, role):
        return model(**batch)["loss"].item()


@pytest.mark.slow
@pytest.mark.parametrize("base", BASES)
def test_every_role_trains_combines_answers_and_evaluates(base, synth, tmp_path, capsys):
    runs = {}
    for role in ROLES:
        overrides = _overrides(base, role, tmp_path / role, synth)
        cfg = load_config(_preset(base, role), overrides)
        fresh = prepare_model(cfg.model)  # the same seeded tiny base the run starts from
        assert fresh.model.qwen_config.model_type == base
        data = build_dataset(cfg, fresh)
        batch = Collator(fresh.processor)([data[(0, 0)], data[(1, 0)]])
        before = _loss(fresh.model, batch, role)
        assert main(["train", _preset(base, role), *overrides]) == 0
        trained, _ = load_model(tmp_path / role, device="cpu", dtype=torch.float32)
        assert _loss(trained, batch, role) < before, role
        runs[role] = trained

    combined = tmp_path / "videomind"
    assert main(["train", "combine", str(combined), *(str(tmp_path / r) for r in ROLES)]) == 0
    config = json.loads((combined / "config.json").read_text())
    assert config["model_type"] == f"agent_{base}" and config["base_model"] == base
    model, _ = load_model(combined, device="cpu", dtype=torch.float32)
    assert roles_of(model) == ["planner", "grounder", "verifier", "answerer"]
    found = model.state_dict()
    for role, run in runs.items():
        for name, tensor in run.state_dict().items():
            if f".{role}." in name or (role == "grounder" and name.startswith("grounding_head.")):
                assert torch.equal(found[name], tensor), name

    from videomind import VideoMindAgent

    agent = VideoMindAgent.from_pretrained(combined, device="cpu", dtype="float32")
    item = json.loads((synth / "test_mcq.jsonl").read_text().splitlines()[0])
    result = agent.run(synth / item["video_path"], item["question"], item["options"])
    # a random tiny model rarely names an option letter: what is checked is that every role ran on this base
    assert {step.role.value for step in result.trace} >= {"grounder", "answerer"}
    assert isinstance(result.response, str) and result.moments
    assert all(0 <= m.start <= m.end <= result.duration for m in result.moments)
    assert result.duration == pytest.approx(item["duration"], abs=0.5)

    preds = tmp_path / "preds"
    args = ["eval", "predict", "synthetic", "--data-root", str(synth), "--model", str(combined), "--out",
            str(preds), "--limit", "3", "--device", "cpu", "--no-progress", "--max-new-tokens", "8"]  # fmt: skip
    assert main(args) == 0
    lines = [json.loads(line) for f in preds.glob("*.jsonl") for line in f.read_text().splitlines()]
    assert len({line["id"] for line in lines}) == 3
    capsys.readouterr()
    assert main(["eval", "score", str(preds), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)
