"""Every registered source parses a native-format fixture into valid samples; split handling; the registry."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.data.builders_grounding import GROUNDING_BUILDERS
from tests.data.builders_qa import QA_BUILDERS
from videomind.data import get_source, list_sources
from videomind.data.registry import SOURCES, get_source_class
from videomind.errors import DataError, UserInputError
from videomind.records import Sample

# The synthetic source has its own tests (tests/data/test_synthetic.py).
OFFICIAL = [n for n in list_sources() if n != "synthetic"]
PAPER_DATASETS = [
    "qvhighlights",
    "didemo",
    "tacos",
    "queryd",
    "cosmo_cap",
    "internvid_vtime",
    "hirest_grounding",
    "hirest_step",
    "charades_sta",
    "activitynet_captions",
    "ego4d_nlq",
    "activitynet_rtl",
    "ego4d_naq",
    "ego_timeqa",
    "vid_morp",
    "videoxum",
    "youcook2",
    "cgbench",
    "rextime",
    "nextgqa",
    "qa_ego4d",
    "videomme",
    "mlvu",
    "lvbench",
    "mvbench",
    "longvideobench",
    "star",
    "nextqa",
    "mixed_planning",
    "custom",
] + [f"{b}_verify_{s}" for b in ("qvhighlights", "didemo", "tacos") for s in ("2b", "7b")]


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> dict[str, tuple[Path, dict[str, int]]]:
    """Each builder writes its family into its own root: ``{source: (root, {split: expected count})}``."""
    out = {}
    for builder in GROUNDING_BUILDERS + QA_BUILDERS:
        root = tmp_path_factory.mktemp(builder.__name__)
        for name, counts in builder(root).items():
            out[name] = (root, counts)
    return out


def load(built, name: str, split: str) -> list[Sample]:
    return get_source(name, built[name][0]).load(split)


def test_every_paper_dataset_is_registered():
    missing = [n for n in PAPER_DATASETS if n not in SOURCES]
    assert missing == []
    assert len(list_sources()) == len(set(list_sources()))


def test_every_source_has_a_fixture(built):
    assert sorted(built) == sorted(OFFICIAL)


@pytest.mark.parametrize("name", list_sources())
def test_registry_entry_resolves_to_its_class(name):
    cls = get_source_class(name)
    assert cls.name == name
    assert cls.task in ("grounding", "grounded_qa", "qa", "verifying", "planning")
    assert set(cls.roles) <= {"planner", "grounder", "verifier", "answerer"} and cls.roles
    assert cls.splits


def _check_sample(s: Sample, name: str, split: str, root: Path) -> None:
    assert isinstance(s, Sample) and s.source == name and s.split == split
    assert s.data_type in ("grounding", "multimodal")
    assert s.query or s.question
    if s.video is not None:
        assert (
            Path(s.video).is_absolute() or Path(s.video).is_relative_to(root) or s.video.startswith(str(root))
        )
    if s.duration is not None:
        assert math.isfinite(s.duration) and s.duration > 0
    for start, end in s.spans:
        assert 0 <= start <= end
        assert s.duration is None or end <= s.duration
    if s.answer is not None:
        assert s.options and s.options[ord(s.answer) - ord("A")] == s.answer_text
    json.dumps(s.to_dict())  # JSON-safe
    assert Sample.from_dict(json.loads(json.dumps(s.to_dict()))).id == s.id


@pytest.mark.parametrize("name", OFFICIAL)
def test_source_parses_its_fixture_into_valid_samples(built, name):
    root, counts = built[name]
    source = get_source(name, root)
    assert set(counts) == set(source.splits), "the fixture covers every split"
    for split, expected in counts.items():
        samples = source.load(split)
        assert len(samples) == expected, split
        ids = [s.id for s in samples]
        assert len(set(ids)) == len(ids)
        for s in samples:
            _check_sample(s, name, split, root)
        assert source.load(split) == samples, "loading is deterministic"


@pytest.mark.parametrize("name", OFFICIAL)
def test_unknown_split_names_the_available_ones(built, name):
    with pytest.raises(DataError, match="available"):
        get_source(name, built[name][0]).load("nonsense")


@pytest.mark.parametrize("name", [n for n in OFFICIAL if n != "custom"])
def test_missing_annotation_file_says_how_to_get_it(tmp_path, name):
    source = get_source(name, tmp_path)
    with pytest.raises(DataError, match=f"videomind data download {name}"):
        source.load(source.splits[0])


def test_custom_missing_file_points_to_the_schema(tmp_path):
    with pytest.raises(DataError, match="docs/DATA.md"):
        get_source("custom", tmp_path).load("train")


def test_val_is_an_alias_of_valid(built):
    assert load(built, "tacos", "val") == load(built, "tacos", "valid")
    assert load(built, "custom", "val") == load(built, "custom", "valid")


def test_ids_differ_across_splits_and_variants(built):
    ids = {s.id for split in ("train", "valid") for s in load(built, "rextime", split)}
    ids |= {s.id for s in load(built, "rextime_grounding", "train")}
    assert len(ids) == 2 + 1 + 2


def test_unknown_source_suggests_close_names():
    with pytest.raises(UserInputError, match="charades_sta"):
        get_source("charades", "data")


def test_get_source_default_root_is_data():
    assert get_source("tacos").root == Path("data")


def test_public_api_reexports():
    import videomind.data as data

    assert data.Sample is Sample and data.get_source is get_source and data.list_sources is list_sources
