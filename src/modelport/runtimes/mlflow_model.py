"""Read an MLflow model directory (the ``MLmodel`` file) into what modelport registers.

MLflow is not needed: the ``MLmodel`` YAML says which file holds the model and, optionally,
its signature. Flavors read: ``sklearn``, ``xgboost``, ``lightgbm``, ``onnx`` (the first one
present, in that order). What the files are, as MLflow 3 writes them:

* ``sklearn``: ``serialization_format: skops`` (MLflow 3's default) is a skops file;
  ``pickle``/``cloudpickle`` (MLflow 2's default) is a pickle, loadable only with trust.
* ``lightgbm``: a ``Booster`` is LightGBM text (``model.lgb``); an ``LGBMClassifier`` or
  ``LGBMRegressor`` is a skops file or pickle of the scikit-learn wrapper, served by the
  sklearn runtime and needing trust (its types are not scikit-learn's).
* ``xgboost``: ``model.ubj`` / ``model.json``; the legacy binary format is refused.
* ``onnx``: ``model.onnx``.

The signature's columns (``{"type": "double", "name": "age"}``) become a tabular signature,
its tensors (``{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 4]}}``)
tensor inputs; unnamed ones are called ``input__0``.. and ``predict`` / ``output__0``...
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from modelport.errors import InvalidInput, NotFound, UnsupportedArtifact
from modelport.protocol.datatypes import oip_datatype
from modelport.protocol.signature import Signature, TensorSpec
from modelport.runtimes.artifacts import is_pickle_file
from modelport.runtimes.lightgbm_runtime import LightGBMRuntime
from modelport.runtimes.sklearn_runtime import is_skops_file
from modelport.runtimes.xgboost_runtime import XGBoostRuntime

#: MLflow flavor -> the key of its flavor config that names the model file.
FLAVOR_FILE_KEYS = {
    "sklearn": "pickled_model",
    "xgboost": "data",
    "lightgbm": "data",
    "onnx": "data",
}

#: MLflow column type -> OIP datatype.
COLUMN_TYPES = {
    "boolean": "BOOL",
    "integer": "INT32",
    "long": "INT64",
    "float": "FP32",
    "double": "FP64",
    "string": "BYTES",
    "binary": "BYTES",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class MlflowModel:
    """An MLflow model as modelport sees it."""

    flavor: str
    """The modelport runtime flavor that serves the artifact."""
    artifact_path: Path
    """The model file inside the MLflow directory."""
    signature: Signature | None
    """MLflow's signature, when it saved one modelport can express."""
    metadata: dict[str, Any] = field(default_factory=dict)
    """MLflow facts worth keeping: versions, model uuid, run id, the flavor's config."""
    needs_trust: bool = False
    """The artifact loads only with ``trust_pickle`` (a pickle, or non-sklearn skops types)."""


