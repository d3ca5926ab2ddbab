"""The data plane: model manager, batcher, cache, REST and gRPC transports, workers.

Build a server in Python::

    from modelport.serving import DataPlane, ModelManager, ManagerConfig, RestApp, StaticSource

    source = StaticSource()
    source.add("fraud", 1, lambda: my_loaded_runtime, aliases=("production",))
    plane = DataPlane(ModelManager(source, ManagerConfig(refs=("fraud@production",))))
    app = RestApp(plane, manage_plane=True)          # any ASGI server can run it

or run the whole thing (workers, REST and gRPC) with :func:`serve` and a :class:`ServeConfig`.
Names are imported on first use, so ``import modelport.serving`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelport.serving.batcher import Arrivals, Batcher, BatchPolicy
    from modelport.serving.cache import CachePolicy, PredictionCache
    from modelport.serving.dataplane import DataPlane
    from modelport.serving.models import ManagerConfig, ModelManager, ModelState, ModelStatus
    from modelport.serving.options import ServeConfig
    from modelport.serving.registry_source import RegistrySource
    from modelport.serving.rest import RestApp
    from modelport.serving.served import ModelOptions, ServedModel
    from modelport.serving.source import ModelSource, ResolvedVersion, StaticSource
    from modelport.serving.worker import run_worker, serve_worker
    from modelport.serving.workers import Supervisor, serve

_WHERE = {
    "Arrivals": "batcher",
    "BatchPolicy": "batcher",
    "Batcher": "batcher",
    "CachePolicy": "cache",
    "DataPlane": "dataplane",
    "ManagerConfig": "models",
    "ModelManager": "models",
    "ModelOptions": "served",
    "ModelSource": "source",
    "ModelState": "models",
    "ModelStatus": "models",
    "PredictionCache": "cache",
    "RegistrySource": "registry_source",
    "ResolvedVersion": "source",
    "RestApp": "rest",
    "ServeConfig": "options",
    "ServedModel": "served",
    "StaticSource": "source",
    "Supervisor": "workers",
    "run_worker": "worker",
    "serve": "workers",
    "serve_worker": "worker",
}

__all__ = [
    "Arrivals",
    "BatchPolicy",
    "Batcher",
    "CachePolicy",
    "DataPlane",
    "ManagerConfig",
    "ModelManager",
    "ModelOptions",
    "ModelSource",
    "ModelState",
    "ModelStatus",
    "PredictionCache",
    "RegistrySource",
    "ResolvedVersion",
    "RestApp",
    "ServeConfig",
    "ServedModel",
    "StaticSource",
    "Supervisor",
    "run_worker",
    "serve",
    "serve_worker",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'modelport.serving' has no attribute {name!r}")
    return getattr(importlib.import_module(f"modelport.serving.{module}"), name)
