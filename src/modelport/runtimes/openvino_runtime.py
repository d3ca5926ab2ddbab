"""OpenVINO IR folders (``model.xml`` + ``model.bin``) on the OpenVINO CPU plugin.

Written by ``modelport convert --to openvino``. OpenVINO does not keep the Open Inference
Protocol datatypes of the original, so the signature is the registered one (the converter
checked it against the graph); inference runs at float32 precision so answers match ONNX.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from modelport.errors import InvalidInput, MissingDependency, UnsupportedArtifact
from modelport.protocol.datatypes import numpy_dtype
from modelport.protocol.signature import Signature, TensorSpec
from modelport.runtimes.artifacts import require_exists
from modelport.runtimes.base import Array, Batch, LoadOptions, Runtime, not_loaded
from modelport.runtimes.tensors import ordered_inputs

_TYPES = {"f32": "FP32", "f64": "FP64", "f16": "FP16", "i64": "INT64", "i32": "INT32",
          "i8": "INT8", "u8": "UINT8", "boolean": "BOOL"}


class OpenVinoRuntime(Runtime):
    flavor = "openvino"

    def __init__(self, options: LoadOptions | None = None) -> None:
        super().__init__(options)
        self._compiled: Any = None
        self._signature: Signature | None = None

    @classmethod
    def detect(cls, path: Path) -> bool:
        return path.is_dir() and (path / "model.xml").is_file() and (path / "model.bin").is_file()

    def load(self, path: Path) -> None:
        require_exists(path)
        try:
            import openvino as ov
        except ImportError:
            raise MissingDependency(
                "OpenVINO models need openvino; install it with: pip install 'modelport[edge]'"
            ) from None
        xml = path / "model.xml" if path.is_dir() else path
        try:
            compiled = ov.Core().compile_model(str(xml), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
        except Exception as exc:
            raise UnsupportedArtifact(f"OpenVINO could not load {xml}: {exc}") from None
        graph = Signature(
            inputs=tuple(_spec(p) for p in compiled.inputs),
            outputs=tuple(_spec(p) for p in compiled.outputs),
        )
        self._compiled = compiled
        self._signature = self.options.signature or graph

    def signature(self) -> Signature:
        if self._signature is None:
            raise not_loaded(self)
        return self._signature

    def predict(self, inputs: Batch) -> dict[str, Array]:
        if self._compiled is None or self._signature is None:
            raise not_loaded(self)
        specs = self._signature.inputs
        feeds = dict(zip((s.name for s in specs), ordered_inputs(specs, inputs), strict=True))
        try:
            result = self._compiled(feeds)
        except RuntimeError as exc:
            raise InvalidInput(f"OpenVINO rejected the input: {str(exc).splitlines()[0]}") from None
        by_name = {port.get_any_name(): value for port, value in result.items()}
        return {
            s.name: np.asarray(by_name[s.name]).astype(numpy_dtype(s.datatype), copy=False)
            for s in self._signature.outputs
        }

    def unload(self) -> None:
        self._compiled = None


def _spec(port: Any) -> TensorSpec:
    shape = tuple(d.get_length() if d.is_static else -1 for d in port.get_partial_shape())
    datatype = _TYPES.get(port.get_element_type().to_string(), "FP32")
    return TensorSpec(name=port.get_any_name(), datatype=datatype, shape=shape)
