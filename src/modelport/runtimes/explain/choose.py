"""Pick the best explainer a loaded runtime allows: exact where the model is a tree ensemble
or linear, word occlusion for text classifiers, sampling Shapley for other tabular models."""

from __future__ import annotations

from typing import Any

import numpy as np

from modelport.errors import InvalidInput
from modelport.runtimes.base import Array, Runtime
from modelport.runtimes.explain.base import Explainer
from modelport.runtimes.explain.sampling import SamplingBudget, SamplingExplainer

__all__ = ["NO_EXPLAINER", "explainer_for"]

NO_EXPLAINER = (
    "model {name!r} ({flavor}) has no explainer: explanations cover tabular models (one "
    "numeric input per feature) and text classifiers; {why}"
)


def explainer_for(runtime: Runtime, *, name: str = "", baseline: Array | None = None,
                  budget: SamplingBudget | None = None) -> Explainer:
    """The explainer for a loaded runtime; InvalidInput naming why when there is none."""
    signature = runtime.signature()
    flavor = runtime.flavor
    native = runtime.native()
    names = tuple(signature.input_names)
    if flavor == "transformers" and callable(native):
        from modelport.runtimes.explain.occlusion import OcclusionExplainer

        return OcclusionExplainer(native)
    if not signature.tabular:
        raise InvalidInput(NO_EXPLAINER.format(
            name=name, flavor=flavor, why="this one takes tensors, not feature columns"))
    outputs = {o.name: o for o in signature.outputs}
    n_classes = 0
    proba = outputs.get("predict_proba")
    if proba is not None and len(proba.shape) == 2:
        n_classes = int(proba.shape[1])
    if flavor == "xgboost" and native is not None:
        from modelport.runtimes.explain.boosters import XGBoostExplainer

        return XGBoostExplainer(native, names, n_classes)
    if flavor == "lightgbm" and native is not None:
        from modelport.runtimes.explain.boosters import LightGBMExplainer

        return LightGBMExplainer(native, names, n_classes)
    if flavor == "sklearn" and native is not None:
        from modelport.runtimes.explain.sklearn_explain import sklearn_explainer

        exact = sklearn_explainer(native, names)
        if exact is not None:
            return exact
    return _sampling(runtime, name, names, outputs, baseline, budget)


def _sampling(runtime: Runtime, name: str, names: tuple[str, ...], outputs: dict[str, Any],
              baseline: Array | None, budget: SamplingBudget | None) -> Explainer:
    if any(s.datatype == "BYTES" for s in runtime.signature().inputs):
        raise InvalidInput(NO_EXPLAINER.format(
            name=name, flavor=runtime.flavor, why="some of its features are text"))
    numeric = [n for n, spec in outputs.items() if spec.datatype not in ("BYTES", "BOOL")]
    preferred = [n for n in ("predict_proba", "predict") if n in numeric]
    wanted = (preferred or numeric or [""])[0]
    if not wanted:
        raise InvalidInput(NO_EXPLAINER.format(
            name=name, flavor=runtime.flavor, why="it has no numeric predict output"))

    def score(matrix: Array) -> Array:
        batch = {n: matrix[:, j] for j, n in enumerate(names)}
        out = np.asarray(runtime.predict(batch)[wanted], dtype=np.float64)
        return out.reshape(matrix.shape[0], -1)

    base = np.zeros(len(names)) if baseline is None else np.asarray(baseline, np.float64)
    classifier = wanted == "predict_proba"
    return SamplingExplainer(score, names, base, space="probability" if classifier else "raw",
                             classifier=classifier, budget=budget)
