"""A console over a real registry (SQLite in a temp folder) with an API key per role, driven
in process through httpx's ASGI transport."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from modelport.config import RegistrySettings
from modelport.dashboard.mount import standalone_app
from modelport.registry import Registry
from modelport.routing.service import DeploymentService
from modelport.security.authn import Authenticator
from modelport.security.keys import KeyStore
from tests.routing.models import deploy_yaml, register_xgboost

HOSTILE = "<script>alert(1)</script>"
HOSTILE_CARD = f"""# Fraud model {HOSTILE}

<img src=x onerror=alert(2)> <iframe src="javascript:alert(3)"></iframe>

[click me](javascript:alert(4)) and [data](data:text/html,<script>alert(5)</script>)

| column | value |
|---|---|
| a | <b onmouseover=alert(6)>b</b> |
"""
ROLES = ("viewer", "deployer", "admin")


@dataclass
class Console:
    registry: Registry
    tokens: dict[str, str]
    ids: dict[str, str]
    app: object

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app),
                                 base_url="http://console.test")


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    with Registry.open(RegistrySettings(home=tmp_path)) as registry:
        register_xgboost(registry, tmp_path, "fraud", depth=2)
        register_xgboost(registry, tmp_path, "fraud", depth=3)
        registry.set_alias("fraud", "production", 1, actor="test")
        register_xgboost(registry, tmp_path, "other", depth=2)
        DeploymentService(registry).apply(deploy_yaml(), actor="test")
        yield registry


@pytest.fixture
def console(registry: Registry) -> Console:
    store = KeyStore(registry.engine)
    made = {role: store.create(name=f"{role}-person", role=role, actor="test") for role in ROLES}
    made["scoped"] = store.create(name="scoped", role="admin", models="other", actor="test")
    authn = Authenticator(keys=store, cache_ttl_s=0.0)
    authn.refresh()
    app = standalone_app(registry, authn)
    return Console(registry, {k: v.token for k, v in made.items()},
                   {k: v.record.key_id for k, v in made.items()}, app)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


async def log_in(client: httpx.AsyncClient, token: str) -> None:
    page = await client.get("/ui/login")
    assert page.status_code == 200
    answer = await client.post("/ui/login", data={"csrf": csrf_of(page.text), "token": token,
                                                  "next": "/ui/models"})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/ui/models"


@pytest.fixture
async def admin(console: Console) -> AsyncIterator[httpx.AsyncClient]:
    async with console.client() as client:
        await log_in(client, console.tokens["admin"])
        yield client
