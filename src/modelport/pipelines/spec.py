"""The pipeline file: what a user writes, parsed into frozen step values.

```yaml
name: fraud-decision
inputs:                       # optional: raw inputs only the rules read
  - {name: country, datatype: BYTES, shape: [-1]}
steps:
  - name: features
    transform: fraud-features@production   # a registered Python model
  - name: score
    model: fraud@production
  - name: blend
    ensemble: {models: [fraud@production, fraud-lgbm@production], combine: weighted_mean,
               weights: [0.7, 0.3]}
  - name: route
    switch:                   # each row to one model: first matching case, else default
      - {when: "amount > 1000", model: fraud-large@production}
    default: fraud@production
  - name: decide
    rules:
      - when: "score.predict_proba[1] > 0.5"
        decision: review
        reason: high_risk
    default: approve
outputs: [score.predict_proba, decide.decision, decide.reason]
```

Parsing checks the shape of the file only; :mod:`modelport.pipelines.validate` checks it
against the registered models. Every error names the step and the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from modelport.errors import InvalidInput
from modelport.protocol.signature import TensorSpec
from modelport.registry.refs import parse_ref

__all__ = [
    "COMBINE",
    "EnsembleStep",
    "ModelStep",
    "PipelineSpec",
    "Rule",
    "RulesStep",
    "Step",
    "SwitchStep",
    "parse_spec",
    "read_spec",
]

COMBINE = ("mean", "weighted_mean", "vote")
_STEP_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_KINDS = ("model", "transform", "ensemble", "rules", "switch")


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelStep:
    """Run one registered model (or, with ``transform``, a registered Python step whose
    outputs become inputs of the steps after it)."""

    name: str
    ref: str
    transform: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class EnsembleStep:
    """Run several models on the same inputs and combine their common outputs."""

    name: str
    refs: tuple[str, ...]
    combine: str
    weights: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    when: str
    decision: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RulesStep:
    """First matching rule wins; rows no rule matches get ``default``."""

    name: str
    rules: tuple[Rule, ...]
    default: str
    default_reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class SwitchStep:
    """Route each row to one model: the first case whose ``when`` holds, else ``default``."""

    name: str
    cases: tuple[tuple[str, str], ...]
    """(when, model reference) in order."""
    default: str

    @property
    def refs(self) -> tuple[str, ...]:
        """The branch models, cases first, the default last."""
        return (*(ref for _, ref in self.cases), self.default)


Step = ModelStep | EnsembleStep | RulesStep | SwitchStep


@dataclass(frozen=True, slots=True, kw_only=True)
class PipelineSpec:
    name: str | None
    steps: tuple[Step, ...]
    outputs: tuple[str, ...]
    inputs: tuple[TensorSpec, ...] = ()
    """Extra pipeline inputs that no model step takes (read by rules)."""


def read_spec(text: str, *, source: str = "pipeline file") -> PipelineSpec:
    """Parse the YAML text of a pipeline file."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{source} is not valid YAML: {exc}") from None
    return parse_spec(data, source=source)


def parse_spec(data: Any, *, source: str = "pipeline file") -> PipelineSpec:
    if not isinstance(data, Mapping):
        raise InvalidInput(f"{source} must be a mapping with 'steps' and 'outputs'")
    unknown = set(data) - {"name", "steps", "outputs", "inputs", "description"}
    if unknown:
        raise InvalidInput(f"{source}: unknown field(s) {sorted(map(str, unknown))}; "
                           "allowed: name, description, inputs, steps, outputs")
    steps_raw = data.get("steps")
    if not isinstance(steps_raw, list) or not steps_raw:
        raise InvalidInput(f"{source}: 'steps' must be a non-empty list of steps")
    steps: list[Step] = []
    seen: set[str] = set()
    for index, raw in enumerate(steps_raw, start=1):
        step = _step(raw, index)
        if step.name in seen:
            raise InvalidInput(f"step {index} ({step.name!r}): field 'name': the name is used "
                               "by an earlier step; step names must be unique")
        seen.add(step.name)
        steps.append(step)
    outputs = data.get("outputs")
    if (not isinstance(outputs, list) or not outputs
            or not all(isinstance(o, str) and o for o in outputs)):
        raise InvalidInput(f"{source}: 'outputs' must be a non-empty list such as "
                           "[score.predict_proba, decide.decision]")
    if len(set(outputs)) != len(outputs):
        raise InvalidInput(f"{source}: 'outputs' lists a name twice")
    name = data.get("name")
    if name is not None and not isinstance(name, str):
        raise InvalidInput(f"{source}: 'name' must be text")
    return PipelineSpec(name=name, steps=tuple(steps), outputs=tuple(outputs),
                        inputs=_inputs(data.get("inputs"), source))


def _inputs(raw: Any, source: str) -> tuple[TensorSpec, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidInput(f"{source}: 'inputs' must be a list of {{name, datatype, shape}}")
    out = []
    for item in raw:
        try:
            out.append(TensorSpec.from_dict(item))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"{source}: input {item!r} needs name, datatype and shape "
                               f"({exc!r})") from None
    return tuple(out)


