"""The direct C prediction path gives exactly what ``Booster.inplace_predict`` gives."""

from __future__ import annotations

import numpy as np
import pytest
import xgboost as xgb

from modelport.errors import PredictionFailed
from modelport.runtimes.xgboost_dense import DensePredictor

RNG = np.random.default_rng(0)
X = RNG.normal(size=(200, 5)).astype(np.float32)
MODELS = {
    "binary": ({"objective": "binary:logistic"}, (X[:, 0] > 0).astype(int)),
    "multi": ({"objective": "multi:softprob", "num_class": 3}, np.digitize(X[:, 0], [-0.5, 0.5])),
    "regression": ({"objective": "reg:squarederror"}, X[:, 1]),
}


@pytest.mark.parametrize("margin", [False, True], ids=["value", "margin"])
@pytest.mark.parametrize("kind", sorted(MODELS))
def test_same_answer_as_inplace_predict(kind: str, margin: bool) -> None:
    params, y = MODELS[kind]
    booster = xgb.train({**params, "nthread": 1}, xgb.DMatrix(X, label=y), num_boost_round=5)
    dense = DensePredictor(booster)
    with_nan = X[:7].copy()
    with_nan[2, 3] = np.nan  # missing values take the default branch, as in XGBoost
    for rows in (X[:1], X, X[::2], X.astype(np.float64), np.asfortranarray(X), with_nan):
        want = booster.inplace_predict(rows, predict_type="margin" if margin else "value",
                                       validate_features=False)
        got = dense(rows, margin=margin)
        assert got.shape == want.shape and got.dtype == np.float32
        np.testing.assert_array_equal(got, want)


def test_a_misaligned_buffer_is_copied_not_refused() -> None:
    """A binary tensor sits wherever the JSON header ends: often not on a 4-byte boundary."""
    params, y = MODELS["binary"]
    booster = xgb.train(params, xgb.DMatrix(X, label=y), num_boost_round=3)
    raw = b"\x00" * 3 + X[:4].tobytes()
    misaligned = np.frombuffer(raw, dtype=np.float32, offset=3).reshape(4, 5)
    assert not misaligned.flags.aligned
    np.testing.assert_array_equal(DensePredictor(booster)(misaligned),
                                  booster.inplace_predict(X[:4], validate_features=False))


def test_each_answer_is_its_own_array() -> None:
    """XGBoost reuses its output buffer: an earlier answer must not change under a later call."""
    params, y = MODELS["binary"]
    dense = DensePredictor(xgb.train(params, xgb.DMatrix(X, label=y), num_boost_round=3))
    first = dense(X[:4])
    kept = first.copy()
    dense(X[4:8])
    np.testing.assert_array_equal(first, kept)


def test_a_wrong_width_is_a_prediction_error_naming_xgboost() -> None:
    params, y = MODELS["binary"]
    dense = DensePredictor(xgb.train(params, xgb.DMatrix(X, label=y), num_boost_round=3))
    with pytest.raises(PredictionFailed, match="XGBoost failed to predict"):
        dense(np.zeros((2, 9), dtype=np.float32))
