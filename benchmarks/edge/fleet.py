"""Fleet simulation: N simulated OTA devices (one asyncio process) against one real server.

A staged rollout: every device first converges on v1, then v2 goes to 10% of the devices
(stable hashing of the device id), then to 100% (the alias moves). For each phase: seconds
until every device runs what it should, requests per second the server answered, what the
requests were (unchanged polls are 304s), bytes transferred and the server's CPU seconds.
Each device must download each version exactly once.

    .venv/bin/python benchmarks/edge/fleet.py --devices 1000 --interval 5 --write-readme
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np

from modelport.config import RegistrySettings
from modelport.edge.fleet import Fleet, bucket
from modelport.edge.simulate import FleetSim
from modelport.registry import Registry
from modelport.runtimes.onnx_runtime import OnnxRuntime
from modelport.security.keys import KeyStore
from modelport.security.signing import (
    SIGNATURE_TAG,
    generate_signing_key,
    load_signing_key,
    load_verify_key,
    sign_artifact,
)

HERE = Path(__file__).resolve().parent
_SERVE = "import typer; from modelport.cli.serve_cmd import serve; typer.run(serve)"


def onnx_model(path: Path, scale: float, pad_floats: int) -> Path:
    from onnx import TensorProto, helper, numpy_helper, save

    w = numpy_helper.from_array(np.array([[scale], [2 * scale]], np.float32), "w")
    pad = numpy_helper.from_array(np.random.default_rng(int(scale)).random(pad_floats)
                                  .astype(np.float32), "pad")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])], [w, pad])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    save(model, str(path))
    return path


def build(home: Path, pad_floats: int) -> tuple[Path, str]:
    home.mkdir(parents=True)
    key, pub = home / "key.pem", home / "key.pub.pem"
    generate_signing_key(key, pub)
    with Registry.open(RegistrySettings(home=home)) as registry:
        for version in (1, 2):
            path = onnx_model(home / f"v{version}.onnx", float(version), pad_floats)
            runtime = OnnxRuntime()
            runtime.load(path)
            info = registry.register("m", path, flavor="onnx", signature=runtime.signature(),
                                     registered_by="bench", alias="edge" if version == 1 else None)
            signed = sign_artifact(load_signing_key(key), name="m", version=info.version,
                                   sha256=info.artifact_sha256)
            registry.set_tags("m", info.version, {SIGNATURE_TAG: signed})
        token = KeyStore(registry.engine).create(name="fleet", role="device", models="m",
                                                 actor="bench").token
    return pub, token


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its children (the server's workers)."""
    total = 0.0
    pids = [pid, *map(int, Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]
    for p in pids:
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


async def simulate(url: str, home: Path, pub: Path, token: str, args: argparse.Namespace,
                   server_pid: int) -> list[dict[str, object]]:
    sim = FleetSim(url, "m", devices=args.devices, folder=home / "sim", interval_s=args.interval,
                   key=load_verify_key(pub), heartbeat_every=args.heartbeat_every,
                   api_key=token, connections=args.connections)
    phases: list[dict[str, object]] = []

    async def phase(name: str, want: object, action: object = None) -> None:
        before_req, before_bytes = Counter(sim.counts.requests), sim.bytes_in
        before_cpu, began = cpu_seconds(server_pid), time.monotonic()
        if action is not None:
            await asyncio.to_thread(action)  # type: ignore[arg-type]
        converge = await sim.wait_for(want, timeout_s=args.timeout)  # type: ignore[arg-type]
        await asyncio.sleep(args.settle)  # unchanged polls after convergence: 304s
        elapsed = time.monotonic() - began
        requests = sim.counts.requests - before_req
        phases.append({
            "phase": name, "converge_s": round(converge, 2), "window_s": round(elapsed, 2),
            "requests": dict(requests), "req_per_s": round(sum(requests.values()) / elapsed, 1),
            "bytes": sim.bytes_in - before_bytes,
            "server_cpu_s": round(cpu_seconds(server_pid) - before_cpu, 2),
            "versions": {str(k): v for k, v in sim.versions().items()},
        })
        print(json.dumps(phases[-1]), flush=True)

    def stage(percent: float) -> None:
        with Registry.open(RegistrySettings(home=home)) as registry:
            Fleet(registry).stage("m", "edge", 2, percent, actor="bench")

    await sim.start()
    try:
        await phase("boot: every device gets v1", lambda d: 1)
        await phase("v2 to 10%", lambda d: 2 if bucket("m", d) < 10 else 1, lambda: stage(10))
        await phase("v2 to 100%", lambda d: 2, lambda: stage(100))
    finally:
        await sim.stop()
    downloads = Counter(sim.counts.downloads.values())
    assert set(downloads) == {1}, f"some device downloaded a version twice: {downloads}"
    for p in phases:
        p["device_errors"] = dict(sim.counts.errors)  # retried by the device on its next poll
    return phases


def render(phases: list[dict[str, object]], args: argparse.Namespace, size: int) -> str:
    lines = [
        "| phase | converged in (s) | window (s) | requests/s | 200 polls | 304 polls | "
        "manifests | downloads | heartbeats | MB transferred | server CPU s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in phases:
        r = p["requests"]
        assert isinstance(r, dict)
        lines.append(
            f"| {p['phase']} | {p['converge_s']} | {p['window_s']} | {p['req_per_s']} | "
            f"{r.get('current 200', 0)} | {r.get('current 304', 0)} | {r.get('manifest', 0)} | "
            f"{r.get('artifact', 0)} | {r.get('heartbeat', 0)} | "
            f"{int(p['bytes']) / 1e6:.1f} | {p['server_cpu_s']} |")
    errors = phases[-1].get("device_errors") or {}
    tail = (f"\nDevice-side errors over the whole run (each retried on the next poll): "
            f"{errors or 'none'}. Every device downloaded each version exactly once.\n")
    head = (f"{args.devices} devices, poll every {args.interval} s (±20% jitter), heartbeat "
            f"every {args.heartbeat_every} polls, artifact {size:,} bytes, {args.workers} server "
            f"worker(s), device-role API key, signatures checked on every device.")
    return head + "\n\n" + "\n".join(lines) + "\n" + tail


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--heartbeat-every", type=int, default=5)
    parser.add_argument("--pad-floats", type=int, default=25_000, help="artifact size / 4")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--settle", type=float, default=5.0)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mp-fleet-") as tmp:
        home = Path(tmp) / "home"
        pub, token = build(home, args.pad_floats)
        size = (home / "v1.onnx").stat().st_size
        port = free_port()
        log = (Path(tmp) / "server.log").open("wb")
        server = subprocess.Popen(
            [sys.executable, "-c", _SERVE, "m", "--no-grpc", "--port", str(port),
             "--workers", str(args.workers)],
            env={**os.environ, "MODELPORT_HOME": str(home)}, stdout=log, stderr=log)
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{url}/v2/health/live", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            phases = asyncio.run(simulate(url, home, pub, token, args, server.pid))
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(30)
    table = render(phases, args, size)
    print(table)
    if args.write_readme:
        readme = HERE / "README.md"
        text = readme.read_text() if readme.exists() else ""
        marker = "<!-- results -->"
        before = text.split(marker)[0] if marker in text else text
        readme.write_text(before + marker + "\n\n" + table)


if __name__ == "__main__":
    main()
