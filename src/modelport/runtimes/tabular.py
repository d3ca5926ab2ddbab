"""What every tabular runtime (scikit-learn, XGBoost, LightGBM) shares.

A tabular model's signature has one input per feature, each a column of shape ``[-1]``, named
after the model's own feature names (``f0..fN-1`` when it was trained without names). A batch
arrives either as those columns or as a :class:`FeatureMatrix` (the ``[rows, F]`` tensor most
clients send), which looks like the columns to anyone reading it by name and hands its matrix
straight to the framework. A classifier answers with two outputs, ``predict`` (one label per
row) and ``predict_proba`` (one column per class); a regressor answers with ``predict`` alone.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modelport.errors import InvalidInput
from modelport.protocol.signature import Signature, TensorSpec
from modelport.runtimes.base import Array, Batch

PREDICT = "predict"
PREDICT_PROBA = "predict_proba"


def default_feature_names(n_features: int) -> tuple[str, ...]:
    """``f0..fN-1``, the names of features of a model trained without names."""
    return tuple(f"f{i}" for i in range(n_features))


def feature_names(
    model_names: Sequence[str] | None, n_features: int, registered: Signature | None
) -> tuple[str, ...]:
    """The feature names to expose, in the model's column order.

    The model's own names win. A model without names takes them from the registered tabular
    signature when it has exactly ``n_features`` inputs, else gets ``f0..fN-1``.
    """
    if model_names:
        names = tuple(str(n) for n in model_names)
        if registered is not None and registered.tabular:
            theirs = set(registered.input_names)
            if theirs != set(names):
                raise InvalidInput(
                    "the registered signature names features "
                    f"{_short(sorted(theirs))} but the model was trained with "
                    f"{_short(names)}; register the model again without a signature so "
                    "modelport reads the names from the model"
                )
        return names
    if registered is not None and registered.tabular and len(registered.inputs) == n_features:
        return tuple(registered.input_names)
    return default_feature_names(n_features)


def classifier_specs(
    n_classes: int, *, label_datatype: str = "INT64", proba_datatype: str = "FP32"
) -> tuple[TensorSpec, TensorSpec]:
    """The ``predict`` and ``predict_proba`` outputs of a classifier."""
    return (
        TensorSpec(name=PREDICT, datatype=label_datatype, shape=(-1,)),
        TensorSpec(name=PREDICT_PROBA, datatype=proba_datatype, shape=(-1, n_classes)),
    )


def regressor_spec(datatype: str = "FP32", n_targets: int = 1) -> TensorSpec:
    """The ``predict`` output of a regressor: ``[-1]``, or ``[-1, n_targets]`` for several."""
    shape = (-1,) if n_targets == 1 else (-1, n_targets)
    return TensorSpec(name=PREDICT, datatype=datatype, shape=shape)


def binary_proba(p: Array) -> Array:
    """Two probability columns ``[1 - p, p]`` from the positive-class probability."""
    out = np.empty((p.shape[0], 2), dtype=p.dtype)
    out[:, 1] = p
    np.subtract(1, p, out=out[:, 0])
    return out


def softmax(margin: Array) -> Array:
    """Row-wise softmax of raw scores, stable for large margins."""
    shifted: Array = margin - margin.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted


def classifier_result(proba: Array) -> dict[str, Array]:
    """Class-index labels (argmax) and the probabilities, as the two named outputs."""
    labels: Array = proba.argmax(axis=1).astype(np.int64)
    return {PREDICT: labels, PREDICT_PROBA: proba}


class FeatureMatrix(Mapping[str, Array]):
    """A ``[rows, F]`` matrix seen as its named feature columns (views, never copies).

    Whoever reads it by name (a cache key, a merge of mixed requests) sees columns; a
    :class:`ColumnStacker` takes :attr:`matrix` as it is.
    """

    __slots__ = ("_index", "matrix", "names")

    def __init__(self, names: tuple[str, ...], matrix: Array,
                 index: Mapping[str, int] | None = None) -> None:
        self.names = names
        self.matrix = matrix
        self._index = index if index is not None else {n: j for j, n in enumerate(names)}

    def __getitem__(self, name: str) -> Array:
        column: Array = self.matrix[:, self._index[name]]
        return column

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    @property
    def rows(self) -> int:
        return int(self.matrix.shape[0])

    def with_matrix(self, matrix: Array) -> FeatureMatrix:
        """The same features over another matrix (e.g. several requests stacked)."""
        return FeatureMatrix(self.names, matrix, self._index)

    def __repr__(self) -> str:
        return f"FeatureMatrix({len(self.names)} features, {self.rows} rows)"


@dataclass(frozen=True, slots=True)
class ColumnStacker:
    """Stacks named feature columns into one ``[rows, features]`` matrix, in model order."""

    names: tuple[str, ...]
    dtype: np.dtype[Any]
    _known: frozenset[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_known", frozenset(self.names))

    def __call__(self, inputs: Batch) -> Array:
        if type(inputs) is FeatureMatrix and inputs.names == self.names:
            matrix = inputs.matrix
            return matrix if matrix.dtype == self.dtype else matrix.astype(self.dtype)
        if len(inputs) != len(self.names) or not self._known.issuperset(inputs):
            raise self._name_error(inputs)
        names = self.names
        rows = self._column(names[0], inputs[names[0]]).shape[0]
        out = np.empty((rows, len(names)), dtype=self.dtype)
        for j, name in enumerate(names):
            col = inputs[name]
            if type(col) is not np.ndarray or col.ndim != 1:  # the fast path skips this
                col = self._column(name, col)
            if col.shape[0] != rows:
                raise self._rows_error(name, col.shape[0], rows)
            try:
                out[:, j] = col
            except (ValueError, TypeError):
                raise InvalidInput(
                    f"feature {name!r} must hold numbers, got values of dtype {col.dtype}"
                ) from None
        return out

    def columns(self, inputs: Batch) -> list[Array]:
        """The feature columns in model order, each 1-D, checked for names and row counts."""
        if len(inputs) != len(self.names) or not self._known.issuperset(inputs):
            raise self._name_error(inputs)
        columns = [self._column(name, inputs[name]) for name in self.names]
        rows = columns[0].shape[0]
        for name, col in zip(self.names, columns, strict=True):
            if col.shape[0] != rows:
                raise self._rows_error(name, col.shape[0], rows)
        return columns

    def _rows_error(self, name: str, got: int, rows: int) -> InvalidInput:
        return InvalidInput(
            f"feature {name!r} has {got} rows but {self.names[0]!r} has {rows}; "
            "every feature column must have one value per row"
        )

    @staticmethod
    def _column(name: str, value: Any) -> Array:
        col = np.asarray(value)
        if col.ndim == 2 and col.shape[1] == 1:
            return col[:, 0]
        if col.ndim != 1:
            raise InvalidInput(
                f"feature {name!r} must be one column of shape [rows], got shape "
                f"{list(col.shape)}; send one input per feature"
            )
        return col

    def _name_error(self, inputs: Batch) -> InvalidInput:
        missing = [n for n in self.names if n not in inputs]
        unknown = sorted(set(inputs) - self._known)
        parts = []
        if missing:
            parts.append(f"missing inputs {_short(missing)}")
        if unknown:
            parts.append(f"unknown inputs {_short(unknown)}")
        return InvalidInput(
            f"{'; '.join(parts)}; the model expects one input per feature: {_short(self.names)}",
            details={"missing": missing, "unknown": unknown},
        )


def _short(names: Sequence[str], limit: int = 20) -> str:
    shown = ", ".join(names[:limit])
    more = f", ... ({len(names) - limit} more)" if len(names) > limit else ""
    return f"[{shown}{more}]"
