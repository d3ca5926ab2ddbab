"""Check a pipeline against the models it names, and work out its signature.

Steps run in the order written, so a step can read only the pipeline's inputs and the outputs
of steps above it: a reference to itself or to a later step (the only way to write a cycle) is
an error. Each model step's inputs must be there by name with the same datatype and a
compatible shape; before the first transform, inputs nobody produced become pipeline inputs,
after it they must come from the transform (a typo is an error, not a new input). Errors name
the step and the field.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from modelport.errors import InvalidInput, ModelportError
from modelport.pipelines.expr import Condition, compile_condition
from modelport.pipelines.spec import (
    EnsembleStep,
    ModelStep,
    PipelineSpec,
    RulesStep,
    Step,
    SwitchStep,
)
from modelport.protocol.signature import Signature, TensorSpec

__all__ = ["PIPELINE_FLAVOR", "Plan", "PlannedStep", "Resolved", "Resolver", "plan_pipeline"]

PIPELINE_FLAVOR = "pipeline"
_FLOATS = {"FP16", "FP32", "FP64"}
_DECISION = TensorSpec(name="decision", datatype="BYTES", shape=(-1,))
_REASON = TensorSpec(name="reason", datatype="BYTES", shape=(-1,))


@dataclass(frozen=True, slots=True, kw_only=True)
class Resolved:
    """What a model reference means now."""

    ref: str
    """The exact version, e.g. ``fraud:3``."""
    flavor: str
    signature: Signature


Resolver = Callable[[str], Resolved]


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedStep:
    step: Step
    members: tuple[Resolved, ...] = ()
    """The model versions a model, transform or ensemble step runs."""
    outputs: dict[str, TensorSpec] = field(default_factory=dict)
    """Its outputs by their short name (``predict_proba``)."""
    conditions: tuple[Condition, ...] = ()
    reads_text: tuple[str, ...] = ()
    """BYTES tensors its rules read (handed to them as str)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    spec: PipelineSpec
    steps: tuple[PlannedStep, ...]
    signature: Signature
    known: dict[str, TensorSpec]

    @property
    def refs(self) -> dict[str, str]:
        """Each model step's (or ensemble member's) reference -> the version it resolved to."""
        return {f"{p.step.name}.{i}" if len(p.members) > 1 else p.step.name: m.ref
                for p in self.steps for i, m in enumerate(p.members)}


def plan_pipeline(spec: PipelineSpec, resolve: Resolver) -> Plan:
    """Validate ``spec`` with the signatures ``resolve`` finds; the runnable plan."""
    inputs: dict[str, TensorSpec] = {s.name: s for s in spec.inputs}
    features: dict[str, TensorSpec] = dict(inputs)
    known: dict[str, TensorSpec] = dict(inputs)
    transformed: str | None = None
    planned: list[PlannedStep] = []
    for index, step in enumerate(spec.steps):
        where = f"step {step.name!r}"
        if isinstance(step, RulesStep):
            later = frozenset(s.name for s in spec.steps[index:])
            planned.append(_rules(step, known, where, later))
        else:
            refs = (step.ref,) if isinstance(step, ModelStep) else step.refs
            kind = (("transform" if step.transform else "model") if isinstance(step, ModelStep)
                    else "ensemble.models" if isinstance(step, EnsembleStep) else "switch")
            members = tuple(_resolve(resolve, ref, where, kind) for ref in refs)
            for member in members:
                _feed(member, features, inputs, known, transformed, where, kind)
            outputs = (dict(_outs(members[0])) if isinstance(step, ModelStep)
                       else _common_outputs(step, members, where))
            conditions: tuple[Condition, ...] = ()
            if isinstance(step, SwitchStep):
                later = frozenset(s.name for s in spec.steps[index:])
                conditions = tuple(
                    compile_condition(when, known, where=f"{where} case {n} field 'when'",
                                      not_before=later)
                    for n, (when, _) in enumerate(step.cases, start=1))
            planned.append(PlannedStep(
                step=step, members=members, outputs=outputs, conditions=conditions,
                reads_text=_text_refs(conditions, known)))
            if isinstance(step, ModelStep) and step.transform:
                features.update(outputs)
                transformed = step.name
        for short, spec_ in planned[-1].outputs.items():
            known[f"{step.name}.{short}"] = spec_
    out_specs = []
    for name in spec.outputs:
        found = known.get(name)
        if found is None:
            raise InvalidInput(
                f"field 'outputs': {name!r} is not an input or a step output; known: "
                f"{', '.join(sorted(known))}"
            )
        out_specs.append(TensorSpec(name=name, datatype=found.datatype, shape=found.shape))
    specs = tuple(inputs.values())
    signature = Signature(inputs=specs, outputs=tuple(out_specs),
                          tabular=bool(specs) and all(s.shape == (-1,) for s in specs))
    return Plan(spec=spec, steps=tuple(planned), signature=signature, known=known)


