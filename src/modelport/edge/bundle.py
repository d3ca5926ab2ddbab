"""``modelport edge bundle``: one version as a folder a device can run without modelport.

``DIR/<name>-<version>.onnx``, ``DIR/manifest.json``, ``DIR/run.py`` (the runner: onnxruntime
and numpy only) and ``DIR/public_key.pem`` when a verify key is given. Written to a temporary
folder beside ``DIR`` and renamed into place, so a half-written bundle never appears.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from modelport.edge import runner
from modelport.edge.manifest import build_manifest
from modelport.errors import Conflict
from modelport.registry import Registry, VersionInfo

__all__ = ["BundleResult", "write_bundle"]


@dataclass(frozen=True, slots=True)
class BundleResult:
    folder: Path
    files: dict[str, int]
    """File name -> size in bytes."""

    @property
    def size(self) -> int:
        return sum(self.files.values())


def write_bundle(
    registry: Registry, info: VersionInfo, out: Path, *, public_key: Path | None = None,
    overwrite: bool = False,
) -> BundleResult:
    """Write the bundle of ``info`` to ``out`` (refused when ``out`` exists, unless told)."""
    out = Path(out)
    if out.exists() and not (overwrite and out.is_dir()):
        raise Conflict(f"{out} exists; pick a new folder or pass --overwrite")
    manifest = build_manifest(registry, info)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        shutil.copyfile(registry.fetch_artifact(info), staging / manifest["artifact"])
        (staging / runner.MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
        shutil.copyfile(runner.__file__, staging / "run.py")
        if public_key is not None:
            shutil.copyfile(public_key, staging / "public_key.pem")
        runner.BundleModel(staging).check()  # the bundle runs as shipped
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    files = {p.name: p.stat().st_size for p in sorted(out.iterdir()) if p.is_file()}
    return BundleResult(out, files)
