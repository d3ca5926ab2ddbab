"""Monitoring on a real two-worker ``modelport serve``: /metrics sums both workers, drift in
live traffic reaches a real webhook receiver, feedback degrades performance and triggers the
retraining webhook, and SIGTERM writes every logged request."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from modelport.config import RegistrySettings
from modelport.monitoring.log_reader import read_log
from modelport.registry import Registry
from tests.serving.server_process import ServerProcess

from .models import FEATURES, register_fraud
from .receiver import Receiver, receiver

SENT: list[str] = []


@pytest.fixture(scope="module")
def hooks() -> Iterator[tuple[Receiver, Receiver]]:
    with receiver() as alerts, receiver() as retrain:
        yield alerts, retrain


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home: Path = tmp_path_factory.mktemp("monitored")
    with Registry.open(RegistrySettings(home=home)) as registry:
        register_fraud(registry, home / "model", metrics={"accuracy": 0.99})
    return home


@pytest.fixture(scope="module")
def server(home: Path, hooks: tuple[Receiver, Receiver]) -> Iterator[ServerProcess]:
    alerts, retrain = hooks
    proc = ServerProcess(home, [
        "fraud@production", "--preload", "--drift-interval", "1s", "--webhook", alerts.url,
        "--retrain-webhook", retrain.url, "--redact", "velocity",
    ], workers=2)
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.stop()


def infer(url: str, amount: float, rng: np.random.Generator) -> dict[str, Any]:
    """One request on a fresh connection (so both workers get some)."""
    values = {"amount": amount, "hour": float(rng.uniform(0, 24)),
              "velocity": float(rng.normal())}
    body = {"inputs": [{"name": f, "datatype": "FP32", "shape": [1], "data": [values[f]]}
                       for f in FEATURES]}
    resp = httpx.post(f"{url}/v2/models/fraud/infer", json=body, timeout=10)
    assert resp.status_code == 200, resp.text
    doc: dict[str, Any] = resp.json()
    SENT.append(doc["id"])
    return doc


def scrape(url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    resp = httpx.get(f"{url}/metrics", timeout=10)
    assert resp.status_code == 200
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(resp.text):
        for s in family.samples:
            out.setdefault(s.name, []).append((s.labels, s.value))
    return out


def ok_requests(metrics: dict[str, list[tuple[dict[str, str], float]]]) -> float:
    return sum(v for labels, v in metrics.get("modelport_requests_total", [])
               if labels["status"] == "ok")


def wait_for(check: Callable[[], bool], timeout_s: float, what: str, server: ServerProcess
             ) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise AssertionError(f"{what} did not happen in {timeout_s} s:\n{server.log.read_text()}")


def test_metrics_are_the_sum_of_both_workers(server: ServerProcess) -> None:
    rng = np.random.default_rng(0)
    time.sleep(1.5)  # every worker flushed what it had
    before = ok_requests(scrape(server.url))
    for _ in range(40):
        infer(server.url, float(rng.normal()), rng)
    time.sleep(1.5)
    pids = sorted(server.worker_pids())
    seen = set()
    for _ in range(12):  # fresh connections: both workers answer some scrapes
        metrics = scrape(server.url)
        assert ok_requests(metrics) == before + 40
        workers = sorted(int(labels["pid"]) for labels, _ in
                         metrics["modelport_worker_start_time_seconds"])
        assert workers == pids
        seen.add(tuple(sorted((labels["le"], v) for labels, v in
                              metrics["modelport_request_duration_seconds_bucket"]
                              if labels["le"] == "+Inf")))
    assert len(seen) == 1  # every scrape, whichever worker answered, saw the same histogram
    assert any(v > 0 for _, v in metrics["modelport_batch_size_rows_count"])
    assert any(labels["outcome"] == "written" and v > 0
               for labels, v in metrics["modelport_inference_log_records_total"])


def test_drift_in_live_traffic_reaches_the_webhook(
    server: ServerProcess, hooks: tuple[Receiver, Receiver]
) -> None:
    alerts, _ = hooks
    rng = np.random.default_rng(1)
    for _ in range(150):
        infer(server.url, float(rng.normal(1.5, 1.0)), rng)
    wait_for(lambda: any(a["kind"] == "drift" for a in alerts.received), 60,
             "a drift alert", server)
    alert = next(a for a in alerts.received if a["kind"] == "drift")
    assert alert["model"] == "fraud" and alert["version"] == "1"
    assert alert["report"]["drifted_features"]  # the check may run before all traffic is in

    def amount_drifted() -> bool:
        p = [v for labels, v in scrape(server.url).get("modelport_drift_p_value", [])
             if labels["feature"] == "amount" and labels["test"] == "ks"]
        return bool(p) and p[0] < 0.05

    wait_for(amount_drifted, 30, "the amount p-value gauge falling below 0.05", server)
    drifted = [v for labels, v in scrape(server.url)["modelport_drift_detected"]
               if labels["model"] == "fraud"]
    assert drifted == [1.0]
    assert sum(a["kind"] == "drift" for a in alerts.received) == 1  # alerted once, not per check


def test_bad_feedback_triggers_retraining(
    server: ServerProcess, hooks: tuple[Receiver, Receiver]
) -> None:
    _, retrain = hooks
    rng = np.random.default_rng(2)
    answered = [infer(server.url, float(rng.normal()), rng) for _ in range(40)]
    time.sleep(1.5)  # the inference log is written about once a second
    wrong = [{"request_id": a["id"],
              "label": 1 - int(next(o for o in a["outputs"] if o["name"] == "predict")["data"][0])}
             for a in answered]
    resp = httpx.post(f"{server.url}/v2/models/fraud/feedback", json={"feedback": wrong},
                      timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.json()["accepted"] == 40
    again = httpx.post(f"{server.url}/v2/models/fraud/feedback", json=wrong[0], timeout=30)
    assert again.status_code == 409
    wait_for(lambda: bool(retrain.received), 60, "a retraining request", server)
    request = retrain.received[0]
    assert (request["kind"], request["model"], request["version"]) == ("retrain", "fraud", "1")
    assert request["performance"]["degraded"] == ["accuracy"]


def test_sigterm_writes_every_logged_request(server: ServerProcess, home: Path) -> None:
    rng = np.random.default_rng(3)
    for _ in range(5):
        infer(server.url, 0.0, rng)
    assert server.stop() == 0
    logged = read_log(str(home / "inference-log"), "fraud")
    assert set(SENT) <= set(logged["request_id"])
    assert "in_velocity" not in logged.columns  # --redact velocity
    assert {"in_amount", "in_hour", "out_predict_proba"} <= set(logged.columns)
