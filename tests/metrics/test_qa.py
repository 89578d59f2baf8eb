"""QA metrics: option-letter parsing (robust and official), accuracies, CG-Bench set IoU."""

from __future__ import annotations

import numpy as np
import pytest

from videomind.metrics import qa

OPTIONS = ["the man sits down", "he runs away", "a dog barks", "dark red"]

ROBUST_TABLE = [
    ("B", "B"),
    ("(B)", "B"),
    ("B.", "B"),
    ("b", "B"),
    ("[C]", "C"),
    ("B) he runs away", "B"),  # the mcq style: "Best Option: (" was the prefill
    ("(C) a dog barks", "C"),
    ("D. dark red", "D"),
    ("Answer: B", "B"),
    ("answer: (c)", "C"),
    ("The best option is (C) a dog barks.", "C"),
    ("Best Option: (B) he runs away", "B"),
    ("Best Option: (C", "C"),  # the agent parses prefill + response
    ("Best Option: (a dog barks)", "C"),
    ("The correct answer is D.", "D"),
    ("I would say (A) because he sits", "A"),
    ("he runs away", "B"),  # the option text itself
    ("He runs away.", "B"),
    ("It is dark red", "D"),
    ("A man sits on the chair", "A"),  # a leading capital is read last
    ("E", None),  # only four options
    ("", None),
    ("I don't know", None),
    ("Either (A) or (B)", None),  # two different parenthesised letters and no option text
]


@pytest.mark.parametrize(("response", "letter"), ROBUST_TABLE)
def test_robust_parsing(response, letter):
    assert qa.parse_option_letter(response, OPTIONS) == letter


OFFICIAL_TABLE = [
    ("B", "B"),
    ("(B)", "B"),
    ("B) he runs away", "B"),  # "b)" -> "b"
    ("b.", "B"),
    ("Answer: B", "A"),  # first token "answer:" -> its first character "a" (the official rule's weakness)
    ("The best option is (C)", None),  # "the" -> "t", not a valid letter
    ("he runs away", None),  # "he" -> "h"
    ("E", None),
    ("", None),  # the official script would crash on an empty token
    (" B", None),  # leading space: the first token is empty
]


@pytest.mark.parametrize(("response", "letter"), OFFICIAL_TABLE)
def test_official_parsing(response, letter):
    assert qa.parse_option_letter(response, OPTIONS, mode="official") == letter


def test_number_of_options_only_disables_text_matching():
    assert qa.parse_option_letter("he runs away", 4) is None
    assert qa.parse_option_letter("(B)", 4) == "B"
    assert qa.parse_option_letter(None, 4) is None
    with pytest.raises(ValueError, match="parse mode"):
        qa.parse_option_letter("B", 4, mode="fuzzy")


def test_summarise_qa_hand_case():
    # four QA samples: correct = T T F T; top-1 IoU 0.6 0.2 0.9 0.5; top-1 IoP 0.4 0.8 1.0 0.5
    correct = np.array([True, True, False, True])
    iou, iop = np.array([0.6, 0.2, 0.9, 0.5]), np.array([0.4, 0.8, 1.0, 0.5])
    m = qa.summarise_qa(correct, iou, iop)
    assert m["Acc"] == 75.0  # 3/4
    assert m["Acc@IoU"] == 50.0  # samples 1 and 4 (0.6, 0.5 >= 0.5)
    assert m["Acc@GQA"] == 50.0  # samples 2 and 4 (0.8, 0.5 >= 0.5)
    assert qa.summarise_qa(correct) == {"Acc": 75.0}


def test_merged_length():
    spans = np.array([[[0, 10], [5, 15], [20, 25], [np.nan, np.nan]], [[3, 3], [8, 2], [1, 2], [1.5, 1.8]]])
    # row 1: [0,15] + [20,25] = 20; row 2: zero-length and reversed spans cover nothing, [1,2] covers 1
    np.testing.assert_allclose(qa.merged_length(spans), [20.0, 1.0])


def test_cgbench_union_correct_vs_official_on_overlapping_predictions():
    # predictions (0,10) conf .9 and (5,15) conf .8 (overlapping), clue interval (0,15); conf_thr .5 keeps both.
    # correct: P = [0,15], G = [0,15] -> IoU 1.
    # official: inter = 10 + 10 = 20, areas = 10 + 10 + 15 = 35 -> 20 / (35 - 20) = 4/3 (above 1!)
    preds, confs, gts = [[(0, 10), (5, 15)]], [[0.9, 0.8]], [[(0, 15)]]
    assert qa.cgbench_iou(preds, confs, gts, "correct", 0.5)[0] == pytest.approx(1.0)
    assert qa.cgbench_iou(preds, confs, gts, "official", 0.5)[0] == pytest.approx(4 / 3)
    # default conf_thr (-1): only the top-1 -> both rules give 10 / 15
    assert qa.cgbench_iou(preds, confs, gts, "correct")[0] == pytest.approx(2 / 3)
    assert qa.cgbench_iou(preds, confs, gts, "official")[0] == pytest.approx(2 / 3)


def test_cgbench_conf_threshold_and_several_clues():
    # preds (0,4) .9, (10,12) .3, (20,30) .7 ; clues (2,6) and (20,25); conf_thr .5 keeps #1 and #3
    # P = [0,4] u [20,30] (14 s), G = [2,6] u [20,25] (9 s), P n G = 2 + 5 = 7, P u G = 14 + 9 - 7 = 16
    preds, confs, gts = [[(0, 4), (10, 12), (20, 30)]], [[0.9, 0.3, 0.7]], [[(2, 6), (20, 25)]]
    assert qa.cgbench_iou(preds, confs, gts, "correct", 0.5)[0] == pytest.approx(7 / 16)
    # official without overlaps is the same: inter 2 + 5 = 7, areas 4 + 10 + 4 + 5 = 23 -> 7 / 16
    assert qa.cgbench_iou(preds, confs, gts, "official", 0.5)[0] == pytest.approx(7 / 16)
    with pytest.raises(ValueError, match="union"):
        qa.cgbench_iou(preds, confs, gts, "approximate")


def test_summarise_cgbench_hand_case():
    # IoUs .05 .25 .45 .6 ; correct F T T T
    iou = np.array([0.05, 0.25, 0.45, 0.6])
    correct = np.array([False, True, True, True])
    m = qa.summarise_cgbench(iou, correct)
    # R1@.1 .. @.5 = 75, 75, 50, 50, 25 -> rec.@IoU = 55
    assert [m[f"R1@{t}"] for t in ("0.1", "0.2", "0.3", "0.4", "0.5")] == [75, 75, 50, 50, 25]
    assert m["rec.@IoU"] == pytest.approx(55.0)
    assert m["mIoU"] == pytest.approx(33.75)  # (.05 + .25 + .45 + .6) / 4
    assert m["long-acc."] == 75.0
    # correct and IoU >= t: 75, 75, 50, 50, 25 (sample 1 is wrong but below .1 anyway) -> 55
    assert m["acc.@IoU"] == pytest.approx(55.0)
