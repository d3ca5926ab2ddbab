"""The console in process: log-in, RBAC on pages and actions, CSRF, the same audit rows as the
CLI, clear 4xx pages for bad input, and escaping of hostile names, cards and parameters."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from modelport.errors import InvalidInput
from modelport.registry import Registry
from modelport.registry.intake import Registration, register_artifact
from modelport.routing.records import Status
from modelport.routing.service import DeploymentService
from modelport.security.audit import list_audit

from .conftest import HOSTILE, HOSTILE_CARD, Console, csrf_of, log_in

pytestmark = pytest.mark.asyncio


async def test_pages_need_a_login_and_a_good_credential(console: Console) -> None:
    async with console.client() as client:
        first = await client.get("/ui/deployments/fraud")
        assert first.status_code == 303
        assert first.headers["location"] == "/ui/login?next=%2Fui%2Fdeployments%2Ffraud"
        page = await client.get("/ui/login")
        assert "mp_csrf=" in page.headers["set-cookie"]
        bad = await client.post("/ui/login", data={"csrf": csrf_of(page.text),
                                                   "token": "mp_notakey_xxxxxxxx"})
        assert bad.status_code == 401
        assert "not logged in" in bad.text and "mp_session" not in bad.headers.get(
            "set-cookie", "")
        good = await client.post("/ui/login", data={
            "csrf": csrf_of(page.text), "token": console.tokens["viewer"],
            "next": "/ui/deployments/fraud"})
        assert good.status_code == 303 and good.headers["location"] == "/ui/deployments/fraud"
        cookie = good.headers["set-cookie"].lower()
        for flag in ("mp_session=", "httponly", "samesite=strict", "path=/ui"):
            assert flag in cookie
        assert (await client.get("/ui/deployments/fraud")).status_code == 200
        out = await client.post("/ui/logout", data={"csrf": csrf_of(page.text)})
        assert out.status_code == 303
        assert (await client.get("/ui/models")).status_code == 303  # logged out
    failures = list_audit(console.registry.engine, action="auth.failure")
    assert [e.details["protocol"] for e in failures] == ["console"]
    logins = list_audit(console.registry.engine, action="console.login")
    assert [e.actor for e in logins] == [f"key:{console.ids['viewer']}"]


async def test_a_login_link_never_leads_to_another_site(console: Console) -> None:
    async with console.client() as client:
        page = await client.get("/ui/login?next=https://evil.example/x")
        assert 'name="next" value="/ui/models"' in page.text
        for target in ("//evil.example", "javascript:alert(1)", "/ui\\..\\evil", "/v2/x"):
            answer = await client.post("/ui/login", data={
                "csrf": csrf_of(page.text), "token": console.tokens["viewer"], "next": target})
            assert answer.headers["location"] == "/ui/models", target


async def test_viewer_sees_no_buttons_and_cannot_call_the_actions(console: Console) -> None:
    async with console.client() as client:
        await log_in(client, console.tokens["viewer"])
        page = await client.get("/ui/deployments/fraud")
        assert page.status_code == 200
        assert "action-promote" not in page.text and "/promote" not in page.text
        assert 'href="/ui/audit"' not in page.text  # admins only
        model = await client.get("/ui/models/fraud")
        assert "alias-form" not in model.text
        csrf = csrf_of(page.text)
        confirm = await client.get("/ui/deployments/fraud/promote")
        assert confirm.status_code == 403
        refused = await client.post("/ui/deployments/fraud/promote", data={"csrf": csrf})
        assert refused.status_code == 403
        assert "needs role deployer" in refused.text
        alias = await client.post("/ui/models/fraud/alias",
                                  data={"csrf": csrf, "alias": "production", "version": "2"})
        assert alias.status_code == 403
        assert (await client.get("/ui/audit")).status_code == 403
    service = DeploymentService(console.registry)
    assert service.get("fraud").status == Status.RUNNING
    assert console.registry.resolve("fraud@production").version == 1
    denied = list_audit(console.registry.engine, action="auth.denied")
    assert {e.details["route"] for e in denied} >= {
        "POST /ui/deployments/fraud/promote", "POST /ui/models/fraud/alias"}
    assert {e.actor for e in denied} == {f"key:{console.ids['viewer']}"}


async def test_deployer_actions_confirm_then_write_the_cli_audit_rows(console: Console) -> None:
    async with console.client() as client:
        await log_in(client, console.tokens["deployer"])
        page = await client.get("/ui/deployments/fraud")
        assert 'id="action-promote"' in page.text and 'id="action-pause"' in page.text
        confirm = await client.get("/ui/deployments/fraud/pause")
        assert "Yes, pause" in confirm.text
        done = await client.post("/ui/deployments/fraud/pause",
                                 data={"csrf": csrf_of(confirm.text)})
        assert done.status_code == 303
        assert DeploymentService(console.registry).get("fraud").status == Status.PAUSED
        again = await client.get("/ui/deployments/fraud")
        assert 'id="action-resume"' in again.text
        rolled = await client.post("/ui/deployments/fraud/rollback",
                                   data={"csrf": csrf_of(again.text), "reason": "looks off"})
        assert rolled.status_code == 303
        moved = await client.post("/ui/models/fraud/alias", data={
            "csrf": csrf_of(again.text), "alias": "production", "version": "2"})
        assert moved.status_code == 303
        assert moved.headers["location"] == "/ui/models/fraud?version=2"
    record = DeploymentService(console.registry).get("fraud")
    assert record.status == Status.ROLLED_BACK and record.reason == "looks off"
    assert console.registry.resolve("fraud@production").version == 2
    actor = f"key:{console.ids['deployer']}"
    rows = list_audit(console.registry.engine, actor=actor)
    actions = [e.action for e in rows]
    assert actions[-3:] == ["deploy.pause", "deploy.rollback", "alias.move"]
    assert rows[-1].target == "fraud@production" and rows[-1].details == {"from": 1, "to": 2}
    history = console.registry.alias_history("fraud", "production")
    assert history[-1].actor == actor


async def test_forms_without_the_csrf_token_or_from_elsewhere_are_refused(
    console: Console, admin: httpx.AsyncClient
) -> None:
    page = await admin.get("/ui/deployments/fraud")
    csrf = csrf_of(page.text)
    cases = [
        ({"other": "1"}, {}),
        ({"csrf": "0" * 64}, {}),
        ({"csrf": csrf}, {"origin": "https://evil.example"}),
        ({"csrf": csrf}, {"origin": "null"}),
    ]
    for data, headers in cases:
        answer = await admin.post("/ui/deployments/fraud/promote", data=data, headers=headers)
        assert answer.status_code == 403, (data, headers)
    json_body = await admin.post("/ui/deployments/fraud/promote", json={"csrf": csrf})
    assert json_body.status_code == 400
    assert "x-www-form-urlencoded" in json_body.text
    assert DeploymentService(console.registry).get("fraud").status == Status.RUNNING


async def test_bad_input_gets_a_clear_4xx_page(admin: httpx.AsyncClient) -> None:
    page = await admin.get("/ui/models/fraud")
    csrf = csrf_of(page.text)
    cases = [
        (await admin.get("/ui/models/fraud?version=abc"), 400, "whole number"),
        (await admin.get("/ui/models/fraud?version=9"), 400, "no version 9"),
        (await admin.get("/ui/models/nothere"), 404, "nothere"),
        (await admin.get("/ui/traffic?window=year"), 400, "window must be one of"),
        (await admin.get("/ui/audit?limit=0"), 400, "limit must be"),
        (await admin.get("/ui/audit?since=soon"), 400, "since"),
        (await admin.get("/ui/monitoring/fraud?check=1&since=xx"), 400, "since"),
        (await admin.get("/ui/monitoring/fraud?check=1&ref=other:1"), 400, "not a version"),
        (await admin.get("/ui/deployments/nothere"), 404, "no deployment"),
        (await admin.get("/ui/deployments/fraud/explode"), 404, "no deployment action"),
        (await admin.post("/ui/models/fraud/alias", data={"csrf": csrf, "alias": "production",
                                                          "version": ""}), 400, "version"),
        (await admin.post("/ui/models/fraud/alias", data={"csrf": csrf, "alias": "production",
                                                          "version": "7"}), 404, "7"),
        (await admin.post("/ui/models/fraud/alias", data={"csrf": csrf, "alias": "latest",
                                                          "version": "1"}), 400, "latest"),
        (await admin.get("/ui/static/nothing.js"), 404, "no console page"),
    ]
    for answer, status, words in cases:
        assert answer.status_code == status, (answer.request.url, answer.text[:500])
        assert words in answer.text, (answer.request.url, words)
        assert "<h1>" in answer.text  # a page, not a traceback


async def test_scoped_principal_sees_only_its_models(console: Console) -> None:
    async with console.client() as client:
        await log_in(client, console.tokens["scoped"])
        listing = await client.get("/ui/models")
        assert ">other</a>" in listing.text and ">fraud</a>" not in listing.text
        assert (await client.get("/ui/models/fraud")).status_code == 403
        assert (await client.get("/ui/deployments/fraud")).status_code == 403
        assert (await client.get("/ui/models/other")).status_code == 200


async def test_open_server_needs_no_login(registry: Registry) -> None:
    from modelport.dashboard.mount import standalone_app

    app = standalone_app(registry, None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://console.test") as client:
        page = await client.get("/ui/deployments/fraud")
        assert page.status_code == 200 and "authentication off" in page.text
        assert (await client.get("/ui/login")).headers["location"] == "/ui/models"
        root = await client.get("/")
        assert root.status_code == 307 and root.headers["location"] == "/ui/models"


async def test_hostile_text_is_escaped_everywhere(console: Console, admin: httpx.AsyncClient
                                                  ) -> None:
    registry = console.registry
    info = registry.resolve("fraud:2")
    path = registry.fetch_artifact(info)
    with pytest.raises(InvalidInput, match="invalid model name"):  # such a name never exists
        register_artifact(registry, Registration(name=HOSTILE, artifact=path,
                                                 registered_by="test", flavor="xgboost"))
    registry.set_tags("fraud", 2, {"note": HOSTILE, HOSTILE: "x"})
    register_artifact(registry, Registration(
        name="hostile", artifact=path, registered_by=HOSTILE, flavor="xgboost",
        card=HOSTILE_CARD, description=HOSTILE, tags={"owner": '"><svg onload=alert(7)>'}))
    registry.set_alias("hostile", "production", 1, actor='<img src=x onerror="alert(8)">')
    pages = [
        await admin.get("/ui/models"),
        await admin.get("/ui/models?q=" + HOSTILE),
        await admin.get("/ui/models/hostile"),
        await admin.get("/ui/models/fraud?version=2"),
        await admin.get("/ui/models/%3Cscript%3Ealert(1)%3C%2Fscript%3E"),
        await admin.get("/ui/models/%3Cscript%3Ealert(1)%3C/script%3E"),
        await admin.get("/ui/audit"),
        await admin.get("/ui/monitoring/hostile?check=1&ref=" + HOSTILE),
    ]
    for page in pages:
        text = page.text
        assert "<script>alert" not in text, page.request.url
        assert "<img src=x onerror" not in text
        assert "<svg onload" not in text and "<iframe" not in text
        assert 'href="javascript:' not in text and "<b onmouseover" not in text
        assert page.headers["content-security-policy"].startswith("default-src 'none'")
    card = pages[2].text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in card
    assert "<table>" in card  # the card's Markdown still renders
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[1].text  # search reflected as text
    assert pages[4].status_code == 404 and pages[5].status_code == 404


async def test_static_files_are_small_and_typed(admin: httpx.AsyncClient) -> None:
    js = await admin.get("/ui/static/console.js")
    css = await admin.get("/ui/static/console.css")
    assert js.headers["content-type"].startswith("text/javascript")
    assert css.headers["content-type"].startswith("text/css")
    assert js.headers["x-content-type-options"] == "nosniff"
    assert len(js.content) + len(css.content) < 300 * 1024
    cached = await admin.get("/ui/static/console.js",
                             headers={"if-none-match": js.headers["etag"]})
    assert cached.status_code == 304


async def test_an_endpoint_shows_its_earlier_rollouts_and_its_ab_test(
    console: Console, admin: httpx.AsyncClient
) -> None:
    from tests.routing.models import deploy_yaml

    service = DeploymentService(console.registry)
    service.rollback("fraud", actor="test", reason="first try")
    weights = "ab:\n  weights: {stable: 50, candidate: 50}\n"
    service.apply(deploy_yaml(strategy="ab", section=weights), actor="test")
    page = await admin.get("/ui/deployments/fraud")
    assert page.status_code == 200
    assert 'id="ab"' in page.text and "exposures" in page.text
    assert 'id="earlier"' in page.text and "rolled_back" in page.text and "first try" in page.text


async def test_a_failing_registry_is_an_error_page_not_a_traceback(
    console: Console, admin: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelport.errors import Unavailable

    def down() -> None:
        raise Unavailable("the registry database is not answering")

    def broken() -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(console.registry, "list_models", down)
    answer = await admin.get("/ui/models")
    assert answer.status_code == 503 and "not answering" in answer.text
    monkeypatch.setattr(console.registry, "list_models", broken)
    answer = await admin.get("/ui/models")
    assert answer.status_code == 500 and "internal error: RuntimeError" in answer.text
    assert "Traceback" not in answer.text and "boom" not in answer.text


async def test_a_token_too_long_for_a_cookie_is_refused_at_login(console: Console) -> None:
    async with console.client() as client:
        page = await client.get("/ui/login")
        answer = await client.post("/ui/login", data={"csrf": csrf_of(page.text),
                                                      "token": "a.b." + "c" * 5000})
        assert answer.status_code == 401 and "at most 3800" in answer.text


async def test_a_jwt_logs_in_with_its_role_and_an_expired_one_is_sent_back(
    registry: Registry, tmp_path: Path
) -> None:
    from modelport.dashboard.mount import standalone_app
    from modelport.security.authn import Authenticator
    from modelport.security.jwt_auth import JwtConfig, JwtVerifier
    from tests.security.tokens import SECRET, token

    secret = tmp_path / "jwt.secret"
    secret.write_text(SECRET)
    authn = Authenticator(jwt=JwtVerifier(JwtConfig(secret_file=secret)), cache_ttl_s=0.0)
    app = standalone_app(registry, authn)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://console.test") as client:
        await log_in(client, token(SECRET, "HS256", sub="dana", role="deployer"))
        page = await client.get("/ui/deployments/fraud")
        assert "dana · deployer" in page.text and 'id="action-promote"' in page.text
        client.cookies.set("mp_session", token(SECRET, "HS256", lifetime_s=-120),
                           domain="console.test", path="/ui")
        assert (await client.get("/ui/models")).status_code == 303  # log in again


async def test_over_tls_the_cookies_are_secure(console: Console) -> None:
    from modelport.dashboard.mount import standalone_app
    from modelport.security.authn import Authenticator
    from modelport.security.keys import KeyStore

    authn = Authenticator(keys=KeyStore(console.registry.engine))
    authn.refresh()
    app = standalone_app(console.registry, authn, secure_cookies=True)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="https://console.test") as client:
        page = await client.get("/ui/login")
        assert "secure" in page.headers["set-cookie"].lower()
        answer = await client.post("/ui/login", data={"csrf": csrf_of(page.text),
                                                      "token": console.tokens["viewer"]})
        session = answer.headers["set-cookie"].lower()
        assert "mp_session=" in session and "; secure" in session
