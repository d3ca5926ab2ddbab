"""Explanations through real runtimes loaded from real artifacts: additivity to 1e-5 for
trees, exactness against brute-force Shapley for scikit-learn trees, and the fallbacks."""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import skops.io as sio
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeRegressor

from modelport.errors import InvalidInput
from modelport.protocol.signature import Signature, TensorSpec
from modelport.runtimes.base import LoadOptions
from modelport.runtimes.catalog import create_runtime
from modelport.runtimes.explain import SamplingBudget, explainer_for
from tests.runtimes.data import binary_target, columns, regression_target, table, three_classes


def _loaded(flavor: str, path: Path) -> Any:
    runtime = create_runtime(flavor, LoadOptions(trust_pickle=True))
    runtime.load(path)
    return runtime


def _skops(model: Any, tmp_path: Path) -> Any:
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    return _loaded("sklearn", path)


def test_xgboost_contributions_add_up_to_the_margin(tmp_path: Path) -> None:
    import xgboost as xgb

    frame = table(200)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 4},
                        xgb.DMatrix(frame, label=binary_target(frame)), num_boost_round=20)
    booster.save_model(tmp_path / "m.json")
    runtime = _loaded("xgboost", tmp_path / "m.json")
    exp = explainer_for(runtime).explain(columns(frame.head(10)))
    margin = booster.predict(xgb.DMatrix(frame.head(10)), output_margin=True)
    np.testing.assert_allclose(exp.contributions.sum(1) + exp.base, margin, atol=1e-5)
    np.testing.assert_allclose(exp.value, margin, atol=1e-6)
    assert exp.features == ("a", "b", "c") and exp.space == "log_odds"
    assert exp.target is not None and set(exp.target) == {1}
    # feature c plays no part in the label: it gets (almost) nothing
    assert np.abs(exp.contributions[:, 2]).mean() < np.abs(exp.contributions[:, 0]).mean()


def test_lightgbm_multiclass_explains_the_predicted_class(tmp_path: Path) -> None:
    import lightgbm as lgb

    frame = table(300)
    booster = lgb.train({"objective": "multiclass", "num_class": 3, "verbose": -1,
                         "min_data_in_leaf": 5}, lgb.Dataset(frame, three_classes(frame)), 15)
    booster.save_model(tmp_path / "m.txt")
    runtime = _loaded("lightgbm", tmp_path / "m.txt")
    rows = frame.head(8)
    exp = explainer_for(runtime).explain(columns(rows))
    raw = booster.predict(rows, raw_score=True)
    assert exp.target is not None
    np.testing.assert_array_equal(exp.target, raw.argmax(1))
    np.testing.assert_allclose(exp.contributions.sum(1) + exp.base,
                               raw[np.arange(8), exp.target], atol=1e-5)


def _brute_force(tree: Any, x: np.ndarray) -> np.ndarray:
    """Shapley values of the path-dependent expectation, by enumerating every subset."""
    t = tree.tree_
    w = t.weighted_n_node_samples

    def expect(known: set[int], node: int = 0) -> float:
        if t.children_left[node] < 0:
            return float(t.value[node, 0, 0])
        f, left, right = t.feature[node], t.children_left[node], t.children_right[node]
        if f in known:
            return expect(known, left if np.float32(x[f]) <= t.threshold[node] else right)
        return (w[left] * expect(known, left) + w[right] * expect(known, right)) / w[node]

    n = x.shape[0]
    phi = np.zeros(n)
    for i in range(n):
        others = [j for j in range(n) if j != i]
        for k in range(n):
            weight = math.factorial(k) * math.factorial(n - k - 1) / math.factorial(n)
            for subset in itertools.combinations(others, k):
                s = set(subset)
                phi[i] += weight * (expect(s | {i}) - expect(s))
    return phi


def test_sklearn_tree_matches_brute_force_shapley(tmp_path: Path) -> None:
    frame = table(200)
    model = DecisionTreeRegressor(max_depth=5, random_state=0).fit(frame,
                                                                   regression_target(frame))
    exp = explainer_for(_skops(model, tmp_path)).explain(columns(frame.head(5)))
    for r in range(5):
        np.testing.assert_allclose(exp.contributions[r],
                                   _brute_force(model, frame.to_numpy()[r]), atol=1e-10)
    np.testing.assert_allclose(exp.contributions.sum(1) + exp.base,
                               model.predict(frame.head(5)), atol=1e-10)


