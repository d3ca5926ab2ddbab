"""Carry out a plan, in order (versions, metrics, policies, aliases, deployments), auditing
each change with the revision (e.g. the git commit) it came from.

Everything was checked by the plan first, so a failure here is the database or the store
failing under us; what was done is reported, and running apply again finishes the rest
(every step is idempotent).
"""

from __future__ import annotations

from modelport.errors import ModelportError
from modelport.gitops.plan import Change, Plan
from modelport.governance.store import set_policy
from modelport.registry.intake import Registration, register_artifact
from modelport.registry.service import Registry
from modelport.security.audit import append_audit

__all__ = ["execute"]

_ORDER = {"register": 0, "metrics": 1, "policy": 2, "alias": 3, "deploy": 4}


def execute(registry: Registry, plan: Plan, *, actor: str, revision: str) -> list[Change]:
    done: list[Change] = []
    for change in sorted(plan.changes, key=lambda c: _ORDER[c.kind]):
        try:
            details = _do(registry, change, actor)
        except ModelportError as exc:
            exc.message = (f"{exc.message} (while applying '{change.summary}'; "
                           f"{len(done)} change(s) were applied before it; run apply again "
                           "to finish)")
            raise
        append_audit(registry.engine, action=f"gitops.{change.kind}", actor=actor,
                     target=change.model, details={"revision": revision,
                                                   "change": change.summary, **details})
        done.append(change)
    append_audit(registry.engine, action="gitops.apply", actor=actor, target="",
                 details={"revision": revision, "changes": len(done)})
    return done


def _do(registry: Registry, change: Change, actor: str) -> dict[str, object]:
    data = change.data
    if change.kind == "register":
        declared = data["version"]
        info = register_artifact(registry, Registration(
            name=change.model, artifact=declared.artifact, registered_by=actor,
            flavor=declared.flavor, trust_pickle=declared.trust_pickle,
            metrics=declared.metrics))
        if info.version != declared.version:
            raise ModelportError(f"{change.model} was registered as version {info.version}, "
                                 f"not {declared.version}: someone registered concurrently")
        return {"version": info.version, "sha256": info.artifact_sha256}
    if change.kind == "metrics":
        registry.log_metrics(change.model, data["version"], data["metrics"])
        return {"version": data["version"]}
    if change.kind == "policy":
        set_policy(registry.engine, change.model, data["policy"], actor=actor)
        return {"policy": data["policy"].to_dict()}
    if change.kind == "alias":
        move = registry.set_alias(change.model, data["alias"], data["version"], actor=actor)
        return {"alias": data["alias"], "from": move.from_version, "to": move.to_version}
    from modelport.routing.service import DeploymentService

    record = DeploymentService(registry).apply(data["text"], actor=actor, label=data["where"])
    return {"deployment": record.id, "endpoint": record.endpoint}
