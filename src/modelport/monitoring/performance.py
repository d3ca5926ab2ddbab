"""Live model quality from feedback, per version, judged against the registered baseline.

Classification (the model predicted class labels): accuracy, precision, recall, and AUC when
the positive-class score was logged. Regression (it predicted numbers): MAE and RMSE. A metric
is *degraded* when it is worse than the version's registered metric of the same name by more
than the margin (5% by default: ``auc`` 0.97 registered, live below 0.9215).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np
import orjson
import sqlalchemy as sa
from scipy.stats import rankdata
from sqlalchemy.engine import Engine

from modelport.registry import db
from modelport.registry.tables_monitoring import feedback as feedback_table

__all__ = ["LOWER_IS_BETTER", "VersionPerformance", "evaluate", "measure"]

Task = Literal["classification", "regression"]
LOWER_IS_BETTER = frozenset(("mae", "rmse", "mse", "log_loss", "logloss"))


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionPerformance:
    """One version's live metrics, its baseline, and which metrics fell behind."""

    model: str
    version: str
    task: Task | None
    labels: int
    metrics: Mapping[str, float] = field(default_factory=dict)
    baseline: Mapping[str, float] = field(default_factory=dict)
    degraded: tuple[str, ...] = ()
    enough: bool = False
    """Whether there were at least ``min_labels`` labels to judge by."""

    @property
    def verdict(self) -> str:
        if not self.enough:
            return "not enough feedback"
        if not set(self.metrics) & set(self.baseline):
            return "no baseline"
        return "DEGRADED" if self.degraded else "ok"

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "version": self.version, "task": self.task,
                "labels": self.labels, "metrics": dict(self.metrics),
                "baseline": dict(self.baseline), "degraded": list(self.degraded),
                "verdict": self.verdict}


def measure(labels: Sequence[Any], predictions: Sequence[Any], scores: Sequence[float | None]
            ) -> tuple[Task | None, dict[str, float]]:
    """The task and its metrics from paired labels, predictions and (optional) scores."""
    pairs = [(y, p, s) for y, p, s in zip(labels, predictions, scores, strict=True)
             if p is not None and y is not None]
    if not pairs:
        return None, {}
    if isinstance(pairs[0][1], float) and not isinstance(pairs[0][1], bool):
        y = np.array([float(a) for a, _, _ in pairs])
        p = np.array([float(b) for _, b, _ in pairs])
        err = p - y
        return "regression", {"mae": float(np.mean(np.abs(err))),
                              "rmse": float(np.sqrt(np.mean(err ** 2)))}
    y_l = [_cls(a) for a, _, _ in pairs]
    p_l = [_cls(b) for _, b, _ in pairs]
    out = {"accuracy": float(np.mean([a == b for a, b in zip(y_l, p_l, strict=True)]))}
    classes = sorted(set(y_l) | set(p_l), key=str)
    positive = "1" if set(classes) <= {"0", "1"} else None
    targets = [positive] if positive else classes
    precision, recall = [], []
    for c in targets:
        tp = sum(a == c and b == c for a, b in zip(y_l, p_l, strict=True))
        predicted = sum(b == c for b in p_l)
        actual = sum(a == c for a in y_l)
        precision.append(tp / predicted if predicted else 0.0)
        recall.append(tp / actual if actual else 0.0)
    out["precision"] = float(np.mean(precision))
    out["recall"] = float(np.mean(recall))
    scored = [(a, s) for a, (_, _, s) in zip(y_l, pairs, strict=True) if s is not None]
    if positive and scored:
        auc = _auc([a == positive for a, _ in scored], [float(s) for _, s in scored])
        if auc is not None:
            out["auc"] = auc
    return "classification", out


def _cls(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _auc(positive: Sequence[bool], scores: Sequence[float]) -> float | None:
    """Area under the ROC curve through the rank-sum (Mann-Whitney) identity."""
    pos = np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = rankdata(np.asarray(scores, dtype=np.float64))
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def judge(metrics: Mapping[str, float], baseline: Mapping[str, float], margin: float
          ) -> tuple[str, ...]:
    """Metrics worse than their baseline by more than ``margin`` (a share of the baseline)."""
    worse = []
    for name, live in metrics.items():
        base = baseline.get(name)
        if base is None or math.isnan(live):
            continue
        if name in LOWER_IS_BETTER:
            if live > base * (1 + margin):
                worse.append(name)
        elif live < base * (1 - margin):
            worse.append(name)
    return tuple(sorted(worse))


def evaluate(
    engine: Engine,
    model: str,
    baselines: Mapping[str, Mapping[str, float]],
    *,
    since: datetime | None = None,
    margin: float = 0.05,
    min_labels: int = 30,
) -> list[VersionPerformance]:
    """Per version with feedback: live metrics against ``baselines[version]``."""
    c = feedback_table.c
    query = sa.select(c.version, c.label, c.prediction, c.score).where(c.model == model)
    if since is not None:
        query = query.where(c.received_at >= since)
    with db.transaction(engine) as conn:
        rows = conn.execute(query.order_by(c.id)).tuples().all()
    by_version: dict[str, list[tuple[Any, Any, float | None]]] = {}
    for version, label, prediction, score in rows:
        by_version.setdefault(version, []).append((
            orjson.loads(label), None if prediction is None else orjson.loads(prediction), score,
        ))
    out = []
    for version in sorted(by_version, key=lambda v: (len(v), v)):
        triples = by_version[version]
        task, metrics = measure(*zip(*triples, strict=True))
        base = {k.lower(): float(v) for k, v in baselines.get(version, {}).items()}
        enough = len(triples) >= min_labels
        out.append(VersionPerformance(
            model=model, version=version, task=task, labels=len(triples), metrics=metrics,
            baseline={k: v for k, v in base.items() if k in metrics}, enough=enough,
            degraded=judge(metrics, base, margin) if enough else (),
        ))
    return out
