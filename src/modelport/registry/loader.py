"""Turn a registered version into a loaded, ready runtime (hash-checked on every load)."""

from __future__ import annotations

from pathlib import Path

from modelport.errors import ModelportError, UnsupportedArtifact
from modelport.registry.records import VersionInfo
from modelport.registry.service import Registry
from modelport.runtimes.base import LoadOptions, Runtime
from modelport.runtimes.catalog import create_runtime


def load_version(registry: Registry, info: VersionInfo) -> Runtime:
    """Fetch (and verify) the artifact of ``info`` and load it with the runtime of its flavor."""
    return load_artifact(info, registry.fetch_artifact(info), registry)


def load_artifact(info: VersionInfo, path: Path, registry: Registry | None = None) -> Runtime:
    """Load an already fetched (hash-checked) artifact of ``info`` with its flavor's runtime.

    A pipeline loads its step models through ``registry`` (or, without one, the registry of
    the MODELPORT_* environment).
    """
    if info.flavor == "pipeline":
        from modelport.pipelines.runtime import load_pipeline  # steps come from the registry

        return load_pipeline(info, path, registry)
    options = LoadOptions(trust_pickle=info.trust_pickle, signature=info.signature)
    runtime = create_runtime(info.flavor, options)
    try:
        runtime.load(path)
    except ModelportError:
        raise
    except Exception as exc:
        raise UnsupportedArtifact(
            f"model {info.ref} ({info.flavor}) failed to load from {info.artifact_uri}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    return runtime


def load_ref(registry: Registry, ref: str) -> tuple[VersionInfo, Runtime]:
    """Resolve ``name``, ``name@alias`` or ``name:version`` and load it."""
    info = registry.resolve(ref)
    return info, load_version(registry, info)
