"""The manifest of an edge bundle: what a device needs to trust and check one version.

Model, version, the artifact's sha256 and Ed25519 signature (over the same message the server
checks, see :mod:`modelport.security.signing`), the input/output schema, and a few reference
rows with the outputs this very artifact gives for them, so a device can prove the model it
loaded answers as it should before switching to it.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from modelport.edge.runner import BundleModel, jsonable
from modelport.edge.sample import read_sample
from modelport.errors import InvalidInput
from modelport.registry import Registry, VersionInfo
from modelport.security.signing import SIGNATURE_TAG

__all__ = ["CHECK_ROWS_TAG", "FORMAT", "REFERENCE_ROWS", "build_manifest"]

FORMAT = "modelport-edge-bundle/1"
CHECK_ROWS_TAG = "modelport.edge.check_rows"
"""Tag holding a few input rows (JSON) of tensor models, kept by ``convert --data``."""
REFERENCE_ROWS = 5
ATOL = 1e-4


def artifact_name(info: VersionInfo) -> str:
    return f"{info.name}-{info.version}.onnx"


def reference_inputs(registry: Registry, info: VersionInfo) -> dict[str, Any] | None:
    """A few input rows as JSON lists: the check rows tag, else the reference sample."""
    raw = info.tags.get(CHECK_ROWS_TAG)
    if raw is not None:
        rows: dict[str, Any] = json.loads(raw)
        return rows
    reference = registry.fetch_reference(info)
    if reference is None:
        return None
    sample = read_sample(reference, info.signature, None, f"the reference sample of {info.ref}")
    return jsonable(dict(sample.head(min(REFERENCE_ROWS, sample.rows))))


def build_manifest(registry: Registry, info: VersionInfo) -> dict[str, Any]:
    """The manifest of ``info`` (an ONNX version), expected outputs computed now."""
    if info.flavor != "onnx":
        raise InvalidInput(
            f"{info.ref} is a {info.flavor} model; edge bundles carry ONNX: convert it first "
            f"with: modelport convert {info.ref} --to onnx"
        )
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "model": info.name,
        "version": info.version,
        "flavor": info.flavor,
        "artifact": artifact_name(info),
        "sha256": info.artifact_sha256,
        "size": info.artifact_size,
        "signature": info.tags.get(SIGNATURE_TAG),
        "signed_message": f"modelport-artifact-v1|{info.name}|{info.version}|"
                          f"{info.artifact_sha256}",
        "schema": info.signature.to_dict(),
        "reference": None,
    }
    inputs = reference_inputs(registry, info)
    if inputs is not None:
        with tempfile.TemporaryDirectory(prefix="modelport-manifest-") as tmp:
            shutil.copyfile(registry.fetch_artifact(info), Path(tmp) / manifest["artifact"])
            model = BundleModel(tmp, verify=False, manifest=manifest)
            outputs = jsonable(model.predict(inputs))
        manifest["reference"] = {"inputs": inputs, "outputs": outputs, "atol": ATOL}
    return manifest
