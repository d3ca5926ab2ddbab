"""Tiny models for the routing tests: a real XGBoost classifier, and Python candidates that are
good, that raise, that are slow, or whose predictions shift. All take the same five features."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from modelport.protocol.signature import Signature, TensorSpec
from modelport.protocol.types import InferenceRequest, Tensor
from modelport.registry import Registry
from modelport.runtimes.base import Array, Batch, Runtime

FEATURES = [f"f{i}" for i in range(5)]

SIGNATURE = Signature.for_table(
    FEATURES,
    [TensorSpec(name="predict", datatype="INT64", shape=(-1,)),
     TensorSpec(name="predict_proba", datatype="FP32", shape=(-1, 2))],
    datatype="FP32",
)

_PYTHON = '''
import time
import numpy as np

class Model:
    def load(self, path):
        pass

    def predict(self, inputs):
        {body}
        score = 1.0 / (1.0 + np.exp(-(inputs["f0"] + inputs["f1"])))
        score = np.clip(score + {shift}, 0.0, 1.0).astype(np.float32)
        label = (score >= 0.5).astype(np.int64)
        return {{"predict": label, "predict_proba": np.stack([1 - score, score], axis=1)}}
'''

KINDS = {
    "good": ("pass", 0.0),
    "error": ('raise RuntimeError("candidate is broken")', 0.0),
    "slow": ("time.sleep(0.6)", 0.0),
    "shift": ("pass", 0.6),
}


def python_model(folder: Path, kind: str) -> Path:
    body, shift = KINDS[kind]
    path = folder / f"{kind}_model.py"
    path.write_text(_PYTHON.format(body=body, shift=shift))
    return path


def register_python(registry: Registry, folder: Path, name: str, kind: str,
                    alias: str | None = None) -> int:
    info = registry.register(name, python_model(folder, kind), flavor="python",
                             signature=SIGNATURE, registered_by="test", alias=alias)
    return info.version


def register_xgboost(registry: Registry, folder: Path, name: str, *, depth: int = 2,
                     seed: int = 0) -> int:
    import xgboost as xgb

    from modelport.runtimes.xgboost_runtime import XGBoostRuntime

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(400, len(FEATURES))).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": depth, "nthread": 1},
        xgb.DMatrix(x, label=y, feature_names=FEATURES), num_boost_round=8,
    )
    path = folder / f"{name}-xgb-{depth}-{seed}.json"
    booster.save_model(str(path))
    runtime = XGBoostRuntime()
    runtime.load(path)
    return registry.register(name, path, flavor="xgboost", signature=runtime.signature(),
                             registered_by="test").version


def rows(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {f: rng.normal(size=n).astype(np.float32) for f in FEATURES}


def body(n: int = 1, seed: int = 0) -> dict[str, object]:
    """A V2 JSON request body of ``n`` rows."""
    data = rows(n, seed)
    return {"inputs": [{"name": f, "datatype": "FP32", "shape": [n], "data": data[f].tolist()}
                       for f in FEATURES]}


def deploy_yaml(*, endpoint: str = "fraud", strategy: str = "canary", stable: str = "fraud:1",
                candidate: str = "fraud:2", extra: str = "", section: str | None = None) -> str:
    """A deployment file; ``section`` defaults to a fast canary for canary."""
    if section is None and strategy == "canary":
        section = ("canary:\n  steps: [20, 50, 100]\n  interval: 1s\n  min_requests: 10\n"
                   "  gates:\n    max_error_rate: 0.05\n    max_p99_latency_ms: 400\n"
                   "    max_prediction_psi: 0.5\n")
    return (f"endpoint: {endpoint}\nstrategy: {strategy}\nstable: {stable}\n"
            f"candidate: {candidate}\n{extra}{section or ''}")


ECHO_SIGNATURE = Signature(
    inputs=(TensorSpec(name="x", datatype="FP32", shape=(-1,)),),
    outputs=(TensorSpec(name="y", datatype="FP64", shape=(-1,)),),
)


class Echo(Runtime):
    """Answers ``x * 0 + tag`` (so each version is recognisable); can raise or be slow."""

    flavor = "python"

    def __init__(self, tag: float, *, delay_s: float = 0.0, fail: bool = False) -> None:
        super().__init__()
        self.tag, self.delay_s, self.fail = tag, delay_s, fail

    @classmethod
    def detect(cls, path: Path) -> bool:
        return False

    def load(self, path: Path) -> None:
        pass

    def signature(self) -> Signature:
        return ECHO_SIGNATURE

    def predict(self, inputs: Batch) -> dict[str, Array]:
        if self.fail:
            raise ValueError("shadow version is broken")
        if self.delay_s:
            time.sleep(self.delay_s)
        return {"y": inputs["x"].astype(np.float64) * 0 + self.tag}


def echo_request(value: float = 1.0, **parameters: object) -> InferenceRequest:
    return InferenceRequest(
        inputs=[Tensor(name="x", datatype="FP32", data=np.array([value], dtype=np.float32))],
        parameters=dict(parameters))
