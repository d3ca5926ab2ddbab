"""Reading the log back by model, version, window and request id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from modelport.monitoring.config import LogConfig
from modelport.monitoring.inference_log import InferenceLog
from modelport.monitoring.log_reader import log_versions, read_log
from modelport.protocol.types import Tensor

from .logdata import record

NOW = datetime(2026, 5, 10, 12, tzinfo=UTC)


def fill(root: Path) -> None:
    log = InferenceLog(LogConfig(root=str(root)))
    log.submit(record("old", [1.0], ts=(NOW - timedelta(days=3)).timestamp()))
    log.submit(record("hour", [2.0, 3.0], ts=(NOW - timedelta(minutes=30)).timestamp()))
    log.submit(record("v2", [4.0], version="2", ts=(NOW - timedelta(minutes=5)).timestamp()))
    log.submit(record("x", [5.0], model="other", ts=NOW.timestamp() - 1))
    log.close()
    (root / "model=fraud" / "version=1" / "notes.txt").write_text("ignored")


def test_window_version_and_request_filters(tmp_path: Path) -> None:
    fill(tmp_path)
    root = str(tmp_path)
    assert log_versions(root, "fraud") == ["1", "2"]
    everything = read_log(root, "fraud")
    assert everything["request_id"].tolist() == ["old", "hour", "hour", "v2"]
    recent = read_log(root, "fraud", since=NOW - timedelta(hours=1), until=NOW)
    assert recent["request_id"].tolist() == ["hour", "hour", "v2"]
    assert recent["version"].tolist() == ["1", "1", "2"]
    only_v1 = read_log(root, "fraud", versions=["1"], since=NOW - timedelta(hours=1))
    assert only_v1["in_amount"].tolist() == [2.0, 3.0]
    picked = read_log(root, "fraud", request_ids={"v2", "old"}, columns=["out_predict"])
    assert set(picked.columns) == {"request_id", "row", "timestamp", "out_predict", "version"}
    assert sorted(picked["request_id"]) == ["old", "v2"]


def test_an_empty_or_missing_log_reads_as_empty(tmp_path: Path) -> None:
    assert read_log(str(tmp_path / "nothing"), "fraud").empty
    assert log_versions(str(tmp_path), "fraud") == []


def test_outputs_not_requested_are_absent_not_another_type(tmp_path: Path) -> None:
    log = InferenceLog(LogConfig(root=str(tmp_path)))
    log.submit(record("both", [1.0, 2.0], ts=NOW.timestamp() - 20))
    only_proba = [Tensor(name="predict_proba", datatype="FP32",
                         data=np.array([[0.5, 0.5]], dtype=np.float32))]
    log.submit(record("proba", [3.0], ts=NOW.timestamp() - 10, outputs=only_proba))
    log.close()
    frame = read_log(str(tmp_path), "fraud")
    by_request = dict(zip(frame["request_id"] + frame["row"].astype(str),
                          frame["out_predict"], strict=True))
    assert by_request == {"both0": 0, "both1": 1, "proba0": None}
    assert all(type(v) is int for k, v in by_request.items() if k.startswith("both"))