def _step(raw: Any, index: int) -> Step:
    if not isinstance(raw, Mapping):
        raise InvalidInput(f"step {index}: must be a mapping with 'name' and one of "
                           f"{', '.join(_KINDS)}")
    name = raw.get("name")
    if not isinstance(name, str) or not _STEP_NAME.fullmatch(name):
        raise InvalidInput(f"step {index}: field 'name': {name!r} must be lowercase letters, "
                           "digits and _ (it is how rules refer to the step: name.output)")
    where = f"step {name!r}"
    kinds = [k for k in _KINDS if k in raw]
    if len(kinds) != 1:
        raise InvalidInput(f"{where}: give exactly one of {', '.join(_KINDS)}, got "
                           f"{kinds or 'none'}")
    kind = kinds[0]
    allowed = {"name", kind} | ({"default", "default_reason"} if kind == "rules" else
                                {"default"} if kind == "switch" else set())
    extra = set(raw) - allowed
    if extra:
        raise InvalidInput(f"{where}: unknown field(s) {sorted(map(str, extra))} for a "
                           f"{kind} step; allowed: {', '.join(sorted(allowed))}")
    if kind in ("model", "transform"):
        return ModelStep(name=name, ref=_ref(raw[kind], where, kind), transform=kind == "transform")
    if kind == "ensemble":
        return _ensemble(raw["ensemble"], name, where)
    if kind == "switch":
        return _switch(raw, name, where)
    return _rules(raw, name, where)


def _ref(value: Any, where: str, field: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{where}: field {field!r}: expected a model reference such as "
                           f"fraud@production or fraud:3, got {value!r}")
    try:
        parse_ref(value)
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: field {field!r}: {exc.message}") from None
    return value


def _ensemble(raw: Any, name: str, where: str) -> EnsembleStep:
    if not isinstance(raw, Mapping):
        raise InvalidInput(f"{where}: field 'ensemble': expected {{models: [...], combine: mean}}")
    models = raw.get("models")
    if not isinstance(models, list) or len(models) < 2:
        raise InvalidInput(f"{where}: field 'ensemble.models': list two or more models")
    refs = tuple(_ref(m, where, "ensemble.models") for m in models)
    combine = raw.get("combine", "mean")
    if combine not in COMBINE:
        raise InvalidInput(f"{where}: field 'ensemble.combine': {combine!r} is not one of "
                           f"{', '.join(COMBINE)}")
    weights_raw = raw.get("weights", [])
    if combine == "weighted_mean":
        if (not isinstance(weights_raw, list) or len(weights_raw) != len(refs)
                or not all(isinstance(w, int | float) and w >= 0 for w in weights_raw)
                or not sum(weights_raw) > 0):
            raise InvalidInput(f"{where}: field 'ensemble.weights': weighted_mean needs one "
                               f"weight >= 0 per model ({len(refs)}), not all zero")
    elif weights_raw:
        raise InvalidInput(f"{where}: field 'ensemble.weights': only weighted_mean takes weights")
    extra = set(raw) - {"models", "combine", "weights"}
    if extra:
        raise InvalidInput(f"{where}: field 'ensemble': unknown field(s) {sorted(map(str, extra))}")
    return EnsembleStep(name=name, refs=refs, combine=combine,
                        weights=tuple(float(w) for w in weights_raw))


def _rules(raw: Mapping[str, Any], name: str, where: str) -> RulesStep:
    items = raw["rules"]
    if not isinstance(items, list) or not items:
        raise InvalidInput(f"{where}: field 'rules': a non-empty list of {{when, decision, "
                           "reason}}")
    rules = []
    for number, item in enumerate(items, start=1):
        label = f"{where} rule {number}"
        if not isinstance(item, Mapping) or set(item) - {"when", "decision", "reason"}:
            raise InvalidInput(f"{label}: expected the fields when, decision and reason")
        when, decision = item.get("when"), item.get("decision")
        if not isinstance(when, str) or not when.strip():
            raise InvalidInput(f"{label}: field 'when': a condition such as 'amount > 1000'")
        if not isinstance(decision, str) or not decision:
            raise InvalidInput(f"{label}: field 'decision': text such as review or decline")
        reason = item.get("reason", "")
        if not isinstance(reason, str):
            raise InvalidInput(f"{label}: field 'reason': must be text")
        rules.append(Rule(when=when, decision=decision, reason=reason))
    default = raw.get("default")
    if not isinstance(default, str) or not default:
        raise InvalidInput(f"{where}: field 'default': the decision when no rule matches, "
                           "e.g. approve")
    default_reason = raw.get("default_reason", "")
    if not isinstance(default_reason, str):
        raise InvalidInput(f"{where}: field 'default_reason': must be text")
    return RulesStep(name=name, rules=tuple(rules), default=default,
                     default_reason=default_reason)


def _switch(raw: Mapping[str, Any], name: str, where: str) -> SwitchStep:
    items = raw["switch"]
    if not isinstance(items, list) or not items:
        raise InvalidInput(f"{where}: field 'switch': a non-empty list of {{when, model}}")
    cases = []
    for number, item in enumerate(items, start=1):
        label = f"{where} case {number}"
        if not isinstance(item, Mapping) or set(item) != {"when", "model"}:
            raise InvalidInput(f"{label}: expected exactly the fields when and model")
        when = item["when"]
        if not isinstance(when, str) or not when.strip():
            raise InvalidInput(f"{label}: field 'when': a condition such as 'amount > 1000'")
        cases.append((when, _ref(item["model"], label, "model")))
    if "default" not in raw:
        raise InvalidInput(f"{where}: field 'default': the model for rows no case matches")
    return SwitchStep(name=name, cases=tuple(cases), default=_ref(raw["default"], where,
                                                                  "default"))
