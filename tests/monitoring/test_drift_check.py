"""Drift of a registered version: logged live traffic against its reference data, inputs and
predictions, and the HTML report."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from modelport.errors import NotFound
from modelport.monitoring.config import DriftConfig, LogConfig
from modelport.monitoring.drift_check import check_drift
from modelport.monitoring.drift_html import render_html
from modelport.monitoring.inference_log import InferenceLog
from modelport.monitoring.log_table import log_record
from modelport.protocol.types import Tensor
from modelport.registry import Registry, VersionInfo
from modelport.registry.loader import load_version

from .models import FEATURES, register_fraud, table

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def log_traffic(registry: Registry, info: VersionInfo, root: Path, *, shift: float,
                rows: int = 600, seed: int = 3, at: datetime = NOW) -> None:
    """Score ``rows`` live rows with the real model and log them as 1-row requests."""
    frame = table(np.random.default_rng(seed), rows, shift=shift)
    runtime = load_version(registry, info)
    outputs = runtime.predict({f: frame[f].to_numpy() for f in FEATURES})
    log = InferenceLog(LogConfig(root=str(root)))
    for i in range(rows):
        inputs = [Tensor(name=f, datatype="FP32", data=frame[f].to_numpy()[i:i + 1])
                  for f in FEATURES]
        outs = [Tensor(name=k, datatype="FP32", data=v[i:i + 1]) for k, v in outputs.items()]
        log.submit(log_record(
            (at - timedelta(minutes=20)).timestamp() + i * 0.01, f"r{i}", "fraud", "fraud",
            str(info.version), "rest", 0.001, inputs, outs))
    log.close()


def test_shifted_traffic_drifts_in_amount_and_predictions(local_registry: Registry,
                                                          tmp_path: Path) -> None:
    info = register_fraud(local_registry, tmp_path / "m")
    log_traffic(local_registry, info, tmp_path / "log", shift=1.5)
    report = check_drift(local_registry, str(tmp_path / "log"), "fraud@production",
                         window=timedelta(hours=1), until=NOW)
    verdicts = {f.feature: f for f in report.features}
    assert report.drifted and report.live_rows == 600
    assert verdicts["amount"].drifted and not verdicts["hour"].drifted
    assert verdicts["predict_proba[1]"].prediction and verdicts["predict_proba[1]"].drifted
    assert "predict" in verdicts  # the class label, compared as categories
    page = render_html(report)
    assert page.startswith("<!doctype html>") and "DRIFT in" in page
    assert page.count("<svg") == len([f for f in report.features if f.bins])
    assert "http" not in re.sub(r"xmlns='http://www.w3.org/2000/svg'", "", page)  # offline


def test_same_distribution_does_not_drift(local_registry: Registry, tmp_path: Path) -> None:
    info = register_fraud(local_registry, tmp_path / "m")
    log_traffic(local_registry, info, tmp_path / "log", shift=0.0, seed=11)
    report = check_drift(local_registry, str(tmp_path / "log"), "fraud:1",
                         window=timedelta(hours=1), until=NOW, config=DriftConfig(alpha=0.01))
    assert not report.drifted, report.to_dict()
    assert "no drift" in render_html(report)


def test_an_empty_window_says_so(local_registry: Registry, tmp_path: Path) -> None:
    register_fraud(local_registry, tmp_path / "m")
    report = check_drift(local_registry, str(tmp_path / "log"), "fraud", window=timedelta(hours=1))
    assert not report.drifted and report.live_rows == 0
    assert "no logged traffic" in report.notes[0]
    assert all(f.verdict == "not tested" for f in report.features)


def test_a_version_without_reference_data_is_refused_plainly(local_registry: Registry,
                                                             tmp_path: Path) -> None:
    register_fraud(local_registry, tmp_path / "m", reference=False)
    with pytest.raises(NotFound, match=r"has no reference data.*--train-data"):
        check_drift(local_registry, str(tmp_path / "log"), "fraud", window=timedelta(hours=1))


def test_a_request_for_some_outputs_only_is_not_drift(local_registry: Registry,
                                                      tmp_path: Path) -> None:
    """Outputs a request did not ask for are absent from its log rows, not another type."""
    info = register_fraud(local_registry, tmp_path / "m")
    log_traffic(local_registry, info, tmp_path / "log", shift=0.0, seed=11)
    frame = table(np.random.default_rng(5), 10, shift=0.0)
    proba = load_version(local_registry, info).predict(
        {f: frame[f].to_numpy() for f in FEATURES})["predict_proba"]
    log = InferenceLog(LogConfig(root=str(tmp_path / "log")))
    log.submit(log_record(
        (NOW - timedelta(minutes=5)).timestamp(), "only-proba", "fraud", "fraud",
        str(info.version), "rest", 0.001,
        [Tensor(name=f, datatype="FP32", data=frame[f].to_numpy()) for f in FEATURES],
        [Tensor(name="predict_proba", datatype="FP32", data=proba)]))
    log.close()
    report = check_drift(local_registry, str(tmp_path / "log"), "fraud:1",
                         window=timedelta(hours=1), until=NOW, config=DriftConfig(alpha=0.01))
    verdicts = {f.feature: f for f in report.features}
    assert report.live_rows == 610
    assert verdicts["predict"].live_rows == 600  # the 10 rows that did not ask are absent
    assert not verdicts["predict"].drifted and verdicts["predict"].psi < 0.1, report.to_dict()
    assert not report.drifted, report.to_dict()
