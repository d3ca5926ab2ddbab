"""A real ``modelport serve`` with every security option on, over REST and gRPC: mutual TLS,
API keys and JWTs, limits, the audit log, revocation, signed artifacts, secure by default."""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import socket
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import numpy as np
import pytest

from modelport.config import RegistrySettings
from modelport.protocol.grpc_codec import request_to_grpc
from modelport.protocol.grpc_gen import grpc_service_pb2 as pb
from modelport.protocol.grpc_gen import grpc_service_pb2_grpc as pb_grpc
from modelport.protocol.signature import Signature
from modelport.protocol.types import InferenceRequest, Tensor
from modelport.registry import Registry
from modelport.security.audit import list_audit, verify_audit
from modelport.security.keys import KeyStore
from tests.security.certs import Certs, make_certs
from tests.security.tokens import SECRET, jwks, rsa_key, token
from tests.serving.server_process import ServerProcess

NAP = '''
import time

class Nap:  # {name}
    signature = {{
        "inputs": [{{"name": "x", "datatype": "FP64", "shape": [-1]}}],
        "outputs": [{{"name": "y", "datatype": "FP64", "shape": [-1]}}],
    }}

    def load(self, path):
        pass

    def predict(self, inputs):
        time.sleep(float(inputs["x"].max()))
        return {{"y": inputs["x"] * 2}}
'''
SIG = Signature.from_dict({"inputs": [{"name": "x", "datatype": "FP64", "shape": [-1]}],
                           "outputs": [{"name": "y", "datatype": "FP64", "shape": [-1]}]})
RSA = rsa_key()


def nap_body(seconds: float = 0.0) -> dict[str, Any]:
    return {"inputs": [{"name": "x", "datatype": "FP64", "shape": [1], "data": [seconds]}]}


def register_nap(registry: Registry, home: Path, name: str) -> None:
    path = home / f"{name}.py"
    path.write_text(NAP.format(name=name))
    registry.register(name, path, flavor="python", signature=SIG, registered_by="test")


