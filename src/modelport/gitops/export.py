"""Write the registry's current state in the declared format (one file per model), with
each version's artifact copied beside the files so ``apply -f`` can read them back."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from modelport.governance.store import get_policy
from modelport.registry.service import Registry

__all__ = ["export_state"]


def export_state(registry: Registry, folder: Path, *, artifacts: bool = True) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    from modelport.routing.service import DeploymentService

    deployments = DeploymentService(registry).list()
    for summary in registry.list_models():
        doc: dict[str, Any] = {"model": summary.name}
        if summary.description:
            doc["description"] = summary.description
        versions = []
        for info in registry.list_versions(summary.name):
            path = registry.fetch_artifact(info)
            name = f"{summary.name}-{info.version}{''.join(path.suffixes) or ''}"
            if artifacts and path.is_file():
                (folder / "artifacts").mkdir(exist_ok=True)
                shutil.copyfile(path, folder / "artifacts" / name)
            entry: dict[str, Any] = {"version": info.version, "artifact": f"artifacts/{name}",
                                     "sha256": info.artifact_sha256, "flavor": info.flavor}
            if info.trust_pickle:
                entry["trust_pickle"] = True
            if info.metrics:
                entry["metrics"] = dict(info.metrics)
            versions.append(entry)
        doc["versions"] = versions
        if summary.aliases:
            doc["aliases"] = dict(summary.aliases)
        policy = get_policy(registry.engine, summary.name)
        if policy is not None:
            doc["policy"] = policy.to_dict()
        specs = [r.spec.model_dump(mode="json", exclude_none=True) for r in deployments
                 if r.endpoint == summary.name and r.active]
        if specs:
            doc["deployments"] = specs
        target = folder / f"{summary.name}.yaml"
        target.write_text(yaml.safe_dump(doc, sort_keys=False))
        written.append(target)
    return written
