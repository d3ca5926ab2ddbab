"""What monitoring costs a server: throughput with the inference log at 100% against logging off.

    .venv/bin/python benchmarks/monitoring/logging_overhead.py [--duration 10] [--rounds 3]

Trains a fraud XGBoost model (30 features, 100 trees) and registers it with its training table
(so a data contract is derived), then runs ``modelport serve fraud --preload --no-grpc`` under
four monitoring settings, each loaded by wrk with single-row V2 requests. The settings take
turns, ``--rounds`` times, and the median of each is reported (a shared machine drifts). The
table goes to stdout and to ``results.md`` beside this file.

| setting | serve flags |
|---|---|
| off | ``--no-metrics --no-log-requests --contract-policy off`` (no monitoring stage at all) |
| metrics | ``--no-log-requests --contract-policy off`` |
| metrics + contract | ``--no-log-requests`` (flag policy: every request checked) |
| metrics + contract + log 100% | the defaults: every request written to the Parquet log |
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "benchmarks" / "serving"))
from loadwrk import WrkResult, run_wrk, write_script  # noqa: E402

FEATURES = [f"f{i}" for i in range(30)]
SETTINGS: dict[str, list[str]] = {
    "off": ["--no-metrics", "--no-log-requests", "--contract-policy", "off"],
    "metrics": ["--no-log-requests", "--contract-policy", "off"],
    "metrics + contract": ["--no-log-requests"],
    "metrics + contract + log 100%": [],
}


@dataclass
class Run:
    setting: str
    result: WrkResult
    cpu_us: float
    """Server CPU time (every process and thread, the log writer included) per request."""
    dropped: float
    written: float


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and all its descendants (threads included)."""
    total = 0.0
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / _TICK
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except (OSError, IndexError, ValueError):
            continue
        stack.extend(int(c) for c in children)
    return total


def build_registry(home: Path) -> None:
    import numpy as np
    import pandas as pd
    import xgboost as xgb

    from modelport.config import RegistrySettings
    from modelport.registry import Registry
    from modelport.registry.intake import Registration, register_artifact

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(5000, 30)).astype(np.float32), columns=FEATURES)
    label = (frame["f0"] + frame["f1"] - frame["f2"] > 0).astype(int)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 4, "nthread": 1},
                        xgb.DMatrix(frame, label=label, feature_names=FEATURES),
                        num_boost_round=100)
    model = home / "fraud.json"
    booster.save_model(model)
    train = home / "train.parquet"
    frame.assign(label=label).to_parquet(train, index=False)
    with Registry.open(RegistrySettings(home=home)) as registry:
        register_artifact(registry, Registration(
            name="fraud", artifact=model, registered_by="bench", flavor="xgboost",
            train_data=train))


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/v2/models/fraud/ready", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"server not ready:\n{log.read_text()[-2000:]}")


