"""Fairness of a served binary classifier across the groups of one input column.

From the inference log (every logged row: who was selected) joined with feedback (the rows
with a true label: who was right), per group: selection rate, true and false positive rates
and precision, each with a 95% Wilson interval; across groups the standard gaps: demographic
parity difference (largest minus smallest selection rate) and ratio (smallest over largest,
the "four-fifths rule" reads it against 0.8), and the equalised-odds difference (the larger
of the TPR gap and the FPR gap). Groups with fewer rows than ``min_rows`` are reported with a
warning and left out of the gaps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import orjson
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from modelport.errors import InvalidInput, NotFound
from modelport.monitoring.log_reader import read_log
from modelport.monitoring.log_table import INPUT_PREFIX, OUTPUT_PREFIX
from modelport.registry import db
from modelport.registry import tables_monitoring as tm

__all__ = ["FairnessReport", "GroupStats", "fairness_report", "wilson"]

Z95 = 1.959964
MAX_GROUPS = 50


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion (None for no trials)."""
    if n == 0:
        return None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True, slots=True)
class Rate:
    value: float | None
    ci: tuple[float, float] | None
    n: int

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "ci95": list(self.ci) if self.ci else None, "n": self.n}


def _rate(hits: int, n: int) -> Rate:
    return Rate(hits / n if n else None, wilson(hits, n), n)


@dataclass(frozen=True, slots=True)
class GroupStats:
    group: str
    rows: int
    labelled: int
    selection_rate: Rate
    tpr: Rate
    fpr: Rate
    precision: Rate
    small: bool

    def to_dict(self) -> dict[str, Any]:
        return {"group": self.group, "rows": self.rows, "labelled": self.labelled,
                "selection_rate": self.selection_rate.to_dict(), "tpr": self.tpr.to_dict(),
                "fpr": self.fpr.to_dict(), "precision": self.precision.to_dict(),
                "small": self.small}


@dataclass(slots=True)
class FairnessReport:
    model: str
    column: str
    since: datetime | None
    threshold: float
    groups: list[GroupStats]
    gaps: dict[str, float | None] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "group_column": self.column,
                "since": self.since.isoformat() if self.since else None,
                "threshold": self.threshold, "groups": [g.to_dict() for g in self.groups],
                "gaps": self.gaps, "warnings": self.warnings}


def fairness_report(root: str, engine: Engine, model: str, column: str, *,
                    since: datetime | None = None, threshold: float = 0.5,
                    min_rows: int = 30) -> FairnessReport:
    logged = read_log(root, model, since=since)
    if logged.empty:
        raise NotFound(f"no inference log rows of model {model!r} under {root}"
                       + (f" since {since:%Y-%m-%d %H:%M}" if since else ""))
    group_col = INPUT_PREFIX + column
    if group_col not in logged.columns:
        inputs = sorted(c[len(INPUT_PREFIX):] for c in logged.columns
                        if c.startswith(INPUT_PREFIX))
        raise InvalidInput(f"--group {column!r} is not a logged input of {model}; logged "
                           f"inputs: {', '.join(inputs) or 'none (redacted?)'}")
    selected = _selected(logged, threshold)
    labels = _labels(engine, model, logged)
    groups_col = logged[group_col].astype(str).to_numpy()
    counts = pd.Series(groups_col).value_counts()
    report = FairnessReport(model, column, since, threshold, [])
    if len(counts) > MAX_GROUPS:
        report.warnings.append(f"{column} has {len(counts)} values; showing the "
                               f"{MAX_GROUPS} largest (is it a group column?)")
    for group in counts.index[:MAX_GROUPS]:
        mask = groups_col == group
        sel = selected[mask]
        lab = labels[mask]
        known = ~np.isnan(lab)
        y, s = lab[known].astype(int), sel[known]
        pos, neg = y == 1, y == 0
        stats = GroupStats(
            group=str(group), rows=int(mask.sum()), labelled=int(known.sum()),
            selection_rate=_rate(int(sel.sum()), int(mask.sum())),
            tpr=_rate(int((s & pos).sum()), int(pos.sum())),
            fpr=_rate(int((s & neg).sum()), int(neg.sum())),
            precision=_rate(int((s & pos).sum()), int(s.sum())),
            small=int(mask.sum()) < min_rows,
        )
        if stats.small:
            report.warnings.append(f"group {group!r} has only {stats.rows} rows (< {min_rows}): "
                                   "its rates are too uncertain and it is left out of the gaps")
        elif 0 < stats.labelled < min_rows:
            report.warnings.append(f"group {group!r} has only {stats.labelled} labelled rows: "
                                   "its TPR/FPR/precision are uncertain (see the intervals)")
        report.groups.append(stats)
    big = [g for g in report.groups if not g.small]
    report.gaps = _gaps(big)
    if len(big) < 2:
        report.warnings.append("fewer than two groups are large enough to compare")
    return report


