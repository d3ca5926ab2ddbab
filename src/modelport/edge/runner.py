"""Run a modelport edge bundle with nothing but onnxruntime and numpy.

This file is copied into every bundle as ``run.py``: it must not import modelport. A bundle
is a folder with ``manifest.json`` (model, version, sha256, signature, input/output schema,
reference rows with their expected outputs) and the ONNX artifact it names.

    python run.py BUNDLE --check             # verify sha256, run the reference rows
    python run.py BUNDLE --input rows.json   # {"inputs": {"name": [...]}} -> outputs as JSON
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["BundleError", "BundleModel", "file_sha256"]

MANIFEST = "manifest.json"
_DTYPES = {
    "BOOL": np.bool_, "INT8": np.int8, "INT16": np.int16, "INT32": np.int32,
    "INT64": np.int64, "UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32,
    "UINT64": np.uint64, "FP16": np.float16, "FP32": np.float32, "FP64": np.float64,
    "BYTES": np.object_,
}


class BundleError(Exception):
    """The bundle is incomplete, altered, or its model does not answer as recorded."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _read_manifest(folder: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BundleError(f"{folder}: no readable {MANIFEST} ({exc})") from None
    return manifest


class BundleModel:
    """One bundle, checked and loaded: ``predict({name: array}) -> {name: array}``."""

    def __init__(
        self, folder: Path | str, *, verify: bool = True, manifest: dict[str, Any] | None = None
    ) -> None:
        self.folder = Path(folder)
        self.manifest = manifest if manifest is not None else _read_manifest(self.folder)
        artifact = self.folder / self.manifest["artifact"]
        if not artifact.is_file():
            raise BundleError(f"{artifact} is missing")
        if verify and file_sha256(artifact) != self.manifest["sha256"]:
            raise BundleError(f"{artifact} does not match the manifest's sha256")
        import onnxruntime as ort

        try:
            self.session = ort.InferenceSession(str(artifact), providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise BundleError(f"onnxruntime cannot load {artifact}: {exc}") from None
        self.inputs = self.manifest["schema"]["inputs"]
        self.outputs = [o["name"] for o in self.manifest["schema"]["outputs"]]

    @property
    def version(self) -> int:
        return int(self.manifest["version"])

    def predict(self, inputs: dict[str, Any]) -> dict[str, Any]:
        missing = [s["name"] for s in self.inputs if s["name"] not in inputs]
        if missing:
            raise BundleError(f"missing inputs {missing}")
        feeds = {}
        for spec in self.inputs:
            value = np.asarray(inputs[spec["name"]])
            if spec["datatype"] == "BYTES":
                feeds[spec["name"]] = value.astype(str).astype(object)
            else:
                feeds[spec["name"]] = value.astype(_DTYPES[spec["datatype"]], copy=False)
        results = self.session.run(self.outputs, feeds)
        return dict(zip(self.outputs, (np.asarray(r) for r in results), strict=True))

    def check(self) -> None:
        """Run the reference rows; BundleError naming the output that differs."""
        reference = self.manifest.get("reference") or {}
        if not reference.get("inputs"):
            return
        got = self.predict(reference["inputs"])
        atol = float(reference.get("atol", 1e-4))
        for name, expected in reference["outputs"].items():
            want, have = np.asarray(expected), got[name]
            if want.dtype.kind in "USO" or have.dtype.kind in "USO":
                same = bool((want.astype(str) == have.astype(str)).all())
            else:
                same = want.shape == have.shape and bool(np.allclose(have, want, atol=atol))
            if not same:
                raise BundleError(f"output {name!r} differs from the reference rows' expected "
                                  f"values (atol {atol:g})")


def jsonable(outputs: dict[str, Any]) -> dict[str, Any]:
    return {k: [x.decode() if isinstance(x, bytes) else x for x in np.asarray(v).tolist()]
            if np.asarray(v).dtype.kind in "SO" else np.asarray(v).tolist()
            for k, v in outputs.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run a modelport edge bundle.")
    parser.add_argument("bundle", nargs="?", default=str(Path(__file__).resolve().parent))
    parser.add_argument("--check", action="store_true", help="verify and run reference rows")
    parser.add_argument("--input", help='JSON file {"inputs": {"name": [...]}}')
    args = parser.parse_args(argv)
    try:
        model = BundleModel(args.bundle)
        if args.check:
            model.check()
            print(f"ok: {model.manifest['model']}:{model.version} answers its reference rows")
        if args.input:
            rows = json.loads(Path(args.input).read_text())["inputs"]
            print(json.dumps({"outputs": jsonable(model.predict(rows))}))
    except (BundleError, OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
