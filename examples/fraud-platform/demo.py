"""The fraud platform, end to end, on this machine: one command.

    python examples/fraud-platform/demo.py --quick --redis redis://localhost:6379/0

1. Train two XGBoost models on 105 features (from a registered Python transform of raw event
   fields) and register them with lineage to their training data and their AUC; register the
   ``fraud-decision`` pipeline (transform -> ensemble -> rules) with ``modelport pipelines``.
2. Transactions are produced to a Redis stream and scored by ``modelport stream run
   fraud-decision@production``; decisions land in an output stream, review cases are forwarded
   to a review queue that the "analyst" consumes, labelling them from the ground truth.
3. A fraud-pattern shift is injected; chargeback labels arrive later (the delay). Live AUC on
   the labelled window is judged against the registered baseline by modelport's performance
   monitor (5% relative margin) and a webhook alert goes to a local receiver.
4. The retraining job (daily in production, on demand here) trains on recent labelled data,
   evaluates on fresh labelled traffic and, when the new models beat the serving ones,
   registers them (lineage: parent version, training data) and a pipeline version using them,
   then a live canary on ``modelport serve`` (error-rate and review-rate gates) promotes or
   rolls it back.

It prints a timeline and a summary table. ``--quick`` runs in a few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import pandas as pd
import redis
from events import RAW, make_events
from rich.console import Console
from rich.table import Table
from training import ensemble_auc, train

HERE = Path(__file__).resolve().parent
RUN = "from modelport.cli.stream_cmd import app; app(prog_name='modelport stream')"
console = Console()
PIPELINE = """\
name: fraud-decision
steps:
  - name: features
    transform: fraud-features@production
  - name: score
    ensemble:
      models: [fraud-xgb-a:{a}, fraud-xgb-b:{b}]
      combine: mean
  - name: decide
    rules:
      - when: "country in ['NG'] and amount > 1000"
        decision: decline
        reason: deny_list_amount
      - when: "score.predict_proba[1] > {threshold}"
        decision: review
        reason: high_risk
      - when: "amount > 5000"
        decision: review
        reason: amount_limit
    default: approve
