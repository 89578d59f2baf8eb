"""MVBench (``mvbench/json/<task>.json`` for 20 tasks, test only; videos ``mvbench/video/<prefix>/<video>``).

Each record: ``video``, ``question``, ``candidates``, ``answer`` (text). "Episodic Reasoning" points to folders of
jpg frames (``00001.jpg`` ...): ``Sample.video`` is the folder and ``extra["frames"]`` the 32 frames the official
loader samples (every ``n // 31``-th, starting at the first), listed when the folder is on disk.
"""

from __future__ import annotations

from pathlib import Path

from videomind.data.sources._common import OfficialSource, json_records
from videomind.data.sources._questions import answer_letter, mcq
from videomind.records import Sample

SAMPLED_FRAMES = 32
FRAME_TASK = "Episodic Reasoning"
# (task, json file, video folder under video/)
TASKS = (
    ("Episodic Reasoning", "episodic_reasoning.json", "tvqa/frames_fps3_hq"),
    ("Action Sequence", "action_sequence.json", "star/Charades_v1_480"),
    ("Action Prediction", "action_prediction.json", "star/Charades_v1_480"),
    ("Action Antonym", "action_antonym.json", "ssv2_video"),
    ("Fine-grained Action", "fine_grained_action.json", "Moments_in_Time_Raw/videos"),
    ("Unexpected Action", "unexpected_action.json", "FunQA_test/test"),
    ("Object Existence", "object_existence.json", "clevrer/video_validation"),
    ("Object Interaction", "object_interaction.json", "star/Charades_v1_480"),
    ("Object Shuffle", "object_shuffle.json", "perception/videos"),
    ("Moving Direction", "moving_direction.json", "clevrer/video_validation"),
    ("Action Localization", "action_localization.json", "sta/sta_video"),
    ("Scene Transition", "scene_transition.json", "scene_qa/video"),
    ("Action Count", "action_count.json", "perception/videos"),
    ("Moving Count", "moving_count.json", "clevrer/video_validation"),
    ("Moving Attribute", "moving_attribute.json", "clevrer/video_validation"),
    ("State Change", "state_change.json", "perception/videos"),
    ("Fine-grained Pose", "fine_grained_pose.json", "nturgbd"),
    ("Character Order", "character_order.json", "perception/videos"),
    ("Egocentric Navigation", "egocentric_navigation.json", "vlnqa"),
    ("Counterfactual Inference", "counterfactual_inference.json", "clevrer/video_validation"),
)


def sampled_frames(folder: Path, count: int = SAMPLED_FRAMES) -> list[str]:
    """The official frame sampling of a jpg folder: indices 1, 1 + step, ... with step = n // (count - 1)."""
    n = sum(1 for p in folder.glob("*.jpg")) if folder.is_dir() else 0
    if n == 0:
        return []
    step = max(1, n // (count - 1))  # the official code divides by zero-step for folders under 31 frames
    return [str(folder / f"{i:05d}.jpg") for i in range(1, n + 1, step)][:count]


class MVBench(OfficialSource):
    name = "mvbench"
    task = "qa"
    roles = ("grounder", "verifier", "answerer")
    splits = ("test",)
    files = {"test": f"json/{TASKS[0][1]}"}
    video_dir = "video"
    data_type = "multimodal"

    def _load(self, split: str) -> list[Sample]:
        out = []
        for task, json_name, prefix in TASKS:
            for i, rec in enumerate(json_records(self.file(f"json/{json_name}"))):
                video = self.video_root() / prefix / rec.text("video")
                options = rec.texts("candidates", numbers=True)
                with rec.field("answer"):
                    fields = mcq(rec.text("question"), options, answer_letter(options, str(rec["answer"])))
                extra = {"frames": sampled_frames(video)} if task == FRAME_TASK else {}
                out.append(
                    self.sample(
                        split, f"{json_name[:-5]}/{i}", video=str(video), task=(task,), extra=extra, **fields
                    )
                )
        return out
