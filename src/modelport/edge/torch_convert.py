"""TorchScript modules to ONNX with ``torch.onnx.export``.

The ONNX graph takes the registered signature's names; every ``-1`` dimension of an input or
output becomes a dynamic axis, so the converted signature equals the original one. Scripted
modules go through the TorchScript exporter (the dynamo exporter takes ``nn.Module`` only).
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

from modelport.edge.tooling import ToolRecord, require
from modelport.errors import UnsupportedArtifact
from modelport.protocol.signature import Signature, TensorSpec
from modelport.runtimes.base import Batch

__all__ = ["TORCH_OPSET", "convert_torch"]

TORCH_OPSET = 17


def _dynamic(specs: tuple[TensorSpec, ...]) -> dict[str, dict[int, str]]:
    return {s.name: {i: f"{s.name}_d{i}" for i, d in enumerate(s.shape) if d < 0} for s in specs}


def _module_file(artifact: Path) -> Path:
    if artifact.is_file():
        return artifact
    found = sorted(p for p in artifact.iterdir() if p.suffix in (".pt", ".pth", ".ts"))
    if len(found) != 1:
        raise UnsupportedArtifact(
            f"{artifact} holds {len(found)} TorchScript files; a torch model directory holds one"
        )
    return found[0]


def convert_torch(artifact: Path, signature: Signature, example: Batch) -> tuple[Any, ToolRecord]:
    """The ONNX model of a TorchScript artifact and the tool that made it."""
    torch = require("torch", "torch")
    import onnx

    module = torch.jit.load(str(_module_file(artifact)), map_location="cpu").eval()
    args = tuple(torch.from_numpy(example[s.name][:2].copy()) for s in signature.inputs)
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module, args, buffer,
                input_names=signature.input_names,
                output_names=signature.output_names,
                dynamic_axes={**_dynamic(signature.inputs), **_dynamic(signature.outputs)},
                opset_version=TORCH_OPSET,
                dynamo=False,
            )
    except Exception as exc:
        raise UnsupportedArtifact(
            f"torch.onnx could not export this module: {type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}"
        ) from None
    model = onnx.load_from_string(buffer.getvalue())
    options = {"opset": TORCH_OPSET, "exporter": "torchscript"}
    return model, ToolRecord.of("torch.onnx", options, "torch")
