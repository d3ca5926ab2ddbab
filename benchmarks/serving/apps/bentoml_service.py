"""BentoML: a service that loads the booster and predicts one 30-float row.

``bentoml serve bentoml_service:Fraud --port P`` with ``BENCH_MODEL`` (path of ``model.json``)
and ``BENCH_WORKERS`` (worker processes) in the environment.
"""

import os

import bentoml
import numpy as np


@bentoml.service(
    workers=int(os.environ.get("BENCH_WORKERS", "2")),
    logging={"access": {"enabled": False}},
)
class Fraud:
    def __init__(self) -> None:
        import xgboost as xgb

        self.booster = xgb.Booster()
        self.booster.load_model(os.environ["BENCH_MODEL"])

    @bentoml.api
    def predict(self, row: list[float]) -> dict[str, float]:
        rows = np.asarray(row, dtype=np.float32).reshape(1, -1)
        return {"fraud_probability": float(self.booster.inplace_predict(rows)[0])}
