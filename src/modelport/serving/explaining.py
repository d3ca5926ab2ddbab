"""Explanations on the serving path: ``"parameters": {"explain": true}`` on an infer request
(REST or gRPC), or ``POST /v2/models/{name}/explain``.

An explained response carries extra outputs beside the predictions, so they travel over
every protocol and land in the inference log with the prediction (sampled like every logged
request): ``explain_contributions`` (FP64 ``[rows, features]``), ``explain_base`` and
``explain_value`` (FP64 ``[rows]``) and, for classifiers, ``explain_class`` (INT64
``[rows]``). The response parameters name the features (``explain_features``, a JSON list),
the method and the space of the values. Explainers are built once per loaded version, in a
thread, and explanations run in a thread too: the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import numpy as np

from modelport.errors import InvalidInput
from modelport.protocol.types import InferenceRequest, InferenceResponse, Tensor
from modelport.runtimes.base import Batch, Runtime
from modelport.runtimes.explain import Explainer, Explanation, explainer_for

__all__ = [
    "CONTRIBUTIONS",
    "EXPLAIN_PARAMETER",
    "Explanations",
    "explanation_document",
    "wants_explanation",
]

EXPLAIN_PARAMETER = "explain"
CONTRIBUTIONS = "explain_contributions"
BASE = "explain_base"
VALUE = "explain_value"
TARGET = "explain_class"
OUTPUTS = (CONTRIBUTIONS, BASE, VALUE, TARGET)
INLINE_ROWS = 16
"""Fast explainers answer batches up to this size on the event loop, not in a thread."""


def _rows(inputs: Batch) -> int:
    for value in inputs.values():
        return int(np.shape(value)[0]) if np.ndim(value) else 1
    return 0


def wants_explanation(request: InferenceRequest) -> bool:
    """Whether the request asks for an explanation; a malformed flag is a clear 400."""
    flag = request.parameters.get(EXPLAIN_PARAMETER) if request.parameters else None
    if flag is None or flag is False:
        return False
    if flag is True or flag in ("true", "1", 1):
        return True
    if flag in ("false", "0", 0):
        return False
    raise InvalidInput(f"parameter 'explain' must be true or false, got {flag!r}")


class Explanations:
    """One explainer per loaded model version, built on first use."""

    def __init__(self) -> None:
        self._explainers: dict[tuple[str, str], tuple[Runtime, Explainer]] = {}

    async def explain(self, name: str, version: str, runtime: Runtime,
                      inputs: Batch) -> Explanation:
        found = self._explainers.get((name, version))
        if found is None or found[0] is not runtime:
            explainer = await asyncio.to_thread(explainer_for, runtime, name=name)
            self._explainers[(name, version)] = (runtime, explainer)
        else:
            explainer = found[1]
        if explainer.fast and _rows(inputs) <= INLINE_ROWS:
            return explainer.explain(inputs)
        return await asyncio.to_thread(explainer.explain, inputs)

    async def tensors(self, name: str, version: str, runtime: Runtime,
                      inputs: Batch) -> tuple[list[Tensor], dict[str, Any]]:
        """The explanation outputs and response parameters for one request."""
        exp = await self.explain(name, version, runtime, inputs)
        tensors = [
            Tensor(name=CONTRIBUTIONS, datatype="FP64", data=exp.contributions),
            Tensor(name=BASE, datatype="FP64", data=exp.base),
            Tensor(name=VALUE, datatype="FP64", data=exp.value),
        ]
        if exp.target is not None:
            tensors.append(Tensor(name=TARGET, datatype="INT64", data=exp.target))
        params = {
            "explain_features": json.dumps(list(exp.features)),
            "explain_method": exp.method,
            "explain_space": exp.space,
            "explain_additive": exp.additive,
        }
        return tensors, params


def explanation_document(response: InferenceResponse) -> dict[str, Any]:
    """The friendly JSON of ``/explain``: the predictions, and per row base, value, class
    and ``{feature: contribution}``."""
    by_name = {t.name: t.data for t in response.outputs}
    params = response.parameters
    features = json.loads(str(params.get("explain_features", "[]")))
    contributions = np.asarray(by_name.get(CONTRIBUTIONS, np.empty((0, len(features)))))
    base, value = by_name.get(BASE), by_name.get(VALUE)
    target = by_name.get(TARGET)
    rows = []
    for i in range(contributions.shape[0]):
        row: dict[str, Any] = {
            "base": float(base[i]) if base is not None else None,
            "value": float(value[i]) if value is not None else None,
            "contributions": {
                str(f): float(c) for f, c in zip(features, contributions[i], strict=True)
            },
        }
        if target is not None:
            row["class"] = int(target[i])
        rows.append(row)
    predictions = {
        t.name: np.asarray(t.data).tolist() if t.datatype != "BYTES"
        else [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
              for v in np.asarray(t.data).reshape(-1)]
        for t in response.outputs if t.name not in OUTPUTS
    }
    doc: dict[str, Any] = {
        "model_name": response.model_name,
        "model_version": response.model_version,
        "id": response.id,
        "method": params.get("explain_method"),
        "space": params.get("explain_space"),
        "additive": params.get("explain_additive", True),
        "features": features,
        "predictions": predictions,
        "explanations": rows,
    }
    return doc