def _gaps(groups: list[GroupStats]) -> dict[str, float | None]:
    def spread(values: list[float | None]) -> tuple[float | None, float | None]:
        known = [v for v in values if v is not None]
        if len(known) < 2:
            return None, None
        return max(known) - min(known), (min(known) / max(known) if max(known) > 0 else None)

    dp_diff, dp_ratio = spread([g.selection_rate.value for g in groups])
    tpr_gap, _ = spread([g.tpr.value for g in groups])
    fpr_gap, _ = spread([g.fpr.value for g in groups])
    eo = None if tpr_gap is None and fpr_gap is None else max(tpr_gap or 0.0, fpr_gap or 0.0)
    return {"demographic_parity_difference": dp_diff, "demographic_parity_ratio": dp_ratio,
            "tpr_difference": tpr_gap, "fpr_difference": fpr_gap,
            "equalized_odds_difference": eo}


def _selected(logged: pd.DataFrame, threshold: float) -> np.ndarray[Any, Any]:
    proba = OUTPUT_PREFIX + "predict_proba"
    if proba in logged.columns:
        scores = np.array([v[1] if v is not None and len(v) == 2 else np.nan
                           for v in logged[proba]], dtype=float)
        if not np.isnan(scores).all():
            chosen: np.ndarray[Any, Any] = np.nan_to_num(scores, nan=0.0) >= threshold
            return chosen
    predict = OUTPUT_PREFIX + "predict"
    if predict in logged.columns:
        values = pd.to_numeric(logged[predict], errors="coerce").to_numpy(dtype=float)
        if set(np.unique(values[~np.isnan(values)])) <= {0.0, 1.0}:
            labelled: np.ndarray[Any, Any] = np.nan_to_num(values, nan=0.0) >= 0.5
            return labelled
    raise InvalidInput("fairness needs a binary classifier: the log has no two-column "
                       "predict_proba and no 0/1 predict output")


def _labels(engine: Engine, model: str, logged: pd.DataFrame) -> np.ndarray[Any, Any]:
    """The true label of each logged row from feedback (NaN where there is none)."""
    c = tm.feedback.c
    ids = list(set(logged["request_id"]))
    found: dict[tuple[str, int], float] = {}
    with db.transaction(engine) as conn:
        for start in range(0, len(ids), 500):
            rows = conn.execute(sa.select(c.request_id, c.row, c.label).where(
                c.model == model, c.request_id.in_(ids[start:start + 500]))).all()
            for rid, row, label in rows:
                value = orjson.loads(label)
                if isinstance(value, bool | int | float) and value in (0, 1):
                    found[(rid, int(row))] = float(value)
    rows_col = logged["row"] if "row" in logged.columns else pd.Series(0, index=logged.index)
    return np.array([found.get((rid, int(row)), np.nan)
                     for rid, row in zip(logged["request_id"], rows_col, strict=True)])