@dataclass
class Secured:
    home: Path
    certs: Certs
    admin: str
    predictor: str
    viewer: str
    server: ServerProcess

    def https(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(
            base_url=f"https://127.0.0.1:{self.server.port}",
            verify=ssl.create_default_context(cafile=str(self.certs.ca)),
            cert=(str(self.certs.client.cert), str(self.certs.client.key)), timeout=10, **kwargs)

    def key(self, role: str = "predictor", **kwargs: Any) -> str:
        with Registry.open(RegistrySettings(home=self.home)) as registry:
            return KeyStore(registry.engine).create(name=f"{role}-t", role=role, actor="test",
                                                    **kwargs).token

    def grpc_channel(self) -> grpc.Channel:
        creds = grpc.ssl_channel_credentials(
            root_certificates=self.certs.ca.read_bytes(),
            private_key=self.certs.client.key.read_bytes(),
            certificate_chain=self.certs.client.cert.read_bytes())
        return grpc.secure_channel(f"127.0.0.1:{self.server.grpc_port}", creds)


def wait_ready(secured: Secured, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if secured.server.proc.poll() is not None:
            raise AssertionError(f"server exited:\n{secured.server.log.read_text()}")
        try:
            with secured.https() as client:
                if client.get("/v2/health/ready").status_code == 200:
                    return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"not ready:\n{secured.server.log.read_text()}")


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    home = tmp_path_factory.mktemp("secure-home")
    certs = make_certs(home / "certs")
    (home / "jwt.secret").write_text(SECRET)
    (home / "jwks.json").write_text(json.dumps(jwks((RSA, "idp-1"))))
    with Registry.open(RegistrySettings(home=home)) as registry:
        register_nap(registry, home, "nap")
        register_nap(registry, home, "other")
        store = KeyStore(registry.engine)
        tokens = {role: store.create(name=role, role=role, actor="test").token
                  for role in ("admin", "predictor", "viewer")}
    server = ServerProcess(home, [
        "nap", "other", "--preload", "--max-batch-size", "1",
        "--tls-cert", str(certs.server.cert), "--tls-key", str(certs.server.key),
        "--tls-client-ca", str(certs.ca),
        "--jwt-secret-file", str(home / "jwt.secret"), "--jwt-jwks-file", str(home / "jwks.json"),
        "--jwt-audience", "modelport", "--jwt-issuer", "https://idp",
        "--rate-limit", "10/s:10", "--request-timeout", "0.5",
        "--max-concurrency-per-model", "1", "--audit-predictions", "--max-body-bytes", "65536",
    ], workers=1)
    state = Secured(home, certs, tokens["admin"], tokens["predictor"], tokens["viewer"], server)
    try:
        wait_ready(state)
        yield state
    finally:
        assert server.stop() == 0


def jwt_for(role: str, **claims: Any) -> str:
    return token(SECRET, "HS256", role=role, iss="https://idp", aud="modelport", **claims)


def test_rest_over_mutual_tls_with_keys_and_jwts(secured: Secured) -> None:
    with secured.https() as client:
        ok = client.post("/v2/models/nap/infer", json=nap_body(),
                         headers={"authorization": f"Bearer {secured.predictor}"})
        assert ok.status_code == 200 and ok.json()["outputs"][0]["data"] == [0.0]
        assert client.post("/v2/models/nap/infer", json=nap_body()).status_code == 401
        denied = client.post("/v2/models/nap/infer", json=nap_body(),
                             headers={"x-api-key": secured.viewer})
        assert denied.status_code == 403 and "needs role predictor" in denied.json()["error"]
        by_jwt = client.get("/v2/security/whoami",
                            headers={"authorization": f"Bearer {jwt_for('deployer')}"})
        assert by_jwt.json()["id"] == "jwt:alice" and by_jwt.json()["role"] == "deployer"
        rs256 = token(RSA, "RS256", kid="idp-1", iss="https://idp", aud="modelport")
        assert client.post("/v2/models/nap/infer", json=nap_body(),
                           headers={"authorization": f"Bearer {rs256}"}).status_code == 200
        expired = jwt_for("admin", lifetime_s=-300)
        refused = client.get("/v2", headers={"authorization": f"Bearer {expired}"})
        assert refused.status_code == 401 and refused.json()["error"] == "token expired"
        wrong_audience = token(SECRET, "HS256", iss="https://idp", aud="billing")
        assert client.get("/v2", headers={"authorization": f"Bearer {wrong_audience}"}
                          ).status_code == 401
        scoped = secured.key("predictor", models="other")
        assert client.post("/v2/models/nap/infer", json=nap_body(),
                           headers={"x-api-key": scoped}).status_code == 403
        assert client.post("/v2/models/other/infer", json=nap_body(),
                           headers={"x-api-key": scoped}).status_code == 200


def test_tls_refuses_untrusted_clients_plain_http_and_old_protocols(secured: Secured) -> None:
    port = secured.server.port
    ca = ssl.create_default_context(cafile=str(secured.certs.ca))
    for cert in (None, (str(secured.certs.rogue_client.cert), str(secured.certs.rogue_client.key))):
        with pytest.raises(httpx.HTTPError), httpx.Client(verify=ca, cert=cert) as client:
            client.get(f"https://127.0.0.1:{port}/v2/health/live")
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{port}/v2/health/live", timeout=5)
    modern = ssl.create_default_context(cafile=str(secured.certs.ca))
    modern.load_cert_chain(str(secured.certs.client.cert), str(secured.certs.client.key))
    with socket.create_connection(("127.0.0.1", port)) as raw, \
            modern.wrap_socket(raw, server_hostname="localhost") as tls:
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.load_verify_locations(str(secured.certs.ca))
    old.load_cert_chain(str(secured.certs.client.cert), str(secured.certs.client.key))
    old.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    old.maximum_version = ssl.TLSVersion.TLSv1_1
    with pytest.raises((ssl.SSLError, OSError)), socket.create_connection(("127.0.0.1", port)
                                                                          ) as raw:
        old.wrap_socket(raw, server_hostname="localhost")


def grpc_infer(model: str, seconds: float = 0.0) -> Any:
    request = InferenceRequest(inputs=[Tensor(name="x", datatype="FP64",
                                              data=np.array([seconds]))])
    return request_to_grpc(request, model_name=model)


def test_grpc_over_mutual_tls(secured: Secured) -> None:
    with secured.grpc_channel() as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        answer = stub.ModelInfer(grpc_infer("nap"), metadata=(("x-api-key", secured.predictor),))
        assert answer.model_name == "nap"
        by_jwt = (("authorization", f"Bearer {jwt_for('predictor')}"),)
        assert stub.ModelInfer(grpc_infer("nap"), metadata=by_jwt).model_name == "nap"
        refusals = [((), grpc.StatusCode.UNAUTHENTICATED),
                    ((("x-api-key", secured.viewer),), grpc.StatusCode.PERMISSION_DENIED),
                    ((("x-api-key", secured.admin[:-2] + "zz"),), grpc.StatusCode.UNAUTHENTICATED)]
        for metadata, code in refusals:
            with pytest.raises(grpc.RpcError) as caught:
                stub.ModelInfer(grpc_infer("nap"), metadata=metadata)
            assert caught.value.code() == code
        with pytest.raises(grpc.RpcError) as slow:
            stub.ModelInfer(grpc_infer("nap", 1.0), metadata=(("x-api-key", secured.admin),))
        assert slow.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert stub.ServerLive(pb.ServerLiveRequest()).live  # health needs no credentials
    insecure = grpc.insecure_channel(f"127.0.0.1:{secured.server.grpc_port}")
    with pytest.raises(grpc.RpcError) as plain:
        pb_grpc.GRPCInferenceServiceStub(insecure).ServerLive(pb.ServerLiveRequest(), timeout=3)
    assert plain.value.code() == grpc.StatusCode.UNAVAILABLE
    insecure.close()


def test_limits_on_the_running_server(secured: Secured) -> None:
    key = secured.key()
    headers = {"x-api-key": key}
    with secured.https() as client, contextlib.ExitStack() as stack:
        big = client.post("/v2/models/nap/infer", content=b"x" * 70_000, headers=headers)
        assert big.status_code == 413
        slow = client.post("/v2/models/nap/infer", json=nap_body(1.0), headers=headers)
        assert slow.status_code == 504 and "--request-timeout" in slow.json()["error"]
        time.sleep(1.0)  # the timed-out call has finished its nap

        keys = [secured.key(), secured.key()]
        clients = [stack.enter_context(secured.https()) for _ in keys]
        for c, k in zip(clients, keys, strict=True):  # connections open, keys verified
            assert c.get("/v2", headers={"x-api-key": k}).status_code == 200

        def call(n: int, seconds: float) -> int:
            return clients[n].post("/v2/models/other/infer", json=nap_body(seconds),
                                   headers={"x-api-key": keys[n]}).status_code

        # A model whose last call took >= 1 ms predicts on a thread: the loop stays free.
        assert call(0, 0.05) == 200

        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            first = pool.submit(call, 0, 0.4)
            time.sleep(0.15)
            second = pool.submit(call, 1, 0.0)
            assert sorted([first.result(), second.result()]) == [200, 503]
        codes = [client.get("/v2", headers=headers).status_code for _ in range(15)]
        assert 429 in codes and codes[0] == 200
        limited = client.get("/v2", headers=headers)
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1


def test_a_revoked_key_stops_working_within_seconds(secured: Secured) -> None:
    key = secured.key("viewer")
    with secured.https() as client:
        assert client.get("/v2", headers={"x-api-key": key}).status_code == 200
        with Registry.open(RegistrySettings(home=secured.home)) as registry:
            KeyStore(registry.engine).revoke(key.split("_")[1], actor="test")
        deadline = time.monotonic() + 10
        while client.get("/v2", headers={"x-api-key": key}).status_code == 200:
            assert time.monotonic() < deadline, "revoked key still accepted after 10 s"
            time.sleep(0.5)
        assert client.get("/v2", headers={"x-api-key": key}).json()["error"].endswith("revoked")


def test_the_audit_log_records_and_never_holds_a_secret(secured: Secured) -> None:
    with secured.https() as client:
        client.post("/v2/models/nap/infer", json={**nap_body(), "id": "req-42"},
                    headers={"x-api-key": secured.predictor})
        client.post("/v2/repository/models/other/unload", headers={"x-api-key": secured.admin})
        client.post("/v2/repository/models/other/load", headers={"x-api-key": secured.admin})
        client.get("/v2", headers={"x-api-key": "mp_0123456789ab_" + "B" * 43})
    time.sleep(0.5)  # the audit writer flushes every 0.1 s
    with Registry.open(RegistrySettings(home=secured.home)) as registry:
        rows = list_audit(registry.engine, limit=100_000)
        assert verify_audit(registry.engine).ok
    predictor_id = "key:" + secured.predictor.split("_")[1]
    [predict] = [r for r in rows if r.details.get("request_id") == "req-42"]
    assert (predict.actor, predict.target, predict.details["status"]) == (
        predictor_id, "nap:1", "ok")
    assert len(predict.details["input_sha256"]) == 64
    actions = {r.action for r in rows}
    assert {"key.create", "key.revoke", "model.load", "model.unload", "auth.failure",
            "auth.denied", "predict"} <= actions
    text = secured.server.log.read_text() + "".join(json.dumps(r.to_dict()) for r in rows)
    for secret in (secured.admin, secured.predictor, secured.viewer, SECRET):
        # The random part follows "mp_<key id>_" (and may itself hold "_").
        assert secret not in text and secret.split("_", 2)[-1] not in text
