"""LightGBM models in LightGBM's own text format (``Booster.save_model('model.txt')``).

The objective line of the file's header decides the outputs: ``binary`` and ``multiclass*``
models are classifiers (binary probabilities as ``[1 - p, p]``), every other objective is a
regression-like ``predict``. LightGBM names unnamed features ``Column_0..``; modelport exposes
those as ``f0..`` like the other tabular runtimes. Features are float64 (unlike XGBoost):
LightGBM compares features with double-precision thresholds, and rounding a value to float32
could send it down the other branch than LightGBM's own ``predict`` on the same data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from modelport.errors import InvalidInput, PredictionFailed, UnsupportedArtifact
from modelport.protocol.signature import Signature, TensorSpec
from modelport.runtimes.artifacts import read_head, require_exists
from modelport.runtimes.base import Array, Batch, LoadOptions, Runtime, not_loaded
from modelport.runtimes.tabular import (
    PREDICT,
    ColumnStacker,
    binary_proba,
    classifier_result,
    classifier_specs,
    feature_names,
    regressor_spec,
)

_MAGIC = (b"tree\nversion=v", b"tree\r\nversion=v")


def read_header(path: Path) -> dict[str, str]:
    """The ``key=value`` lines before the first tree (cheap even for large models)."""
    header: dict[str, str] = {}
    with path.open("r", encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if line.startswith("Tree=") or line == "end of trees":
                break
            key, sep, value = line.partition("=")
            if sep:
                header[key] = value
    return header


class LightGBMRuntime(Runtime):
    flavor = "lightgbm"

    def __init__(self, options: LoadOptions | None = None) -> None:
        super().__init__(options)
        self._booster: Any = None
        self._signature: Signature | None = None
        self._stack: ColumnStacker | None = None
        self._mode = "regression"

    @classmethod
    def detect(cls, path: Path) -> bool:
        return read_head(path, 16).startswith(_MAGIC)

    def load(self, path: Path) -> None:
        require_exists(path)
        import lightgbm as lgb

        try:
            booster = lgb.Booster(model_file=str(path))
        except lgb.basic.LightGBMError as exc:
            raise UnsupportedArtifact(
                f"LightGBM could not read {path}: {exc}; save the model with "
                "Booster.save_model('model.txt')"
            ) from None
        header = read_header(path)
        objective = header.get("objective", "regression").split(" ")[0]
        n_classes = int(header.get("num_class", "1"))

        raw_names = list(booster.feature_name())
        n_features = booster.num_feature()
        if raw_names == [f"Column_{i}" for i in range(n_features)]:
            raw_names = []  # LightGBM's placeholder names: the model was trained without names
        names = feature_names(raw_names, n_features, self.options.signature)

        outputs: tuple[TensorSpec, ...]
        if objective == "binary":
            self._mode = "binary"
            outputs = classifier_specs(2, proba_datatype="FP64")
        elif objective in ("multiclass", "multiclassova", "softmax", "ova", "ovr"):
            self._mode = "multiclass"
            outputs = classifier_specs(n_classes, proba_datatype="FP64")
        else:
            self._mode = "regression"
            outputs = (regressor_spec("FP64"),)
        self._booster = booster
        self._stack = ColumnStacker(names, np.dtype(np.float64))
        self._signature = Signature.for_table(names, outputs, datatype="FP64")

    def signature(self) -> Signature:
        if self._signature is None:
            raise not_loaded(self)
        return self._signature

    def predict(self, inputs: Batch) -> dict[str, Array]:
        if self._stack is None:
            raise not_loaded(self)
        matrix = self._stack(inputs)
        if matrix.shape[0] == 0:
            return self._empty()
        try:
            raw = np.asarray(self._booster.predict(matrix))
        except ValueError as exc:
            raise InvalidInput(f"LightGBM rejected the input: {exc}") from None
        except Exception as exc:
            raise PredictionFailed(f"LightGBM failed to predict: {exc}") from None
        if self._mode == "binary":
            return classifier_result(binary_proba(raw))
        if self._mode == "multiclass":
            return classifier_result(raw)
        return {PREDICT: raw}

    def _empty(self) -> dict[str, Array]:
        """LightGBM refuses zero rows; answer an empty batch with empty outputs."""
        specs = self.signature().outputs
        return {
            s.name: np.empty((0, *s.shape[1:]), dtype=np.int64 if s.datatype == "INT64" else None)
            for s in specs
        }

    def native(self) -> Any:
        return self._booster

    def unload(self) -> None:
        self._booster = None
        self._stack = None
