"""Monitoring sees the same rows whichever form the client sent: one ``[N, F]`` tensor or one
tensor per feature. A real server logs both to the same named columns, refuses the same
out-of-contract rows with the same message, and drift is read from matrix traffic."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from modelport.config import RegistrySettings
from modelport.monitoring.drift_check import check_drift
from modelport.monitoring.log_reader import read_log
from modelport.registry import Registry
from tests.serving.server_process import ServerProcess

from .models import FEATURES, register_fraud


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home: Path = tmp_path_factory.mktemp("matrix")
    with Registry.open(RegistrySettings(home=home)) as registry:
        register_fraud(registry, home / "model")
    return home


@pytest.fixture(scope="module")
def server(home: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(home, ["fraud@production", "--preload", "--contract-policy", "reject"],
                         workers=1)
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.stop()


def matrix_body(rows: np.ndarray, rid: str) -> dict[str, Any]:
    return {"id": rid, "inputs": [{"name": "input-0", "datatype": "FP32",
                                   "shape": list(rows.shape), "data": rows.ravel().tolist()}]}


def column_body(rows: np.ndarray, rid: str) -> dict[str, Any]:
    return {"id": rid, "inputs": [{"name": f, "datatype": "FP32", "shape": [len(rows)],
                                   "data": rows[:, j].tolist()} for j, f in enumerate(FEATURES)]}


def post(server: ServerProcess, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{server.url}/v2/models/fraud/infer", json=body, timeout=10)


def rows(rng: np.random.Generator, n: int, shift: float = 0.0) -> np.ndarray:
    return np.stack([rng.normal(shift, 1.0, n), rng.uniform(0, 24, n), rng.normal(0.0, 1.0, n)],
                    axis=1).astype(np.float32)


def test_both_forms_log_the_same_named_columns_and_answers(server: ServerProcess,
                                                           home: Path) -> None:
    sample = rows(np.random.default_rng(5), 6)
    answers = []
    for body in (matrix_body(sample, "m-1"), column_body(sample, "c-1"),
                 matrix_body(sample[:1], "m-2")):
        resp = post(server, body)
        assert resp.status_code == 200, resp.text
        answers.append(resp.json()["outputs"])
    assert answers[0] == answers[1]
    assert server.stop() == 0  # SIGTERM writes what is queued
    logged = read_log(str(home / "inference-log"), "fraud", request_ids={"m-1", "c-1", "m-2"})
    assert {f"in_{f}" for f in FEATURES} <= set(logged.columns)
    assert "in_input-0" not in logged.columns
    by_id = {rid: part.sort_values("row") for rid, part in logged.groupby("request_id")}
    for f, j in zip(FEATURES, range(len(FEATURES)), strict=True):
        np.testing.assert_array_equal(by_id["m-1"][f"in_{f}"].to_numpy(), sample[:, j])
        np.testing.assert_array_equal(by_id["c-1"][f"in_{f}"].to_numpy(), sample[:, j])
        np.testing.assert_array_equal(by_id["m-2"][f"in_{f}"].to_numpy(), sample[:1, j])
    np.testing.assert_array_equal(np.stack(by_id["m-1"]["out_predict_proba"].to_numpy()),
                                  np.stack(by_id["c-1"]["out_predict_proba"].to_numpy()))


@pytest.fixture(scope="module")
def second(home: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(home, ["fraud@production", "--preload", "--contract-policy", "reject"],
                         workers=1)
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.stop()


def test_the_contract_refuses_the_same_rows_in_both_forms(second: ServerProcess) -> None:
    sample = rows(np.random.default_rng(6), 3)
    sample[1, 0] = 1e6  # amount far above anything in the training data
    by_matrix = post(second, matrix_body(sample, "bad-m"))
    by_column = post(second, column_body(sample, "bad-c"))
    assert by_matrix.status_code == by_column.status_code == 422
    assert "amount=1e+06 is above the maximum" in by_matrix.json()["error"]
    assert "(row 1)" in by_matrix.json()["error"]
    assert by_matrix.json()["error"] == by_column.json()["error"]


def test_drift_is_read_from_matrix_traffic(second: ServerProcess, home: Path) -> None:
    rng = np.random.default_rng(8)
    for i in range(30):  # 300 rows, amount shifted, kept inside the contract's range
        batch = rows(rng, 10, shift=1.5)
        batch[:, 0] = np.clip(batch[:, 0], -3.0, 3.5)
        resp = post(second, matrix_body(batch, f"d-{i}"))
        assert resp.status_code == 200, resp.text
    assert second.stop() == 0
    with Registry.open(RegistrySettings(home=home)) as registry:
        report = check_drift(registry, str(home / "inference-log"), "fraud:1",
                             window=timedelta(minutes=30))
    verdicts = {f.feature: f.drifted for f in report.features if not f.prediction}
    assert verdicts["amount"] is True
    assert verdicts["hour"] is False and verdicts["velocity"] is False
    assert report.live_rows >= 300