outputs: [score.predict_proba, decide.decision, decide.reason]
"""


class Timeline:
    def __init__(self) -> None:
        self.started = time.monotonic()
        self.events: list[tuple[float, str, str]] = []

    def add(self, kind: str, text: str) -> None:
        at = time.monotonic() - self.started
        self.events.append((at, kind, text))
        console.print(f"[dim]{at:7.1f}s[/] [bold]{kind:<10}[/] {text}", highlight=False)


class Receiver:
    """A local webhook receiver: the alert's destination."""

    def __init__(self) -> None:
        received: list[dict[str, Any]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.received = received
        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def cli(*args: str) -> str:
    """Run a modelport command (the installed CLI, this process's environment)."""
    done = subprocess.run([sys.executable, "-c", "from modelport.cli.main import main; "
                           "raise SystemExit(main())", *args],
                          capture_output=True, text=True, env=os.environ.copy())
    if done.returncode != 0:
        raise SystemExit(f"modelport {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


class Stream:
    """The Redis side: transactions in, decisions out, the review queue."""

    def __init__(self, url: str, prefix: str) -> None:
        self.url, self.prefix = url, prefix
        self.client = redis.Redis.from_url(url)
        self.truth: dict[bytes, int] = {}
        self.produced_at: dict[bytes, float] = {}
        self.read_from = b"0"
        self.review_from = b"0"

    def key(self, name: str) -> str:
        return f"{self.prefix}:{name}"

    def produce(self, events: pd.DataFrame, rate: float) -> None:
        rows = events[RAW].to_dict("records")
        step = 200
        for start in range(0, len(rows), step):
            pipe = self.client.pipeline(transaction=False)
            for row in rows[start:start + step]:
                pipe.xadd(self.key("tx"), {"data": orjson.dumps(row)})
            ids = pipe.execute()
            now = time.time()
            for i, entry in enumerate(ids):
                self.truth[entry] = int(events["is_fraud"].iloc[start + i])
                self.produced_at[entry] = now
            time.sleep(step / rate)

    def collect(self, expected: int, timeout_s: float) -> list[dict[str, Any]]:
        """Decisions until ``expected`` more arrived; review cases go to the review queue."""
        out: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout_s
        while len(out) < expected:
            if time.monotonic() > deadline:
                raise SystemExit(f"only {len(out)} of {expected} decisions arrived")
            batch = self.client.xread({self.key("decisions"): self.read_from}, count=1000,
                                      block=500)
            for _, entries in batch:
                for entry_id, fields in entries:
                    self.read_from = entry_id
                    decision = orjson.loads(fields[b"data"])
                    decision["latency_ms"] = (int(entry_id.split(b"-")[0]) / 1000
                                              - self.produced_at[decision["id"].encode()]) * 1e3
                    out.append(decision)
                    if decision["decide.decision"] != "approve":
                        self.client.xadd(self.key("review-queue"),
                                         {"data": orjson.dumps({"id": decision["id"],
                                                                "reason": decision[
                                                                    "decide.reason"]})})
        return out

    def analyst(self) -> list[tuple[str, int]]:
        """The analyst works through the review queue: one label per case."""
        labels = []
        for _, entries in self.client.xread({self.key("review-queue"): self.review_from},
                                            count=100_000) or []:
            for entry_id, fields in entries:
                self.review_from = entry_id
                case = orjson.loads(fields[b"data"])
                labels.append((case["id"], self.truth[case["id"].encode()]))
        return labels

    def close(self) -> None:
        keys = list(self.client.scan_iter(match=f"{self.prefix}:*"))
        if keys:
            self.client.delete(*keys)
        self.client.close()


def judge_window(decisions: list[dict[str, Any]], truth: dict[bytes, int], baseline: float
                 ) -> tuple[dict[str, float], tuple[str, ...]]:
    """Live quality of one window with modelport's performance monitor."""
    from modelport.monitoring.performance import judge, measure

    labels = [truth[d["id"].encode()] for d in decisions]
    predicted = [int(d["score.predict_proba"][1] > 0.5) for d in decisions]
    scores = [float(d["score.predict_proba"][1]) for d in decisions]
    _, metrics = measure(labels, predicted, scores)
    return metrics, judge({"auc": metrics["auc"]}, {"auc": baseline}, 0.05)


CANARY = """\
endpoint: fraud-live
strategy: canary
stable: fraud-decision:1
candidate: fraud-decision:2
canary:
  steps: [50, 100]
  interval: 1s
  min_requests: 20
  compare_output: decide.decision
  gates:
    max_error_rate: 0.01
    max_class_rate: {review: 0.05}
"""


def canary(timeline: Timeline, work: Path, events: pd.DataFrame) -> bool:
    """A live canary of pipeline 2 against 1 on a real server; the gates decide."""
    from modelport.config import RegistrySettings
    from modelport.registry import Registry
    from modelport.routing.records import Status
    from modelport.routing.service import DeploymentService

    port = _free_port()
    log = work / "server.log"
    server = subprocess.Popen(
        [sys.executable, "-c", "from modelport.cli.main import main; raise SystemExit(main())",
         "serve", "--port", str(port), "--no-grpc", "--workers", "1",
         "--routing-poll-interval", "0.5", "--controller-tick", "0.5"],
        env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=log.open("wb"))
    url = f"http://127.0.0.1:{port}"
    stop = threading.Event()
    try:
        _wait(lambda: _ready(url), 60, "the server to start", log)
        (work / "canary.yaml").write_text(CANARY)
        cli("deploy", "apply", "-f", str(work / "canary.yaml"))
        timeline.add("canary", "canary fraud-decision:1 -> 2 on endpoint fraud-live (gates: "
                               "error rate, review rate <= 5%)")
        rows = events[RAW]
        answers: Counter[str] = Counter()
        thread = threading.Thread(target=_traffic, args=(url, rows, stop, answers), daemon=True)
        with Registry.open(RegistrySettings()) as registry:
            service = DeploymentService(registry)
            revision = service.get("fraud-live").revision
            _wait(lambda: any(w.revision >= revision
                              for w in service.status("fraud-live").workers),
                  30, "the server to route fraud-live", log)
            thread.start()
            _wait(lambda: service.get("fraud-live").status in (Status.PROMOTED,
                                                                Status.ROLLED_BACK),
                  90, "the canary's verdict", log)
            record = service.get("fraud-live")
        won = record.status is Status.PROMOTED
        seen = ", ".join(f"{n} from {k}" for k, n in sorted(answers.items()))
        timeline.add("canary", ("gates passed: candidate promoted" if won else
                                f"gates failed: rolled back ({record.reason})")
                     + f"; answers: {seen}")
        return won
    finally:
        stop.set()
        server.send_signal(signal.SIGTERM)
        server.wait(30)


def _traffic(url: str, rows: pd.DataFrame, stop: threading.Event, answers: Counter[str]
             ) -> None:
    with httpx.Client(timeout=30) as client:
        start = 0
        while not stop.is_set():
            chunk = rows.iloc[start % (len(rows) - 10):][:10]
            start += 10
            inputs = [{"name": c, "datatype": "BYTES" if c == "country" else "FP64",
                       "shape": [len(chunk)], "data": chunk[c].tolist()} for c in RAW]
            try:
                reply = client.post(f"{url}/v2/models/fraud-live/infer", json={"inputs": inputs})
            except httpx.HTTPError:
                answers["connection error"] += 1
                time.sleep(0.1)
                continue
            answers[f"fraud-decision:{reply.json()['model_version']}"
                    if reply.status_code == 200 else f"HTTP {reply.status_code}"] += 1


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/v2/health/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _wait(check: Any, timeout_s: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Small data: a few minutes.")
    parser.add_argument("--redis", default=os.environ.get("MODELPORT_REDIS_URL",
                                                          "redis://localhost:6379/0"))
    parser.add_argument("--home", type=Path, default=None, help="MODELPORT_HOME (default: temp)")
    parser.add_argument("--json", type=Path, default=None, help="Write the summary here too.")
    args = parser.parse_args()
    sizes = ((20_000, 8_000, 30) if args.quick else (200_000, 40_000, 120))
    history_n, window_n, rounds = sizes
    home = args.home or Path(tempfile.mkdtemp(prefix="fraud-platform-"))
    os.environ["MODELPORT_HOME"] = str(home)
    os.environ.setdefault("MODELPORT_USER", "fraud-team")
    work = home / "work"
    timeline = Timeline()
    receiver = Receiver()
    summary = run(timeline, receiver, Stream(args.redis, f"fraud-demo-{uuid.uuid4().hex[:8]}"),
                  work, history_n, window_n, rounds)
    table = Table(title="fraud platform: summary")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name, value in summary.items():
        if not isinstance(value, list):
            table.add_row(name, f"{value:.4g}" if isinstance(value, float) else str(value))
    console.print(table)
    summary["timeline"] = [{"at_s": round(a, 2), "kind": k, "text": t}
                           for a, k, t in timeline.events]
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))


def run(timeline: Timeline, receiver: Receiver, stream: Stream, work: Path, history_n: int,
        window_n: int, rounds: int) -> dict[str, Any]:
    history = make_events(history_n, seed=1)
    holdout = make_events(history_n // 2, seed=2)
    models = train(history, work, rounds=rounds, tag="v1")
    baseline = ensemble_auc(models, holdout)
    timeline.add("train", f"2 XGBoost models on {history_n:,} events, 105 features; "
                          f"ensemble holdout AUC {baseline:.3f}")
    cli("models", "register", str(HERE / "features.py"), "--name", "fraud-features",
        "--flavor", "python", "--alias", "production")
    versions = {}
    for name, (path, data) in models.items():
        info = json.loads(cli("models", "register", str(path), "--name", name, "--alias",
                              "production", "--train-data", str(data), "--metric",
                              f"auc={baseline:.4f}", "--json"))
        versions[name] = info["version"]
    threshold = 0.5
    pipeline = work / "pipeline.yaml"
    pipeline.write_text(PIPELINE.format(a=versions["fraud-xgb-a"], b=versions["fraud-xgb-b"],
                                        threshold=threshold))
    cli("pipelines", "register", "fraud-decision", "-f", str(pipeline), "--alias", "production")
    timeline.add("register", "fraud-features:1, fraud-xgb-a:1, fraud-xgb-b:1 (lineage: "
                             "training data), pipeline fraud-decision:1 -> production")

    log = work / "scorer.log"
    scorer = subprocess.Popen(
        [sys.executable, "-c", RUN, "run", "fraud-decision@production",
         "--source", f"{stream.url}?stream={stream.key('tx')}&group=scorer",
         "--sink", f"{stream.url}?stream={stream.key('decisions')}", "--max-wait-ms", "5"],
        env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=log.open("wb"))
    try:
        deadline = time.monotonic() + 120
        while "scoring fraud-decision" not in log.read_text():  # models loaded, group joined
            if scorer.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the scorer did not start:\n{log.read_text()}")
            time.sleep(0.2)
        timeline.add("stream", f"scorer started: stream run fraud-decision@production on "
                               f"{stream.key('tx')}")
        stream.produce(make_events(window_n, seed=3), rate=1500)
        before = stream.collect(window_n, 120)
        labels_before = stream.analyst()
        metrics_before, worse = judge_window(before, stream.truth, baseline)
        timeline.add("window", f"{window_n:,} events scored; {len(labels_before)} to review; "
                               f"live AUC {metrics_before['auc']:.3f} "
                               f"({'below' if worse else 'within'} 5% of the baseline)")
        shifted = make_events(window_n, seed=4, shift=True, fraud_rate=0.01)
        timeline.add("shift", "fraud pattern shift injected (small daytime amounts)")
        stream.produce(shifted, rate=1500)
        after = stream.collect(window_n, 120)
        labels_after = stream.analyst()
        timeline.add("labels", f"analyst labelled {len(labels_after)} review cases; "
                               "chargebacks for the rest arrive after the delay")
        metrics_after, degraded = judge_window(after, stream.truth, baseline)
        alerts = 0
        if degraded:
            from modelport.monitoring.webhooks import deliver

            async def send() -> bool:
                async with httpx.AsyncClient(timeout=5) as client:
                    return await deliver(client, receiver.url, {
                        "kind": "performance", "model": "fraud-decision", "version": "1",
                        "metric": "auc", "live": metrics_after["auc"], "baseline": baseline,
                        "margin": 0.05})
            if asyncio.run(send()):
                alerts = len(receiver.received)
            timeline.add("alert", f"live AUC {metrics_after['auc']:.3f} is more than 5% below "
                                  f"the registered {baseline:.3f}: webhook delivered "
                                  f"({alerts} received)")

        recent = pd.concat([history.sample(frac=0.5, random_state=0),
                            shifted.iloc[: window_n // 2]])
        new_models = train(recent, work, rounds=rounds, tag="v2")
        fresh = make_events(window_n * 2, seed=5, shift=True, fraud_rate=0.01)
        old_auc, new_auc = ensemble_auc(models, fresh), ensemble_auc(new_models, fresh)
        timeline.add("retrain", f"retraining job: {len(recent):,} recent labelled events; "
                                f"AUC on fresh traffic {new_auc:.3f} (serving: {old_auc:.3f})")
        promoted = 0
        if new_auc > old_auc:
            for name, (path, data) in new_models.items():
                info = json.loads(cli("models", "register", str(path), "--name", name,
                                      "--train-data", str(data), "--metric",
                                      f"auc={new_auc:.4f}", "--parent-version",
                                      str(versions[name]), "--json"))
                versions[name] = info["version"]
            pipeline.write_text(PIPELINE.format(a=versions["fraud-xgb-a"],
                                                b=versions["fraud-xgb-b"], threshold=threshold))
            cli("pipelines", "register", "fraud-decision", "-f", str(pipeline),
                "--parent-version", "1")
            timeline.add("register", "fraud-xgb-a:2, fraud-xgb-b:2 (parent 1, lineage: recent "
                                     "data) and pipeline fraud-decision:2 registered")
            if canary(timeline, work, fresh):
                promoted = 2
                for name, version in versions.items():
                    cli("models", "alias", name, "production", str(version))
                cli("models", "alias", "fraud-decision", "production", "2")
                timeline.add("promote", "fraud-decision:2 and its models -> production")
        else:
            timeline.add("reject", "the retrained models did not beat the serving ones")
    finally:
        scorer.send_signal(signal.SIGTERM)
        scorer.wait(30)
        stream.close()
    decisions = before + after
    latency = np.array([d["latency_ms"] for d in decisions])
    reviewed = [d for d in decisions if d["decide.decision"] != "approve"]
    false_pos = sum(1 for d in reviewed if stream.truth[d["id"].encode()] == 0)
    return {
        "events scored": len(decisions),
        "p50 scoring latency ms (stream, end to end)": float(np.percentile(latency, 50)),
        "p99 scoring latency ms (stream, end to end)": float(np.percentile(latency, 99)),
        "review-queue rate": len(reviewed) / len(decisions),
        "false-positive rate of reviews": false_pos / max(len(reviewed), 1),
        "live AUC before shift": metrics_before["auc"],
        "live AUC after shift": metrics_after["auc"],
        "versions trained": 2 + len(new_models),
        "versions promoted": promoted,
        "alerts fired": alerts,
    }


if __name__ == "__main__":
    main()
