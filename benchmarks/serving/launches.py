"""How each server under test is started and what request it gets for a row.

Every builder returns a ``Launch`` (see servers.py): the command, its URLs and ``make_body``,
which turns one row of 30 floats into that server's natural request, so that every server is
sent the same rows in its own format.
"""

from __future__ import annotations

import functools
import json
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from servers import APPS, REPO_PY, ROOT, Launch, free_port

__all__ = [
    "LEAN_FLAGS",
    "batch_counters",
    "bentoml",
    "fastapi",
    "floor",
    "floor_granian",
    "litserve",
    "matrix_body",
    "mlserver",
    "modelport",
    "modelport_command",
    "named_body",
    "row_body",
]

# --- request bodies -------------------------------------------------------------------------


def named_body(features: list[str], row: list[float]) -> bytes:
    """modelport's V2 request: one FP32 input of shape [1] per named feature."""
    inputs = [
        {"name": f, "datatype": "FP32", "shape": [1], "data": [v]}
        for f, v in zip(features, row, strict=True)
    ]
    return json.dumps({"inputs": inputs}).encode()


def matrix_body(row: list[float]) -> bytes:
    """MLServer's (and plain FastAPI's) V2 request: one FP32 input of shape [1, 30]."""
    tensor = {"name": "input-0", "datatype": "FP32", "shape": [1, len(row)], "data": row}
    return json.dumps({"inputs": [tensor]}).encode()


def row_body(row: list[float]) -> bytes:
    """BentoML's and LitServe's natural request: the row as a JSON list."""
    return json.dumps({"row": row}).encode()


# --- launches ------------------------------------------------------------------------------


