"""Shrinking a converted ONNX model: int8 dynamic quantization, or fp16 weights.

int8 uses ONNX Runtime's dynamic quantization (weights int8, activations quantized per batch
at run time): no calibration data, and MatMul/Gemm-heavy nets (transformers, MLPs) shrink about
4x. Tree ensembles have no weights to quantize; they are refused with a message rather than
registered unchanged. fp16 converts float initializers and arithmetic to half precision while
keeping float32 inputs and outputs, so the signature is unchanged.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Literal

from modelport.edge.tooling import require
from modelport.errors import InvalidInput, UnsupportedArtifact

__all__ = ["QUANTIZATIONS", "Quantization", "quantize"]

Quantization = Literal["int8", "fp16"]
QUANTIZATIONS: tuple[str, ...] = ("int8", "fp16")
_WEIGHT_OPS = frozenset({"MatMul", "Gemm", "Conv", "Attention", "LSTM", "GRU", "Gather"})


def check_quantization(value: str | None) -> Quantization | None:
    if value is None:
        return None
    if value not in QUANTIZATIONS:
        raise InvalidInput(f"--quantize must be one of {', '.join(QUANTIZATIONS)}, got {value!r}")
    return value  # type: ignore[return-value]


def quantize(model: Any, mode: Quantization) -> tuple[Any, dict[str, Any]]:
    """The quantized model and the options recorded for it."""
    import onnx

    if not any(n.op_type in _WEIGHT_OPS for n in model.graph.node):
        raise UnsupportedArtifact(
            f"--quantize {mode}: the model has no MatMul/Gemm/Conv weights to quantize "
            "(tree ensembles are already compact); convert it without --quantize"
        )
    if mode == "fp16":
        float16 = require("onnxruntime.transformers.float16", "edge")
        return float16.convert_float_to_float16(model, keep_io_types=True), {"fp16": True}
    quantization = require("onnxruntime.quantization", "edge")
    with tempfile.TemporaryDirectory(prefix="modelport-quantize-") as tmp:
        src, dst = Path(tmp) / "float.onnx", Path(tmp) / "int8.onnx"
        onnx.save(model, str(src))
        quantization.quantize_dynamic(
            str(src), str(dst), weight_type=quantization.QuantType.QInt8
        )
        quantized = onnx.load(str(dst))
    return quantized, {"quantization": "dynamic", "weight_type": "QInt8"}
