"""The REST security wrapper in process: every route against every role, limits, open mode,
audit of control-plane calls, and no secret in any log line or audit row."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from modelport.registry import db
from modelport.security.audit import list_audit, verify_audit
from modelport.security.audit_writer import AuditWriter
from modelport.security.authn import Authenticator
from modelport.security.keys import KeyStore
from modelport.security.limits import RateLimit
from modelport.security.roles import Role
from modelport.security.stage import security_stage
from modelport.serving.dataplane import DataPlane
from modelport.serving.models import ManagerConfig, ModelManager
from modelport.serving.rest import RestApp
from modelport.serving.rest_auth import SecureApp
from modelport.serving.rest_security import SecurityRoutes
from modelport.serving.source import StaticSource
from tests.serving.secured import expected, make_callers, open_database
from tests.serving.tiny import Scaler

V, P, D, A = Role.VIEWER, Role.PREDICTOR, Role.DEPLOYER, Role.ADMIN
INFER = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 3], "data": [1, 2, 3]}]}

#: (method, path, JSON body, role needed, model touched): every route the server has.
ROUTES: list[tuple[str, str, Any, Role | None, str | None]] = [
    ("GET", "/v2/health/live", None, None, None),
    ("GET", "/v2/health/ready", None, None, None),
    ("GET", "/docs", None, None, None),
    ("GET", "/v2", None, V, None),
    ("GET", "/openapi.json", None, V, None),
    ("POST", "/v2/repository/index", {}, V, None),
    ("GET", "/v2/models/scaler", None, V, "scaler"),
    ("GET", "/v2/models/scaler/ready", None, V, "scaler"),
    ("GET", "/v2/models/scaler/versions/1", None, V, "scaler"),
    ("GET", "/v2/models/other", None, V, "other"),
    ("POST", "/v2/models/scaler/infer", INFER, P, "scaler"),
    ("POST", "/v2/models/scaler/versions/1/infer", INFER, P, "scaler"),
    ("POST", "/v2/models/other/infer", INFER, P, "other"),
    ("POST", "/v1/models/scaler:predict", {"instances": [[1, 2, 3]]}, P, "scaler"),
    ("POST", "/v2/models/scaler/feedback", {}, P, "scaler"),
    ("POST", "/v2/repository/models/scaler/unload", None, D, "scaler"),
    ("POST", "/v2/repository/models/scaler/load", None, D, "scaler"),
    ("GET", "/v2/security/whoami", None, V, None),
    ("GET", "/metrics", None, V, None),
    ("GET", "/v2/security/keys", None, A, None),
    ("POST", "/v2/security/keys", {"name": "made", "role": "viewer"}, A, None),
    ("DELETE", "/v2/security/keys/000000000000", None, A, None),
    ("GET", "/v2/security/audit", None, A, None),
    ("GET", "/v2/no/such/route", None, A, None),
]


class Gated(Scaler):
    gate = threading.Event()

    def predict(self, inputs):  # type: ignore[no-untyped-def]
        self.gate.wait(5)
        return super().predict(inputs)


async def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest.fixture
def lite(tmp_path: Path) -> Iterator[Engine]:
    engine = open_database(tmp_path)
    yield engine
    engine.dispose()


@pytest.fixture
async def plane(source: StaticSource, lite: Engine) -> AsyncIterator[DataPlane]:
    source.add("gated", 1, Gated)
    writer = AuditWriter(lite, flush_interval_s=0.01)
    manager = ModelManager(source, ManagerConfig(refs=("scaler@production", "other", "gated")))
    data_plane = DataPlane(manager, stages=[security_stage(audit=writer)])
    data_plane.audit = writer  # type: ignore[attr-defined]  # the test closes it
    writer.start()
    await data_plane.start()
    yield data_plane
    Gated.gate.set()
    await data_plane.stop()
    writer.close()


def secure(plane: DataPlane, lite: Engine, **kwargs: Any) -> SecureApp:
    authn = Authenticator(keys=KeyStore(lite))
    authn.refresh()
    return SecureApp(RestApp(plane, max_body_bytes=4096), authn, audit=plane.audit,  # type: ignore[attr-defined]
                     routes=SecurityRoutes(lite), **kwargs)


async def test_every_route_against_every_role(
    plane: DataPlane, lite: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    callers = make_callers(lite)
    app = secure(plane, lite)
    wrong: list[str] = []
    async with await _client(app) as client:
        for caller, secret in callers.tokens.items():
            headers = {"authorization": f"Bearer {secret}"} if secret else {}
            for method, path, body, need, model in ROUTES:
                resp = await client.request(method, path, json=body, headers=headers)
                got = str(resp.status_code) if resp.status_code in (401, 403) else "ok"
                want = expected(caller, callers, need, model)
                if got != want:
                    wrong.append(f"{caller} {method} {path}: {resp.status_code} (want {want})")
                if got == "403":
                    assert "needs role" in resp.text or "limited to models" in resp.text
                if got == "401":
                    assert resp.headers["www-authenticate"].startswith("Bearer")
    assert wrong == []
    plane.audit.close()  # type: ignore[attr-defined]
    rows = list_audit(lite, limit=10_000)
    dump = caplog.text + "".join(str(r.to_dict()) for r in rows)
    for secret in callers.tokens.values():
        if secret:
            assert secret not in dump and secret.split("_", 2)[2] not in dump
    loads = [(r.action, r.actor) for r in rows if r.action.startswith("model.")]
    deployer_id = "key:" + callers.tokens["deployer"].split("_")[1]
    assert ("model.unload", deployer_id) in loads and ("model.load", deployer_id) in loads
    failures = [r for r in rows if r.action == "auth.failure"]
    assert {r.details["reason"] for r in failures} >= {"no credentials", "wrong secret"}
    assert any(r.action == "auth.denied" for r in rows)
    assert verify_audit(lite).ok


async def test_api_key_header_and_precise_refusals(plane: DataPlane, lite: Engine) -> None:
    store = KeyStore(lite)
    key = store.create(name="p", role="predictor", actor="t")
    app = secure(plane, lite)
    async with await _client(app) as client:
        ok = await client.post("/v2/models/scaler/infer", json=INFER,
                               headers={"x-api-key": key.token})
        assert ok.status_code == 200 and ok.json()["outputs"][0]["data"] == [2.0, 4.0, 6.0]
        cases = {
            "Basic YTpi": "Bearer <token>",
            "Bearer mp_nothex_" + "A" * 43: "invalid API key",
            "Bearer not-a-token": "malformed credentials",
            "Bearer a.b.c": "invalid token",
        }
        for header, message in cases.items():
            resp = await client.get("/v2", headers={"authorization": header})
            assert resp.status_code == 401 and message in resp.json()["error"]
        store.revoke(key.record.key_id, actor="t")
        app.authn._cache.clear()  # skip the 5 s cache: a new worker would see it at once
        revoked = await client.get("/v2", headers={"x-api-key": key.token})
        assert revoked.status_code == 401 and "is revoked" in revoked.json()["error"]


async def test_open_on_loopback_until_the_first_key(plane: DataPlane, lite: Engine) -> None:
    authn = Authenticator(keys=KeyStore(lite))
    app = SecureApp(RestApp(plane), authn, routes=SecurityRoutes(lite))
    async with await _client(app) as client:
        assert (await client.post("/v2/models/scaler/infer", json=INFER)).status_code == 200
        who = (await client.get("/v2/security/whoami")).json()
        assert (who["id"], who["role"]) == ("anonymous", "admin")
        created = await client.post("/v2/security/keys", json={"name": "first", "role": "admin"})
        token = created.json()["key"]
        assert authn.refresh()  # what the worker's watch task does every 2 s
        assert (await client.post("/v2/models/scaler/infer", json=INFER)).status_code == 401
        listed = await client.get("/v2/security/keys", headers={"x-api-key": token})
        assert [k["name"] for k in listed.json()] == ["first"]


async def test_rate_limit_answers_429_with_retry_after(plane: DataPlane, lite: Engine) -> None:
    token = KeyStore(lite).create(name="p", role="predictor", actor="t").token
    other = KeyStore(lite).create(name="q", role="predictor", actor="t").token
    app = secure(plane, lite, rate_limit=RateLimit.parse("1/s:2"))
    async with await _client(app) as client:
        codes = [(await client.get("/v2", headers={"x-api-key": token})).status_code
                 for _ in range(3)]
        assert codes == [200, 200, 429]
        limited = await client.get("/v2", headers={"x-api-key": token})
        assert limited.headers["retry-after"] == "1" and "rate limit" in limited.json()["error"]
        assert (await client.get("/v2", headers={"x-api-key": other})).status_code == 200
        assert (await client.get("/v2/health/live")).status_code == 200  # probes never limited


async def test_slow_requests_get_504(plane: DataPlane, lite: Engine) -> None:
    token = KeyStore(lite).create(name="p", role="predictor", actor="t").token
    app = secure(plane, lite, timeout_s=0.3)
    Gated.gate.clear()
    async with await _client(app) as client:
        resp = await client.post("/v2/models/gated/infer", json=INFER,
                                 headers={"x-api-key": token})
        assert resp.status_code == 504 and "--request-timeout" in resp.json()["error"]
        Gated.gate.set()
        fast = await client.post("/v2/models/scaler/infer", json=INFER,
                                 headers={"x-api-key": token})
        assert fast.status_code == 200


async def test_oversized_bodies_get_413_after_authentication(
    plane: DataPlane, lite: Engine
) -> None:
    token = KeyStore(lite).create(name="p", role="predictor", actor="t").token
    app = secure(plane, lite)
    async with await _client(app) as client:
        big = b"x" * 10_000
        anonymous = await client.post("/v2/models/scaler/infer", content=big)
        assert anonymous.status_code == 401  # nobody gets to make us read a body
        resp = await client.post("/v2/models/scaler/infer", content=big,
                                 headers={"x-api-key": token})
        assert resp.status_code == 413 and "limit is 4096 bytes" in resp.json()["error"]


async def test_the_key_database_down_is_503_not_a_crash(
    plane: DataPlane, tmp_path: Path
) -> None:
    engine = db.open_engine(f"sqlite:///{tmp_path / 'gone.db'}")
    token = KeyStore(engine).create(name="p", role="viewer", actor="t").token
    authn = Authenticator(keys=KeyStore(engine))
    authn.refresh()
    app = SecureApp(RestApp(plane), authn)
    (tmp_path / "gone.db").unlink()
    (tmp_path / "gone.db").mkdir()  # the file is now a folder: every query fails
    engine.dispose()
    async with await _client(app) as client:
        resp = await client.get("/v2", headers={"x-api-key": token})
    assert resp.status_code == 503 and "unavailable" in resp.json()["error"]
    await asyncio.sleep(0)
