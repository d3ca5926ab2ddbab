"""How fast the web console answers with 50 registered models, on a real ``modelport serve``.

Registers 50 models (tiny XGBoost files, one version each, plus a second version and an
alias on every fifth), creates an admin key, starts ``modelport serve`` (1 worker, REST only)
and times, from a fresh client over loopback, the first (cold) request of each page and the
median and p95 of the next ``--repeat``. Also prints what a browser downloads for the front end.

    .venv/bin/python benchmarks/console/first_page.py --models 50 --repeat 30 --browser
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from modelport.config import RegistrySettings
from modelport.registry import Registry
from modelport.security.keys import KeyStore

PAGES = ["/ui/models", "/ui/models?q=model-1", "/ui/models/model-07", "/ui/deployments",
         "/ui/traffic", "/ui/audit"]
STATIC = ["/ui/static/console.js", "/ui/static/console.css", "/ui/static/favicon.svg"]


def build(home: Path, models: int) -> str:
    import xgboost as xgb

    from modelport.runtimes.xgboost_runtime import XGBoostRuntime

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4)).astype(np.float32)
    booster = xgb.train({"max_depth": 2, "nthread": 1},
                        xgb.DMatrix(x, label=(x[:, 0] > 0).astype(int)), num_boost_round=4)
    path = home / "model.json"
    booster.save_model(str(path))
    runtime = XGBoostRuntime()
    runtime.load(path)
    with Registry.open(RegistrySettings(home=home)) as registry:
        for i in range(models):
            name = f"model-{i:02d}"
            registry.register(name, path, flavor="xgboost", signature=runtime.signature(),
                              registered_by="bench", metrics={"auc": 0.9 + i / 1000},
                              description=f"benchmark model number {i}")
            if i % 5 == 0:
                registry.register(name, path, flavor="xgboost", signature=runtime.signature(),
                                  registered_by="bench", alias="production")
        return KeyStore(registry.engine).create(name="bench", role="admin", actor="bench").token


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--browser", action="store_true",
                        help="Also time the page load in Chromium (/usr/bin/chromium).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        token = build(home, args.models)
        port = free_port()
        env = {**os.environ, "MODELPORT_HOME": str(home)}
        log = (home / "server.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-c", "from modelport.cli.main import main; main()", "serve",
             "--port", str(port), "--no-grpc", "--workers", "1"],
            env=env, stdout=subprocess.DEVNULL, stderr=log)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/v2/health/ready", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("the server did not start in 60 s:\n"
                                     + (home / "server.log").read_text())
                time.sleep(0.2)
            with httpx.Client(base_url=url, cookies={"mp_session": token}) as client:
                rows = []
                for path in PAGES:
                    started = time.perf_counter()
                    first = client.get(path)
                    cold = (time.perf_counter() - started) * 1000
                    assert first.status_code == 200, (path, first.status_code)
                    times = []
                    for _ in range(args.repeat):
                        started = time.perf_counter()
                        client.get(path).raise_for_status()
                        times.append((time.perf_counter() - started) * 1000)
                    times.sort()
                    rows.append((path, len(first.content), cold, statistics.median(times),
                                 times[int(len(times) * 0.95) - 1]))
                static = sum(len(client.get(p).content) for p in STATIC)
            loads = browser_loads(url, token) if args.browser else []
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(30)
            log.close()
    print(f"\n{args.models} models, 1 worker, admin key in the session cookie, "
          f"{args.repeat} warm requests per page\n")
    print("| page | HTML bytes | first (cold) ms | median ms | p95 ms |")
    print("|---|---:|---:|---:|---:|")
    for path, size, cold, median, p95 in rows:
        print(f"| `{path}` | {size:,} | {cold:.1f} | {median:.1f} | {p95:.1f} |")
    print(f"\nfront end (script + stylesheet + icon): {static:,} bytes, no other downloads")
    if loads:
        print(f"\nChromium, /ui/models with 50 models, page load (navigation start to load "
              f"event, fresh browser context each): first {loads[0]:.0f} ms, median of the "
              f"rest {statistics.median(loads[1:]):.0f} ms")


def browser_loads(url: str, token: str, times: int = 6) -> list[float]:
    """Load event times of /ui/models in Debian's Chromium, each in a fresh context."""
    from playwright.sync_api import sync_playwright

    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"]
    out = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        for _ in range(times):
            context = browser.new_context()
            context.add_cookies([{"name": "mp_session", "value": token, "url": url + "/ui"}])
            page = context.new_page()
            page.goto(url + "/ui/models", wait_until="load")
            out.append(float(page.evaluate(
                "() => performance.getEntriesByType('navigation')[0].loadEventEnd")))
            context.close()
        browser.close()
    return out


if __name__ == "__main__":
    main()
