"""The OTA server side against a real server with authentication on: the device role, ETag
and Range on downloads, bad requests, and a simulated fleet converging on a staged rollout."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from modelport.config import RegistrySettings
from modelport.edge.fleet import Fleet, bucket
from modelport.edge.simulate import FleetSim
from modelport.registry import Registry
from modelport.security.keys import KeyStore
from modelport.security.signing import generate_signing_key, load_verify_key
from tests.edge.conftest import Run
from tests.edge.ota_env import onnx_model, register
from tests.serving.server_process import ServerProcess


class Env:
    def __init__(self, home: Path, server: ServerProcess, pub: Path, keys: dict[str, str]):
        self.home, self.server, self.pub, self.keys = home, server, pub, keys

    def get(self, path: str, key: str = "device", **headers: str) -> httpx.Response:
        auth = {"Authorization": f"Bearer {self.keys[key]}"} if key else {}
        return httpx.get(self.server.url + path, headers={**auth, **headers}, timeout=10)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    home = tmp_path_factory.mktemp("fleet") / "home"
    home.mkdir()
    key, pub = home / "key.pem", home / "key.pub.pem"
    generate_signing_key(key, pub)
    for version in (1, 2):
        path = onnx_model(home / f"v{version}.onnx", float(version), pad_floats=5_000)
        register(home, path, key, alias="edge" if version == 1 else None)
    with Registry.open(RegistrySettings(home=home)) as registry:
        store = KeyStore(registry.engine)
        keys = {
            "device": store.create(name="devices", role="device", models="m", actor="t").token,
            "other": store.create(name="other", role="device", models="x", actor="t").token,
        }
    server = ServerProcess(home, ["m", "--no-grpc"], workers=1)
    try:
        server.wait_ready()
        yield Env(home, server, pub, keys)
    finally:
        server.stop()


def test_device_role_reads_only_its_models_updates(env: Env) -> None:
    assert env.get("/v2/edge/m/current", key="").status_code == 401
    assert env.get("/v2/edge/m/current", key="other").status_code == 403
    current = env.get("/v2/edge/m/current?device=d1")
    assert current.status_code == 200
    doc = current.json()
    assert doc["version"] == 1 and len(doc["sha256"]) == 64 and doc["signature"]
    infer = httpx.post(env.server.url + "/v2/models/m/infer", timeout=10,
                       headers={"Authorization": f"Bearer {env.keys['device']}"},
                       json={"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 2],
                                         "data": [1, 2]}]})
    assert infer.status_code == 403, "a device key may not run inference on the server"
    assert env.get("/v2/models/m").status_code == 403


def test_etag_range_and_bad_requests(env: Env) -> None:
    current = env.get("/v2/edge/m/current?device=d1")
    assert env.get("/v2/edge/m/current?device=d1",
                   **{"If-None-Match": current.headers["etag"]}).status_code == 304
    url = current.json()["artifact"]
    whole = env.get(url)
    assert whole.status_code == 200 and len(whole.content) == current.json()["size"]
    part = env.get(url, Range="bytes=100-")
    assert part.status_code == 206 and part.content == whole.content[100:]
    assert part.headers["content-range"] == f"bytes 100-{len(whole.content) - 1}/" \
                                             f"{len(whole.content)}"
    assert env.get(url, Range="bytes=5-9").content == whole.content[5:10]
    assert env.get(url, **{"If-None-Match": whole.headers["etag"]}).status_code == 304
    manifest = env.get(current.json()["manifest"]).json()
    assert manifest["sha256"] == current.json()["sha256"]
    assert manifest["reference"]["outputs"]["y"][0] == [pytest.approx(-1.5)]
    for path, headers in [
        (url, {"Range": "bytes=999999999-"}), (url, {"Range": "lines=1-2"}),
        ("/v2/edge/m/versions/zero/artifact", {}), ("/v2/edge/m/current?device=bad%20id", {}),
    ]:
        answer = env.get(path, **headers)
        assert answer.status_code == 400 and "error" in answer.json(), (path, answer.text)
    assert env.get("/v2/edge/m/versions/99/artifact").status_code == 404
    auth = {"Authorization": f"Bearer {env.keys['device']}"}
    for body in (b"not json", b"[1]", b'{"device": "d1", "version": "two"}'):
        answer = httpx.post(env.server.url + "/v2/edge/m/heartbeat", content=body,
                            headers=auth, timeout=10)
        assert answer.status_code == 400, body


def test_staged_rollout_converges_in_a_simulated_fleet(
    env: Env, run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MODELPORT_HOME", str(env.home))
    devices = 120

    async def simulate() -> dict[str, object]:
        sim = FleetSim(env.server.url, "m", devices=devices, folder=tmp_path / "sim",
                       key=load_verify_key(env.pub), interval_s=0.4, heartbeat_every=3,
                       api_key=env.keys["device"], connections=50)
        await sim.start()
        try:
            first = await sim.wait_for(lambda d: 1, timeout_s=60)
            assert run("edge", "rollout", "m", "2", "--percent", "10")[0] == 0
            staged = await sim.wait_for(lambda d: 2 if bucket("m", d) < 10 else 1, 60)
            await asyncio.sleep(1.0)  # nobody else moves while the rollout stays at 10%
            assert sim.versions()[2] == sum(bucket("m", d.device_id) < 10 for d in sim.devices)
            assert run("edge", "rollout", "m", "2", "--percent", "100")[0] == 0
            full = await sim.wait_for(lambda d: 2, timeout_s=60)
            await asyncio.sleep(1.5)  # heartbeats reach the database
        finally:
            await sim.stop()
        return {"first": first, "staged": staged, "full": full, "sim": sim}

    result = asyncio.run(simulate())
    sim = result["sim"]
    assert isinstance(sim, FleetSim)
    assert not sim.counts.errors, sim.counts.errors
    assert set(sim.counts.downloads.values()) == {1}, "each device downloads each version once"
    assert len(sim.counts.downloads) == 2 * devices
    assert sim.counts.requests["current 304"] > sim.counts.requests["current 200"]
    with Registry.open(RegistrySettings(home=env.home)) as registry:
        assert registry.resolve("m@edge").version == 2, "at 100% the alias itself moved"
        assert Fleet(registry).rollout("m", "edge") is None
        seen = Fleet(registry).devices("m")
    assert len([d for d in seen if d.device_id.startswith("sim-")]) == devices
    code, out, _ = run("edge", "fleet", "m", "--json")
    assert code == 0
    assert {d["version"] for d in json.loads(out) if d["device"].startswith("sim-")} == {2}
