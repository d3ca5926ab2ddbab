"""Serving benchmark: modelport against MLServer, BentoML, LitServe, FastAPI and two bare floors.

    .venv/bin/python benchmarks/serving/run.py [--quick] [--duration 10] [--workers 2]

Trains the fraud XGBoost model (30 features, 200 trees) once into ``.cache/``, installs each
competitor once into its own venv there, then starts every server with the same number of
workers. Each server must first answer checked rows with XGBoost's own probability (else it is
a "failed: wrong answer" row); then interleaved rounds load every server with wrk cycling
through 1,000 different rows (1/16/64 connections), with hey at a fixed offered 2,000 req/s,
and over gRPC. The table (medians of the rounds, with the spread) is printed and written to
``results.md``. A server that does not install or start is a "failed: ..." row; the run goes
on. See README.md beside this file for what each server is sent.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import launches as L
import report
import rows as B
import servers as S
from loadwrk import load_cpus, write_script
from measure import FIXED_RATE, RATE_WORKERS, Row, Up, bench, say

CACHE = S.HERE / ".cache"
LAST_RUN = CACHE / "last_run.json"


def prepare_model() -> Path:
    """Train the fraud model into the cache once (50,000 rows, 200 trees)."""
    out = CACHE / "model"
    if not (out / "model.json").exists():
        say("training the fraud model (50,000 rows, 200 trees)")
        subprocess.run(
            [
                str(S.REPO_PY),
                str(S.ROOT / "examples/fraud/train.py"),
                "--rows",
                "50000",
                "--trees",
                "200",
                "--out",
                str(out),
            ],
            check=True,
        )
    return out / "model.json"


def register(model: Path) -> Path:
    """Register the model as ``fraud`` in a fresh private MODELPORT_HOME (a registry left by an
    older run may have an older schema)."""
    home = CACHE / "home"
    shutil.rmtree(home, ignore_errors=True)
    env = {**os.environ, "MODELPORT_HOME": str(home)}
    cli = str(S.ROOT / ".venv/bin/modelport")
    say("registering fraud in the benchmark's own MODELPORT_HOME")
    proc = subprocess.run(
        [cli, "models", "register", str(model), "--name", "fraud"],
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        say(f"modelport could not register the model: {(proc.stderr or proc.stdout).strip()}")
    return home


def sample_row() -> tuple[list[str], list[float]]:
    with (CACHE / "model" / "data" / "rows.csv").open() as f:
        first = next(csv.DictReader(f))
    features = [k for k in first if k != "transaction_id"]
    path = CACHE / "features.json"
    if not path.exists() or json.loads(path.read_text()) != features:
        path.write_text(json.dumps(features))  # rewritten only on change: rows.json follows it
    return features, [round(float(first[k]), 4) for k in features]


def predict_cost_ms(model: Path, rows_file: Path) -> float:
    """Median time of one single-row ``Booster.inplace_predict`` in the repo's venv, over the
    benchmark's own rows (float32)."""
    code = (
        "import json,sys,time,numpy as np,xgboost as xgb\n"
        "b=xgb.Booster(); b.load_model(sys.argv[1])\n"
        "rows=np.asarray(json.load(open(sys.argv[2]))['rows'],dtype=np.float32)\n"
        "xs=[rows[i:i+1] for i in range(len(rows))]\n"
        "[b.inplace_predict(x) for x in xs[:200]]\n"
        "t=[]\n"
        "for i in range(2000):\n"
        "    x=xs[i%len(xs)]; s=time.perf_counter(); b.inplace_predict(x)\n"
        "    t.append(time.perf_counter()-s)\n"
        "t.sort(); print(t[len(t)//2]*1000)\n"
    )
    out = subprocess.run(
        [str(S.REPO_PY), "-c", code, str(model), str(rows_file)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip())


def has_grpc_server() -> bool:
    probe = "import modelport.serving.grpc_server"
    return subprocess.run([str(S.REPO_PY), "-c", probe], capture_output=True).returncode == 0


def launch_all(
    steps: list[tuple[str, Callable[[], S.Launch]]],
) -> tuple[list[tuple[str, S.Launch, S.Running, float]], list[Row], dict[str, str]]:
    """Start every server at once (they load while the others start); a server whose venv
    cannot be installed becomes a "failed: ..." row."""
    started: list[tuple[str, S.Launch, S.Running, float]] = []
    failed: list[Row] = []
    versions: dict[str, str] = {}
    for key, build in steps:
        try:
            launch = build()
        except (RuntimeError, subprocess.CalledProcessError) as exc:
            failed.append(Row(key, "REST", 0, failed=str(exc)[:200]))
            say(f"{key}: failed: {exc}")
            continue
        versions[launch.name] = report.server_version(key)
        log = CACHE / "logs" / f"{key}.log"
        log.parent.mkdir(exist_ok=True)
        say(f"{launch.name}: starting ({shlex.join(launch.cmd)[:110]})")
        started.append((key, launch, S.Running(launch, log), time.monotonic()))
    return started, failed, versions


def prepare_rows(model: Path) -> Path:
    """The 1,000 distinct rows every server is sent, with XGBoost's answer for each (rows.py,
    in the repo's venv); made again when the model or the feature list is newer."""
    out = CACHE / "rows.json"
    features = CACHE / "features.json"
    if not out.exists() or out.stat().st_mtime < max(model.stat().st_mtime, _mtime(features)):
        say("taking 1,000 distinct rows from the training data, with XGBoost's answers")
        data = CACHE / "model" / "data" / "train.parquet"
        cmd = [str(S.REPO_PY), str(S.HERE / "rows.py"), str(model), str(data), str(features)]
        subprocess.run([*cmd, str(out)], check=True)
    return out


def _mtime(path: Path) -> float:
    return path.stat().st_mtime if path.exists() else 0.0


def check_answers(launch: S.Launch, rows: B.Rows) -> str:
    """An empty string when the server answers every checked row with XGBoost's own
    probability (within rows.TOLERANCE), else "wrong answer ..." naming the first wrong row."""
    for i in rows.check:
        status, text = S.post(launch.infer_url, launch.make_body(rows.rows[i]))
        if not 200 <= status < 300:
            return f"wrong answer for row {i}: status {status}: {text[:120]}"
        why = B.check_answer(text, rows.expected[i])
        if why:
            return f"wrong answer for row {i}: {why}"
    return ""


def await_ready(
    entry: tuple[str, S.Launch, S.Running, float], rows: B.Rows, checks: dict[str, str]
) -> Up | Row:
    """Wait for one started server and check its answers; one that does not come up or answers
    wrong is stopped and reported as a failed row."""
    key, launch, server, t0 = entry
    try:
        server.wait_ready(launch.make_body(rows.rows[0]), since=t0)
        wrong = check_answers(launch, rows) if launch.model else ""
        if wrong:
            raise RuntimeError(wrong)
    except RuntimeError as exc:
        server.stop()
        reason = str(exc).replace("\n", " ")[:220]
        say(f"{launch.name}: failed: {reason}")
        checks[launch.name] = f"failed: {reason}"
        return Row(launch.name, "REST", 0, failed=reason)
    n = len(rows.check)
    checks[launch.name] = (
        f"{n} rows answered with XGBoost's probability (within {B.TOLERANCE:g})"
        if launch.model
        else "no model (answers a constant)"
    )
    say(
        f"{launch.name}: ready {time.monotonic() - t0:.1f} s after its start; {checks[launch.name]}"
    )
    bodies = [launch.make_body(r) for r in rows.rows]
    script = write_script(CACHE / "scripts", key, bodies, "application/json")
    one_body = CACHE / "scripts" / f"{key}.body"
    one_body.write_bytes(bodies[0])
    return Up(key, launch, server, script, one_body)


def plan(
    args: argparse.Namespace, model: Path, home: Path, features: list[str]
) -> list[tuple[str, Callable[[], S.Launch]]]:
    """Which servers to run, in order; each builder may raise RuntimeError (install failed)."""
    w = args.workers
    grpc = has_grpc_server()

    def venv(name: str) -> Path:
        return S.ensure_venv(CACHE, name, CACHE / "venvs" / f"{name}.log")

    def mp(**kw: bool) -> Callable[[], S.Launch]:
        return lambda: L.modelport(w, features, home, **{"batching": True, "grpc": False, **kw})

    steps: list[tuple[str, Callable[[], S.Launch]]] = [
        ("floor", lambda: L.floor(venv("floor"), w)),
        ("floor-granian", lambda: L.floor_granian(venv("floor"), w)),
        ("modelport", mp(grpc=grpc)),
        ("modelport-lean", mp(lean=True)),
        ("modelport-columns", mp(columns=True)),
        ("modelport-nobatch", mp(batching=False)),
        ("fastapi", lambda: L.fastapi(venv("fastapi"), w, model)),
        (
            "mlserver",
            lambda: L.mlserver(venv("mlserver"), w, model, CACHE / "mlserver_repo", w),
        ),
        (
            "mlserver-inline",
            lambda: L.mlserver(venv("mlserver"), w, model, CACHE / "mlserver_repo0", 0),
        ),
        ("bentoml", lambda: L.bentoml(venv("bentoml"), w, model)),
        ("litserve", lambda: L.litserve(venv("litserve"), w, model)),
    ]
    if args.quick:
        steps = [s for s in steps if s[0] != "mlserver-inline"]
    if args.only:
        wanted = set(args.only.split(","))
        unknown = wanted - {k for k, _ in steps} - {"mlserver-inline"}
        if unknown:
            raise SystemExit(f"--only: no server named {', '.join(sorted(unknown))}")
        steps = [s for s in steps if s[0] in wanted]
    return steps


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def options(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--quick",
        action="store_true",
        help="3 s per run, 1 and 64 connections, one round; prints, does not write results.md",
    )
    p.add_argument("--duration", type=float, default=None, help="seconds per run [10; quick 3]")
    p.add_argument("--workers", type=int, default=2, help="worker processes for every server")
    p.add_argument(
        "--only",
        default="",
        help="comma list: floor,floor-granian,modelport,modelport-lean,modelport-columns,"
        "modelport-nobatch,fastapi,mlserver,mlserver-inline,bentoml,litserve",
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="interleaved rounds; the table shows their medians [3; quick 1]",
    )
    p.add_argument("--no-write", action="store_true", help="do not overwrite results.md")
    p.add_argument(
        "--render-only", action="store_true", help="rebuild results.md from the last run's facts"
    )
    args = p.parse_args(argv)
    args.no_write = args.no_write or (args.quick and not args.render_only)
    args.duration = args.duration or (3.0 if args.quick else 10.0)
    args.rate_duration = args.duration
    args.warmup = 1.0
    args.repeat = args.repeat or (1 if args.quick else 3)
    args.cpus = load_cpus(args.workers)
    return args


def main(argv: list[str] | None = None) -> int:
    args = options(argv)
    if args.render_only:
        return publish(json.loads(LAST_RUN.read_text()), write=not args.no_write)
    conns = [1, 64] if args.quick else [1, 16, 64]
    given = sys.argv[1:] if argv is None else argv
    command = ".venv/bin/python benchmarks/serving/run.py " + shlex.join(given)
    started = datetime.now(UTC)
    # N busy workers already fill N cores: every server's OpenMP pool (XGBoost) gets its share
    # of the cores, as modelport's own workers do; without this, oversubscribed OpenMP threads
    # spin and a 0.5 ms predict takes 5-25 ms on a loaded 2-core machine.
    threads = str(max(1, (os.cpu_count() or 1) // args.workers))
    os.environ.setdefault("OMP_NUM_THREADS", threads)
    load_before = os.getloadavg()
    signal.signal(signal.SIGTERM, _stop_on_sigterm)  # so the finally below stops every server

    model = prepare_model()
    home = register(model)
    features, _ = sample_row()
    args.rows_file = prepare_rows(model)
    rows = B.load(args.rows_file)
    if rows.features != features:
        raise SystemExit(f"{args.rows_file} has other features than the model: delete it")
    predict_ms = predict_cost_ms(model, args.rows_file)
    say(f"one single-row XGBoost predict: {predict_ms:.3f} ms (median)")
    pin = f"taskset -c {','.join(map(str, args.cpus))}" if args.cpus else "not pinned"
    say(f"load generators: {pin}; {len(rows.rows)} different rows")

    launched: list[tuple[str, S.Launch, S.Running, float]] = []
    checks: dict[str, str] = {}
    try:
        launched, failed, versions = launch_all(plan(args, model, home, features))
        ups: list[Up] = []
        for entry in launched:
            up = await_ready(entry, rows, checks)
            if isinstance(up, Row):
                failed.append(up)
            else:
                ups.append(up)
        results = bench(ups, args, conns) + failed
    finally:
        for _, launch, server, _ in launched:
            server.stop()
            say(f"{launch.name}: stopped")

    facts = {
        "rows": [dataclasses.asdict(r) for r in results],
        "command": command,
        "started": started.isoformat(),
        "workers": args.workers,
        "duration": args.duration,
        "repeat": args.repeat,
        "predict_ms": predict_ms,
        "omp": os.environ["OMP_NUM_THREADS"],
        "versions": versions,
        "load": [load_before, os.getloadavg()],
        "machine": platform.processor() or platform.machine(),
        "checks": checks,
        "load_cpus": args.cpus,
        "bodies": len(rows.rows),
        "rate": [FIXED_RATE, RATE_WORKERS, args.rate_duration],
    }
    LAST_RUN.write_text(json.dumps(facts, indent=1))
    return publish(facts, write=not args.no_write)


def publish(facts: dict[str, Any], *, write: bool) -> int:
    """Render the page from a run's facts (also those kept in .cache/last_run.json)."""
    text = report.render(
        **{
            **facts,
            "rows": [Row(**r) for r in facts["rows"]],
            "started": datetime.fromisoformat(facts["started"]),
        }
    )
    print("\n" + text)
    if write:
        (S.HERE / "results.md").write_text(text)
        say(f"written to {S.HERE / 'results.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
