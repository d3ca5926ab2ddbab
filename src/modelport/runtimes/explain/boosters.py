"""XGBoost and LightGBM explanations from the libraries' own exact TreeSHAP (``pred_contribs``).

Both return one column per feature plus a last bias column, in the margin (log-odds for
classifiers); per row they add up to the margin the model predicts.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from modelport.errors import InvalidInput
from modelport.runtimes.base import Array, Batch
from modelport.runtimes.explain.base import Explainer, Explanation, feature_matrix

__all__ = ["LightGBMExplainer", "XGBoostExplainer"]


class _Booster(Explainer):
    method = "tree_path_dependent"
    fast = True

    def __init__(self, booster: Any, names: tuple[str, ...], n_classes: int) -> None:
        self.booster = booster
        self.names = names
        self.n_classes = n_classes
        """0 for a regressor, else the number of classes."""

    def explain(self, inputs: Batch) -> Explanation:
        x = feature_matrix(inputs, self.names, self._dtype)
        rows = x.shape[0]
        f = len(self.names)
        if rows == 0:
            empty = np.empty(0)
            return Explanation(method=self.method, space=self._space, features=self.names,
                               contributions=np.empty((0, f)), base=empty, value=empty)
        try:
            contribs = np.asarray(self._contribs(x), dtype=np.float64)
        except (ValueError, TypeError) as exc:
            raise InvalidInput(f"cannot explain this input: {exc}") from None
        targets: Array | None = None
        if contribs.ndim == 2 and contribs.shape[1] == f + 1:
            table = contribs
            if self.n_classes:
                targets = np.ones(rows, np.int64)
        else:
            per_class = contribs.reshape(rows, -1, f + 1)
            margins = per_class.sum(axis=2)
            targets = np.asarray(margins.argmax(axis=1), np.int64)
            table = per_class[np.arange(rows), targets]
        phi = table[:, :f]
        base = table[:, f]
        # the libraries' TreeSHAP is exact: the row sums are the margin (no second predict)
        return Explanation(method=self.method, space=self._space, features=self.names,
                           contributions=phi, base=base, value=phi.sum(axis=1) + base,
                           target=targets)

    @property
    def _space(self) -> str:
        return "log_odds" if self.n_classes else "margin"

    _dtype: Any = np.float64

    def _contribs(self, x: Array) -> Any:
        raise NotImplementedError


SMALL = 64
"""Batches up to this many rows are explained on one thread: for a handful of rows, waking a
thread pool costs more than the work (and far more on a busy machine)."""


class XGBoostExplainer(_Booster):
    _dtype = np.float32

    def __init__(self, booster: Any, names: tuple[str, ...], n_classes: int) -> None:
        super().__init__(booster, names, n_classes)
        self.single = booster.copy()  # a private copy: the served booster keeps its threads
        self.single.set_param({"nthread": 1})

    def _contribs(self, x: Array) -> Any:
        import xgboost as xgb

        small = x.shape[0] <= SMALL
        booster = self.single if small else self.booster
        names = list(self.booster.feature_names or []) or None
        matrix = xgb.DMatrix(x, feature_names=names, nthread=1 if small else None)
        return booster.predict(matrix, pred_contribs=True, validate_features=False)


class LightGBMExplainer(_Booster):
    def _contribs(self, x: Array) -> Any:
        if x.shape[0] <= SMALL:
            return self.booster.predict(x, pred_contrib=True, num_threads=1)
        return self.booster.predict(x, pred_contrib=True)
