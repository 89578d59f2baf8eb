"""One agent shared by threads: each thread gets the result it would get alone; the model copies and pickles."""

import copy
import pickle
import threading

import pytest
import torch

from videomind.agent import AgentOptions, GenerationSettings, VideoMindAgent
from videomind.agent.backend import ModelBackend
from videomind.video.testing import make_test_video

ROUNDS = 3


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp("videos")
    return [
        make_test_video(root / "a.mp4", seconds=10.0, fps=4.0, size=(112, 112)),
        make_test_video(root / "b.mp4", seconds=6.0, fps=6.0, size=(84, 140), gop=5),
    ]


@pytest.fixture(scope="module")
def agent(tiny):
    model, processor = tiny
    options = AgentOptions(auto_planning=True, generation=GenerationSettings(max_new_tokens=8))
    return VideoMindAgent(ModelBackend(model, processor), options)


def _comparable(result) -> dict:
    """Everything a run returns except wall-clock times."""
    data = result.to_dict()
    for step in data["trace"]:
        step.pop("seconds")
    return data


def test_two_threads_on_one_agent_get_what_each_gets_alone(agent, videos):
    queries = [
        (videos[0], "What colour is the circle?", ["red", "green", "blue"], {"fast": True}),
        (videos[1], "When does the square move left?", None, {"fast": False, "use_answerer": False}),
    ]
    alone = [_comparable(agent.run(v, q, o, **kw)) for v, q, o, kw in queries]
    start = threading.Barrier(len(queries))
    results: list[list[dict]] = [[] for _ in queries]
    errors: list[BaseException] = []

    def work(i: int) -> None:
        video, question, options, overrides = queries[i]
        try:
            for _ in range(ROUNDS):
                start.wait(timeout=60)
                results[i].append(_comparable(agent.run(video, question, options, **overrides)))
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
            start.abort()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(queries))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not errors, errors
    for i, expected in enumerate(alone):
        assert len(results[i]) == ROUNDS
        assert all(r == expected for r in results[i]), f"query {i} changed when run beside another"


def test_a_query_run_between_two_roles_of_another_leaves_it_alone(agent, videos):
    """Thread B runs a whole query while thread A waits between its planner and its grounder (which reuses the
    planner's frames, streamed once): B's query must neither clear nor change A's state."""
    video, question, options = videos[0], "What colour is the circle?", ["red", "green", "blue"]
    alone = _comparable(agent.run(video, question, options, fast=True))
    other = _comparable(agent.run(videos[1], "Where is the square?", None, fast=False))
    seen: list[dict] = []

    def between_roles(step) -> None:
        if step.role.value == "planner":
            thread = threading.Thread(
                target=lambda: seen.append(
                    _comparable(agent.run(videos[1], "Where is the square?", None, fast=False))
                )
            )
            thread.start()
            thread.join(timeout=600)

    assert _comparable(agent.run(video, question, options, fast=True, on_step=between_roles)) == alone
    assert seen == [other]


def test_the_model_deep_copies_and_pickles_with_its_own_lock(tiny):
    model, _ = tiny
    ids = torch.tensor([[1, 2, 3, 4]])
    for clone in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        assert clone.lock is not model.lock
        assert clone.lock.acquire(blocking=False) and clone.lock.acquire(blocking=False)  # re-entrant
        clone.lock.release()
        clone.lock.release()
        emb, emb_clone = model.embed(ids), clone.embed(ids)
        assert torch.equal(emb, emb_clone)
