"""``modelport build``: an OCI image serving one registered model (or, with ``--no-model``,
the server alone, pulling by alias from the registry at start)."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import typer

from modelport import __version__
from modelport.cli.common import JSON_OPTION, open_registry
from modelport.cli.output import console, print_fields, print_json
from modelport.errors import InvalidInput
from modelport.packaging.containerfile import DEFAULT_BASE
from modelport.packaging.context import BuildContext, write_context
from modelport.packaging.engine import ImageFacts, find_engine
from modelport.packaging.model_settings import ModelSettings
from modelport.packaging.wheels import FRAMEWORKS

__all__ = ["build"]

_TAG = re.compile(r"[a-z0-9][a-z0-9._/:-]*(:[\w][\w.-]{0,127})?")


def _default_wheelhouse() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "modelport" / "wheels"


def build(
    ref: str = typer.Argument(
        None, help="Model to put in the image: fraud@production, fraud:3 (not with --no-model)."
    ),
    tag: str = typer.Option(
        None, "--tag", "-t", help="Image name [default: modelport-MODEL:VERSION, or "
        f"modelport:{__version__} with --no-model].",
    ),
    no_model: bool = typer.Option(
        False, "--no-model", help="The server only: it serves REF from the registry at start."
    ),
    context_only: bool = typer.Option(
        False, "--context-only", help="Write the build context; build nothing."
    ),
    context: Path = typer.Option(
        None, "--context", help="Folder for the build context [default: ./modelport-image with "
        "--context-only, else a temporary folder].",
    ),
    base: str = typer.Option(DEFAULT_BASE, "--base", help="Base image with python3 (3.11)."),
    engine: str = typer.Option(
        None, "--engine", help="docker or podman [default: the first that can build]."
    ),
    pull: str = typer.Option(
        "missing", "--pull", help="podman: pull the base: missing, never or always."
    ),
    wheelhouse: Path = typer.Option(
        None, "--wheelhouse", help="Local wheel cache, used first [default: ~/.cache/modelport/"
        "wheels]."
    ),
    offline: bool = typer.Option(
        False, "--offline", help="Use only the wheelhouse; never download a wheel."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a non-empty --context."),
    flavor: list[str] = typer.Option(
        None, "--flavor", help="Runtimes the image needs: xgboost, lightgbm, sklearn, onnx "
        "(repeatable) [default: the model's; all with --no-model].",
    ),
    reproducible: bool = typer.Option(
        True, "--reproducible/--no-reproducible",
        help="podman: fixed layer timestamps, so the same inputs give the same layer digests; "
        "off lets podman reuse its cached layers (faster rebuilds).",
    ),
    json: bool = JSON_OPTION,
) -> None:
    """Build an OCI image that serves a model over REST and gRPC (non-root, verified at start)."""
    if no_model == (ref is not None):
        raise InvalidInput("give a model reference (e.g. fraud@production), or --no-model "
                           "for the server alone, not both")
    if pull not in ("missing", "never", "always"):
        raise InvalidInput(f"--pull must be missing, never or always, got {pull!r}")
    flavors = _flavors(flavor)
    picked = None if context_only else find_engine(engine)  # fail fast, before the work
    temporary = context is None and not context_only
    folder = Path(tempfile.mkdtemp(prefix="modelport-build-")) if temporary else (
        context or Path("modelport-image"))
    try:
        with console.status("writing the build context (wheels, model, Containerfile)"):
            written = _write(ref, folder, base, wheelhouse or _default_wheelhouse(), offline,
                             overwrite, flavors)
        image = tag or _default_tag(written.model)
        if not _TAG.fullmatch(image):
            raise InvalidInput(f"--tag {image!r} is not a valid image name, e.g. fraud:1.0")
        facts = None
        if picked is not None:
            with console.status(f"{picked.name} build {image} (minutes on a cold cache)"):
                picked.build(folder, image, base, pull, reproducible=reproducible)
            facts = picked.inspect(image, base)
    finally:
        if temporary:
            shutil.rmtree(folder, ignore_errors=True)
    _report(written, image, facts, None if temporary else folder, json,
            picked.name if picked else None)


def _flavors(names: list[str] | None) -> frozenset[str] | None:
    if not names:
        return None
    unknown = sorted(set(names) - set(FRAMEWORKS) - {"python"})
    if unknown:
        raise InvalidInput(f"--flavor {', '.join(unknown)} is not one of "
                           f"{', '.join([*FRAMEWORKS, 'python'])}")
    return frozenset(names)


def _write(ref: str | None, folder: Path, base: str, wheelhouse: Path, offline: bool,
           overwrite: bool, flavors: frozenset[str] | None) -> BuildContext:
    if ref is None:
        return write_context(folder, base=base, wheelhouse=wheelhouse, offline=offline,
                             overwrite=overwrite, flavors=flavors)
    with open_registry() as registry:
        info = registry.resolve(ref)
        artifact = registry.fetch_artifact(info)
        reference = registry.fetch_reference(info)
        description = registry.get_model(info.name).description
        model = ModelSettings.from_version(info, artifact, reference, description)
        return write_context(folder, base=base, wheelhouse=wheelhouse, model=model,
                             artifact=artifact, reference=reference, offline=offline,
                             overwrite=overwrite, flavors=flavors)


def _default_tag(model: ModelSettings | None) -> str:
    if model is None:
        return f"modelport:{__version__}"
    name = re.sub(r"[^a-z0-9._-]+", "-", model.name.lower()).strip("-.") or "model"
    return f"modelport-{name}:{model.version}"


def _report(written: BuildContext, image: str, facts: ImageFacts | None, folder: Path | None,
            json: bool, engine: str | None) -> None:
    model = written.model
    data = {
        "image": image if facts else None,
        "engine": engine,
        "model": model.ref if model else None,
        "model_version": model.version if model else None,
        "sha256": model.artifact_sha256 if model else None,
        "context": str(folder) if folder else None,
        "image_id": facts.id if facts else None,
        "size_bytes": facts.size if facts else None,
        "added_bytes": facts.added if facts else None,
        "labels": written.labels,
    }
    if json:
        print_json(data)
        return
    print_fields([
        ("image", data["image"]), ("engine", engine), ("model", data["model"]),
        ("sha256", data["sha256"]), ("image id", (facts.id[:12] if facts else None)),
        ("size", _mb(facts.size) if facts else None),
        ("added to the base", _mb(facts.added) if facts else None),
        ("context", data["context"]),
    ], title="image built" if facts else "build context written")
    if facts:
        console.print(f"run it: podman run --rm -p 8080:8080 -p 8081:8081 {image}")


def _mb(size: int | None) -> str | None:
    return None if size is None else f"{size / 1e6:,.0f} MB"
