"""scikit-learn (skl2onnx), XGBoost and LightGBM (onnxmltools) models to ONNX.

Each converter builds the core graph over one ``[N, F]`` float32 matrix, then
:func:`wrap_tabular` puts the original signature around it. XGBoost and LightGBM labels are
the argmax of the probabilities, as their runtimes answer; scikit-learn labels come from the
converted estimator (they may be class names).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelport.edge.onnx_wrap import OutputPlan, wrap_tabular
from modelport.edge.tooling import ToolRecord, require
from modelport.errors import UnsafeArtifact, UnsupportedArtifact
from modelport.protocol.signature import Signature
from modelport.runtimes.artifacts import is_pickle_file
from modelport.runtimes.tabular import PREDICT, PREDICT_PROBA

__all__ = ["TARGET_OPSET", "convert_tabular"]

TARGET_OPSET = 17
"""The default-domain opset converted graphs use (ONNX Runtime 1.17+ runs it)."""
_ML_OPSET = 3
ML_TOOLS_OPSET = 15
"""The highest opset onnxmltools 1.16 writes tree ensembles for."""


def convert_tabular(
    flavor: str, artifact: Path, signature: Signature, *, trust_pickle: bool
) -> tuple[Any, ToolRecord]:
    """The converted model (an ``onnx.ModelProto`` with the original signature) and its tool."""
    n_features = len(signature.inputs)
    if flavor == "sklearn":
        core, tool = _sklearn(artifact, n_features, trust_pickle=trust_pickle)
        plans = {PREDICT: OutputPlan("label"), PREDICT_PROBA: OutputPlan("probabilities")}
        if PREDICT_PROBA not in signature.output_names:
            plans = {PREDICT: OutputPlan("label" if _has(core, "label") else "variable")}
    elif flavor in ("xgboost", "lightgbm"):
        core, tool = (_xgboost if flavor == "xgboost" else _lightgbm)(artifact, n_features)
        if PREDICT_PROBA in signature.output_names:
            plans = {
                PREDICT: OutputPlan("probabilities", argmax=True),
                PREDICT_PROBA: OutputPlan("probabilities"),
            }
        else:
            plans = {PREDICT: OutputPlan("variable")}
    else:
        raise UnsupportedArtifact(f"no tabular converter for flavor {flavor!r}")
    return wrap_tabular(core, signature, plans), tool


def _has(core: Any, name: str) -> bool:
    return any(o.name == name for o in core.graph.output)


def _float_input(n_features: int, tool: str = "skl2onnx") -> list[tuple[str, Any]]:
    types = require(f"{tool}.common.data_types" if tool == "skl2onnx" else
                    "onnxmltools.convert.common.data_types", "edge")
    return [("X", types.FloatTensorType([None, n_features]))]


def _sklearn(artifact: Path, n_features: int, *, trust_pickle: bool) -> tuple[Any, ToolRecord]:
    skl2onnx = require("skl2onnx", "onnx")
    model = _load_sklearn(artifact, trust_pickle=trust_pickle)
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    options = {id(final): {"zipmap": False}} if hasattr(final, "classes_") else None
    try:
        core = skl2onnx.convert_sklearn(
            model,
            initial_types=_float_input(n_features),
            options=options,
            target_opset={"": TARGET_OPSET, "ai.onnx.ml": _ML_OPSET},
        )
    except Exception as exc:
        raise UnsupportedArtifact(
            f"skl2onnx cannot convert {type(model).__name__}: {type(exc).__name__}: {exc}"
        ) from None
    return core, ToolRecord.of("skl2onnx", {"target_opset": TARGET_OPSET, "zipmap": False})


def _load_sklearn(artifact: Path, *, trust_pickle: bool) -> Any:
    from modelport.runtimes.skops_trust import load_skops

    if is_pickle_file(artifact):
        if not trust_pickle:
            raise UnsafeArtifact(f"{artifact} is a pickle and the version is not trusted")
        import joblib  # type: ignore[import-untyped]

        return joblib.load(artifact)
    return load_skops(artifact, trust_all=trust_pickle)


def _xgboost(artifact: Path, n_features: int) -> tuple[Any, ToolRecord]:
    onnxmltools = require("onnxmltools", "edge")
    import xgboost as xgb

    booster = xgb.Booster()
    booster.load_model(str(artifact))
    booster.feature_names = None  # the converter addresses features by position
    try:
        core = onnxmltools.convert_xgboost(
            booster, initial_types=_float_input(n_features, "onnxmltools"),
            target_opset=ML_TOOLS_OPSET,
        )
    except Exception as exc:
        raise UnsupportedArtifact(
            f"onnxmltools cannot convert this XGBoost model: {type(exc).__name__}: {exc}"
        ) from None
    return core, ToolRecord.of("onnxmltools", {"target_opset": ML_TOOLS_OPSET}, "xgboost")


def _lightgbm(artifact: Path, n_features: int) -> tuple[Any, ToolRecord]:
    onnxmltools = require("onnxmltools", "edge")
    import lightgbm as lgb

    booster = lgb.Booster(model_file=str(artifact))
    try:
        core = onnxmltools.convert_lightgbm(
            booster, initial_types=_float_input(n_features, "onnxmltools"),
            target_opset=ML_TOOLS_OPSET,
            zipmap=False,
        )
    except Exception as exc:
        raise UnsupportedArtifact(
            f"onnxmltools cannot convert this LightGBM model: {type(exc).__name__}: {exc}"
        ) from None
    options = {"target_opset": ML_TOOLS_OPSET, "zipmap": False}
    return core, ToolRecord.of("onnxmltools", options, "lightgbm")
