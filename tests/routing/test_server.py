"""Rollouts against a real ``modelport serve`` with two worker processes and real models: a
deployment reaches every worker within 5 seconds, the split holds over REST and gRPC, a good
canary is promoted, an erroring one rolled back with the stable serving throughout, and a
blue-green switch and its rollback under load fail no request."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import tritonclient.grpc as grpcclient
from scipy import stats

from modelport.config import RegistrySettings
from modelport.registry import Registry
from modelport.routing.records import Status
from modelport.routing.service import DeploymentService
from tests.serving.server_process import ServerProcess

from .models import body, deploy_yaml, register_python, register_xgboost, rows

CANARY = ("canary:\n  steps: [25, 50, 100]\n  interval: 1s\n  min_requests: 10\n"
          "  gates:\n    max_error_rate: 0.05\n    max_p99_latency_ms: 2000\n")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``fraud`` 1 and 2: XGBoost classifiers; 3: a Python model that raises."""
    path: Path = tmp_path_factory.mktemp("routing-home")
    with Registry.open(RegistrySettings(home=path)) as registry:
        register_xgboost(registry, path, "fraud", depth=2)
        register_xgboost(registry, path, "fraud", depth=3)
        register_python(registry, path, "fraud", "error")
    return path


@pytest.fixture(scope="module")
def server(home: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(home, ["--routing-poll-interval", "0.5", "--controller-tick", "0.5",
                                "--max-delay-ms", "1"], workers=2)
    try:
        proc.wait_ready()
        yield proc
    finally:
        assert proc.stop() == 0


@pytest.fixture(scope="module")
def service(home: Path) -> Iterator[DeploymentService]:
    with Registry.open(RegistrySettings(home=home)) as registry:
        yield DeploymentService(registry)


def wait_for(check: Callable[[], bool], timeout_s: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if check():
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout_s} s")


class Load:
    """Client threads calling an endpoint until stopped; every answer and failure is kept."""

    def __init__(self, url: str, endpoint: str, threads: int = 3) -> None:
        self.answers: list[tuple[float, str]] = []
        self.failures: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._url = f"{url}/v2/models/{endpoint}/infer"
        self._threads = [threading.Thread(target=self._run, args=(i,)) for i in range(threads)]

    def _run(self, seed: int) -> None:
        payload = body(4, seed)
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                try:
                    response = client.post(self._url, json=payload)
                except httpx.HTTPError as exc:
                    self.failures.append((time.monotonic(), repr(exc)))
                    continue
                if response.status_code != 200:
                    self.failures.append((time.monotonic(),
                                          f"{response.status_code} {response.text}"))
                else:
                    self.answers.append((time.monotonic(), response.headers["x-model-version"]))

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def versions_since(self, since: float) -> Counter[str]:
        return Counter(v for at, v in list(self.answers) if at >= since)


def test_a_deployment_reaches_every_worker_and_splits_traffic(
        server: ServerProcess, service: DeploymentService) -> None:
    record = service.apply(
        deploy_yaml(endpoint="split", strategy="ab", section=None,
                    extra="shadow: [fraud:3]\nshadow_share: 50\n"), actor="alice")

    def converged() -> bool:
        workers = service.status("split").workers
        return len(workers) == 2 and all(
            w.revision >= record.revision and {"fraud:1", "fraud:2"} <= set(w.loaded)
            for w in workers)

    assert wait_for(converged, 5.0, "both workers on the new routes") < 5.0
    seen: Counter[str] = Counter()
    rng = random.Random(4)
    url = f"{server.url}/v2/models/split/infer"
    with httpx.Client(timeout=10, headers={"connection": "close"}) as http:
        for i in range(400):  # a new connection each time: both workers answer
            response = http.post(url, json=body(1, i),
                                 headers={"x-ab-key": f"user-{rng.random()}"})
            assert response.status_code == 200, response.text
            assert response.headers["x-model-version"] == response.json()["model_version"]
            seen[response.headers["x-model-version"]] += 1
        assert stats.chisquare([seen["1"], seen["2"]], [200, 200]).pvalue > 0.001, seen
        sticky = {http.post(url, json=body(1, 0), headers={"x-ab-key": "alice"})
                  .headers["x-model-version"] for _ in range(10)}
    assert len(sticky) == 1

    client = grpcclient.InferenceServerClient(f"127.0.0.1:{server.grpc_port}")
    versions = set()
    for i in range(40):
        tensors = []
        for name, column in rows(1, i).items():
            tensor = grpcclient.InferInput(name, [1], "FP32")
            tensor.set_data_from_numpy(column)
            tensors.append(tensor)
        versions.add(client.infer("split", tensors).get_response().model_version)
    assert versions == {"1", "2"}  # gRPC callers are split too, and told who answered

    feedback = httpx.post(f"{server.url}/v2/models/split/feedback",
                          json=[{"id": "r-1", "conversion": True}], timeout=10)
    assert feedback.status_code == 200 and feedback.json()["accepted"] == 1
    bad = httpx.post(f"{server.url}/v2/models/split/feedback", json={"id": "r-1"}, timeout=10)
    assert bad.status_code == 400 and "feedback item 0" in bad.json()["error"]

    def shadow_seen() -> bool:
        shadow = service.status("split").shadows.get("fraud:3")
        return shadow is not None and shadow.failed > 50

    wait_for(shadow_seen, 5.0, "failed shadow requests counted")  # none reached a caller
    service.rollback("split", actor="alice")


def routed_everywhere(service: DeploymentService, endpoint: str) -> None:
    """Until both workers have applied the endpoint's newest deployment."""
    revision = service.get(endpoint).revision

    def applied() -> bool:
        workers = service.status(endpoint).workers
        return len(workers) == 2 and all(w.revision >= revision for w in workers)

    wait_for(applied, 5.0, f"both workers routing {endpoint}")


def test_good_canary_is_promoted_under_load(server: ServerProcess,
                                            service: DeploymentService) -> None:
    service.apply(deploy_yaml(endpoint="good", section=CANARY), actor="alice")
    routed_everywhere(service, "good")
    with Load(server.url, "good") as load:
        wait_for(lambda: service.get("good").status is Status.PROMOTED, 30, "promotion")
        promoted = time.monotonic()
        wait_for(lambda: load.versions_since(promoted + 1.5).total() > 20, 10, "traffic")
    assert load.failures == []
    assert set(load.versions_since(promoted + 1.5)) == {"2"}
    actions = [e.action for e in service.status("good").events]
    assert actions[0] == "apply" and actions[-1] == "promote"
    assert set(actions[1:-1]) <= {"wait", "advance"} and "advance" in actions


def test_erroring_canary_is_rolled_back_while_stable_serves(
        server: ServerProcess, service: DeploymentService) -> None:
    service.apply(deploy_yaml(endpoint="bad", candidate="fraud:3", section=CANARY),
                  actor="alice")
    routed_everywhere(service, "bad")
    with Load(server.url, "bad") as load:
        started = time.monotonic()
        wait_for(lambda: service.get("bad").status is Status.ROLLED_BACK, 30, "rollback")
        rolled = time.monotonic()
        time.sleep(2.0)  # every worker has picked up the rollback by now
        settled = time.monotonic()
        wait_for(lambda: load.versions_since(settled).total() > 20, 10, "traffic")
    record = service.get("bad")
    assert "max_error_rate" in (record.reason or "")
    assert set(load.versions_since(started)) == {"1"}  # every good answer: the stable's
    assert load.failures  # the candidate's own failures: what the gate saw
    assert all(at < rolled + 1.5 for at, _ in load.failures), load.failures[-1]
    assert len(load.failures) < len(load.answers) / 2


def test_blue_green_switch_and_rollback_fail_no_request(
        server: ServerProcess, service: DeploymentService) -> None:
    record = service.apply(deploy_yaml(endpoint="bg", strategy="blue-green",
                                       section="blue_green:\n  switch: manual\n"),
                           actor="alice")

    def green_ready() -> bool:
        workers = service.status("bg").workers
        return len(workers) == 2 and all(
            w.revision >= record.revision and "fraud:2" in w.loaded for w in workers)

    wait_for(green_ready, 10, "the green slot loaded on both workers")
    with Load(server.url, "bg", threads=4) as load:
        wait_for(lambda: len(load.answers) > 50, 10, "blue traffic")
        assert set(load.versions_since(0)) == {"1"}  # green is loaded but idle
        service.promote("bg", actor="alice")
        wait_for(lambda: service.get("bg").status is Status.PROMOTED, 15, "switch")
        switched = time.monotonic()
        wait_for(lambda: load.versions_since(switched + 2).total() > 50, 10, "green traffic")
        service.rollback("bg", actor="alice", reason="drill")
        back = time.monotonic()
        wait_for(lambda: load.versions_since(back + 2).total() > 50, 10, "blue traffic")
    assert set(load.versions_since(switched + 2) - load.versions_since(back)) == {"2"}
    assert set(load.versions_since(back + 2)) == {"1"}
    assert load.failures == []
    assert [e.action for e in service.status("bg").events] == [
        "apply", "promote", "switch", "rollback"]
