"""What every explainer answers: per row, one additive contribution per feature plus a base.

``base + contributions.sum(axis=1) == value`` holds for every additive method (exactly, up to
float rounding, for trees and linear models; by construction for sampling Shapley). ``value``
is the number being explained, in the model's margin space (``space`` names it: log-odds for a
boosted classifier, the probability for a forest, the prediction for a regressor). For
classifiers with more than two classes each row explains one class, ``target``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np

from modelport.errors import InvalidInput
from modelport.runtimes.base import Array, Batch

__all__ = ["Explainer", "Explanation", "feature_matrix"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Explanation:
    """Contributions of named features to one value per row."""

    method: str
    """How it was computed, e.g. ``tree_path_dependent`` or ``sampling_shapley``."""
    space: str
    """What ``value`` is: ``log_odds``, ``probability``, ``raw`` (regression), ``score``."""
    features: tuple[str, ...]
    contributions: Array
    """``[rows, features]`` float64."""
    base: Array
    """``[rows]`` float64: the value with no feature known (the expected value)."""
    value: Array
    """``[rows]`` float64: the model's value being explained."""
    target: Array | None = None
    """``[rows]`` int64: the class each row explains (classifiers), else None."""
    additive: bool = True
    """Whether ``base + sum(contributions) == value`` (occlusion is not additive)."""

    def rows(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per row: base, value, class and ``{feature: contribution}``."""
        out = []
        for i in range(self.contributions.shape[0]):
            row: dict[str, Any] = {
                "base": float(self.base[i]),
                "value": float(self.value[i]),
                "contributions": {
                    f: float(c) for f, c in zip(self.features, self.contributions[i], strict=True)
                },
            }
            if self.target is not None:
                row["class"] = int(self.target[i])
            out.append(row)
        return out


class Explainer(ABC):
    """Explains a batch of the model's own inputs (named columns, as ``predict`` takes)."""

    method: str
    fast: bool = False
    """Cheap enough (well under a millisecond a row) to run on the event loop for small
    batches, skipping the hop to a worker thread."""

    @abstractmethod
    def explain(self, inputs: Batch) -> Explanation:
        """Contributions for every row of ``inputs``."""


def feature_matrix(inputs: Batch, names: tuple[str, ...], dtype: Any = np.float64) -> Array:
    """The ``[rows, features]`` matrix of a tabular batch, in model order.

    Takes one input per feature, or a single ``[rows, features]`` tensor.
    """
    if len(inputs) == 1 and len(names) > 1:
        (only,) = inputs.values()
        matrix = np.asarray(only)
        if matrix.ndim == 2 and matrix.shape[1] == len(names):
            return matrix.astype(dtype, copy=False)
    missing = [n for n in names if n not in inputs]
    if missing:
        raise InvalidInput(f"cannot explain: missing features {missing[:20]}")
    columns = []
    for name in names:
        col = np.asarray(inputs[name])
        if col.ndim == 2 and col.shape[1] == 1:
            col = col[:, 0]
        if col.ndim != 1:
            raise InvalidInput(f"cannot explain: feature {name!r} is not one column per row")
        try:
            columns.append(col.astype(dtype))
        except (TypeError, ValueError):
            raise InvalidInput(
                f"cannot explain: feature {name!r} is not numeric (dtype {col.dtype})"
            ) from None
    return np.column_stack(columns) if columns else np.empty((0, 0), dtype=dtype)
