"""A registered pipeline, loaded: to the server, batch and stream scoring it is one runtime.

Loading reads the stored pipeline file, resolves every model reference through the registry
(aliases to the version they point at now), checks the plan again against those versions'
signatures (a model re-registered with other inputs fails the load, and the version serving
keeps serving) and loads each model once. ``predict`` runs the steps in order on the batch.
"""

from __future__ import annotations

import time
from pathlib import Path

from modelport.errors import InvalidInput, ModelportError, Unavailable
from modelport.pipelines.metrics import StepMetrics
from modelport.pipelines.spec import RulesStep, read_spec
from modelport.pipelines.steps import run_step
from modelport.pipelines.validate import (
    PIPELINE_FLAVOR,
    Plan,
    Resolved,
    Resolver,
    plan_pipeline,
)
from modelport.protocol.signature import Signature
from modelport.registry.records import VersionInfo
from modelport.registry.service import Registry
from modelport.runtimes.artifacts import read_sidecar, sidecar_flavor
from modelport.runtimes.base import Array, Batch, LoadOptions, Runtime, not_loaded

__all__ = ["PIPELINE_FILE", "PipelineRuntime", "load_pipeline", "registry_resolver"]

PIPELINE_FILE = "pipeline.yaml"


def registry_resolver(registry: Registry) -> tuple[dict[str, VersionInfo], Resolver]:
    """A resolver over ``registry`` and the VersionInfos it found (by exact ref)."""
    found: dict[str, VersionInfo] = {}

    def resolve(ref: str) -> Resolved:
        info = registry.resolve(ref)
        found[info.ref] = info
        return Resolved(ref=info.ref, flavor=info.flavor, signature=info.signature)

    return found, resolve


def load_pipeline(info: VersionInfo, path: Path, registry: Registry | None = None) -> Runtime:
    """Load pipeline version ``info`` from its fetched artifact at ``path``.

    Without ``registry`` (a batch worker) the registry named by the MODELPORT_* environment
    is opened for the step models.
    """
    if registry is None:
        with Registry.open() as own:
            return load_pipeline(info, path, own)
    runtime = PipelineRuntime(LoadOptions(signature=info.signature), registry=registry,
                              label=(info.name, str(info.version)))
    runtime.load(path)
    return runtime


class PipelineRuntime(Runtime):
    """Runs a pipeline's steps; each model step's runtime is loaded once, at ``load``."""

    flavor = PIPELINE_FLAVOR

    def __init__(self, options: LoadOptions | None = None, *, registry: Registry | None = None,
                 label: tuple[str, str] = ("pipeline", "0")) -> None:
        super().__init__(options)
        self._registry = registry
        self._label = label
        self._plan: Plan | None = None
        self._runtimes: list[list[Runtime]] = []
        self.metrics: StepMetrics | None = None

    @classmethod
    def detect(cls, path: Path) -> bool:
        return path.is_dir() and sidecar_flavor(path) == PIPELINE_FLAVOR

    def load(self, path: Path) -> None:
        if self._registry is None:
            raise Unavailable("a pipeline loads its steps through the registry; use "
                              "modelport.pipelines.load_pipeline")
        from modelport.registry.loader import load_version

        read_sidecar(path)
        file = path / PIPELINE_FILE
        if not file.is_file():
            raise InvalidInput(f"{path} holds no {PIPELINE_FILE}; register pipelines with "
                               "'modelport pipelines register'")
        spec = read_spec(file.read_text(encoding="utf-8"), source=str(file))
        infos, resolve = registry_resolver(self._registry)
        plan = plan_pipeline(spec, resolve)
        loaded: list[list[Runtime]] = []
        try:
            for planned in plan.steps:
                loaded.append([load_version(self._registry, infos[m.ref])
                               for m in planned.members])
        except ModelportError:
            for runtimes in loaded:
                for rt in runtimes:
                    rt.unload()
            raise
        self._plan, self._runtimes = plan, loaded
        self.metrics = StepMetrics(self._label[0], self._label[1],
                                   [p.step.name for p in plan.steps])

    @property
    def plan(self) -> Plan:
        if self._plan is None:
            raise not_loaded(self)
        return self._plan

    def signature(self) -> Signature:
        return self.plan.signature

    def predict(self, inputs: Batch) -> dict[str, Array]:
        plan, metrics = self.plan, self.metrics
        env: dict[str, Array] = dict(inputs)
        features: dict[str, Array] = dict(inputs)
        rows = len(next(iter(inputs.values()))) if inputs else 0
        for planned, runtimes in zip(plan.steps, self._runtimes, strict=True):
            name = planned.step.name
            started = time.perf_counter()
            try:
                produced = run_step(planned, runtimes, env, features, rows)
            except Exception:
                if metrics is not None:
                    metrics.failed(name)
                raise
            if metrics is not None:
                metrics.observe(name, time.perf_counter() - started)
            for short, value in produced.items():
                env[f"{name}.{short}"] = value
            step = planned.step
            if not isinstance(step, RulesStep) and getattr(step, "transform", False):
                features.update(produced)
        return {out: env[out] for out in plan.spec.outputs}

    def unload(self) -> None:
        for runtimes in self._runtimes:
            for rt in runtimes:
                rt.unload()
        self._runtimes = []
        self._plan = None
