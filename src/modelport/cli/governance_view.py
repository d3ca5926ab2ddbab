"""The evaluation table of a model card (``modelport models show``)."""

from __future__ import annotations

from collections.abc import Sequence

from modelport.cli.output import console, print_table
from modelport.governance.store import EvaluationRecord

__all__ = ["card_markdown", "print_card_evaluations"]

_KEYS = ("auc", "accuracy", "precision", "recall", "mae", "rmse", "p99_ms")


def print_card_evaluations(evaluations: Sequence[EvaluationRecord]) -> None:
    if not evaluations:
        return
    keys = [k for k in _KEYS if any(k in e.document.get("metrics", {}) for e in evaluations)]
    console.rule("evaluations")
    print_table(["#", "date", "rows", *keys, "ok"], [
        [e.id, e.created_at.strftime("%Y-%m-%d"), e.document["data"]["rows"],
         *(e.document.get("metrics", {}).get(k) for k in keys),
         "yes" if e.passed else "NO"]
        for e in evaluations
    ])


def card_markdown(evaluations: Sequence[EvaluationRecord]) -> str:
    """The same table as Markdown, for a model card file."""
    keys = [k for k in _KEYS if any(k in e.document.get("metrics", {}) for e in evaluations)]
    lines = ["| # | when | data rows | " + " | ".join(keys) + " | passed |",
             "|---|---|---|" + "---|" * len(keys) + "---|"]
    for e in evaluations:
        values = [e.document.get("metrics", {}).get(k) for k in keys]
        cells = ["-" if v is None else f"{v:.4g}" for v in values]
        lines.append(f"| {e.id} | {e.created_at:%Y-%m-%d} | {e.document['data']['rows']} | "
                     + " | ".join(cells) + f" | {'yes' if e.passed else 'no'} |")
    return "\n".join(lines)
