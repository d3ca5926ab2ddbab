"""scikit-learn estimators (and pipelines) saved with ``skops.io.dump``.

Pickle and joblib files are refused unless the operator trusts the artifact: unpickling runs
whatever code the file names. skops files load under the policy in :mod:`skops_trust`.

A classifier with ``predict_proba`` answers ``predict`` (its own ``predict``, so labels match
scikit-learn exactly) and ``predict_proba``; other models answer ``predict``. Models fitted on
a DataFrame receive a DataFrame with their column names (a ColumnTransformer selects columns
by name); the others receive one float64 matrix.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from modelport.errors import InvalidInput, PredictionFailed, UnsafeArtifact, UnsupportedArtifact
from modelport.protocol.datatypes import oip_datatype
from modelport.protocol.signature import Signature, TensorSpec
from modelport.runtimes.artifacts import TORCH_SUFFIXES, is_pickle_file, require_exists, zip_names
from modelport.runtimes.base import Array, Batch, LoadOptions, Runtime, not_loaded
from modelport.runtimes.skops_trust import load_skops
from modelport.runtimes.tabular import (
    PREDICT,
    PREDICT_PROBA,
    ColumnStacker,
    feature_names,
)
from modelport.runtimes.tensors import as_bytes, as_strings

PICKLE_REFUSAL = (
    "{path} is a pickle/joblib file, and loading a pickle runs arbitrary code chosen by whoever "
    "wrote the file. Convert it to the skops format once, where you trust it: "
    "`import joblib, skops.io; skops.io.dump(joblib.load('{name}'), 'model.skops')`, then "
    "register model.skops; or, if you trust this file, register it with --trust-pickle."
)


def is_skops_file(path: Path) -> bool:
    """A skops archive: a zip with ``schema.json`` at its root."""
    return path.suffix.lower() == ".skops" or "schema.json" in zip_names(path)


class SklearnRuntime(Runtime):
    flavor = "sklearn"

    def __init__(self, options: LoadOptions | None = None) -> None:
        super().__init__(options)
        self._model: Any = None
        self._signature: Signature | None = None
        self._stack: ColumnStacker | None = None
        self._frame_columns: list[str] | None = None
        self._numeric = True
        self._types: list[str] = []
        self._predict_datatype = "FP64"

    @classmethod
    def detect(cls, path: Path) -> bool:
        if not path.is_file():
            return False
        if is_skops_file(path):
            return True
        return is_pickle_file(path) and path.suffix.lower() not in TORCH_SUFFIXES

    def load(self, path: Path) -> None:
        require_exists(path)
        if is_skops_file(path):
            model = load_skops(path, trust_all=self.options.trust_pickle)
        elif is_pickle_file(path):
            if not self.options.trust_pickle:
                raise UnsafeArtifact(PICKLE_REFUSAL.format(path=path, name=path.name))
            model = _load_pickle(path)
        else:
            raise UnsupportedArtifact(
                f"{path} is neither a skops file nor a pickle; save the model with "
                "skops.io.dump(model, 'model.skops')"
            )
        if not callable(getattr(model, "predict", None)):
            raise UnsupportedArtifact(
                f"{path} holds a {type(model).__name__}, which has no predict method"
            )
        self._model = model
        self._describe(model)

    def _describe(self, model: Any) -> None:
        registered = self.options.signature
        model_names = getattr(model, "feature_names_in_", None)
        n_features = getattr(model, "n_features_in_", None)
        if n_features is None:
            if registered is None or not registered.tabular:
                raise UnsupportedArtifact(
                    f"cannot tell how many features {type(model).__name__} takes (it has no "
                    "n_features_in_); register it with a tabular signature"
                )
            n_features = len(registered.inputs)
        names = feature_names(
            None if model_names is None else list(model_names), int(n_features), registered
        )
        types = _input_datatypes(names, registered)
        self._types = types
        self._numeric = all(t != "BYTES" for t in types)
        self._frame_columns = list(names) if model_names is not None else None
        self._stack = ColumnStacker(names, np.dtype(np.float64))
        inputs = tuple(
            TensorSpec(name=n, datatype=t, shape=(-1,)) for n, t in zip(names, types, strict=True)
        )
        self._signature = Signature(inputs=inputs, outputs=self._outputs(model), tabular=True)

    def _outputs(self, model: Any) -> tuple[TensorSpec, ...]:
        """``predict`` typed by the classes (or a probe), plus ``predict_proba`` when offered."""
        probe = self._probe()
        shape = (-1,) if probe is None else (-1, *probe.shape[1:])
        classes = getattr(model, "classes_", None)
        if isinstance(classes, np.ndarray) and classes.ndim == 1:
            self._predict_datatype = _label_datatype(classes)
            predict = TensorSpec(name=PREDICT, datatype=self._predict_datatype, shape=shape)
            if callable(getattr(model, "predict_proba", None)):
                proba = TensorSpec(name=PREDICT_PROBA, datatype="FP64", shape=(-1, len(classes)))
                return (predict, proba)
            return (predict,)
        self._predict_datatype = "FP64" if probe is None else _label_datatype(probe)
        return (TensorSpec(name=PREDICT, datatype=self._predict_datatype, shape=shape),)

    def _probe(self) -> Array | None:
        """``predict`` on one all-zero row, to learn its shape and type; None if it fails."""
        if not self._numeric or self._stack is None:
            return None
        row = {name: np.zeros(1) for name in self._stack.names}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return np.asarray(self._model.predict(self._features(row)))
        except Exception:  # a model that cannot take zeros: assume the common [-1]
            return None

    def signature(self) -> Signature:
        if self._signature is None:
            raise not_loaded(self)
        return self._signature

    def predict(self, inputs: Batch) -> dict[str, Array]:
        if self._stack is None or self._signature is None:
            raise not_loaded(self)
        features = self._features(inputs)
        try:
            out = {PREDICT: self._labels(self._model.predict(features))}
            if len(self._signature.outputs) == 2:
                out[PREDICT_PROBA] = np.asarray(self._model.predict_proba(features))
        except (ValueError, TypeError) as exc:
            raise InvalidInput(f"the model rejected the input: {exc}") from None
        except Exception as exc:
            raise PredictionFailed(f"{type(self._model).__name__} failed: {exc!r}") from None
        return out

    def _features(self, inputs: Batch) -> Any:
        """A float64 matrix, or a DataFrame for models fitted on named columns."""
        assert self._stack is not None
        if self._numeric:
            matrix = self._stack(inputs)
            if self._frame_columns is None:
                return matrix
            import pandas as pd

            return pd.DataFrame(matrix, columns=self._frame_columns, copy=False)
        columns = [
            as_strings(c) if t == "BYTES" else c
            for c, t in zip(self._stack.columns(inputs), self._types, strict=True)
        ]
        if self._frame_columns is None:
            return np.column_stack(columns)
        import pandas as pd

        return pd.DataFrame(dict(zip(self._frame_columns, columns, strict=True)))

    def _labels(self, raw: Any) -> Array:
        labels = np.asarray(raw)
        if self._predict_datatype == "BYTES":
            return as_bytes(labels)
        if self._predict_datatype == "INT64":
            return labels.astype(np.int64, copy=False)
        return labels

    def native(self) -> Any:
        return self._model

    def unload(self) -> None:
        self._model = None
        self._stack = None


def _load_pickle(path: Path) -> Any:
    import joblib  # type: ignore[import-untyped]

    try:
        return joblib.load(path)
    except Exception as exc:
        raise UnsupportedArtifact(f"could not unpickle {path}: {exc!r}") from None


def _input_datatypes(names: tuple[str, ...], registered: Signature | None) -> list[str]:
    """FP64 per feature, unless the registered signature types the feature otherwise."""
    types = []
    for name in names:
        spec = registered.input(name) if registered is not None else None
        types.append(spec.datatype if spec is not None else "FP64")
    return types


def _label_datatype(values: Array) -> str:
    """INT64 for any integer labels, BYTES for text, else the values' own datatype."""
    if values.dtype.kind in "iu":
        return "INT64"
    if values.dtype.kind in "USO":
        return "BYTES"
    return oip_datatype(values.dtype)