def floor(py: Path, workers: int) -> Launch:
    """The bare ASGI app under uvicorn (uvloop, httptools), uvicorn's fastest settings."""
    port = free_port()
    return Launch(
        name="floor (uvicorn)",
        cmd=[
            str(py),
            "-m",
            "uvicorn",
            "floor_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=APPS,
        ready_url=f"http://127.0.0.1:{port}/",
        infer_url=f"http://127.0.0.1:{port}/v2/models/fraud/infer",
        make_body=matrix_body,
        startup_s=30,
        model=False,
    )


def floor_granian(py: Path, workers: int) -> Launch:
    """The same bare ASGI app under granian (Rust HTTP server), its ASGI interface."""
    port = free_port()
    return Launch(
        name="floor (granian)",
        cmd=[
            str(py.parent / "granian"),
            "--interface",
            "asgi",
            "--workers",
            str(workers),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--loop",
            "uvloop",
            "--no-ws",
            "--no-access-log",
            "--log-level",
            "warning",
            "floor_app:app",
        ],
        cwd=APPS,
        ready_url=f"http://127.0.0.1:{port}/",
        infer_url=f"http://127.0.0.1:{port}/v2/models/fraud/infer",
        make_body=matrix_body,
        startup_s=30,
        model=False,
    )


def fastapi(py: Path, workers: int, model: Path) -> Launch:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    return Launch(
        name="FastAPI",
        cmd=[
            str(py),
            "-m",
            "uvicorn",
            "fastapi_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=APPS,
        env={"BENCH_MODEL": str(model)},
        ready_url=f"{base}/v2/health/ready",
        infer_url=f"{base}/v2/models/fraud/infer",
        make_body=matrix_body,
        startup_s=60,
    )


def mlserver(py: Path, workers: int, model: Path, folder: Path, parallel_workers: int) -> Launch:
    """MLServer: REST and gRPC in the main process; ``parallel_workers`` inference processes."""
    port, grpc_port, metrics = free_port(), free_port(), free_port()
    (folder / "fraud").mkdir(parents=True, exist_ok=True)
    (folder / "settings.json").write_text(
        json.dumps(
            {
                "host": "127.0.0.1",
                "http_port": port,
                "grpc_port": grpc_port,
                "metrics_port": metrics,
                "parallel_workers": parallel_workers,
                "debug": False,
            }
        )
    )
    (folder / "fraud" / "model-settings.json").write_text(
        json.dumps(
            {
                "name": "fraud",
                "implementation": "mlserver_xgboost.XGBoostModel",
                "parameters": {"uri": str(model), "version": "1"},
            }
        )
    )
    base = f"http://127.0.0.1:{port}"
    return Launch(
        name=f"MLServer (parallel_workers={parallel_workers})",
        cmd=[str(py.parent / "mlserver"), "start", str(folder)],
        cwd=folder,
        ready_url=f"{base}/v2/models/fraud/ready",
        infer_url=f"{base}/v2/models/fraud/infer",
        make_body=matrix_body,
        grpc_target=f"127.0.0.1:{grpc_port}",
        grpc_body="matrix",
        startup_s=120,
    )


def bentoml(py: Path, workers: int, model: Path) -> Launch:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    return Launch(
        name="BentoML",
        cmd=[
            str(py.parent / "bentoml"),
            "serve",
            "bentoml_service:Fraud",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=APPS,
        env={
            "BENCH_MODEL": str(model),
            "BENCH_WORKERS": str(workers),
            "BENTOML_DO_NOT_TRACK": "true",
        },
        ready_url=f"{base}/readyz",
        infer_url=f"{base}/predict",
        make_body=row_body,
        startup_s=120,
    )


def litserve(py: Path, workers: int, model: Path) -> Launch:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    return Launch(
        name="LitServe",
        cmd=[str(py), "litserve_app.py", str(port), str(workers)],
        cwd=APPS,
        env={"BENCH_MODEL": str(model), "LITSERVE_DISABLE_TELEMETRY": "1"},
        ready_url=f"{base}/health",
        infer_url=f"{base}/predict",
        make_body=row_body,
        startup_s=120,
    )


#: What the "lean" modelport row turns off: the per-request inference log, deployment routing
#: and the rollout controller (metrics stay on, as MLServer's do).
LEAN_FLAGS = ("--no-log-requests", "--no-routing", "--no-controller")


def modelport(
    workers: int,
    features: list[str],
    home: Path,
    *,
    batching: bool,
    grpc: bool,
    lean: bool = False,
    columns: bool = False,
) -> Launch:
    """``modelport serve`` from the repo's venv (through serve_cmd if the CLI lacks ``serve``);
    its defaults unless ``lean`` (the prediction cache, off by default, is turned off
    explicitly). It gets the one [1, 30] tensor every server gets, or with ``columns`` one [1]
    tensor per feature (the other form it accepts)."""
    port = free_port()
    grpc_port = free_port() if grpc else None
    args = [
        "fraud",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--preload",
        *(["--grpc-port", str(grpc_port)] if grpc_port else ["--no-grpc"]),
        *([] if batching else ["--max-batch-size", "1"]),
        *(["--cache-size", "0"] if _supported(("--cache-size",)) else []),
        *(_supported(LEAN_FLAGS) if lean else ()),
    ]
    base = f"http://127.0.0.1:{port}"
    name = "modelport (lean)" if lean else "modelport" if batching else "modelport (batching off)"
    return Launch(
        name=f"{name} (column form)" if columns else name,
        cmd=[*modelport_command(), "serve", *args],
        env={"MODELPORT_HOME": str(home)},
        ready_url=f"{base}/v2/models/fraud/ready",
        infer_url=f"{base}/v2/models/fraud/infer",
        make_body=functools.partial(named_body, features) if columns else matrix_body,
        grpc_target=f"127.0.0.1:{grpc_port}" if grpc_port else None,
        grpc_body="named" if columns else "matrix",
        startup_s=90,
    )


def _supported(flags: tuple[str, ...]) -> list[str]:
    """The flags that this checkout's ``modelport serve --help`` knows about."""
    return [f for f in flags if f in _serve_help()]


@functools.cache
def _serve_help() -> str:
    return subprocess.run(
        [*modelport_command(), "serve", "--help"], capture_output=True, text=True
    ).stdout


def batch_counters(base_url: str) -> tuple[float, float] | None:
    """(rows, batches) so far, summed over workers, from modelport's /metrics; None if absent."""
    try:
        with urllib.request.urlopen(f"{base_url}/metrics", timeout=5) as r:
            text = r.read().decode()
    except (urllib.error.URLError, OSError):
        return None
    rows = batches = 0.0
    for line in text.splitlines():
        if line.startswith("modelport_batch_size_rows_sum"):
            rows += float(line.rsplit(" ", 1)[1])
        elif line.startswith("modelport_batch_size_rows_count"):
            batches += float(line.rsplit(" ", 1)[1])
    return (rows, batches) if batches else None


@functools.cache
def modelport_command() -> list[str]:
    """``modelport`` if its CLI has ``serve``, else a stand-in that runs serve_cmd directly."""
    cli = ROOT / ".venv" / "bin" / "modelport"
    if subprocess.run([str(cli), "serve", "--help"], capture_output=True).returncode == 0:
        return [str(cli)]
    shim = (
        "import sys, typer; from modelport.cli.serve_cmd import serve; "
        "sys.argv.pop(1); typer.run(serve)"
    )
    return [str(REPO_PY), "-c", shim]
