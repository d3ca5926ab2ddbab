"""A pipeline rolls out like a model: a rule change that sends too many transactions to review
is rolled back by the canary's class-rate gate while the stable version keeps answering."""

from __future__ import annotations

import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from modelport.config import RegistrySettings
from modelport.pipelines import register_pipeline
from modelport.registry import Registry
from modelport.routing.records import Status
from modelport.routing.service import DeploymentService

from ..serving.server_process import ServerProcess
from .registry_setup import PIPELINE

STRICTER = PIPELINE.replace("> 0.5", "> 0.02")  # nearly everything goes to review
DEPLOY = """\
endpoint: decisions
strategy: canary
stable: fraud-decision:1
candidate: fraud-decision:2
canary:
  steps: [50, 100]
  interval: 1s
  min_requests: 10
  compare_output: decide.decision
  gates:
    max_error_rate: 0.05
    max_class_rate: {review: 0.6}
"""


@pytest.fixture(scope="module")
def canary_home(built_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home: Path = tmp_path_factory.mktemp("canary") / "home"
    shutil.copytree(built_home, home)
    with Registry.open(RegistrySettings(home=home)) as registry:
        register_pipeline(registry, "fraud-decision", PIPELINE, registered_by="t")
        register_pipeline(registry, "fraud-decision", STRICTER, registered_by="t",
                          parent_version=1)
    return home


@pytest.fixture(scope="module")
def server(canary_home: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(canary_home, ["--routing-poll-interval", "0.5", "--controller-tick",
                                       "0.5", "--max-delay-ms", "1"], workers=1)
    try:
        proc.wait_ready()
        yield proc
    finally:
        assert proc.stop() == 0


def test_a_rule_change_that_raises_the_review_rate_is_rolled_back(
        server: ServerProcess, canary_home: Path) -> None:
    rows = np.random.default_rng(3).normal(size=(200, 5)).astype(np.float32)
    answers: list[tuple[str, str]] = []
    failures: list[str] = []
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(timeout=30) as client:
            i = 0
            while not stop.is_set():
                row = rows[i % len(rows)]
                i += 1
                reply = client.post(f"{server.url}/v2/models/decisions/infer", json={
                    "inputs": [{"name": "input-0", "datatype": "FP32", "shape": [1, 5],
                                "data": row.tolist()}]})
                if reply.status_code != 200:
                    failures.append(f"{reply.status_code} {reply.text}")
                    continue
                out = {o["name"]: o["data"] for o in reply.json()["outputs"]}
                answers.append((reply.json()["model_version"], out["decide.decision"][0]))

    with Registry.open(RegistrySettings(home=canary_home)) as registry:
        service = DeploymentService(registry)
        revision = service.apply(DEPLOY, actor="alice").revision
        deadline = time.monotonic() + 10
        while not any(w.revision >= revision for w in service.status("decisions").workers):
            assert time.monotonic() < deadline, "the worker never routed the deployment"
            time.sleep(0.1)
        thread = threading.Thread(target=load)
        thread.start()
        try:
            deadline = time.monotonic() + 40
            while service.get("decisions").status is not Status.ROLLED_BACK:
                assert time.monotonic() < deadline, service.status("decisions").events
                time.sleep(0.2)
        finally:
            stop.set()
            thread.join()
        record = service.get("decisions")
    assert "max_class_rate[review]" in (record.reason or ""), record.reason
    assert failures == []
    by_version = Counter(v for v, _ in answers)
    assert by_version["1"] > 0 and by_version["2"] > 0  # the candidate did take traffic
    review = {v: sum(d == "review" for w, d in answers if w == v) / by_version[v]
              for v in ("1", "2")}
    assert review["2"] > 0.6 > review["1"]
