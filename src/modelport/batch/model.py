"""Loading the model inside a worker, once, without the registry database.

A worker (a local process or a Dask worker on another machine) gets a :class:`ModelSpec`:
the registered :class:`VersionInfo` and the artifact store's root. It fetches the artifact
from the store, checks its sha256 (as :func:`modelport.registry.loader.load_version` does)
and keeps the loaded runtime in a small per-process cache keyed by the artifact's hash, so
every later task of the same model on that worker reuses it.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

import orjson

from modelport.registry.loader import load_artifact
from modelport.registry.records import VersionInfo
from modelport.registry.store import ArtifactStore
from modelport.runtimes.base import Runtime

CACHE_SIZE = 4
"""Loaded models kept per process; the least recently used beyond this is unloaded."""

_cache: OrderedDict[str, Runtime] = OrderedDict()
_lock = threading.Lock()


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelSpec:
    """Everything a worker needs to load one model version."""

    info: VersionInfo
    store_root: str
    """Root of the artifact store (folder or fsspec URL) the artifact lives in."""

    @property
    def cache_key(self) -> str:
        """Same artifact, flavor, trust and signature: the same loaded model."""
        info = self.info
        signature = orjson.dumps(info.signature.to_dict(), option=orjson.OPT_SORT_KEYS)
        extra = hashlib.sha256(signature).hexdigest()[:16]
        return f"{info.artifact_sha256}:{info.flavor}:{int(info.trust_pickle)}:{extra}"


def load_model(spec: ModelSpec) -> Runtime:
    """Fetch the artifact (hash-checked) and load it with the runtime of its flavor."""
    info = spec.info
    store = ArtifactStore(spec.store_root)
    path = store.fetch(
        info.artifact_uri, info.artifact_sha256, model=info.name, version=info.version
    )
    return load_artifact(info, path)


def runtime_for(spec: ModelSpec) -> tuple[Runtime, bool]:
    """The process's loaded runtime of ``spec``, and whether this call had to load it."""
    key = spec.cache_key
    with _lock:
        runtime = _cache.get(key)
        if runtime is not None:
            _cache.move_to_end(key)
            return runtime, False
        runtime = load_model(spec)
        _cache[key] = runtime
        while len(_cache) > CACHE_SIZE:
            _, old = _cache.popitem(last=False)
            old.unload()
        return runtime, True
