"""The promotion gate: may this version take this alias, or this rollout start?

Every decision, allowed or refused, lands in the hash-chained audit log
(``promotion.allowed`` / ``promotion.refused``) with the reasons.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from modelport.errors import PermissionDenied
from modelport.governance.policy import Policy
from modelport.governance.store import approvals_of, evaluations_of, get_policy
from modelport.registry.service import Registry
from modelport.security.audit import append_audit

__all__ = ["Decision", "check_promotion", "check_rollout", "decide", "refuse_protected_alias"]


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    protected: bool
    missing: list[str] = field(default_factory=list)
    evaluation: int | None = None
    approvals: list[str] = field(default_factory=list)


def decide(registry: Registry, name: str, version: int, policy: Policy) -> Decision:
    """What ``name:version`` lacks under ``policy`` (nothing: allowed)."""
    missing: list[str] = []
    evaluation = None
    if policy.require_evaluation:
        records = evaluations_of(registry.engine, name, version)
        passing = [e for e in records if e.passed]
        if passing:
            evaluation = passing[-1].id
        elif records:
            failed = [c["criterion"] for c in records[-1].document.get("criteria", [])
                      if not c["passed"]]
            missing.append(f"a passing evaluation (the latest, #{records[-1].id}, failed "
                           f"{', '.join(failed)})")
        else:
            missing.append(f"a passing evaluation (run: modelport evaluate {name}:{version} "
                           "--data HOLDOUT --label COLUMN)")
    approvers: list[str] = []
    if policy.require_approval:
        info = registry.resolve(f"{name}:{version}")
        approvers = [a.approver for a in approvals_of(registry.engine, name, version)
                     if a.approver != info.registered_by]
        if not approvers:
            missing.append(f"an approval by an approver other than {info.registered_by!r} "
                           f"(run: modelport models approve {name}:{version} --note ... "
                           "--server URL --key KEY)")
    return Decision(not missing, True, missing, evaluation, approvers)


def check_promotion(registry: Registry, name: str, alias: str, version: int, *,
                    actor: str) -> Decision:
    """Raise PermissionDenied when ``alias`` is protected and ``name:version`` does not meet
    the policy; audit the decision for protected aliases."""
    policy = get_policy(registry.engine, name)
    if policy is None or alias not in policy.protected:
        return Decision(True, False)
    decision = decide(registry, name, version, policy)
    _audit(registry, actor, f"{name}@{alias}", version, decision, what="alias move")
    if not decision.allowed:
        raise PermissionDenied(
            f"{name}@{alias} is protected: moving it to version {version} needs "
            + "; and ".join(decision.missing),
            details={"missing": decision.missing},
        )
    return decision


def check_rollout(registry: Registry, name: str, version: int, strategy: str, *,
                  actor: str) -> Decision:
    """A canary or blue-green rollout of ``name:version`` counts as a promotion to the
    model's protected aliases."""
    policy = get_policy(registry.engine, name)
    if policy is None or not policy.protected or strategy not in ("canary", "blue-green"):
        return Decision(True, False)
    decision = decide(registry, name, version, policy)
    _audit(registry, actor, f"{name}:{version}", version, decision, what=f"{strategy} rollout")
    if not decision.allowed:
        raise PermissionDenied(
            f"a {strategy} rollout of {name}:{version} promotes it towards "
            f"{', '.join(policy.protected)}, which the policy protects; it needs "
            + "; and ".join(decision.missing),
            details={"missing": decision.missing},
        )
    return decision


def _audit(registry: Registry, actor: str, target: str, version: int, decision: Decision, *,
           what: str) -> None:
    append_audit(registry.engine,
                 action="promotion.allowed" if decision.allowed else "promotion.refused",
                 actor=actor, target=target,
                 details={"version": version, "what": what, "missing": decision.missing,
                          "evaluation": decision.evaluation, "approvals": decision.approvals})


def refuse_protected_alias(registry: Registry, name: str, alias: str | None) -> None:
    """A new version cannot take a protected alias at registration: it has no evaluation
    (or approval) yet."""
    if alias is None:
        return
    policy = get_policy(registry.engine, name)
    if policy is not None and alias in policy.protected:
        raise PermissionDenied(
            f"{name}@{alias} is protected, and a version being registered has no evaluation "
            f"yet: register without --alias, run 'modelport evaluate', then 'modelport models "
            f"alias {name} {alias} N'"
        )