def _resolve(resolve: Resolver, ref: str, where: str, kind: str) -> Resolved:
    try:
        found = resolve(ref)
    except ModelportError as exc:
        raise type(exc)(f"{where}: field {kind!r}: {exc.message}") from None
    shown = ref if ref == found.ref else f"{ref} ({found.ref})"
    if found.flavor == PIPELINE_FLAVOR:
        raise InvalidInput(f"{where}: field {kind!r}: {shown} is a pipeline; pipelines do not "
                           "nest, list its steps here instead")
    if kind == "transform" and found.flavor != "python":
        raise InvalidInput(f"{where}: field 'transform': {shown} is a {found.flavor} model; a "
                           "transform is a registered Python model (flavor python)")
    return found


def _outs(member: Resolved) -> list[tuple[str, TensorSpec]]:
    return [(s.name, s) for s in member.signature.outputs]


def _feed(member: Resolved, features: dict[str, TensorSpec], inputs: dict[str, TensorSpec],
          known: dict[str, TensorSpec], transformed: str | None, where: str, kind: str) -> None:
    """Check that ``member``'s inputs are available; before any transform, add the missing
    ones as pipeline inputs."""
    for need in member.signature.inputs:
        have = features.get(need.name)
        if have is None:
            if transformed is not None:
                raise InvalidInput(
                    f"{where}: field {kind!r}: {member.ref} needs input {need.name!r} "
                    f"({need.datatype} {list(need.shape)}), which step {transformed!r} does not "
                    f"produce and is not a pipeline input; available: "
                    f"{', '.join(sorted(features)) or 'none'}"
                )
            features[need.name] = inputs[need.name] = known[need.name] = need
            continue
        if have.datatype != need.datatype or not _compatible(have.shape, need.shape):
            raise InvalidInput(
                f"{where}: field {kind!r}: {member.ref} needs input {need.name!r} as "
                f"{need.datatype} {list(need.shape)}, but it is {have.datatype} "
                f"{list(have.shape)} here"
            )


def _compatible(have: tuple[int, ...], need: tuple[int, ...]) -> bool:
    return len(have) == len(need) and all(-1 in (a, b) or a == b for a, b in zip(have, need,
                                                                                 strict=True))


def _text_refs(conditions: tuple[Condition, ...], known: dict[str, TensorSpec]
               ) -> tuple[str, ...]:
    return tuple(sorted({r for c in conditions for r in c.refs
                         if known[r].datatype == "BYTES"}))


def _common_outputs(step: EnsembleStep | SwitchStep, members: tuple[Resolved, ...], where: str
                    ) -> dict[str, TensorSpec]:
    first = dict(_outs(members[0]))
    common: dict[str, TensorSpec] = {}
    for name, spec in first.items():
        others = [m.signature.outputs for m in members[1:]]
        if all(any(o.name == name and o.datatype == spec.datatype
                   and _compatible(o.shape, spec.shape) for o in outs) for outs in others):
            common[name] = spec
    if not common:
        field = "ensemble.models" if isinstance(step, EnsembleStep) else "switch"
        raise InvalidInput(f"{where}: field {field!r}: the models share no output "
                           "(same name, datatype and shape) to combine")
    if isinstance(step, SwitchStep):
        return common
    if step.combine != "vote":
        for name, spec in common.items():
            if spec.datatype in ("BYTES",):
                raise InvalidInput(f"{where}: field 'ensemble.combine': {step.combine} cannot "
                                   f"average output {name!r} ({spec.datatype}); use vote")
    if step.combine in ("mean", "weighted_mean"):
        # an average of integers is fractional: report it as FP64
        common = {n: s if s.datatype in _FLOATS else TensorSpec(name=n, datatype="FP64",
                                                                 shape=s.shape)
                  for n, s in common.items()}
    return common


def _rules(step: RulesStep, known: dict[str, TensorSpec], where: str, later: frozenset[str]
           ) -> PlannedStep:
    conditions = tuple(
        compile_condition(rule.when, known, where=f"{where} rule {n} field 'when'",
                          not_before=later)
        for n, rule in enumerate(step.rules, start=1)
    )
    return PlannedStep(step=step, outputs={"decision": _DECISION, "reason": _REASON},
                       conditions=conditions, reads_text=_text_refs(conditions, known))