@pytest.mark.parametrize("model", [
    RandomForestRegressor(n_estimators=30, max_depth=6, random_state=0),
    RandomForestClassifier(n_estimators=30, max_depth=6, random_state=0),
    GradientBoostingRegressor(n_estimators=30, max_depth=3, random_state=0),
    GradientBoostingClassifier(n_estimators=30, max_depth=3, random_state=0),
])
def test_sklearn_ensembles_add_up_to_the_margin(model: Any, tmp_path: Path) -> None:
    frame = table(200)
    classifier = "Classifier" in type(model).__name__
    model.fit(frame, binary_target(frame) if classifier else regression_target(frame))
    rows = frame.head(20)
    exp = explainer_for(_skops(model, tmp_path)).explain(columns(rows))
    if isinstance(model, GradientBoostingClassifier):
        expected = model.decision_function(rows)
    elif classifier:
        expected = model.predict_proba(rows)[:, 1]
    else:
        expected = model.predict(rows)
    np.testing.assert_allclose(exp.contributions.sum(1) + exp.base, expected, atol=1e-5)
    np.testing.assert_allclose(exp.value, expected, atol=1e-9)
    assert exp.method == "tree_path_dependent"


def test_multiclass_forest_explains_each_rows_predicted_class(tmp_path: Path) -> None:
    frame = table(300)
    model = RandomForestClassifier(n_estimators=10, random_state=0).fit(frame,
                                                                        three_classes(frame))
    rows = frame.head(12)
    exp = explainer_for(_skops(model, tmp_path)).explain(columns(rows))
    proba = model.predict_proba(rows)
    assert exp.target is not None
    np.testing.assert_allclose(exp.contributions.sum(1) + exp.base,
                               proba[np.arange(12), exp.target], atol=1e-9)


def test_scaled_linear_pipeline_is_coefficient_times_value(tmp_path: Path) -> None:
    frame = table(100)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(frame,
                                                                      binary_target(frame))
    exp = explainer_for(_skops(model, tmp_path)).explain(columns(frame.head(6)))
    np.testing.assert_allclose(exp.contributions.sum(1) + exp.base,
                               model.decision_function(frame.head(6)), atol=1e-10)
    scaled = model[0].transform(frame.head(6))
    np.testing.assert_allclose(exp.contributions, scaled * model[-1].coef_[0], atol=1e-12)
    assert exp.method == "linear" and exp.space == "log_odds"


def test_plain_linear_regression(tmp_path: Path) -> None:
    frame = table(50)
    model = LinearRegression().fit(frame, regression_target(frame))
    exp = explainer_for(_skops(model, tmp_path)).explain(columns(frame.head(3)))
    np.testing.assert_allclose(exp.base, model.intercept_)
    np.testing.assert_allclose(exp.contributions.sum(1) + exp.base,
                               model.predict(frame.head(3)), atol=1e-10)


def test_other_models_fall_back_to_sampling_within_budget(tmp_path: Path) -> None:
    frame = table(80)
    model = KNeighborsRegressor(n_neighbors=3).fit(frame, regression_target(frame))
    runtime = _skops(model, tmp_path)
    budget = SamplingBudget(max_permutations=64, max_ms=2000)
    explainer = explainer_for(runtime, baseline=frame.mean().to_numpy(), budget=budget)
    exp = explainer.explain(columns(frame.head(2)))
    assert exp.method == "sampling_shapley"
    np.testing.assert_allclose(exp.contributions.sum(1) + exp.base,
                               model.predict(frame.head(2)), atol=1e-9)
    np.testing.assert_allclose(exp.base, model.predict(frame.mean().to_frame().T)[0], atol=1e-9)


def test_sampling_recovers_a_linear_function_exactly(tmp_path: Path) -> None:
    """For an additive model every ordering gives the same gains: the estimate is exact."""
    from modelport.runtimes.explain.sampling import SamplingExplainer

    weights = np.array([2.0, -1.0, 0.5])
    explainer = SamplingExplainer(lambda m: (m @ weights)[:, None], ("a", "b", "c"),
                                  np.zeros(3), space="raw", classifier=False)
    exp = explainer.explain({"a": np.array([1.0]), "b": np.array([2.0]), "c": np.array([4.0])})
    np.testing.assert_allclose(exp.contributions[0], [2.0, -2.0, 2.0], atol=1e-12)


def test_a_tensor_model_has_no_explainer(tmp_path: Path) -> None:
    import torch

    module = torch.jit.script(torch.nn.Linear(4, 2))
    module.save(str(tmp_path / "m.pt"))
    signature = Signature(
        inputs=(TensorSpec(name="input__0", datatype="FP32", shape=(-1, 4)),),
        outputs=(TensorSpec(name="output__0", datatype="FP32", shape=(-1, 2)),),
    )
    runtime = create_runtime("torch", LoadOptions(signature=signature))
    runtime.load(tmp_path / "m.pt")
    with pytest.raises(InvalidInput, match="has no explainer"):
        explainer_for(runtime, name="img")