def read_mlflow_model(directory: Path) -> MlflowModel:
    """The flavor, model file and signature of an MLflow model directory."""
    if not directory.exists():
        raise NotFound(f"no MLflow model directory at {directory}")
    mlmodel = directory / "MLmodel"
    if not mlmodel.is_file():
        raise UnsupportedArtifact(f"{directory} has no MLmodel file, so it is no MLflow model")
    try:
        raw = yaml.safe_load(mlmodel.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{mlmodel} is not valid YAML: {exc}") from None
    flavors = raw.get("flavors") if isinstance(raw, dict) else None
    if not isinstance(flavors, dict):
        raise InvalidInput(f"{mlmodel} has no 'flavors' mapping; is it an MLmodel file?")
    name = next((f for f in FLAVOR_FILE_KEYS if f in flavors), None)
    if name is None:
        raise UnsupportedArtifact(
            f"{mlmodel} has flavors {sorted(flavors)}; modelport reads "
            f"{', '.join(FLAVOR_FILE_KEYS)}. Save the model with one of those MLflow flavors."
        )
    conf = flavors[name] if isinstance(flavors[name], dict) else {}
    artifact = _artifact_path(directory, mlmodel, name, conf)
    flavor, needs_trust = _serving_flavor(name, artifact)

    metadata: dict[str, Any] = {"mlflow_flavor": name, "flavor_config": conf}
    for key in ("mlflow_version", "model_uuid", "model_id", "run_id", "utc_time_created"):
        if raw.get(key) is not None:
            metadata[key] = raw[key]
    if isinstance(raw.get("metadata"), dict):
        metadata["metadata"] = raw["metadata"]
    signature = None
    if raw.get("signature") is not None:
        try:
            signature = mlflow_signature(raw["signature"])
        except InvalidInput as exc:  # the model is still servable; note why names are lost
            metadata["signature_error"] = exc.message
    return MlflowModel(
        flavor=flavor,
        artifact_path=artifact,
        signature=signature,
        metadata=metadata,
        needs_trust=needs_trust,
    )


def _artifact_path(directory: Path, mlmodel: Path, name: str, conf: dict[str, Any]) -> Path:
    rel = conf.get(FLAVOR_FILE_KEYS[name])
    if not isinstance(rel, str) or not rel:
        raise InvalidInput(
            f"{mlmodel}: flavor {name!r} names no model file ({FLAVOR_FILE_KEYS[name]})"
        )
    root = directory.resolve()
    artifact = (root / rel).resolve()
    if root not in artifact.parents:
        raise InvalidInput(f"{mlmodel}: model file {rel!r} points outside {directory}")
    if not artifact.is_file():
        raise NotFound(f"{mlmodel} names model file {rel!r}, which is missing")
    return artifact


def _serving_flavor(name: str, artifact: Path) -> tuple[str, bool]:
    """Which runtime serves the file, and whether it needs trust_pickle."""
    if name == "onnx":
        return "onnx", False
    if name == "xgboost":
        if not XGBoostRuntime.detect(artifact):
            raise UnsupportedArtifact(
                f"{artifact} is not an XGBoost JSON/UBJSON model (MLflow's legacy 'xgb' "
                "format?); save it again with mlflow.xgboost.save_model(..., model_format='ubj')"
            )
        return "xgboost", False
    if name == "lightgbm" and LightGBMRuntime.detect(artifact):
        return "lightgbm", False
    if is_skops_file(artifact):
        return "sklearn", name != "sklearn"
    if is_pickle_file(artifact):
        return "sklearn", True
    raise UnsupportedArtifact(f"{artifact} is neither a skops file nor a pickle")


def mlflow_signature(raw: Any) -> Signature:
    """Our Signature from MLflow's (``inputs``/``outputs`` are JSON strings of specs)."""
    if not isinstance(raw, dict):
        raise InvalidInput("MLflow signature must be a mapping with inputs and outputs")
    inputs = _specs(raw.get("inputs"), "input")
    outputs = _specs(raw.get("outputs"), "output")
    tabular = bool(inputs) and all(s.shape == (-1,) for s in inputs) and not _tensor_based(raw)
    return Signature(inputs=inputs, outputs=outputs, tabular=tabular)


def _tensor_based(raw: dict[str, Any]) -> bool:
    return any(e.get("type") == "tensor" for e in _entries(raw.get("inputs"), "input"))


def _entries(value: Any, kind: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    try:
        entries = json.loads(value) if isinstance(value, str) else value
    except ValueError as exc:
        raise InvalidInput(f"MLflow signature {kind}s are not valid JSON: {exc}") from None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise InvalidInput(f"MLflow signature {kind}s must be a list of specs")
    return entries


def _specs(value: Any, kind: str) -> tuple[TensorSpec, ...]:
    entries = _entries(value, kind)
    specs = []
    for i, entry in enumerate(entries):
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            single_output = kind == "output" and len(entries) == 1
            name = "predict" if single_output else f"{kind}__{i}"
        if entry.get("type") == "tensor":
            tensor = entry.get("tensor-spec") or {}
            datatype = _numpy_datatype(str(tensor.get("dtype")), name)
            shape = tuple(int(d) for d in tensor.get("shape") or (-1,))
        else:
            datatype = COLUMN_TYPES.get(str(entry.get("type")), "")
            if not datatype:
                raise InvalidInput(
                    f"MLflow column {name!r} has type {entry.get('type')!r}, which modelport "
                    f"cannot map; it maps {', '.join(COLUMN_TYPES)}"
                )
            shape = (-1,)
        specs.append(TensorSpec(name=name, datatype=datatype, shape=shape))
    return tuple(specs)


def _numpy_datatype(dtype: str, name: str) -> str:
    if dtype in ("str", "object", "bytes"):
        return "BYTES"
    try:
        return oip_datatype(np.dtype(dtype))
    except TypeError:
        raise InvalidInput(f"MLflow tensor {name!r} has unknown dtype {dtype!r}") from None
