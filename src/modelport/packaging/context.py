"""The build context ``modelport build`` writes, reproducibly.

    Containerfile            readable; ``podman build`` / ``docker build`` it yourself
    wheels/                  every wheel, and requirements.txt pinning each by sha256
    model/model-settings.json
    model/store/sha256/...   the artifact (and reference sample), in the store's own layout
    build.json               what was built: model, sha256, labels, modelport version

Every file gets the same mode and a fixed modification time, so building the same inputs twice
gives the same model layer digest.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from modelport import __version__
from modelport.errors import Conflict
from modelport.packaging.containerfile import containerfile
from modelport.packaging.model_settings import SETTINGS_FILE, ModelSettings, store_path
from modelport.packaging.wheels import collect_wheels, default_flavors, frameworks_left_out

__all__ = [
    "SOURCE_DATE_EPOCH",
    "BuildContext",
    "image_labels",
    "normalise",
    "write_context",
]

SOURCE_DATE_EPOCH = 0
"""Timestamp of every file in the context and (podman --timestamp) the image's layers."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildContext:
    """A written build context and the image labels it carries."""

    path: Path
    labels: dict[str, str]
    model: ModelSettings | None


def image_labels(model: ModelSettings | None) -> dict[str, str]:
    labels = {
        "org.opencontainers.image.title": f"modelport {model.ref}" if model else "modelport",
        "org.opencontainers.image.description": "Open Inference Protocol server (REST + gRPC)",
        "org.opencontainers.image.version": __version__,
        "io.modelport.version": __version__,
    }
    if model:
        labels |= {
            "io.modelport.model.name": model.name,
            "io.modelport.model.version": str(model.version),
            "io.modelport.model.sha256": model.artifact_sha256,
            "io.modelport.model.flavor": model.flavor,
        }
    return labels


def write_context(
    out: Path,
    *,
    base: str,
    wheelhouse: Path,
    model: ModelSettings | None = None,
    artifact: Path | None = None,
    reference: Path | None = None,
    offline: bool = False,
    overwrite: bool = False,
    flavors: frozenset[str] | None = None,
) -> BuildContext:
    """Write the whole context into ``out`` (empty or absent, unless ``overwrite``).

    ``flavors`` names the runtimes the image must load (default: the model's own; every
    runtime for a ``python`` model or an image without a model).
    """
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise Conflict(f"build context folder {out} is not empty; give an empty folder "
                           "or --overwrite")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    if flavors is None:
        flavors = default_flavors(model.flavor if model else None)
    collect_wheels(out / "wheels", wheelhouse, offline=offline,
                   leave_out=frameworks_left_out(flavors))
    if model is not None and artifact is not None:
        store = out / "model" / "store"
        _copy(artifact, store_path(store, model.artifact_sha256, artifact.name))
        if reference is not None and model.reference_sha256:
            _copy(reference, store_path(store, model.reference_sha256, reference.name))
        (out / "model" / SETTINGS_FILE).write_text(model.to_json())
    labels = image_labels(model)
    (out / "Containerfile").write_text(
        containerfile(base=base, labels=labels, with_model=model is not None)
    )
    (out / ".containerignore").write_text("build.json\n")
    (out / "build.json").write_text(json.dumps(
        {"base": base, "labels": labels, "modelport": __version__,
         "model": json.loads(model.to_json()) if model else None}, indent=2) + "\n")
    normalise(out)
    return BuildContext(path=out, labels=labels, model=model)


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copyfile(source, target)


def normalise(root: Path) -> None:
    """Modes 0644/0755 and one fixed mtime on everything: layers then depend on bytes only."""
    for path in sorted(root.rglob("*"), reverse=True):
        path.chmod(0o755 if path.is_dir() else 0o644)
        os.utime(path, (SOURCE_DATE_EPOCH, SOURCE_DATE_EPOCH), follow_symlinks=False)
    os.utime(root, (SOURCE_DATE_EPOCH, SOURCE_DATE_EPOCH))
