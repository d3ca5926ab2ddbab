"""Where modelport's CPU goes for one single-row V2 request, stage by stage, with no HTTP.

    .venv/bin/python benchmarks/serving/stages.py     # after run.py has built .cache/

Builds one worker's data plane and REST app in this process (the fraud model of the benchmark,
registered by run.py) and times each stage in CPU time (``time.process_time``, which counts
the predict thread too), so the figures hardly depend on other load on the machine.
Compare the total with the floor's server CPU per request in results.md (HTTP alone).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"


def cpu_us(fn: Callable[[], object], n: int = 3000) -> float:
    fn()
    t = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - t) / n * 1e6


async def acpu_us(fn: Callable[[], Awaitable[object]], n: int = 2000) -> float:
    await fn()
    t = time.process_time()
    for _ in range(n):
        await fn()
    return (time.process_time() - t) / n * 1e6


async def main() -> None:
    import orjson

    from modelport.config import load_settings
    from modelport.protocol.json_codec import decode_request, encode_response
    from modelport.serving.options import ServeConfig
    from modelport.serving.registry_source import RegistrySource
    from modelport.serving.rest import RestApp
    from modelport.serving.worker import build_plane

    body = (CACHE / "scripts" / "modelport.body").read_bytes()
    settings = load_settings(None)
    config = ServeConfig.from_settings(settings, ("fraud",), workers=1)
    plane = build_plane(config, RegistrySource.open(settings.registry))
    app = RestApp(plane)
    await plane.start(preload=True)
    served = await plane.model("fraud")
    request = decode_request(body)
    inputs = served.plan.inputs(request)
    produced = served.runtime.predict(inputs)
    response = await plane.infer("fraud", None, request)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v2/models/fraud/infer",
        "query_string": b"",
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    rows = [
        ("orjson.loads of the body (30 named inputs)", cpu_us(lambda: orjson.loads(body))),
        ("decode_request (JSON -> InferenceRequest)", cpu_us(lambda: decode_request(body))),
        ("signature plan: inputs (validation)", cpu_us(lambda: served.plan.inputs(request))),
        ("runtime.predict, 1 row, called directly", cpu_us(lambda: served.runtime.predict(inputs))),
        ("signature plan: outputs", cpu_us(lambda: served.plan.outputs(request, produced))),
        ("encode_response", cpu_us(lambda: encode_response(response, binary_outputs=False))),
        (
            "batcher round trip, 1 row (submit -> thread -> back)",
            await acpu_us(lambda: served.predict(inputs)),
        ),
        (
            "plane.infer, 1 request at a time",
            await acpu_us(lambda: plane.infer("fraud", None, request)),
        ),
        (
            "REST app call (ASGI, no socket), 1 at a time",
            await acpu_us(lambda: app(scope, receive, send)),
        ),
    ]
    for concurrency in (16, 64):
        n = 3000 // concurrency

        async def client(n: int = n) -> None:
            for _ in range(n):
                await app(scope, receive, send)

        t = time.process_time()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        rows.append(
            (
                f"REST app call, {concurrency} concurrent (batched), per request",
                (time.process_time() - t) / (n * concurrency) * 1e6,
            )
        )
    stats = served.batcher.stats
    blocks = await allocations(lambda: app(scope, receive, send))
    await plane.stop()
    print("| stage | CPU us per request |\n|---|---:|")
    for label, us in rows:
        print(f"| {label} | {us:,.0f} |")
    print(f"\nbatcher stats: {stats}")
    print(f"memory blocks allocated per REST app call (tracemalloc, net of frees): {blocks:.1f}")


async def allocations(call: Callable[[], Awaitable[object]], n: int = 500) -> float:
    """Blocks still allocated per call after ``n`` calls (a leak shows as a positive figure);
    the peak per call is what the hot path allocates and frees."""
    import tracemalloc

    await call()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for _ in range(n):
        await call()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.count_diff for s in after.compare_to(before, "filename"))
    return grown / n


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MODELPORT_HOME", str(CACHE / "home"))
    import uvloop

    sys.exit(uvloop.run(main()))
