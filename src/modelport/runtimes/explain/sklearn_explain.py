"""Exact explanations for scikit-learn models: trees and forests (path-dependent TreeSHAP over
the fitted trees), gradient boosting (in log-odds), and linear models (coefficient x value).

A pipeline is explained when every step before the model maps each feature to itself
(scalers, imputers): the model's explanation is then an explanation of the raw features.
Anything else returns None and the caller falls back to sampling Shapley.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from modelport.runtimes.base import Array, Batch
from modelport.runtimes.explain.base import Explainer, Explanation, feature_matrix
from modelport.runtimes.explain.tree_paths import LeafPaths, TreeArrays, leaf_paths

__all__ = ["sklearn_explainer"]

_ONE_TO_ONE = frozenset({
    "StandardScaler", "MinMaxScaler", "MaxAbsScaler", "RobustScaler", "SimpleImputer",
    "PowerTransformer", "QuantileTransformer",
})
_FORESTS = frozenset({
    "RandomForestClassifier", "RandomForestRegressor", "ExtraTreesClassifier",
    "ExtraTreesRegressor",
})


def sklearn_explainer(model: Any, names: tuple[str, ...]) -> Explainer | None:
    """An exact explainer for ``model`` with features ``names``, or None when there is none."""
    steps: list[Any] = []
    while type(model).__name__ == "Pipeline":
        *pre, (_, last) = model.steps
        for _, step in pre:
            if step in (None, "passthrough"):
                continue
            if type(step).__name__ not in _ONE_TO_ONE:
                return None
            if getattr(step, "n_features_in_", len(names)) != len(names):
                return None
            steps.append(step)
        model = last
    kind = type(model).__name__
    paths = _tree_paths(model, kind, len(names))
    if paths is not None:
        return TreeExplainer(model, names, steps, paths)
    if _is_linear(model):
        return LinearExplainer(model, names, steps)
    return None


class _Prepared(Explainer):
    def __init__(self, model: Any, names: tuple[str, ...], steps: list[Any]) -> None:
        self.model = model
        self.names = names
        self.steps = steps
        self.classes = getattr(model, "classes_", None)

    def _matrix(self, inputs: Batch) -> Array:
        x = feature_matrix(inputs, self.names)
        for step in self.steps:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # fitted on a frame: same columns, same order
                x = np.asarray(step.transform(x), dtype=np.float64)
        return x

    def _call(self, method: str, x: Array) -> Array:
        """The model's own ``method`` on the prepared matrix, as float64."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(getattr(self.model, method)(x), dtype=np.float64)

    def _targets(self, scores: Array) -> Array | None:
        """Per-row class to explain: the positive class for two, the predicted class for more."""
        if scores.ndim == 1 or scores.shape[1] == 1:
            return None if self.classes is None else np.ones(scores.shape[0], np.int64)
        if scores.shape[1] == 2:
            return np.ones(scores.shape[0], np.int64)
        return np.asarray(scores.argmax(axis=1), np.int64)


class TreeExplainer(_Prepared):
    """Trees, forests and gradient boosting, exactly."""

    method = "tree_path_dependent"

    def __init__(self, model: Any, names: tuple[str, ...], steps: list[Any],
                 paths: LeafPaths) -> None:
        super().__init__(model, names, steps)
        self.paths = paths
        self.boosted = type(model).__name__.startswith("GradientBoosting")

    def explain(self, inputs: Batch) -> Explanation:
        x = self._matrix(inputs)
        if self.boosted:
            raw = self._call("decision_function" if self.classes is not None else "predict", x)
            space = "log_odds" if self.classes is not None else "raw"
        elif self.classes is not None:
            raw = self._call("predict_proba", x)
            space = "probability"
        else:
            raw = self._call("predict", x)
            space = "raw"
        targets = self._targets(raw)
        values = _pick(raw, targets)
        base_all = self.paths.base()
        if self.paths.value.shape[1] == 1 or targets is None:
            phi = self.paths.shap(x)
            base = np.full(x.shape[0], base_all[0])
        else:
            phi = self.paths.shap(x, self.paths.value[:, targets].T)  # [rows, leaves]
            base = base_all[targets]
        if self.boosted:  # the initial estimate: whatever the trees do not explain
            base = values - phi.sum(axis=1)
        return Explanation(method=self.method, space=space, features=self.names,
                           contributions=phi, base=np.asarray(base, np.float64),
                           value=np.asarray(values, np.float64), target=targets)


