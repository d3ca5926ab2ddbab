"""Training and evaluating the two XGBoost models of the ensemble on transformed features."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb
from features import FEATURES, NUMERIC_RAW, Features
from sklearn.metrics import roc_auc_score

MEMBERS = {"fraud-xgb-a": {"max_depth": 4, "seed": 1, "subsample": 0.8},
           "fraud-xgb-b": {"max_depth": 6, "seed": 2, "colsample_bytree": 0.6}}


def transform(events: pd.DataFrame) -> pd.DataFrame:
    """The registered transform applied to a table of raw events."""
    raw = {c: events[c].to_numpy(dtype=float) for c in NUMERIC_RAW}
    raw["country"] = events["country"].to_numpy(dtype=object)
    return pd.DataFrame(Features().predict(raw))[FEATURES]


def train(events: pd.DataFrame, folder: Path, *, rounds: int, tag: str
          ) -> dict[str, tuple[Path, Path]]:
    """Train each member on ``events``; its model file and its training table, by name."""
    folder.mkdir(parents=True, exist_ok=True)
    table = transform(events)
    labels = events["is_fraud"].to_numpy()
    data = folder / f"train-{tag}.parquet"
    table.assign(is_fraud=labels).to_parquet(data, index=False)
    weight = max(1.0, float((labels == 0).sum() / max(labels.sum(), 1)) ** 0.5)
    out = {}
    for name, params in MEMBERS.items():
        booster = xgb.train(
            {"objective": "binary:logistic", "eta": 0.2, "nthread": 2,
             "scale_pos_weight": weight, **params},
            xgb.DMatrix(table, label=labels, feature_names=FEATURES), num_boost_round=rounds)
        path = folder / f"{name}-{tag}.json"
        booster.save_model(str(path))
        out[name] = (path, data)
    return out


def ensemble_auc(models: dict[str, tuple[Path, Path]], events: pd.DataFrame) -> float:
    """AUC of the mean of the members' probabilities on ``events``."""
    table = transform(events)
    scores = []
    for path, _ in models.values():
        booster = xgb.Booster()
        booster.load_model(str(path))
        scores.append(booster.inplace_predict(table.to_numpy(np.float32)))
    return float(roc_auc_score(events["is_fraud"], np.mean(scores, axis=0)))
