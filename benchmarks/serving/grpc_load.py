"""A small gRPC load generator for Open Inference Protocol servers (``ModelInfer``).

``python grpc_load.py --target HOST:PORT --model fraud --body named|matrix
--concurrency 64 --duration 10`` prints one JSON line: requests, requests/s, p50/p99 ms, errors.
Concurrent calls are spread over several channels (separate TCP connections), so a server
whose workers share the port through SO_REUSEPORT sees more than one connection.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
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


def build_request(pb2: ModuleType, model: str, body: str, features: list[str]) -> Any:
    """One row: 30 named FP32 inputs of shape [1] (``named``) or one [1, 30] input (``matrix``)."""
    row = [float(i % 7) + 0.5 for i in range(len(features))]
    req = pb2.ModelInferRequest(model_name=model)
    if body == "named":
        for name, value in zip(features, row, strict=True):
            t = req.inputs.add(name=name, datatype="FP32", shape=[1])
            t.contents.fp32_contents.append(value)
    else:
        t = req.inputs.add(name="input-0", datatype="FP32", shape=[1, len(row)])
        t.contents.fp32_contents.extend(row)
    return req


async def _load(args: argparse.Namespace, pb2: ModuleType, pb2_grpc: ModuleType) -> dict[str, Any]:
    import grpc

    features = json.loads(args.features.read_text())
    request = build_request(pb2, args.model, args.body, features)
    n_channels = max(1, min(args.concurrency, args.channels))
    channels = [
        grpc.aio.insecure_channel(args.target, options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range(n_channels)
    ]
    calls = [pb2_grpc.GRPCInferenceServiceStub(ch).ModelInfer for ch in channels]
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    recording = False
    stop_at = 0.0

    async def client(i: int) -> None:
        call = calls[i % n_channels]
        while time.perf_counter() < stop_at:
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
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--target", required=True)
    p.add_argument("--model", default="fraud")
    p.add_argument("--body", choices=("named", "matrix"), default="named")
    p.add_argument("--features", type=Path, required=True, help="JSON list of feature names")
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--channels", type=int, default=8)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--cache", type=Path, default=HERE / ".cache")
    args = p.parse_args()
    pb2, pb2_grpc = stubs(args.cache)
    print(json.dumps(asyncio.run(_load(args, pb2, pb2_grpc))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
