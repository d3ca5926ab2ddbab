"""ONNX models on ONNX Runtime (CPU by default).

The signature mirrors the graph: one input per graph input, named and typed as in the graph,
dynamic dimensions as -1. A tabular model exported with one ``[-1, N]`` float input keeps that
single input. ZipMap outputs (a list of ``{class: probability}`` per row, what skl2onnx writes
for classifiers by default) come back as an FP32 matrix, one column per class.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from modelport.errors import InvalidInput, PredictionFailed, UnsupportedArtifact
from modelport.protocol.signature import Signature, TensorSpec
from modelport.runtimes.artifacts import read_head, require_exists
from modelport.runtimes.base import Array, Batch, LoadOptions, Runtime, not_loaded
from modelport.runtimes.tensors import as_bytes, ordered_inputs

#: ONNX element type -> OIP datatype.
ONNX_TO_OIP: dict[str, str] = {
    "float": "FP32",
    "double": "FP64",
    "float16": "FP16",
    "int8": "INT8",
    "int16": "INT16",
    "int32": "INT32",
    "int64": "INT64",
    "uint8": "UINT8",
    "uint16": "UINT16",
    "uint32": "UINT32",
    "uint64": "UINT64",
    "bool": "BOOL",
    "string": "BYTES",
}

DEFAULT_PROVIDERS = ("CPUExecutionProvider",)


def tensor_spec(name: str, onnx_type: str, shape: Any) -> TensorSpec:
    """The spec of one graph input or output; UnsupportedArtifact for non-tensor types."""
    if onnx_type.startswith("seq(map("):  # ZipMap: one dict of class probabilities per row
        return TensorSpec(name=name, datatype="FP32", shape=(-1, -1))
    element = onnx_type.removeprefix("tensor(").removesuffix(")")
    datatype = ONNX_TO_OIP.get(element)
    if not onnx_type.startswith("tensor(") or datatype is None:
        raise UnsupportedArtifact(
            f"ONNX value {name!r} has type {onnx_type}, which the Open Inference Protocol "
            f"cannot carry; supported element types: {', '.join(ONNX_TO_OIP)}"
        )
    dims = tuple(d if isinstance(d, int) and d >= 0 else -1 for d in (shape or []))
    return TensorSpec(name=name, datatype=datatype, shape=dims)


class OnnxRuntime(Runtime):
    flavor = "onnx"

    def __init__(
        self, options: LoadOptions | None = None, *, providers: tuple[str, ...] = DEFAULT_PROVIDERS
    ) -> None:
        super().__init__(options)
        self.providers = providers
        self._session: Any = None
        self._signature: Signature | None = None
        self._zipmap: frozenset[str] = frozenset()
        self._strings: frozenset[str] = frozenset()
        self._invalid: type[Exception] = Exception

    @classmethod
    def detect(cls, path: Path) -> bool:
        # A ModelProto opens with field 1 (ir_version, a varint): tag byte 0x08.
        return path.suffix.lower() == ".onnx" and read_head(path, 1) == b"\x08"

    def load(self, path: Path) -> None:
        require_exists(path)
        import onnxruntime as ort
        from onnxruntime.capi.onnxruntime_pybind11_state import InvalidArgument

        try:
            session = ort.InferenceSession(str(path), providers=list(self.providers))
        except Exception as exc:
            raise UnsupportedArtifact(f"ONNX Runtime could not load {path}: {exc}") from None
        inputs = tuple(tensor_spec(i.name, i.type, i.shape) for i in session.get_inputs())
        outputs = tuple(tensor_spec(o.name, o.type, o.shape) for o in session.get_outputs())
        self._zipmap = frozenset(o.name for o in session.get_outputs() if o.type.startswith("seq"))
        self._strings = frozenset(s.name for s in outputs if s.datatype == "BYTES")
        self._session = session
        self._invalid = InvalidArgument
        self._signature = Signature(inputs=inputs, outputs=outputs)

    def signature(self) -> Signature:
        if self._signature is None:
            raise not_loaded(self)
        return self._signature

    def predict(self, inputs: Batch) -> dict[str, Array]:
        if self._session is None or self._signature is None:
            raise not_loaded(self)
        specs = self._signature.inputs
        feeds = dict(zip((s.name for s in specs), ordered_inputs(specs, inputs), strict=True))
        names = self._signature.output_names
        try:
            results = self._session.run(names, feeds)
        except self._invalid as exc:
            raise InvalidInput(f"ONNX Runtime rejected the input: {exc}") from None
        except Exception as exc:
            raise PredictionFailed(f"ONNX Runtime failed to predict: {exc}") from None
        out: dict[str, Array] = {}
        for name, value in zip(names, results, strict=True):
            if name in self._zipmap:
                out[name] = _zipmap_matrix(value)
            elif name in self._strings:
                out[name] = as_bytes(np.asarray(value))
            else:
                out[name] = np.asarray(value)
        return out

    def unload(self) -> None:
        self._session = None


def _zipmap_matrix(rows: list[dict[Any, float]]) -> Array:
    """``[{class: p, ...}, ...]`` -> ``[rows, classes]``, columns in the map's class order."""
    if not rows:
        return np.empty((0, 0), dtype=np.float32)
    keys = list(rows[0])
    return np.array([[row[k] for k in keys] for row in rows], dtype=np.float32)
