"""Live metrics from stored feedback, per version, against the registered baseline."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import orjson
import pytest
import sqlalchemy as sa

from modelport.monitoring.performance import evaluate, judge, measure
from modelport.registry import Registry, db
from modelport.registry.tables_monitoring import feedback


def test_classification_metrics() -> None:
    labels = [1, 0, 1, 1, 0, 0]
    preds = [1, 0, 0, 1, 1, 0]
    scores = [0.9, 0.2, 0.4, 0.8, 0.6, 0.1]
    task, got = measure(labels, preds, scores)
    assert task == "classification"
    assert got["accuracy"] == pytest.approx(4 / 6)
    assert got["precision"] == pytest.approx(2 / 3) and got["recall"] == pytest.approx(2 / 3)
    assert got["auc"] == pytest.approx(8 / 9)  # 8 of 9 positive/negative pairs ranked right


def test_multiclass_text_labels_are_macro_averaged() -> None:
    task, got = measure(["a", "b", "c", "a"], ["a", "b", "b", "a"], [None] * 4)
    assert task == "classification" and "auc" not in got
    assert got["accuracy"] == 0.75
    assert got["recall"] == pytest.approx((1 + 1 + 0) / 3)


def test_regression_metrics() -> None:
    task, got = measure([1.0, 2.0, 4.0], [1.5, 2.0, 2.0], [None] * 3)
    assert task == "regression"
    assert got["mae"] == pytest.approx(2.5 / 3)
    assert got["rmse"] == pytest.approx(np.sqrt((0.25 + 4) / 3))


def test_judging_respects_direction_and_margin() -> None:
    base = {"auc": 0.97, "rmse": 1.0}
    assert judge({"auc": 0.93, "rmse": 1.04}, base, 0.05) == ()
    assert judge({"auc": 0.92, "rmse": 1.06}, base, 0.05) == ("auc", "rmse")
    assert judge({"accuracy": 0.1}, base, 0.05) == ()  # no baseline for it


def test_evaluate_per_version(registry: Registry) -> None:
    rows = []
    now = datetime.now(UTC)
    rng = np.random.default_rng(0)
    for version, right in (("1", 0.95), ("2", 0.6)):
        for i in range(40):
            label = int(rng.integers(0, 2))
            pred = label if rng.random() < right else 1 - label
            rows.append({"model": "fraud", "request_id": f"{version}-{i}", "row": 0,
                         "version": version, "label": orjson.dumps(label).decode(),
                         "prediction": orjson.dumps(pred).decode(),
                         "score": 0.8 if pred else 0.2, "served_at": now, "received_at": now})
    db.run_write(registry.engine, lambda conn: conn.execute(sa.insert(feedback), rows))
    results = evaluate(registry.engine, "fraud", {"1": {"accuracy": 0.9}, "2": {"ACCURACY": 0.9}},
                       min_labels=30)
    one, two = results
    assert (one.version, one.labels, one.verdict) == ("1", 40, "ok")
    assert two.verdict == "DEGRADED" and two.degraded == ("accuracy",)
    assert two.baseline == {"accuracy": 0.9}
    few = evaluate(registry.engine, "fraud", {}, min_labels=100)
    assert [r.verdict for r in few] == ["not enough feedback"] * 2
    assert evaluate(registry.engine, "nobody", {}) == []