def scrape(url: str, outcome: str) -> float:
    try:
        with urllib.request.urlopen(f"{url}/metrics", timeout=10) as r:
            text = r.read().decode()
    except OSError:
        return 0.0
    found = re.search(
        rf'^modelport_inference_log_records_total{{outcome="{outcome}"}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def measure(setting: str, home: Path, script: Path, args: argparse.Namespace) -> Run:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = home / f"server-{port}.log"
    cmd = [sys.executable, "-c", "from modelport.cli.main import main; main()", "serve",
           "fraud", "--preload", "--no-grpc", "--port", str(port), "--workers",
           str(args.workers), "--drift-interval", "0s", *SETTINGS[setting]]
    env = {**os.environ, "MODELPORT_HOME": str(home)}
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_ready(url, proc, log)
        run_wrk(f"{url}/v2/models/fraud/infer", script, args.connections, 2)  # warm up
        time.sleep(1.5)
        cpu_before = cpu_seconds(proc.pid)
        result = run_wrk(f"{url}/v2/models/fraud/infer", script, args.connections,
                         args.duration)
        time.sleep(1.5)  # the log writes and metrics flush about once a second
        cpu = cpu_seconds(proc.pid) - cpu_before
        return Run(setting, result, 1e6 * cpu / max(result.requests, 1),
                   scrape(url, "dropped"), scrape(url, "written"))
    finally:
        proc.terminate()
        proc.wait(60)


def inprocess(home: Path, chunks: int, per_chunk: int) -> dict[str, list[float]]:
    """CPU per request of each setting in one process, taking turns every ``per_chunk``
    requests, so a busy machine slows every setting alike. The log's writing is done inside
    the chunk that queued it (its thread is not started), metrics are flushed likewise."""
    import asyncio

    import orjson

    from modelport.config import RegistrySettings
    from modelport.monitoring.config import LogConfig, MonitoringConfig
    from modelport.protocol.json_codec import decode_request, encode_response
    from modelport.registry import Registry
    from modelport.serving.dataplane import DataPlane
    from modelport.serving.models import ManagerConfig, ModelManager
    from modelport.serving.pipeline import CallContext
    from modelport.serving.registry_source import RegistrySource
    from modelport.serving.worker_monitoring import WorkerMonitoring

    configs = {
        "off": MonitoringConfig(metrics=False, contract_policy="off"),
        "metrics": MonitoringConfig(contract_policy="off"),
        "metrics + contract": MonitoringConfig(),
        "metrics + contract + log 100%": MonitoringConfig(
            log=LogConfig(root=str(home / "inference-log"))),
    }
    body = orjson.dumps({"inputs": [{"name": f, "datatype": "FP32", "shape": [1], "data": [0.1]}
                                    for f in FEATURES]})

    async def run() -> dict[str, list[float]]:
        registry = Registry.open(RegistrySettings(home=home))
        source = RegistrySource(registry)
        planes = {}
        for name, config in configs.items():
            monitoring = WorkerMonitoring(config, source)
            plane = DataPlane(ModelManager(source, ManagerConfig(refs=("fraud",)),
                                           observer=monitoring.monitor),
                              stages=[monitoring.observe, monitoring.validate])
            await plane.start(preload=True)
            await plane.models.wait_preloaded()
            planes[name] = (plane, monitoring)
        import gc

        gc.collect()
        gc.freeze()  # as a server worker does once its models are in
        costs: dict[str, list[float]] = {name: [] for name in configs}
        names = list(configs)
        for chunk in range(chunks + 1):
            for name in names[chunk % len(names):] + names[:chunk % len(names)]:
                plane, monitoring = planes[name]
                started = time.process_time()
                for _ in range(per_chunk):
                    response = await plane.infer("fraud", None, decode_request(body),
                                                 CallContext(name="fraud"))
                    encode_response(response)
                monitoring.monitor.metrics.flush()
                if monitoring.monitor.log is not None:
                    monitoring.monitor.log.write_pending()
                if chunk:  # the first round warms up (contracts load, caches fill)
                    costs[name].append((time.process_time() - started) / per_chunk * 1e6)
        for plane, monitoring in planes.values():
            await plane.stop()
            await monitoring.close()
        registry.close()
        return costs

    return asyncio.run(run())


def render_inprocess(costs: dict[str, list[float]], chunks: int, per_chunk: int) -> str:
    base = statistics.median(costs["off"])
    no_log = statistics.median(costs["metrics + contract"])
    full = statistics.median(costs["metrics + contract + log 100%"])
    lines = ["| setting | CPU us/request (median) | added | requests/CPU-second | vs off |",
             "|---|---|---|---|---|"]
    for name, values in costs.items():
        cpu = statistics.median(values)
        lines.append(f"| {name} | {cpu:.0f} | {cpu - base:+.0f} us | {1e6 / cpu:,.0f} | "
                     f"{100 * (base / cpu - 1):+.1f}% |")
    return "\n".join([
        f"In process ({chunks} turns of {per_chunk} requests per setting; JSON decode, "
        "pipeline, batcher, XGBoost predict, JSON encode; no HTTP):",
        "",
        *lines,
        "",
        f"Logging every request costs {100 * (1 - no_log / full):.1f}% of throughput against the "
        f"log off (target: within 10%); all monitoring together {100 * (1 - base / full):.1f}%. "
        "Without HTTP in the loop these shares are larger than a real server's.",
        "",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="turns of every setting")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--inprocess", action="store_true",
                        help="measure CPU per request in one process instead of servers")
    parser.add_argument("--chunks", type=int, default=30, help="--inprocess turns")
    args = parser.parse_args()
    import json

    with tempfile.TemporaryDirectory(prefix="modelport-bench-") as tmp:
        home = Path(tmp)
        build_registry(home)
        if args.inprocess:
            text = render_inprocess(inprocess(home, args.chunks, 1000), args.chunks, 1000)
            cmd = ("`.venv/bin/python benchmarks/monitoring/logging_overhead.py --inprocess "
                   f"--chunks {args.chunks}`")
            text = f"Command: {cmd}\n{_machine()}\n\n{text}"
            print(text)
            (HERE / "results-inprocess.md").write_text(text)
            return
        row = [0.1] * len(FEATURES)
        body = json.dumps({"inputs": [
            {"name": f, "datatype": "FP32", "shape": [1], "data": [v]}
            for f, v in zip(FEATURES, row, strict=True)]}).encode()
        script = write_script(home / "wrk", "v2", body, "application/json")
        runs: list[Run] = []
        load_before = os.getloadavg()
        for r in range(args.rounds):
            for setting in SETTINGS:
                run = measure(setting, home, script, args)
                runs.append(run)
                print(f"round {r + 1}: {setting}: {run.result.rps:,.0f} req/s, "
                      f"{run.cpu_us:.0f} us CPU/request", flush=True)
        load_after = os.getloadavg()
    table = render(runs, args, load_before, load_after)
    print(table)
    (HERE / "results.md").write_text(table)


def render(runs: list[Run], args: argparse.Namespace, before: tuple[float, ...],
           after: tuple[float, ...]) -> str:
    def med(setting: str, attr: str) -> float:
        picked = [r for r in runs if r.setting == setting]
        return statistics.median(
            getattr(r.result, attr) if hasattr(r.result, attr) else getattr(r, attr)
            for r in picked)

    base_cpu, base_rps = med("off", "cpu_us"), med("off", "rps")
    lines = [
        "| setting | server CPU us/request | vs off | req/s (median) | vs off | p50 ms | p99 ms "
        "| log written | log dropped |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for setting in SETTINGS:
        mine = [r for r in runs if r.setting == setting]
        cpu, rps = med(setting, "cpu_us"), med(setting, "rps")
        lines.append(
            f"| {setting} | {cpu:.0f} | {100 * (cpu / base_cpu - 1):+.1f}% | {rps:,.0f} | "
            f"{100 * (rps / base_rps - 1):+.1f}% | {med(setting, 'p50_ms'):.2f} | "
            f"{med(setting, 'p99_ms'):.2f} | {sum(r.written for r in mine):,.0f} | "
            f"{sum(r.dropped for r in mine):,.0f} |")
    no_log = med("metrics + contract", "cpu_us")
    full = med("metrics + contract + log 100%", "cpu_us")
    log_cost = 100 * (1 - no_log / full)
    all_cost = 100 * (1 - base_cpu / full)
    cmd = ("`.venv/bin/python benchmarks/monitoring/logging_overhead.py "
           f"--duration {args.duration:g} --rounds {args.rounds} --connections "
           f"{args.connections} --workers {args.workers}`")
    return "\n".join([
        f"Command: {cmd}",
        f"{_machine()} Load average before {before[0]:.2f}, after {after[0]:.2f}.",
        "",
        *lines,
        "",
        f"Throughput a CPU-bound server can reach is 1 / (CPU per request): logging every "
        f"request costs {log_cost:.1f}% of it against the same server with the log off "
        f"(target: within 10%); all monitoring together costs {all_cost:.1f}% against none.",
        "",
    ])


def _machine() -> str:
    return (f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine: {platform.machine()}, "
            f"{os.cpu_count()} cores, Python {platform.python_version()}; load average "
            f"{os.getloadavg()[0]:.2f}.")


if __name__ == "__main__":
    main()
