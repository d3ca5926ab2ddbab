"""Registering a pipeline: validate it against the registry, store it as a versioned object.

A pipeline version is a registry model version of flavor ``pipeline`` whose artifact is a
folder holding the pipeline file, so it gets what every model has: version numbers, aliases
and their history, lineage (``--parent-version``), the audit log, and deployments (canary,
blue-green, shadow) through ``modelport deploy``. The versions its steps resolved to at
registration are kept as params (``step.score = fraud:3``).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from modelport.errors import InvalidInput, NotFound
from modelport.pipelines.runtime import PIPELINE_FILE, registry_resolver
from modelport.pipelines.spec import read_spec
from modelport.pipelines.validate import PIPELINE_FLAVOR, Plan, plan_pipeline
from modelport.registry.lineage import Lineage
from modelport.registry.records import VersionInfo
from modelport.registry.service import Registry
from modelport.runtimes.artifacts import SIDECAR

__all__ = ["check_pipeline", "register_pipeline"]


def check_pipeline(registry: Registry, text: str, *, source: str = "pipeline file") -> Plan:
    """Parse and validate pipeline text against ``registry``; the plan (nothing is stored)."""
    spec = read_spec(text, source=source)
    _, resolve = registry_resolver(registry)
    return plan_pipeline(spec, resolve)


def register_pipeline(
    registry: Registry,
    name: str,
    text: str,
    *,
    registered_by: str,
    source: str = "pipeline file",
    alias: str | None = None,
    description: str | None = None,
    parent_version: int | None = None,
) -> tuple[VersionInfo, Plan]:
    """Validate ``text`` and register it as the next version of pipeline ``name``."""
    plan = check_pipeline(registry, text, source=source)
    if plan.spec.name is not None and plan.spec.name != name:
        raise InvalidInput(f"{source} names the pipeline {plan.spec.name!r} but it is being "
                           f"registered as {name!r}; make them agree or drop 'name:'")
    _refuse_model_name(registry, name)
    with tempfile.TemporaryDirectory(prefix="modelport-pipeline-") as tmp:
        folder = Path(tmp) / name
        folder.mkdir()
        (folder / PIPELINE_FILE).write_text(text, encoding="utf-8")
        (folder / SIDECAR).write_text(json.dumps({"flavor": PIPELINE_FLAVOR}), encoding="utf-8")
        info = registry.register(
            name, folder, flavor=PIPELINE_FLAVOR, signature=plan.signature,
            registered_by=registered_by, alias=alias, description=description,
            params={f"step.{k}": v for k, v in plan.refs.items()},
            tags={"kind": "pipeline"},
            lineage=Lineage(parent_version=parent_version),
        )
    return info, plan


def _refuse_model_name(registry: Registry, name: str) -> None:
    """A name is a model or a pipeline, never both."""
    try:
        versions = registry.list_versions(name)
    except NotFound:  # a name never seen: free to take
        return
    if versions and versions[-1].flavor != PIPELINE_FLAVOR:
        raise InvalidInput(f"{name!r} is a registered {versions[-1].flavor} model; pick another "
                           "name for the pipeline")
