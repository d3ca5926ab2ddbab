"""A deployment file checked against the registry: every reference resolved to a version.

Aliases are resolved once, here, so a rollout never changes under a later alias move.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelport.errors import NotFound
from modelport.protocol.signature import Signature
from modelport.registry import Registry
from modelport.routing.records import Arm, Target
from modelport.routing.spec import DeploymentSpec, parse_spec, spec_error
from modelport.routing.yaml_lines import LineIndex

__all__ = ["DeploymentPlan", "initial_weights", "plan_deployment"]


@dataclass(frozen=True, slots=True)
class DeploymentPlan:
    """A checked spec and the exact versions it names."""

    spec: DeploymentSpec
    stable: Target
    candidate: Target
    shadows: tuple[Target, ...]
    source: str
    """The file's text, kept with the deployment."""


def plan_deployment(registry: Registry, text: str, *, label: str = "deployment file"
                    ) -> DeploymentPlan:
    """Parse ``text`` and resolve its references; InvalidInput with line and reason, before
    anything changes, for any problem."""
    spec, lines = parse_spec(text, label=label)
    problems: list[tuple[int, str, str]] = []
    signatures: dict[tuple[str | int, ...], Signature] = {}

    def resolve(path: tuple[str | int, ...], ref: str) -> Target:
        try:
            info = registry.resolve(ref)
        except NotFound as exc:
            problems.append((lines.line(path), ".".join(map(str, path)),
                             f"unknown model or version {ref!r}: {exc.message}"))
            return Target("?", 0)
        signatures[path] = info.signature
        return Target(info.name, info.version)

    stable = resolve(("stable",), spec.stable)
    candidate = resolve(("candidate",), spec.candidate)
    shadows = tuple(resolve(("shadow", i), ref) for i, ref in enumerate(spec.shadow))
    problems += _incompatible(signatures, lines)
    if not problems and stable == candidate:
        problems.append((lines.line(("candidate",)), "candidate",
                         f"candidate {spec.candidate} resolves to the stable version {stable}"))
    if problems:
        raise spec_error(label, problems)
    return DeploymentPlan(spec, stable, candidate, shadows, text)


def _incompatible(signatures: dict[tuple[str | int, ...], Signature], lines: LineIndex
                  ) -> list[tuple[int, str, str]]:
    """Versions sharing an endpoint must take the same inputs, or their requests would fail."""
    base = signatures.get(("stable",))
    if base is None:
        return []
    want = {(s.name, s.datatype) for s in base.inputs}
    out: list[tuple[int, str, str]] = []
    for path, signature in signatures.items():
        got = {(s.name, s.datatype) for s in signature.inputs}
        if path != ("stable",) and got != want:
            missing = sorted(n for n, _ in want - got)
            extra = sorted(n for n, _ in got - want)
            out.append((lines.line(path), ".".join(map(str, path)),
                        f"its inputs differ from the stable version's (missing {missing}, "
                        f"extra {extra}); requests to the endpoint would fail"))
    return out


def initial_weights(plan: DeploymentPlan) -> tuple[Arm, ...]:
    """The split a deployment starts with."""
    spec = plan.spec
    if spec.strategy == "canary":
        assert spec.canary is not None
        return canary_weights(plan.stable, plan.candidate, spec.canary.steps[0])
    if spec.strategy == "ab":
        stable_w, candidate_w = spec.ab_weights()
        return (Arm(plan.stable.model, plan.stable.version, stable_w, "stable"),
                Arm(plan.candidate.model, plan.candidate.version, candidate_w, "candidate"))
    return only(plan.stable, "stable")


def canary_weights(stable: Target, candidate: Target, percent: float) -> tuple[Arm, ...]:
    return (Arm(stable.model, stable.version, 100.0 - percent, "stable"),
            Arm(candidate.model, candidate.version, float(percent), "candidate"))


def only(target: Target, role: str) -> tuple[Arm, ...]:
    return (Arm(target.model, target.version, 100.0, role),)

