"""Every dataset source by name: a plain dict of ``"module:Class"`` strings, imported only when asked for."""

from __future__ import annotations

import difflib
import importlib
from pathlib import Path

from videomind.data.base import DataSource
from videomind.errors import UserInputError

_S = "videomind.data.sources."

SOURCES: dict[str, str] = {
    # grounding
    "qvhighlights": _S + "qvhighlights:QVHighlights",
    "qvhighlights_single": _S + "qvhighlights:QVHighlightsSingle",
    "didemo": _S + "didemo:DiDeMo",
    "tacos": _S + "tacos:TACoS",
    "queryd": _S + "queryd:QuerYD",
    "cosmo_cap": _S + "cosmo_cap:CosMoCap",
    "internvid_vtime": _S + "internvid_vtime:InternVidVTime",
    "hirest_grounding": _S + "hirest:HiRESTGrounding",
    "hirest_step": _S + "hirest:HiRESTStep",
    "hirest_step_bias": _S + "hirest:HiRESTStepBias",
    "charades_sta": _S + "charades_sta:CharadesSTA",
    "activitynet_captions": _S + "activitynet_captions:ActivityNetCaptions",
    "activitynet_captions_bias": _S + "activitynet_captions:ActivityNetCaptionsBias",
    "activitynet_rtl": _S + "activitynet_rtl:ActivityNetRTL",
    "ego4d_nlq": _S + "ego4d_nlq:Ego4DNLQ",
    "ego4d_naq": _S + "ego4d_naq:Ego4DNaQ",
    "vid_morp": _S + "vid_morp:VidMorp",
    "videoxum": _S + "videoxum:VideoXum",
    "youcook2": _S + "youcook2:YouCook2",
    "youcook2_bias": _S + "youcook2:YouCook2Bias",
    # grounded question answering (and their crop / grounding variants)
    "cgbench": _S + "cgbench:CGBench",
    "rextime": _S + "rextime:ReXTime",
    "rextime_crop": _S + "rextime:ReXTimeCrop",
    "rextime_grounding": _S + "rextime:ReXTimeGrounding",
    "nextgqa": _S + "nextgqa:NExTGQA",
    "nextgqa_crop": _S + "nextgqa:NExTGQACrop",
    "nextgqa_grounding": _S + "nextgqa:NExTGQAGrounding",
    "qa_ego4d": _S + "qa_ego4d:QAEgo4D",
    "qa_ego4d_crop": _S + "qa_ego4d:QAEgo4DCrop",
    "qa_ego4d_grounding": _S + "qa_ego4d:QAEgo4DGrounding",
    "ego_timeqa": _S + "ego_timeqa:EgoTimeQA",
    "ego_timeqa_crop": _S + "ego_timeqa:EgoTimeQACrop",
    "ego_timeqa_grounding": _S + "ego_timeqa:EgoTimeQAGrounding",
    "star": _S + "star:STAR",
    # general question answering
    "videomme": _S + "videomme:VideoMME",
    "mlvu": _S + "mlvu:MLVU",
    "lvbench": _S + "lvbench:LVBench",
    "mvbench": _S + "mvbench:MVBench",
    "longvideobench": _S + "longvideobench:LongVideoBench",
    "nextqa": _S + "nextqa:NExTQA",
    # role sets
    "qvhighlights_verify_2b": _S + "verifying:QVHighlightsVerify2B",
    "didemo_verify_2b": _S + "verifying:DiDeMoVerify2B",
    "tacos_verify_2b": _S + "verifying:TACoSVerify2B",
    "qvhighlights_verify_7b": _S + "verifying:QVHighlightsVerify7B",
    "didemo_verify_7b": _S + "verifying:DiDeMoVerify7B",
    "tacos_verify_7b": _S + "verifying:TACoSVerify7B",
    "mixed_planning": _S + "planning:MixedPlanning",
    # users' own data and the synthetic world
    "custom": _S + "custom:CustomSource",
    "synthetic": _S + "synthetic:SyntheticSource",
}


def list_sources() -> list[str]:
    """Every registered source name, in registry order."""
    return list(SOURCES)


def get_source_class(name: str) -> type[DataSource]:
    """The source class registered under ``name`` (imported now)."""
    if name not in SOURCES:
        close = difflib.get_close_matches(name, SOURCES, n=3)
        hint = (
            f"; did you mean {', '.join(close)}?" if close else "; `videomind data list` shows every source"
        )
        raise UserInputError(f"unknown dataset {name!r}{hint}")
    module, _, cls = SOURCES[name].partition(":")
    return getattr(importlib.import_module(module), cls)


def get_source(name: str, root: str | Path = "data") -> DataSource:
    """A dataset source reading its files under a data root.

    Example: ``get_source("charades_sta", "data").load("test")`` -> ``list[Sample]``.

    Args:
        name: a registered source (``videomind data list`` / :func:`list_sources` show them all).
        root: the data root; each source reads ``root/<its folder>`` (docs/DATA.md gives every layout).

    Returns:
        The :class:`DataSource`; its ``load(split)`` parses the annotations into :class:`Sample` records.

    Raises:
        UserInputError: the name is unknown (the message suggests the closest names).
    """
    return get_source_class(name)(root)
