"""What the OTA tests share: small ONNX models registered and signed in a real registry, a
real server, agents in child processes, and the invariant a device folder must always hold."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from modelport.config import RegistrySettings
from modelport.edge.manifest import CHECK_ROWS_TAG
from modelport.edge.runner import BundleModel, file_sha256
from modelport.registry import Registry
from modelport.runtimes.onnx_runtime import OnnxRuntime
from modelport.security.signing import SIGNATURE_TAG, load_signing_key, sign_artifact

ROWS = {"x": [[0.5, -1.0], [1.5, 2.0], [0.0, 0.0], [-2.0, 1.0], [3.0, 0.25]]}
AGENT = ("import sys; from modelport.cli.edge_cmd import app; "
         "sys.argv = ['edge', 'agent', *sys.argv[1:]]; app()")


def onnx_model(path: Path, scale: float, *, pad_floats: int = 0, batch: int = -1) -> Path:
    """y = x @ [[scale], [2 * scale]] (+ an unused pad initializer to make the file big)."""
    from onnx import TensorProto, helper, numpy_helper, save

    weight = numpy_helper.from_array(np.array([[scale], [2 * scale]], np.float32), "w")
    inits = [weight]
    if pad_floats:
        pad = np.random.default_rng(int(scale * 1000)).random(pad_floats).astype(np.float32)
        inits.append(numpy_helper.from_array(pad, "pad"))
    dim: Any = "N" if batch < 0 else batch
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [dim, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [dim, 1])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    save(model, str(path))
    return path


def register(home: Path, path: Path, key: Path | None, *, alias: str | None = None,
             check_rows: bool = True) -> int:
    """Register an ONNX file as the next version of ``m``, signed with ``key``."""
    with Registry.open(RegistrySettings(home=home)) as registry:
        runtime = OnnxRuntime()
        runtime.load(path)
        tags = {CHECK_ROWS_TAG: json.dumps(ROWS)} if check_rows else {}
        info = registry.register("m", path, flavor="onnx", signature=runtime.signature(),
                                 registered_by="test", alias=alias, tags=tags)
        if key is not None:
            signed = sign_artifact(load_signing_key(key), name="m", version=info.version,
                                   sha256=info.artifact_sha256)
            registry.set_tags("m", info.version, {SIGNATURE_TAG: signed})
        return info.version


def set_alias(home: Path, version: int, alias: str = "edge") -> None:
    with Registry.open(RegistrySettings(home=home)) as registry:
        registry.set_alias("m", alias, version, actor="test")


def start_agent(url: str, folder: Path, pub: Path, *args: str, device: str = "dev-1",
                log: Path | None = None) -> subprocess.Popen[bytes]:
    out = (log or folder.with_suffix(".log")).open("ab")
    return subprocess.Popen(
        [sys.executable, "-c", AGENT, "--server", url, "--model", "m@edge", "--dir", str(folder),
         "--verify-key", str(pub), "--device-id", device, *args],
        stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ))


def run_agent_once(url: str, folder: Path, pub: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", AGENT, "--server", url, "--model", "m@edge", "--dir", str(folder),
         "--verify-key", str(pub), "--device-id", "dev-1", "--once", *args],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def current_version(folder: Path) -> int | None:
    """The version ``current`` serves; asserts the device folder holds a whole model."""
    link = folder / "current"
    if not link.is_symlink():
        assert not link.exists(), "current is not a link"
        return None
    target = (folder / os.readlink(link)).resolve()
    assert target.is_dir(), f"current points at a missing folder {target}"
    manifest = json.loads((target / "manifest.json").read_text())
    assert file_sha256(target / manifest["artifact"]) == manifest["sha256"], "half a model"
    model = BundleModel(target)
    model.check()
    return model.version


def wait_for(predicate: Any, timeout_s: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def local_predict(port: int, rows: list[list[float]]) -> httpx.Response:
    return httpx.post(f"http://127.0.0.1:{port}/predict", json={"inputs": {"x": rows}},
                      timeout=10)


def local_health(port: int) -> dict[str, Any] | None:
    try:
        answer: dict[str, Any] = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).json()
        return answer
    except httpx.HTTPError:
        return None
