"""The fairness report over a real inference log (as the server writes it) joined with
feedback stored through the feedback store, and the CLI's table, JSON and HTML."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from modelport.config import RegistrySettings
from modelport.errors import InvalidInput
from modelport.monitoring.fairness import fairness_report, wilson
from modelport.monitoring.feedback import FeedbackItem, FeedbackStore
from modelport.monitoring.inference_log import ParquetSink
from modelport.monitoring.log_table import Redaction, log_record, records_to_table
from modelport.protocol.types import Tensor
from modelport.registry import Registry

GROUPS = {"north": (200, 0.6), "south": (200, 0.3), "tiny": (5, 0.5)}


def _write(root: Path, registry: Registry) -> dict[str, dict[str, float]]:
    """One single-row request per row; returns the true rates per group."""
    rng = np.random.default_rng(3)
    records, items, truth = [], [], {}
    now = time.time()
    for group, (n, rate) in GROUPS.items():
        score = np.clip(rng.uniform(0, 1, n) + rate - 0.5, 0, 1)  # P(score >= 0.5) = rate
        selected = score >= 0.5
        label = (rng.uniform(0, 1, n) < np.where(selected, 0.8, 0.2)).astype(int)
        truth[group] = {
            "selection": selected.mean(),
            "tpr": (selected & (label == 1)).sum() / max(1, (label == 1).sum()),
            "fpr": (selected & (label == 0)).sum() / max(1, (label == 0).sum()),
        }
        for i in range(n):
            rid = f"{group}-{i}"
            proba = np.array([[1 - score[i], score[i]]])
            records.append(log_record(
                now, rid, "fraud", "fraud", "1", "rest", 0.001,
                [Tensor(name="region", datatype="BYTES",
                        data=np.array([group.encode()], dtype=object)),
                 Tensor(name="amount", datatype="FP32", data=np.array([1.0], np.float32))],
                [Tensor(name="predict", datatype="INT64",
                        data=np.array([int(score[i] >= 0.5)], np.int64)),
                 Tensor(name="predict_proba", datatype="FP64", data=proba)]))
            items.append(FeedbackItem(rid, int(label[i])))
    day = time.strftime("%Y-%m-%d", time.gmtime(now))
    ParquetSink(str(root)).write("fraud", "1", day, records_to_table(records, Redaction()))
    FeedbackStore(registry.engine, str(root)).submit("fraud", items)
    return truth


def test_rates_gaps_intervals_and_warnings(tmp_path: Path) -> None:
    root = tmp_path / "log"
    with Registry.open(RegistrySettings(home=tmp_path / "home")) as registry:
        truth = _write(root, registry)
        report = fairness_report(str(root), registry.engine, "fraud", "region")
        with pytest.raises(InvalidInput, match="--group 'country' is not a logged input"):
            fairness_report(str(root), registry.engine, "fraud", "country")
    by = {g.group: g for g in report.groups}
    for group in ("north", "south"):
        g = by[group]
        assert g.rows == 200 and g.labelled == 200 and not g.small
        assert g.selection_rate.value == pytest.approx(truth[group]["selection"])
        assert g.tpr.value == pytest.approx(truth[group]["tpr"])
        assert g.fpr.value == pytest.approx(truth[group]["fpr"])
        low, high = g.selection_rate.ci  # type: ignore[misc]
        assert low < truth[group]["selection"] < high
    assert by["tiny"].small and any("'tiny' has only 5 rows" in w for w in report.warnings)
    gaps = report.gaps
    sel = [truth["north"]["selection"], truth["south"]["selection"]]
    assert gaps["demographic_parity_difference"] == pytest.approx(max(sel) - min(sel))
    assert gaps["demographic_parity_ratio"] == pytest.approx(min(sel) / max(sel))
    odds = max(abs(truth["north"]["tpr"] - truth["south"]["tpr"]),
               abs(truth["north"]["fpr"] - truth["south"]["fpr"]))
    assert gaps["equalized_odds_difference"] == pytest.approx(odds)


def test_wilson_interval_matches_the_formula() -> None:
    low, high = wilson(8, 10)  # type: ignore[misc]
    assert low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)
    assert wilson(0, 0) is None


def test_fairness_cli_json_and_html(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    from modelport.cli.main import main

    home = tmp_path / "home"
    monkeypatch.setenv("MODELPORT_HOME", str(home))
    monkeypatch.delenv("MODELPORT_DATABASE_URL", raising=False)
    root = home / "inference-log"
    with Registry.open(RegistrySettings(home=home)) as registry:
        _write(root, registry)
    page = tmp_path / "fairness.html"
    assert main(["monitor", "fairness", "fraud", "--group", "region", "--since", "7d",
                 "--html", str(page), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {g["group"] for g in doc["groups"]} == set(GROUPS)
    assert doc["gaps"]["demographic_parity_ratio"] < 1
    assert "<table>" in page.read_text() and "north" in page.read_text()
    assert main(["monitor", "fairness", "fraud", "--group", "region"]) == 0
    out = capsys.readouterr().out
    assert "demographic_parity_difference" in out and "selection" in out
    assert main(["monitor", "fairness", "fraud", "--group", "nope"]) == 1
    assert "--group 'nope'" in capsys.readouterr().err
