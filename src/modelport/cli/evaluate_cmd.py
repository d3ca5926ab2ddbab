"""``modelport evaluate REF --data FILE --label COL``: record an evaluation on a version.

Exits 0 when the evaluation passes the model's acceptance criteria (or there are none) and 3
when it fails, so CI can gate on the exit status.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from modelport.cli.common import JSON_OPTION, current_actor, open_registry
from modelport.cli.output import console, print_fields, print_json, print_table
from modelport.governance.evaluation import EvaluationRequest, run_evaluation
from modelport.governance.store import EvaluationRecord
from modelport.tabular_files import read_table

__all__ = ["FAILED", "evaluate", "print_evaluation"]

FAILED = 3
"""Exit status when the evaluation does not meet the acceptance criteria."""

_SHOWN = ("auc", "accuracy", "precision", "recall", "f1", "ece", "brier", "log_loss",
          "macro_f1", "mae", "rmse", "r2", "p50_ms", "p99_ms")


def evaluate(
    ref: str = typer.Argument(..., help="Version to evaluate: fraud:3, fraud@staging."),
    data: Path = typer.Option(..., "--data", help="Labelled table (CSV, Parquet, JSONL)."),
    label: str = typer.Option(..., "--label", help="Column holding the true label."),
    against: str | None = typer.Option(
        None, "--against", help="Compare with this version on the same data (fraud@production)."
    ),
    slice_by: list[str] = typer.Option(
        [], "--slice", help="Column to report metrics per value of (repeatable)."
    ),
    threshold: float = typer.Option(0.5, help="Score threshold for precision/recall (binary)."),
    latency_rows: int = typer.Option(200, help="Rows timed one at a time for p50/p99 latency."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Run a version on labelled data; record metrics, slices, latency and the criteria."""
    frame = read_table(data)
    request = EvaluationRequest(ref=ref, data=data, label=label, against=against,
                                slice_by=tuple(slice_by), threshold=threshold,
                                latency_rows=latency_rows)
    with open_registry() as registry, console.status(f"evaluating {ref} on {len(frame)} rows"):
        record = run_evaluation(registry, request, frame, actor=current_actor())
    if as_json:
        print_json(record.to_dict())
    else:
        print_evaluation(record)
    if not record.passed:
        raise typer.Exit(FAILED)


def print_evaluation(record: EvaluationRecord) -> None:
    doc = record.document
    print_fields([("evaluation", f"#{record.id}"), ("version", doc["ref"]),
                  ("data", f"{doc['data']['path']} ({doc['data']['rows']} rows, sha256 "
                           f"{str(doc['data']['sha256'])[:12]})"),
                  ("task", doc["task"]), ("passed", "yes" if record.passed else "NO")])
    comparison = doc.get("comparison", {})
    rows = []
    for key in _SHOWN:
        if key in doc["metrics"]:
            row: list[Any] = [key, doc["metrics"][key]]
            if comparison:
                entry = comparison.get(key, {})
                row += [entry.get("against"), entry.get("delta")]
            rows.append(row)
    columns = ["metric", "value"] + (["against " + doc["against"]["ref"], "delta"]
                                     if comparison else [])
    print_table(columns, rows, title="metrics")
    for column, slices in doc.get("slices", {}).items():
        keys = [k for k in ("rows", "auc", "accuracy", "precision", "recall", "mae", "rmse")
                if any(k in m for m in slices.values())]
        print_table([column, *keys], [[value, *(m.get(k) for k in keys)]
                                      for value, m in slices.items()],
                    title=f"slices by {column}")
    if doc.get("criteria"):
        print_table(["criterion", "actual", "threshold", "passed", "why not"],
                    [[c["criterion"], c["actual"], c["threshold"],
                      "yes" if c["passed"] else "NO", c["reason"]] for c in doc["criteria"]],
                    title="acceptance criteria")
