"""A registry for pipeline tests: two tiny XGBoost fraud models and a Python feature step."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from modelport.config import RegistrySettings
from modelport.protocol.signature import Signature
from modelport.registry import Registry

FEATURES = [f"f{i}" for i in range(5)]

TRANSFORM = '''
import numpy as np

class Features:
    """Raw event fields -> the five model features."""

    signature = {
        "inputs": [{"name": "amount", "datatype": "FP64", "shape": [-1]},
                   {"name": "hour", "datatype": "FP64", "shape": [-1]}],
        "outputs": [{"name": f"f{i}", "datatype": "FP32", "shape": [-1]} for i in range(5)],
    }

    def load(self, path):
        pass

    def predict(self, inputs):
        amount, hour = inputs["amount"], inputs["hour"]
        x = np.log1p(np.abs(amount)) - 4.0
        return {"f0": x.astype(np.float32), "f1": ((hour - 12) / 6).astype(np.float32),
                "f2": np.zeros_like(x, dtype=np.float32), "f3": np.ones_like(x, dtype=np.float32),
                "f4": (x * 0.5).astype(np.float32)}
'''

PIPELINE = """\
name: fraud-decision
steps:
  - name: score
    model: fraud@production
  - name: decide
    rules:
      - when: "score.predict_proba[1] > 0.5"
        decision: review
        reason: high_risk
    default: approve
outputs: [score.predict_proba, decide.decision, decide.reason]
"""


def build(home: Path) -> None:
    """``fraud`` v1 (production) and v2, ``fraud-b`` v1 (production), ``features`` v1."""
    import xgboost as xgb

    from modelport.runtimes.xgboost_runtime import XGBoostRuntime

    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, len(FEATURES))).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    with Registry.open(RegistrySettings(home=home)) as registry:
        for name, depth, alias in (("fraud", 2, "production"), ("fraud", 4, None),
                                   ("fraud-b", 3, "production")):
            booster = xgb.train(
                {"objective": "binary:logistic", "max_depth": depth, "nthread": 1},
                xgb.DMatrix(x, label=y, feature_names=FEATURES), num_boost_round=8,
            )
            path = home / f"{name}-{depth}.json"
            booster.save_model(str(path))
            runtime = XGBoostRuntime()
            runtime.load(path)
            registry.register(name, path, flavor="xgboost", signature=runtime.signature(),
                              registered_by="test", alias=alias)
        script = home / "features.py"
        script.write_text(TRANSFORM)
        import runpy

        sig = Signature.from_dict(runpy.run_path(str(script))["Features"].signature)
        registry.register("features", script, flavor="python", signature=sig,
                          registered_by="test", alias="production")
