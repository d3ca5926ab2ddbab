"""A small gRPC load generator for Open Inference Protocol servers (``ModelInfer``).

``python grpc_load.py --target HOST:PORT --model fraud --body named|matrix --rows rows.json
--concurrency 64 --duration 10`` prints one JSON line: requests, requests/s, p50/p99 ms, errors.
Every call takes the next of the benchmark's rows (1,000 different ones, see rows.py), so no
server can win by caching; before the load, the rows ``rows.json`` names for checking are sent
one by one and each answer must hold XGBoost's own probability (else exit status 3, "wrong
answer"). Concurrent calls are spread over several channels (separate TCP connections), so a
server whose workers share the port through SO_REUSEPORT sees more than one connection.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import struct
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
PROTO = HERE.parents[1] / "src" / "modelport" / "protocol" / "grpc_service.proto"


def stubs(cache: Path) -> tuple[ModuleType, ModuleType]:
    """The V2 message and service modules: modelport's generated ones, else compiled here."""
    try:
        pb2 = importlib.import_module("modelport.protocol.grpc_gen.grpc_service_pb2")
        pb2_grpc = importlib.import_module("modelport.protocol.grpc_gen.grpc_service_pb2_grpc")
        return pb2, pb2_grpc
    except ImportError:
        pass
    out = cache / "grpc_stubs"
    if not (out / "grpc_service_pb2_grpc.py").exists():
        out.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "grpc_tools.protoc",
                f"-I{PROTO.parent}",
                f"--python_out={out}",
                f"--grpc_python_out={out}",
                str(PROTO),
            ],
            check=True,
        )
    sys.path.insert(0, str(out))
    return importlib.import_module("grpc_service_pb2"), importlib.import_module(
        "grpc_service_pb2_grpc"
    )


def build_request(
    pb2: ModuleType, model: str, body: str, features: list[str], row: list[float]
) -> Any:
    """One row: 30 named FP32 inputs of shape [1] (``named``) or one [1, 30] input (``matrix``)."""
    req = pb2.ModelInferRequest(model_name=model)
    if body == "named":
        for name, value in zip(features, row, strict=True):
            t = req.inputs.add(name=name, datatype="FP32", shape=[1])
            t.contents.fp32_contents.append(value)
    else:
        t = req.inputs.add(name="input-0", datatype="FP32", shape=[1, len(row)])
        t.contents.fp32_contents.extend(row)
    return req


_RAW = {"FP32": "<f", "FP64": "<d"}


def answer_values(response: Any) -> list[float]:
    """Every number of every output of a ``ModelInferResponse`` (typed contents or raw)."""
    values: list[float] = []
    for i, out in enumerate(response.outputs):
        c = out.contents
        values += [*c.fp32_contents, *c.fp64_contents, *c.int_contents, *c.int64_contents]
        if i < len(response.raw_output_contents) and out.datatype in _RAW:
            raw = response.raw_output_contents[i]
            fmt = _RAW[out.datatype]
            values += [v for (v,) in struct.iter_unpack(fmt, raw)]
    return values


async def _check(call: Any, requests: list[Any], expected: list[float], check: list[int]) -> str:
    """An empty string when every checked row is answered with XGBoost's probability."""
    for i in check:
        values = answer_values(await call(requests[i], timeout=10))
        p = expected[i]
        gap = min((min(abs(v - p), abs(v - (1 - p))) for v in values), default=float("inf"))
        if gap > 1e-5:
            shown = ", ".join(f"{v:.6g}" for v in values[:4]) or "no number"
            return f"wrong answer for row {i}: expected {p:.6f}, answered {shown}"
    return ""


async def _load(args: argparse.Namespace, pb2: ModuleType, pb2_grpc: ModuleType) -> dict[str, Any]:
    import grpc

    data = json.loads(args.rows.read_text())
    requests = [
        build_request(pb2, args.model, args.body, data["features"], row) for row in data["rows"]
    ]
    turn = 0
    n_channels = max(1, min(args.concurrency, args.channels))
    channels = [
        grpc.aio.insecure_channel(args.target, options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range(n_channels)
    ]
    calls = [pb2_grpc.GRPCInferenceServiceStub(ch).ModelInfer for ch in channels]
    wrong = await _check(calls[0], requests, data["expected"], data["check"])
    if wrong:
        for ch in channels:
            await ch.close()
        return {"wrong": wrong}
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    recording = False
    stop_at = 0.0

    async def client(i: int) -> None:
        nonlocal turn
        call = calls[i % n_channels]
        while time.perf_counter() < stop_at:
            turn = (turn + 1) % len(requests)
            request = requests[turn]
            t0 = time.perf_counter()
            try:
                await call(request, timeout=10)
            except grpc.aio.AioRpcError as exc:
                if recording:
                    errors[exc.code().name] += 1
                continue
            if recording:
                latencies.append(time.perf_counter() - t0)

    stop_at = time.perf_counter() + args.warmup
    await asyncio.gather(*(client(i) for i in range(args.concurrency)))
    latencies.clear()
    errors.clear()
    recording = True
    start = time.perf_counter()
    stop_at = start + args.duration
    await asyncio.gather(*(client(i) for i in range(args.concurrency)))
    elapsed = time.perf_counter() - start
    for ch in channels:
        await ch.close()
    latencies.sort()

    def pct(q: float) -> float:
        if not latencies:
            return 0.0
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "errors": sum(errors.values()),
        "error_detail": ", ".join(f"{k} {v}" for k, v in errors.items()),
        "checked": len(data["check"]),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--target", required=True)
    p.add_argument("--model", default="fraud")
    p.add_argument("--body", choices=("named", "matrix"), default="named")
    p.add_argument("--rows", type=Path, required=True, help="the rows file rows.py writes")
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--channels", type=int, default=8)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--cache", type=Path, default=HERE / ".cache")
    args = p.parse_args()
    pb2, pb2_grpc = stubs(args.cache)
    result = asyncio.run(_load(args, pb2, pb2_grpc))
    print(json.dumps(result))
    return 3 if "wrong" in result else 0


if __name__ == "__main__":
    raise SystemExit(main())
