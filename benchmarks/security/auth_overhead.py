"""What the security layer adds to one REST inference call, in process (no sockets).

    .venv/bin/python benchmarks/security/auth_overhead.py [--requests 20000]

Drives the ASGI apps directly. First around an app that answers 200 at once, so the
difference is the security wrapper's own cost; then around the real RestApp with a tiny
model (batching off) for scale. Cases: the bare app, the wrapper while open (no key exists:
what a loopback server runs), an API key and an HS256 JWT (both cached after the first
call), and an API key with a rate limit. Best of 5 runs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from modelport.registry import db
from modelport.security.authn import Authenticator
from modelport.security.jwt_auth import JwtConfig, JwtVerifier
from modelport.security.keys import KeyStore
from modelport.security.limits import RateLimit
from modelport.serving.batcher import BatchPolicy
from modelport.serving.dataplane import DataPlane
from modelport.serving.models import ManagerConfig, ModelManager
from modelport.serving.rest import RestApp
from modelport.serving.rest_auth import SecureApp
from modelport.serving.served import ModelOptions
from modelport.serving.source import StaticSource
from tests.security.tokens import SECRET, token
from tests.serving.tiny import Scaler

BODY = orjson.dumps(
    {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 3], "data": [1, 2, 3]}]}
)


async def drive(app: Any, headers: list[tuple[bytes, bytes]], n: int) -> float:
    scope = {"type": "http", "method": "POST", "path": "/v2/models/scaler/infer",
             "headers": [(b"content-length", b"%d" % len(BODY)), *headers],
             "client": ("127.0.0.1", 5000), "query_string": b""}
    status: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": BODY, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    await app(dict(scope), receive, send)  # warm: caches, first load
    status.clear()
    started = time.perf_counter()
    for _ in range(n):
        await app(dict(scope), receive, send)
    elapsed = time.perf_counter() - started
    assert set(status) == {200}, set(status)
    return elapsed / n * 1e6


async def answer_at_once(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def main(n: int) -> None:
    source = StaticSource()
    source.add("scaler", 1, lambda: Scaler(2.0))
    options = ModelOptions(batch=BatchPolicy(max_size=1))
    plane = DataPlane(ModelManager(source, ManagerConfig(refs=("scaler",), options=options)))
    await plane.start(preload=True)
    await plane.models.wait_preloaded()
    for title, inner in (("an app answering at once", answer_at_once),
                         ("RestApp, tiny model", RestApp(plane))):
        print(f"\n{title}\n")
        await compare(inner, n)
    await plane.stop()


async def compare(bare: Any, n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = db.open_engine(f"sqlite:///{tmp}/r.db")
        secret_file = Path(tmp) / "secret"
        secret_file.write_text(SECRET)
        open_app = SecureApp(bare, Authenticator(keys=KeyStore(engine)))
        key = KeyStore(engine).create(name="bench", role="predictor", actor="bench").token
        keyed = Authenticator(keys=KeyStore(engine), cache_ttl_s=3600)
        keyed.refresh()
        jwt = Authenticator(jwt=JwtVerifier(JwtConfig(secret_file=secret_file)),
                            cache_ttl_s=3600)
        limited = SecureApp(bare, keyed, rate_limit=RateLimit.parse("1000000/s"))
        cases = [
            ("bare app", bare, []),
            ("security wrapper, open (no key yet)", open_app, []),
            ("API key (cached)", SecureApp(bare, keyed), [(b"x-api-key", key.encode())]),
            ("HS256 JWT (cached)", SecureApp(bare, jwt),
             [(b"authorization", b"Bearer " + token(SECRET, "HS256", lifetime_s=3600).encode())]),
            ("API key + rate limit", limited, [(b"x-api-key", key.encode())]),
        ]
        print(f"| case | us per request (best of 5 x {n}) | added |")
        print("|---|---|---|")
        base = 0.0
        for label, app, headers in cases:
            runs = [await drive(app, headers, n) for _ in range(5)]
            best = min(runs)
            base = base or best
            print(f"| {label} | {best:.1f} (median {statistics.median(runs):.1f}) | "
                  f"{best - base:+.1f} |")
        engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    asyncio.run(main(parser.parse_args().requests))
