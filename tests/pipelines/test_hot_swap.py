"""A served pipeline follows its steps' aliases: moving ``fraud@production`` swaps the new
model version in under the running pipeline, loading it before switching."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx
import numpy as np

from modelport.config import RegistrySettings
from modelport.pipelines import register_pipeline
from modelport.registry import Registry
from modelport.registry.loader import load_ref

from ..serving.server_process import ServerProcess
from .registry_setup import FEATURES, PIPELINE

ROWS = np.random.default_rng(11).normal(size=(4, len(FEATURES))).astype(np.float32)


def test_moving_a_step_alias_swaps_the_pipeline(built_home: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(built_home, home)
    with Registry.open(RegistrySettings(home=home)) as registry:
        register_pipeline(registry, "fraud-decision", PIPELINE, registered_by="t")
        batch = {f: ROWS[:, i] for i, f in enumerate(FEATURES)}
        want = {v: load_ref(registry, f"fraud:{v}")[1].predict(batch)["predict_proba"]
                for v in (1, 2)}
    assert not np.allclose(want[1], want[2])
    body = {"inputs": [{"name": "input-0", "datatype": "FP32", "shape": [4, 5],
                        "data": ROWS.ravel().tolist()}]}
    server = ServerProcess(home, ["fraud-decision", "--preload", "--poll-interval", "0.3"],
                           workers=1)
    try:
        server.wait_ready()
        url = f"{server.url}/v2/models/fraud-decision/infer"

        def answer() -> tuple[np.ndarray, str]:
            reply = httpx.post(url, json=body, timeout=10)
            assert reply.status_code == 200, reply.text
            out = {o["name"]: o["data"] for o in reply.json()["outputs"]}
            return np.reshape(out["score.predict_proba"], (4, 2)), reply.json()["model_version"]

        proba, version = answer()
        np.testing.assert_allclose(proba, want[1], rtol=1e-6)
        with Registry.open(RegistrySettings(home=home)) as registry:
            registry.set_alias("fraud", "production", 2, actor="t")
        deadline = time.monotonic() + 20
        while not np.allclose(proba, want[2], rtol=1e-6):
            assert time.monotonic() < deadline, "the pipeline never picked up fraud:2"
            time.sleep(0.2)
            proba, version = answer()  # every answer in between is a 200 from either version
        assert version == "1"  # the same pipeline version, now on fraud:2
    finally:
        assert server.stop() == 0
