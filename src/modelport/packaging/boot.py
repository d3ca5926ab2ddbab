"""The image's entry point: check what is baked in, then become ``modelport serve``.

    python -m modelport.packaging.boot [REF] [serve options...]

With a model inside the image (``/opt/modelport/model/model-settings.json``) it hashes the
artifact and refuses to start (exit 3) when the bytes differ from the sha256 recorded at build
time, registers that exact version (number, aliases, signature) into a fresh registry under
``MODELPORT_HOME`` (the artifact is used in place, never copied), and serves it. Without one
(``--no-model`` images) the registry comes from ``MODELPORT_DATABASE_URL`` and the artifact
root, and REF is served as ``serve`` does, following alias moves.

Either way the process ``exec``s into ``modelport serve``, so the server is PID 1 and receives
SIGTERM itself (its handler drains in-flight requests). ``--host`` defaults to 0.0.0.0: inside
a container loopback is unreachable.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import sqlalchemy as sa

from modelport.config import RegistrySettings
from modelport.errors import IntegrityError, InvalidInput, ModelportError
from modelport.packaging.model_settings import MODEL_DIR, SETTINGS_FILE, ModelSettings, store_path
from modelport.protocol.signature import Signature
from modelport.registry import Registry, db, writes
from modelport.registry import tables as t
from modelport.registry.lineage import Lineage, hash_path
from modelport.registry.refs import parse_ref

__all__ = ["PORT_FILE", "main", "seed_registry", "serve_arguments", "verify_artifact"]

PORT_FILE = ".serve-port"
"""Written under MODELPORT_HOME: the REST port the HEALTHCHECK probes."""


def verify_artifact(settings: ModelSettings, store: Path) -> Path:
    """The baked artifact's path, after checking its bytes against the recorded sha256."""
    path = store_path(store, settings.artifact_sha256, settings.artifact_name)
    if not path.exists():
        raise IntegrityError(f"the image's model artifact is missing: {path}")
    actual = hash_path(path)
    if actual != settings.artifact_sha256:
        raise IntegrityError(
            f"the model artifact {path} has changed since the image was built: expected "
            f"sha256 {settings.artifact_sha256}, found {actual}; refusing to start. Rebuild "
            "the image with modelport build."
        )
    return path


def seed_registry(settings: ModelSettings, store: Path, registry_settings: RegistrySettings) -> str:
    """Register the baked version (same number, same aliases) into a fresh registry."""
    artifact = verify_artifact(settings, store)
    reference = None
    if settings.reference_name and settings.reference_sha256:
        reference = store_path(store, settings.reference_sha256, settings.reference_name)
    with Registry.open(registry_settings) as registry:
        if any(s.name == settings.name for s in registry.list_models()):
            return settings.ref  # a restart of the same container: already registered

        def reserve(conn: sa.Connection) -> None:
            model = writes.get_or_create_model(conn, settings.name, settings.description,
                                               t.utcnow())
            conn.execute(sa.update(t.models).where(t.models.c.id == model.id)
                         .values(last_version=settings.version - 1))

        db.run_write(registry.engine, reserve, retry_integrity=True)
        lineage = Lineage(**{k: v for k, v in settings.lineage.items()
                             if k in Lineage.__dataclass_fields__})
        registry.register(
            settings.name, artifact, flavor=settings.flavor,
            signature=Signature.from_dict(settings.signature), registered_by="modelport-build",
            metrics=settings.metrics, params=settings.params, tags=settings.tags,
            lineage=lineage, card=settings.card,
            alias=settings.aliases[0] if settings.aliases else None,
            trust_pickle=settings.trust_pickle, reference_data=reference,
        )  # fmt: skip
        for alias in settings.aliases[1:]:
            registry.set_alias(settings.name, alias, settings.version, actor="modelport-build")
    return settings.ref


def serve_arguments(args: list[str], baked_ref: str | None) -> list[str]:
    """``serve``'s arguments: the baked reference when none is given, host 0.0.0.0."""
    args = list(args)
    given = args[0] if args and not args[0].startswith("-") else None
    if baked_ref is not None:
        if given is None:
            args.insert(0, baked_ref)
        elif parse_ref(given).name != parse_ref(baked_ref).name:
            raise InvalidInput(f"this image serves {baked_ref}, not {given!r}; leave the "
                               "reference out or build another image")
    if not any(a == "--host" or a.startswith("--host=") for a in args):
        args += ["--host", "0.0.0.0"]
    return args


def _port(args: list[str]) -> str:
    for i, arg in enumerate(args):
        if arg == "--port" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--port="):
            return arg.split("=", 1)[1]
    return os.environ.get("MODELPORT_PORT", "8080")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    model_dir = Path(os.environ.get("MODELPORT_MODEL_DIR", MODEL_DIR))
    registry_settings = RegistrySettings()
    try:
        baked = None
        if (model_dir / SETTINGS_FILE).exists():
            settings = ModelSettings.read(model_dir / SETTINGS_FILE)
            store = model_dir / "store"
            registry_settings = RegistrySettings(home=registry_settings.home,
                                                 artifact_root=str(store))
            os.environ["MODELPORT_ARTIFACT_ROOT"] = str(store)
            os.environ.pop("MODELPORT_DATABASE_URL", None)  # the baked registry, nothing else
            baked = seed_registry(settings, store, registry_settings)
        serve_args = serve_arguments(args, baked)
    except ModelportError as exc:
        print(f"modelport boot: error: {exc.message}", file=sys.stderr, flush=True)
        return 3
    home = registry_settings.home
    home.mkdir(parents=True, exist_ok=True)
    (home / PORT_FILE).write_text(_port(serve_args))
    program = shutil.which("modelport") or "modelport"
    print(f"modelport boot: serving {serve_args[0] if baked else ' '.join(serve_args)}",
          file=sys.stderr, flush=True)
    os.execv(program, [program, "serve", *serve_args])
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
