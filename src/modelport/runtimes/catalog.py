"""Which runtime serves which flavor, and flavor detection from an artifact.

Runtime modules are imported lazily, so a missing optional framework (torch, transformers)
only matters to the models that need it.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from modelport.errors import NotFound, UnsupportedArtifact
from modelport.runtimes.artifacts import describe
from modelport.runtimes.base import LoadOptions, Runtime

#: flavor -> "module:Class"; detection tries them in this order.
RUNTIMES: dict[str, str] = {
    "xgboost": "modelport.runtimes.xgboost_runtime:XGBoostRuntime",
    "lightgbm": "modelport.runtimes.lightgbm_runtime:LightGBMRuntime",
    "sklearn": "modelport.runtimes.sklearn_runtime:SklearnRuntime",
    "onnx": "modelport.runtimes.onnx_runtime:OnnxRuntime",
    "torch": "modelport.runtimes.torch_runtime:TorchScriptRuntime",
    "transformers": "modelport.runtimes.transformers_runtime:TransformersRuntime",
    "python": "modelport.runtimes.python_runtime:PythonRuntime",
    "openvino": "modelport.runtimes.openvino_runtime:OpenVinoRuntime",
}


def runtime_class(flavor: str) -> type[Runtime]:
    try:
        target = RUNTIMES[flavor]
    except KeyError:
        raise NotFound(f"unknown flavor {flavor!r}; known flavors: {', '.join(RUNTIMES)}") from None
    module_name, cls_name = target.split(":")
    cls: type[Runtime] = getattr(importlib.import_module(module_name), cls_name)
    return cls


def create_runtime(flavor: str, options: LoadOptions | None = None) -> Runtime:
    return runtime_class(flavor)(options)


def detect_flavor(path: Path) -> str:
    """The one flavor that recognises the artifact, or UnsupportedArtifact saying what to do.

    Every runtime looks at the artifact (bytes, zip directory, sidecar; nothing is loaded).
    Exactly one must claim it: none or several is an error that says what was looked at and
    suggests naming the flavor. Pickle files are claimed by "sklearn" (or "torch" for .pt/.pth),
    whose load then explains why pickles need --trust-pickle.
    """
    if not path.exists():
        raise NotFound(f"no file or directory at {path}")
    claims = [flavor for flavor in RUNTIMES if runtime_class(flavor).detect(path)]
    if len(claims) == 1:
        return claims[0]
    seen = describe(path)
    if claims:
        raise UnsupportedArtifact(
            f"{seen} looks like several flavors ({', '.join(claims)}); "
            f"pass --flavor with one of them",
            details={"claims": claims},
        )
    hint = ""
    if path.is_dir() and (path / "MLmodel").is_file():
        hint = " It is an MLflow model directory: register it as an MLflow model instead."
    raise UnsupportedArtifact(
        f"no runtime recognises {seen}; known flavors: {', '.join(RUNTIMES)}. If you know "
        f"which framework wrote it, pass --flavor <name>.{hint}",
        details={"flavors": list(RUNTIMES)},
    )