class LinearExplainer(_Prepared):
    """``coef * x`` per feature, with the intercept as the base: exact in the margin."""

    method = "linear"
    fast = True

    def explain(self, inputs: Batch) -> Explanation:
        x = self._matrix(inputs)
        coef = np.atleast_2d(np.asarray(self.model.coef_, dtype=np.float64))
        intercept = np.atleast_1d(np.asarray(self.model.intercept_, dtype=np.float64))
        margin = x @ coef.T + intercept  # [rows, outputs]
        targets: Array | None = None
        if coef.shape[0] == 1:
            row_coef = np.broadcast_to(coef[0], x.shape)
            base = np.full(x.shape[0], intercept[0])
            value = margin[:, 0]
            targets = None if self.classes is None else np.ones(x.shape[0], np.int64)
        else:
            targets = np.asarray(margin.argmax(axis=1), np.int64)
            row_coef = coef[targets]
            base = intercept[targets]
            value = margin[np.arange(x.shape[0]), targets]
        space = "log_odds" if self.classes is not None else "raw"
        return Explanation(method=self.method, space=space, features=self.names,
                           contributions=row_coef * x, base=base, value=value, target=targets)


def _pick(raw: Array, targets: Array | None) -> Array:
    """Each row's explained value: the only column, or the target class's."""
    if raw.ndim == 1:
        return raw
    if targets is None:
        return raw[:, 0]
    return raw[np.arange(raw.shape[0]), targets]


def _tree_paths(model: Any, kind: str, n_features: int) -> LeafPaths | None:
    if kind in ("DecisionTreeClassifier", "DecisionTreeRegressor", "ExtraTreeClassifier",
                "ExtraTreeRegressor"):
        if getattr(model, "n_outputs_", 1) != 1:
            return None
        return leaf_paths([TreeArrays.from_sklearn(model.tree_)], n_features)
    if kind in _FORESTS:
        if getattr(model, "n_outputs_", 1) != 1:
            return None
        n = len(model.estimators_)
        return leaf_paths([TreeArrays.from_sklearn(e.tree_, 1.0 / n) for e in model.estimators_],
                          n_features)
    if kind.startswith("GradientBoosting"):
        stages = np.asarray(model.estimators_)  # [n_estimators, K]
        lr = float(model.learning_rate)
        k = stages.shape[1]
        trees = []
        for column in range(k):
            for est in stages[:, column]:
                arrays = TreeArrays.from_sklearn(est.tree_, lr)
                value = np.zeros((arrays.value.shape[0], k))
                value[:, column] = arrays.value[:, 0]
                trees.append(TreeArrays(arrays.left, arrays.right, arrays.feature,
                                        arrays.threshold, arrays.cover, value, arrays.nan_left))
        if k == 1:
            trees = [TreeArrays(t.left, t.right, t.feature, t.threshold, t.cover,
                                t.value[:, :1], t.nan_left) for t in trees]
        return leaf_paths(trees, n_features)
    return None


def _is_linear(model: Any) -> bool:
    coef = getattr(model, "coef_", None)
    if coef is None or not hasattr(model, "intercept_"):
        return False
    kind = type(model).__name__
    if kind in ("SVC", "NuSVC", "SVR", "NuSVR") and getattr(model, "kernel", "") != "linear":
        return False
    return np.asarray(coef).ndim <= 2
