"""A tiny XGBoost fraud model registered with its training table as reference data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from modelport.registry import Registry, VersionInfo
from modelport.registry.intake import Registration, register_artifact

FEATURES = ["amount", "hour", "velocity"]


def table(rng: np.random.Generator, n: int, *, shift: float = 0.0) -> pd.DataFrame:
    """Features (FP32) and a label; ``shift`` moves ``amount`` by that many standard units."""
    frame = pd.DataFrame({
        "amount": rng.normal(shift, 1.0, n),
        "hour": rng.uniform(0, 24, n),
        "velocity": rng.normal(0.0, 1.0, n),
    }).astype(np.float32)
    frame["label"] = (frame["amount"] + 0.5 * frame["velocity"] > 0).astype(int)
    return frame


def register_fraud(registry: Registry, folder: Path, *, reference: bool = True,
                   metrics: dict[str, float] | None = None, alias: str = "production"
                   ) -> VersionInfo:
    import xgboost as xgb

    rng = np.random.default_rng(0)
    frame = table(rng, 2000)
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 3, "nthread": 1},
        xgb.DMatrix(frame[FEATURES], label=frame["label"], feature_names=FEATURES),
        num_boost_round=10,
    )
    folder.mkdir(parents=True, exist_ok=True)
    model = folder / "fraud.json"
    booster.save_model(model)
    train = folder / "train.parquet"
    frame.to_parquet(train, index=False)
    return register_artifact(registry, Registration(
        name="fraud", artifact=model, registered_by="test", flavor="xgboost",
        train_data=train if reference else None, metrics=metrics or {}, alias=alias,
    ))
