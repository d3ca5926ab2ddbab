"""ONNX to OpenVINO IR (``model.xml`` + ``model.bin`` in one folder), for Intel CPUs/NPUs.

Weights are kept in float32 (OpenVINO's default would halve them silently); fp16 is asked for
with ``--quantize fp16`` on the ONNX side instead, so the parity gate sees what ships.
"""

from __future__ import annotations

from pathlib import Path

from modelport.edge.tooling import require
from modelport.errors import UnsupportedArtifact

__all__ = ["export_openvino"]


def export_openvino(onnx_path: Path, folder: Path) -> Path:
    """Write the IR of ``onnx_path`` into ``folder``; the folder is the artifact."""
    ov = require("openvino", "edge")
    folder.mkdir(parents=True, exist_ok=True)
    try:
        model = ov.convert_model(str(onnx_path))
    except Exception as exc:
        raise UnsupportedArtifact(
            f"OpenVINO cannot convert this model (tree ensembles and text outputs have no "
            f"OpenVINO operators; convert it --to onnx): {str(exc).splitlines()[0][:300]}"
        ) from None
    ov.save_model(model, str(folder / "model.xml"), compress_to_fp16=False)
    return folder
