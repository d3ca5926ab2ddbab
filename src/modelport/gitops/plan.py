"""The difference between the declared state and the registry, checked in full before any
change: artifacts load, version numbers line up, aliases and rollouts meet the promotion
policy, deployments plan. What the declaration leaves out (other versions, other aliases) is
left alone. A model the apply creates is seeded as declared, aliases included: the policy
gates every later change."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
import yaml

from modelport.errors import InvalidInput, ModelportError
from modelport.gitops.spec import DeclaredModel, DeclaredVersion
from modelport.governance.policy import Policy
from modelport.governance.promotion import decide
from modelport.governance.store import get_policy
from modelport.registry import db
from modelport.registry import tables as t
from modelport.registry.service import Registry
from modelport.runtimes.base import LoadOptions
from modelport.runtimes.catalog import create_runtime, detect_flavor

__all__ = ["Change", "Plan", "plan_changes"]


@dataclass(frozen=True, slots=True)
class Change:
    kind: str
    """``register``, ``metrics``, ``policy``, ``alias`` or ``deploy``."""
    model: str
    summary: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Plan:
    changes: list[Change] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def plan_changes(registry: Registry, models: list[DeclaredModel]) -> Plan:
    plan = Plan()
    for model in models:
        _plan_model(registry, model, plan)
    if plan.problems:
        raise InvalidInput("the declared state cannot be applied, nothing was changed:\n  "
                           + "\n  ".join(plan.problems), details={"problems": plan.problems})
    return plan


def _plan_model(registry: Registry, model: DeclaredModel, plan: Plan) -> None:
    existing = {}
    aliases: dict[str, int] = {}
    last = 0
    with db.transaction(registry.engine) as conn:
        row = conn.execute(sa.select(t.models.c.last_version)
                           .where(t.models.c.name == model.name)).first()
    if row is not None:
        existing = {v.version: v for v in registry.list_versions(model.name)}
        aliases = dict(registry.get_model(model.name).aliases)
        last = int(row.last_version)
    new: list[DeclaredVersion] = []
    for declared in model.versions:
        found = existing.get(declared.version)
        if found is not None:
            if found.artifact_sha256 != declared.sha256:
                plan.problems.append(
                    f"{declared.where}: {model.name}:{declared.version} is registered with "
                    f"sha256 {found.artifact_sha256}, not {declared.sha256}")
            elif declared.metrics and any(found.metrics.get(k) != v
                                          for k, v in declared.metrics.items()):
                plan.changes.append(Change("metrics", model.name,
                                           f"set metrics of {model.name}:{declared.version}",
                                           {"version": declared.version,
                                            "metrics": declared.metrics}))
            continue
        expected = last + len(new) + 1
        if declared.version != expected:
            plan.problems.append(
                f"{declared.where}: {model.name}:{declared.version} does not exist and the next "
                f"registration would be version {expected}; declare versions in order")
            continue
        problem = _loads(declared)
        if problem:
            plan.problems.append(f"{declared.where}: {problem}")
            continue
        new.append(declared)
        plan.changes.append(Change("register", model.name,
                                   f"register {model.name}:{declared.version} from "
                                   f"{declared.artifact.name} ({declared.sha256[:12]})",
                                   {"version": declared}))
    current_policy = get_policy(registry.engine, model.name) if row is not None else None
    policy = model.policy if model.policy is not None else current_policy
    if model.policy is not None and model.policy != current_policy:
        before = current_policy.to_dict() if current_policy else None
        plan.changes.append(Change("policy", model.name, f"set the policy of {model.name}",
                                   {"policy": model.policy, "before": before}))
    new_numbers = {v.version for v in new}
    for alias, version in model.aliases.items():
        if aliases.get(alias) == version:
            continue
        where = f"{model.file} line {model.lines.line(('aliases', alias)) if model.lines else 1}"
        # a model this apply creates is seeded as declared (nothing could be evaluated yet);
        # from then on its protected aliases move only under the policy
        refusal = "" if row is None else _gate(registry, model.name, alias, version, policy,
                                                version in new_numbers)
        if refusal:
            plan.problems.append(f"{where}: aliases.{alias}: {refusal}")
            continue
        was = aliases.get(alias)
        plan.changes.append(Change("alias", model.name,
                                   f"move {model.name}@{alias}: {was or '-'} -> {version}",
                                   {"alias": alias, "version": version, "before": was}))
    for spec, where in model.deployments:
        _plan_deployment(registry, model, spec, where, policy, plan)


def _gate(registry: Registry, name: str, alias: str, version: int, policy: Policy | None,
          is_new: bool) -> str:
    if policy is None or alias not in policy.protected:
        return ""
    if is_new:
        return (f"{name}@{alias} is protected and version {version} is new (not evaluated): "
                "apply the version first, run 'modelport evaluate', then declare the alias")
    decision = decide(registry, name, version, policy)
    if decision.allowed:
        return ""
    return f"{name}@{alias} is protected: version {version} needs " + "; and ".join(
        decision.missing)


def _plan_deployment(registry: Registry, model: DeclaredModel, spec: dict[str, Any],
                     where: str, policy: Policy | None, plan: Plan) -> None:
    from modelport.routing.service import DeploymentService

    service = DeploymentService(registry)
    text = yaml.safe_dump(spec, sort_keys=False)
    try:
        planned = service.plan(text, label=f"{where} deployments")
    except ModelportError as exc:
        plan.problems.append(f"{where}: deployment: {exc.message}"
                             + (" (declared versions are registered by this apply: apply "
                                "them first)" if "version" in exc.message else ""))
        return
    for record in service.list():
        if (record.endpoint == planned.spec.endpoint and record.strategy == planned.spec.strategy
                and record.stable == planned.stable and record.candidate == planned.candidate):
            return  # already applied (running or finished): nothing to do
    cand = planned.candidate
    if policy is not None and policy.protected and planned.spec.strategy in (
            "canary", "blue-green"):
        decision = decide(registry, cand.model, cand.version, policy)
        if not decision.allowed:
            plan.problems.append(f"{where}: deployment of {cand}: the policy needs "
                                 + "; and ".join(decision.missing))
            return
    plan.changes.append(Change("deploy", model.name,
                               f"deploy {planned.spec.endpoint}: {planned.spec.strategy} "
                               f"{planned.stable} -> {cand}", {"text": text, "where": where}))


def _loads(declared: DeclaredVersion) -> str:
    """Empty when the artifact loads with its flavor's runtime, else why not."""
    try:
        flavor = declared.flavor or detect_flavor(declared.artifact)
        runtime = create_runtime(flavor, LoadOptions(trust_pickle=declared.trust_pickle))
        runtime.load(declared.artifact)
        runtime.unload()
    except ModelportError as exc:
        return f"artifact {declared.artifact.name} does not load: {exc.message}"
    return ""
