"""Evaluation metrics: pure, vectorised functions over plain lists and arrays (values in percent).

``grounding`` (R@k, mIoU, IoP), ``qa`` (option parsing, Acc, Acc@IoU / Acc@GQA, CG-Bench), ``highlights``
(QVHighlights moment retrieval and highlight detection) and ``report`` (a whole benchmark, overall and per task).
"""

from videomind.metrics import grounding, highlights, qa, report
from videomind.metrics.grounding import grounding_metrics
from videomind.metrics.highlights import qvhighlights_metrics
from videomind.metrics.qa import parse_option_letter
from videomind.metrics.report import EvalItem, MetricSpec, Report, build_report, format_table

__all__ = [
    "EvalItem",
    "MetricSpec",
    "Report",
    "build_report",
    "format_table",
    "grounding",
    "grounding_metrics",
    "highlights",
    "parse_option_letter",
    "qa",
    "qvhighlights_metrics",
    "report",
]
