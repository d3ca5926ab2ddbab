"""XGBoost Boosters saved as JSON or UBJSON (``Booster.save_model`` / ``XGBModel.save_model``).

The benchmark model: predict stacks the feature columns into one float32 matrix (or takes the
``[N, F]`` matrix the client sent) and calls XGBoost's C prediction entry point directly
(:mod:`xgboost_dense`), falling back to ``Booster.inplace_predict``; neither builds a DMatrix.
The objective decides the outputs: ``binary:*`` and ``multi:*`` classifiers give labels and
probabilities (binary probabilities as ``[1 - p, p]``), everything else gives ``predict``.
"""

from __future__ import annotations

import json
import re
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
    softmax,
)
from modelport.runtimes.xgboost_dense import DensePredictor

_JSON_HEAD = re.compile(rb'\A\s*\{\s*"learner"\s*:')
# UBJSON object marker, then the key "learner" with a length prefix of any integer type.
_UBJ_HEAD = re.compile(rb"\A\{[iUIlL][\x00-\xff]{1,8}learner\{", re.DOTALL)


class XGBoostRuntime(Runtime):
    flavor = "xgboost"

    def __init__(self, options: LoadOptions | None = None) -> None:
        super().__init__(options)
        self._booster: Any = None
        self._error: type[Exception] = Exception
        self._signature: Signature | None = None
        self._stack: ColumnStacker | None = None
        self._dense: DensePredictor | None = None
        self._mode = "regression"

    @classmethod
    def detect(cls, path: Path) -> bool:
        head = read_head(path, 256)
        return bool(_JSON_HEAD.match(head) or _UBJ_HEAD.match(head))

    def load(self, path: Path) -> None:
        require_exists(path)
        import xgboost as xgb

        booster = xgb.Booster()
        try:
            booster.load_model(str(path))
        except xgb.core.XGBoostError as exc:
            raise UnsupportedArtifact(
                f"XGBoost could not read {path}: {_first_line(exc)}; save the model with "
                "Booster.save_model('model.json') or 'model.ubj'"
            ) from None
        learner = json.loads(booster.save_config())["learner"]
        objective = str(learner["learner_train_param"]["objective"])
        model_param = learner["learner_model_param"]
        n_classes = int(model_param.get("num_class", "0"))
        n_targets = int(model_param.get("num_target", "1"))

        names = feature_names(booster.feature_names, booster.num_features(), self.options.signature)
        outputs: tuple[TensorSpec, ...]
        if objective in ("binary:logistic", "binary:logitraw"):
            self._mode = objective
            outputs = classifier_specs(2)
        elif objective in ("multi:softprob", "multi:softmax"):
            self._mode = objective
            outputs = classifier_specs(n_classes)
        else:
            self._mode = "regression"
            outputs = (regressor_spec("FP32", n_targets),)
        self._booster = booster
        self._error = xgb.core.XGBoostError
        try:
            self._dense = DensePredictor(booster)
        except (AttributeError, ImportError, TypeError):  # an XGBoost laid out otherwise
            self._dense = None
        self._stack = ColumnStacker(names, np.dtype(np.float32))
        self._signature = Signature.for_table(names, outputs, datatype="FP32")

    def signature(self) -> Signature:
        if self._signature is None:
            raise not_loaded(self)
        return self._signature

    def predict(self, inputs: Batch) -> dict[str, Array]:
        if self._stack is None:
            raise not_loaded(self)
        matrix = self._stack(inputs)
        mode = self._mode
        try:
            if mode == "binary:logistic":
                return classifier_result(binary_proba(self._raw(matrix)))
            if mode == "binary:logitraw":
                p = 1.0 / (1.0 + np.exp(-self._raw(matrix)))
                return classifier_result(binary_proba(p.astype(np.float32)))
            if mode == "multi:softprob":
                return classifier_result(self._raw(matrix))
            if mode == "multi:softmax":
                return classifier_result(softmax(self._raw(matrix, predict_type="margin")))
            return {PREDICT: self._raw(matrix)}
        except ValueError as exc:
            raise InvalidInput(f"XGBoost rejected the input: {_first_line(exc)}") from None

    def _raw(self, matrix: Array, predict_type: str = "value") -> Array:
        dense = self._dense
        if dense is not None and matrix.ndim == 2 and matrix.shape[0]:
            return dense(matrix, margin=predict_type == "margin")
        try:
            out = self._booster.inplace_predict(
                matrix, predict_type=predict_type, validate_features=False
            )
        except self._error as exc:
            raise PredictionFailed(f"XGBoost failed to predict: {_first_line(exc)}") from None
        return np.asarray(out, dtype=np.float32)

    def native(self) -> Any:
        return self._booster

    def unload(self) -> None:
        self._booster = None
        self._dense = None
        self._stack = None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
