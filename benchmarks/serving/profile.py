"""Where a loaded modelport worker spends its Python time: py-spy on every worker under wrk.

    .venv/bin/pip install py-spy        # once; not a dependency of modelport
    .venv/bin/python benchmarks/serving/profile.py [--connections 64] [--seconds 10] [-- FLAGS]

Starts ``modelport serve`` (2 workers, the benchmark's model; FLAGS after ``--`` go to it),
loads it with wrk, samples every worker with ``py-spy record --gil`` (only the thread holding
the GIL, so the C predict of XGBoost, which releases it, hardly shows) and prints the share of
samples per source file and per function, leaf first.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import launches as L
import rows as B
import run as R
import servers as S
from loadwrk import run_wrk, write_script

_WHERE = re.compile(r"\((.*?):\d+\)")


def summarize(files: list[Path], top: int = 20) -> str:
    by_file: collections.Counter[str] = collections.Counter()
    by_func: collections.Counter[str] = collections.Counter()
    total = 0
    for path in files:
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            n = int(count)
            frames = [f for f in stack.split(";") if "numpy" not in f and "<frozen" not in f]
            leaf = frames[-1] if frames else stack
            m = _WHERE.search(leaf)
            where = (m.group(1) if m else leaf).split("site-packages/")[-1].split("src/")[-1]
            where = where.split("lib/python3.11/")[-1]
            by_file[where] += n
            by_func[f"{leaf.split(' (')[0]}  ({where})"] += n
            total += n
    out = [f"{total} samples", "", "by file:"]
    out += [f"{100 * v / total:5.1f}%  {k}" for k, v in by_file.most_common(top)]
    out += ["", "by function:"]
    out += [f"{100 * v / total:5.1f}%  {k}" for k, v in by_func.most_common(top)]
    return "\n".join(out)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("flags", nargs="*", help="extra options for modelport serve (after --)")
    args = p.parse_args()
    spy = S.ROOT / ".venv" / "bin" / "py-spy"
    if not spy.exists():
        sys.exit("py-spy is not installed: .venv/bin/pip install py-spy")
    model = R.prepare_model()
    home = R.register(model)
    features, row = R.sample_row()
    launch = L.modelport(2, features, home, batching=True, grpc=False)
    launch.cmd += args.flags
    out = R.CACHE / "profile"
    out.mkdir(exist_ok=True)
    server = S.Running(launch, out / "server.log")
    try:
        rows = B.load(R.prepare_rows(model))
        server.wait_ready(launch.make_body(row))
        bodies = [launch.make_body(r) for r in rows.rows]
        script = write_script(R.CACHE / "scripts", "profile", bodies, "application/json")
        result: dict[str, object] = {}

        def load() -> None:
            r = run_wrk(launch.infer_url, script, args.connections, args.seconds + 6)
            result.update(rps=round(r.rps), p50_ms=r.p50_ms, p99_ms=r.p99_ms, errors=r.errors)

        loader = threading.Thread(target=load)
        loader.start()
        time.sleep(3)
        workers = [pid for pid in server.members() if pid != server.proc.pid]
        files = [out / f"worker{pid}.txt" for pid in workers]
        spies = [
            subprocess.Popen(
                [
                    str(spy),
                    "record",
                    "-p",
                    str(pid),
                    "-d",
                    str(args.seconds),
                    "-r",
                    "100",
                    "--gil",
                    "--nonblocking",
                    "--format",
                    "raw",
                    "-o",
                    str(f),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for pid, f in zip(workers, files, strict=True)
        ]
        for s in spies:
            s.wait()
        loader.join()
    finally:
        server.stop()
    print(f"wrk: {json.dumps(result)}")
    print(summarize([f for f in files if f.exists()]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
