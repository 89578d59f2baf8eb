"""The timeline plot of ``--plot``: candidates, verifier scores and the chosen moment over the video's duration."""

from __future__ import annotations

from pathlib import Path

from videomind.errors import UserInputError
from videomind.records import AgentResult


def plot_timeline(result: AgentResult, path: str | Path) -> Path:
    """Draw the grounder's candidates (with confidences), the verifier's scores and the chosen moment."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise UserInputError("--plot needs matplotlib: pip install 'videomind[plot]'") from exc
    rows = result.candidates or result.moments
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.35 * max(len(rows), 1)))
    for i, m in enumerate(rows):
        label = f"{m.score:.2f}" if m.score is not None else ""
        ax.barh(i, m.length, left=m.start, height=0.6, color="#9bb7d4", edgecolor="#33557a")
        ax.text(m.end, i, f" {label}", va="center", fontsize=8)
    if result.verifier_scores is not None:
        for m in result.moments:
            i = next((k for k, c in enumerate(rows) if c.as_span() == m.as_span()), None)
            if i is not None:
                ax.text(m.start, i + 0.38, f"verifier {m.score:.3f}", fontsize=7, color="#7a3333")
    if result.moment is not None:
        ax.axvspan(result.moment.start, result.moment.end, color="#f2b134", alpha=0.35, label="chosen moment")
        ax.legend(loc="upper right", fontsize=8)
    ax.set_xlim(0, result.duration)
    ax.set_yticks(range(len(rows)), [f"#{i + 1}" for i in range(len(rows))])
    ax.invert_yaxis()
    ax.set_xlabel("seconds")
    ax.set_title(result.question[:90], fontsize=9)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
