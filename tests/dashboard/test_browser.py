"""The console in Chromium against a real two-worker ``modelport serve``: log in, open a model,
move an alias and find its audit row, watch a canary step while traffic runs, pause and
promote it with confirmation, see the traffic charts and a drift verdict after shifted
traffic, a viewer without the promote button or its API, and hostile text that stays text.

The tests run in file order and share one server: each carries the story one step on.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from playwright.sync_api import expect

from modelport.config import RegistrySettings
from modelport.registry import Registry
from modelport.registry.intake import Registration, register_artifact
from modelport.routing.records import Status
from modelport.routing.service import DeploymentService
from modelport.security.audit import list_audit
from modelport.security.keys import KeyStore
from tests.monitoring.models import FEATURES, register_fraud
from tests.serving.server_process import ServerProcess

from .browser import VIEWPORT, chromium, screenshot_dir
from .conftest import HOSTILE, HOSTILE_CARD

ROLES = ("viewer", "predictor", "deployer", "admin")
CANARY = """endpoint: fraud
strategy: canary
stable: fraud:1
candidate: fraud:2
canary:
  steps: [10, 30, 50, 70, 100]
  interval: 3s
  min_requests: 3
  gates:
    max_error_rate: 0.5
    max_p99_latency_ms: 5000
"""


@dataclass
class Stage:
    """The server, its keys, and what every browser page reported."""

    home: Path
    server: ServerProcess
    tokens: dict[str, str]
    ids: dict[str, str]
    shots: Path
    console: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    home: Path = tmp_path_factory.mktemp("console-home")
    with Registry.open(RegistrySettings(home=home)) as registry:
        first = register_fraud(registry, home / "v1", metrics={"accuracy": 0.97})
        register_fraud(registry, home / "v2", alias="candidate", metrics={"accuracy": 0.98})
        registry.set_alias("fraud", "production", 1, actor="test")
        register_artifact(registry, Registration(
            name="hostile", artifact=registry.fetch_artifact(first), registered_by=HOSTILE,
            flavor="xgboost", card=HOSTILE_CARD, description=HOSTILE,
            tags={"owner": '"><svg onload=alert(7)>'}))
        store = KeyStore(registry.engine)
        made = {role: store.create(name=f"{role}-person", role=role, actor="test")
                for role in ROLES}
    server = ServerProcess(home, ["fraud", "hostile", "--routing-poll-interval", "0.5",
                                  "--controller-tick", "0.5", "--max-delay-ms", "1",
                                  "--drift-interval", "0"], workers=2)
    try:
        server.wait_ready()
        yield Stage(home, server, {r: k.token for r, k in made.items()},
                    {r: f"key:{k.record.key_id}" for r, k in made.items()},
                    screenshot_dir(tmp_path_factory.mktemp("shots")))
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as found:
        yield found


def open_as(browser: Any, stage: Stage, role: str) -> Any:
    """A logged-in page of its own browser context (cookies are per context)."""
    context = browser.new_context(viewport=VIEWPORT, base_url=stage.server.url)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.on("console", lambda m: stage.console.append(f"{m.type}: {m.text} ({m.location})"))
    page.on("dialog", lambda d: (stage.dialogs.append(d.message), d.dismiss()))
    page.goto("/ui/models")
    assert "/ui/login" in page.url
    page.fill("#token", stage.tokens[role])
    page.click("#login")
    page.wait_for_url("**/ui/models")
    assert page.inner_text("#whoami").endswith(role)
    return page


@pytest.fixture(scope="module")
def admin(browser: Any, stage: Stage) -> Any:
    return open_as(browser, stage, "admin")


@pytest.fixture(scope="module")
def deployer(browser: Any, stage: Stage) -> Any:
    return open_as(browser, stage, "deployer")


@pytest.fixture(scope="module")
def viewer(browser: Any, stage: Stage) -> Any:
    return open_as(browser, stage, "viewer")


def body(amount: float, rng: np.random.Generator) -> dict[str, Any]:
    values = {"amount": amount, "hour": float(rng.uniform(0, 24)),
              "velocity": float(rng.normal())}
    return {"inputs": [{"name": f, "datatype": "FP32", "shape": [1], "data": [values[f]]}
                       for f in FEATURES]}


class Traffic:
    """Requests to ``fraud`` from a thread until stopped; ``shift`` moves ``amount``."""

    def __init__(self, stage: Stage, *, shift: float = 0.0, limit: int | None = None) -> None:
        self.url = f"{stage.server.url}/v2/models/fraud/infer"
        self.headers = {"x-api-key": stage.tokens["predictor"]}
        self.shift, self.limit = shift, limit
        self.sent = self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        rng = np.random.default_rng(7)
        with httpx.Client(timeout=10) as client:
            while not self._stop.is_set() and (self.limit is None or self.sent < self.limit):
                answer = client.post(self.url, json=body(float(rng.normal(self.shift)), rng),
                                     headers=self.headers)
                self.sent += 1
                self.failed += answer.status_code != 200
                time.sleep(0.01)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def wait(self, timeout_s: float) -> None:
        self._thread.join(timeout_s)


@pytest.fixture(scope="module")
def traffic(stage: Stage) -> Iterator[Traffic]:
    running = Traffic(stage)
    try:
        yield running
    finally:
        running.stop()


def test_log_in_and_open_a_model(admin: Any, stage: Stage) -> None:
    admin.goto("/ui/models")
    assert admin.locator("#models tbody tr").count() == 2
    admin.fill("#q", "fra")
    admin.press("#q", "Enter")
    admin.wait_for_url("**/ui/models?q=fra")
    assert admin.locator("#models tbody tr").count() == 1
    admin.screenshot(path=stage.shots / "models.png")
    admin.click("text=fraud")
    admin.wait_for_url("**/ui/models/fraud")
    assert admin.inner_text("#model-name") == "fraud"
    assert admin.locator("#versions tbody tr").count() == 2
    assert "amount" in admin.inner_text("#signature")
    assert "reference data" in admin.inner_text("#lineage")


def test_move_an_alias_and_see_the_audit_row(admin: Any, stage: Stage) -> None:
    admin.goto("/ui/models/fraud")
    admin.fill("#alias", "production")
    admin.select_option("#alias-version", "2")
    admin.click("#move-alias")
    admin.wait_for_url("**/ui/models/fraud?version=2")
    row = admin.locator("#versions tbody tr.chosen")
    assert "production" in row.inner_text()
    admin.screenshot(path=stage.shots / "model.png", full_page=False)
    admin.goto("/ui/audit")
    admin.fill("#filter-action", "alias.")
    admin.click("#filter")
    admin.wait_for_url("**/ui/audit?**")
    first = admin.locator("#audit tbody tr").first.inner_text()
    assert "alias.move" in first and "fraud@production" in first
    assert stage.ids["admin"] in first and "to=2" in first
    assert admin.inner_text("#chain").startswith("Chain intact")
    admin.screenshot(path=stage.shots / "audit.png")
    with Registry.open(RegistrySettings(home=stage.home)) as registry:
        assert registry.resolve("fraud@production").version == 2
        registry.set_alias("fraud", "production", 1, actor="test")  # as it was


def test_watch_a_canary_step_change_while_traffic_runs(
    deployer: Any, stage: Stage, traffic: Traffic
) -> None:
    with Registry.open(RegistrySettings(home=stage.home)) as registry:
        DeploymentService(registry).apply(CANARY, actor="release-bot")  # what deploy apply does
    deployer.goto("/ui/deployments/fraud")
    assert "step 1 of 5" in deployer.inner_text("#step")
    loaded = deployer.evaluate("performance.timeOrigin")
    # No reload: the page's script fetches it again every 2 s and swaps the marked part in.
    expect(deployer.locator("#step")).to_contain_text("step 2 of 5", timeout=40_000)
    assert deployer.evaluate("performance.timeOrigin") == loaded
    assert deployer.locator("#gates tbody tr").count() >= 1
    assert traffic.sent > 0 and traffic.failed == 0
    deployer.click("#action-pause")
    deployer.wait_for_url("**/ui/deployments/fraud/pause")
    deployer.click("#confirm")
    deployer.wait_for_url("**/ui/deployments/fraud")
    assert deployer.inner_text("#status") == "paused"
    deployer.screenshot(path=stage.shots / "deployment.png")


def test_viewer_cannot_see_the_promote_button_nor_call_it(viewer: Any, stage: Stage) -> None:
    viewer.goto("/ui/deployments/fraud")
    assert viewer.inner_text("#status") == "paused"
    assert viewer.locator("#action-promote").count() == 0
    assert viewer.locator("a[href$='/promote']").count() == 0
    csrf = viewer.locator("input[name=csrf]").first.get_attribute("value")
    answer = viewer.request.post("/ui/deployments/fraud/promote", form={"csrf": csrf})
    assert answer.status == 403 and "needs role deployer" in answer.text()
    assert viewer.goto("/ui/deployments/fraud/promote").status == 403
    with Registry.open(RegistrySettings(home=stage.home)) as registry:
        assert DeploymentService(registry).get("fraud").status == Status.PAUSED
        denied = list_audit(registry.engine, action="auth.denied", actor=stage.ids["viewer"])
    assert any(e.details["route"] == "POST /ui/deployments/fraud/promote" for e in denied)


def test_promote_with_confirmation_writes_the_cli_audit_rows(deployer: Any, stage: Stage
                                                             ) -> None:
    deployer.goto("/ui/deployments/fraud")
    deployer.click("#action-promote")
    assert "Promote fraud?" in deployer.inner_text("h1")
    deployer.click("#confirm")
    deployer.wait_for_url("**/ui/deployments/fraud")
    assert deployer.inner_text("#status") == "promoted"
    assert deployer.locator("#action-promote").count() == 0
    with Registry.open(RegistrySettings(home=stage.home)) as registry:
        rows = list_audit(registry.engine, action="deploy.", actor=stage.ids["deployer"])
    assert [e.action for e in rows] == ["deploy.pause", "deploy.promote"]
    history = deployer.inner_text("#history")
    assert stage.ids["deployer"] in history and "promote" in history


def test_traffic_charts_show_each_version(admin: Any, stage: Stage, traffic: Traffic) -> None:
    admin.goto("/ui/traffic")
    # The server samples its metrics every 5 s; the page refreshes itself until both show.
    section = admin.locator("[data-model=fraud]")
    expect(section).to_contain_text("version 1", timeout=30_000)
    expect(section).to_contain_text("version 2", timeout=30_000)
    for series in ("s0", "s1"):  # at least three intervals drawn for each version
        expect(section.locator(f"polyline.{series}").first).to_have_attribute(
            "points", re.compile(r"^(\S+ ){2,}\S+$"), timeout=30_000)
    assert section.locator("svg polyline").count() >= 5
    assert "requests/s" in section.inner_text()
    admin.screenshot(path=stage.shots / "traffic.png")
    traffic.stop()


def test_drift_verdict_after_shifted_traffic(admin: Any, stage: Stage) -> None:
    shifted = Traffic(stage, shift=3.0, limit=300)  # all on fraud:2 now it is promoted
    shifted.wait(120)
    assert shifted.sent == 300 and shifted.failed == 0
    verdict = ""
    deadline = time.monotonic() + 30
    while "DRIFT" not in verdict and time.monotonic() < deadline:
        time.sleep(1.5)  # the inference log writes every second
        admin.goto("/ui/monitoring/fraud")
        admin.select_option("#drift-ref", "fraud:2")
        admin.click("#check-drift")
        admin.wait_for_selector("#drift-verdict, #drift-problem")
        verdict = admin.inner_text("#drift-verdict") if admin.locator("#drift-verdict").count() \
            else admin.inner_text("#drift-problem")
    assert "DRIFT in" in verdict and "amount" in verdict
    amount = admin.locator("#drift tbody tr", has_text="amount").inner_text()
    assert "DRIFT" in amount
    assert admin.locator(".charts svg").count() >= 1  # the report's histograms
    admin.screenshot(path=stage.shots / "monitoring.png", full_page=False)


def test_a_model_named_script_reaches_the_charts_as_text(admin: Any, stage: Stage) -> None:
    """No registered model can have that name, but a gRPC caller can ask for one: the failed
    requests are counted under the name it sent, and the traffic page draws them."""
    import tritonclient.grpc as grpcclient
    from tritonclient.utils import InferenceServerException

    client = grpcclient.InferenceServerClient(f"127.0.0.1:{stage.server.grpc_port}")
    tensor = grpcclient.InferInput("amount", [1], "FP32")
    tensor.set_data_from_numpy(np.zeros(1, dtype=np.float32))
    for _ in range(3):
        with pytest.raises(InferenceServerException, match="NOT_FOUND"):
            client.infer(HOSTILE, [tensor], headers={"x-api-key": stage.tokens["predictor"]})
    admin.goto("/ui/traffic")
    section = admin.locator("section.model-traffic", has_text="alert(1)")
    expect(section).to_have_count(1, timeout=30_000)
    assert section.locator("h2").inner_text() == HOSTILE
    assert section.get_attribute("data-model") == HOSTILE
    assert "%3Cscript%3E" in (section.locator("h2 a").get_attribute("href") or "")
    assert admin.locator("script:not([src])").count() == 0
    assert stage.dialogs == []


def test_hostile_names_and_cards_stay_text(admin: Any, stage: Stage) -> None:
    admin.goto("/ui/models/hostile")
    assert admin.inner_text("#description") == HOSTILE
    card = admin.locator("#card")
    assert HOSTILE in card.inner_text()
    assert card.locator("script, iframe, img[onerror], a[href^='javascript']").count() == 0
    assert card.locator("table").count() == 1
    assert admin.locator("svg[onload]").count() == 0
    assert HOSTILE in admin.inner_text("#lineage")  # registered by
    admin.goto("/ui/models?q=" + HOSTILE)
    assert admin.input_value("#q") == HOSTILE
    answer = admin.goto("/ui/models/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert answer is not None and answer.status == 404
    assert "<script>" in admin.inner_text("#error")
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    admin.goto("/ui/login?next=javascript:alert(9)")
    assert admin.locator("input[name=next]").get_attribute("value") == "/ui/models"
    admin.wait_for_timeout(300)
    assert stage.dialogs == []
    assert [m for m in stage.console if "Content Security Policy" in m] == []
    assert [m for m in stage.console if m.startswith("error") and "404" not in m
            and "403" not in m] == []
