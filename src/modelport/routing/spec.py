"""The deployment file: what a user writes to roll a version out, checked before anything moves.

```yaml
endpoint: fraud
strategy: canary                # canary | blue-green | ab
stable: fraud:3
candidate: fraud:4
shadow: [fraud:5]               # optional: mirrored traffic, answers discarded
shadow_share: 100               # percent of requests mirrored
canary:
  steps: [5, 25, 50, 100]
  interval: 5m
  gates: {max_error_rate: 0.01, max_p99_latency_ms: 50, max_prediction_psi: 0.2}
  min_requests: 20              # candidate requests per interval before gates are judged
  on_failure: rollback          # rollback | pause
```

Every problem is reported with the line it is on; :func:`parse_spec` checks the file alone,
:func:`modelport.routing.plan.plan_deployment` checks it against the registry.
"""

from __future__ import annotations

import re
from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from modelport.errors import InvalidInput
from modelport.registry.refs import check_model_name, check_settable_alias, parse_ref
from modelport.routing.yaml_lines import LineIndex, load_with_lines

__all__ = [
    "STRATEGIES",
    "ABSpec",
    "BlueGreenSpec",
    "CanarySpec",
    "DeploymentSpec",
    "Gates",
    "parse_duration",
    "parse_spec",
    "spec_error",
]

STRATEGIES = ("canary", "blue-green", "ab")
_DURATION = re.compile(r"(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>ms|s|m|h)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_KEY = re.compile(r"(header|parameter):[A-Za-z0-9_.-]{1,128}")
_STRICT = ConfigDict(extra="forbid", frozen=True)


def parse_duration(text: object) -> float:
    """``"30s"``, ``"5m"``, ``"1h"``, ``"500ms"`` -> seconds; ValueError saying what fits."""
    match = _DURATION.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(
            f"bad duration {text!r}: write a number and a unit, e.g. 30s, 5m or 1h "
            "(units: ms, s, m, h)"
        )
    return float(match["n"]) * _UNITS[match["unit"]]


def _check_ref(text: object) -> str:
    if not isinstance(text, str):
        raise ValueError(f"expected a model reference like fraud:3, got {text!r}")
    try:
        parse_ref(text)
    except InvalidInput as exc:
        raise ValueError(exc.message) from None
    return text


class Gates(BaseModel):
    """Limits the candidate must stay within over each interval; unset gates are not checked."""

    model_config = _STRICT
    max_error_rate: float | None = Field(None, ge=0, le=1)
    max_p99_latency_ms: float | None = Field(None, gt=0)
    max_prediction_psi: float | None = Field(None, ge=0)
    max_prediction_ks: float | None = Field(None, ge=0, le=1)
    max_class_rate: dict[str, Annotated[float, Field(ge=0, le=1)]] | None = None
    """Share of the candidate's answers per class of the compared output, e.g. a pipeline's
    ``{review: 0.05}`` on ``decide.decision``."""


class CanarySpec(BaseModel):
    model_config = _STRICT
    steps: list[int]
    interval: str
    gates: Gates = Field(default_factory=Gates)
    on_failure: Literal["rollback", "pause"] = "rollback"
    min_requests: int = Field(20, ge=1)
    """Candidate requests an interval needs before its gates are judged (else it waits)."""
    compare_output: str | None = None
    """The output whose distribution is compared; the first output when unset."""

    @field_validator("steps")
    @classmethod
    def _steps(cls, steps: list[int]) -> list[int]:
        if not steps:
            raise ValueError("steps must list at least one percentage, e.g. [5, 25, 50, 100]")
        if any(not 0 < s <= 100 for s in steps):
            raise ValueError(f"steps must be percentages between 1 and 100, got {steps}")
        if any(b <= a for a, b in pairwise(steps)):
            raise ValueError(f"steps must increase, got {steps}; e.g. [5, 25, 50, 100]")
        if steps[-1] != 100:
            raise ValueError(f"steps must end at 100 (full traffic), got {steps}")
        return steps

    @field_validator("interval", mode="before")
    @classmethod
    def _interval(cls, interval: object) -> object:
        if parse_duration(interval) < 1.0:
            raise ValueError(f"interval {interval!r} is too short: use 1s or more")
        return interval

    @property
    def interval_s(self) -> float:
        return parse_duration(self.interval)


class BlueGreenSpec(BaseModel):
    model_config = _STRICT
    switch: Literal["auto", "manual"] = "auto"
    """auto: switch once the new slot is ready everywhere; manual: wait for ``deploy promote``."""


class ABSpec(BaseModel):
    model_config = _STRICT
    weights: dict[str, int] = Field(default_factory=lambda: {"stable": 50, "candidate": 50})
    """Percent per arm, keyed ``stable``/``candidate`` (or their references); sums to 100."""
    sticky_key: str = "header:x-ab-key"
    """``header:NAME`` or ``parameter:NAME``: requests with the same key get the same arm."""

    @field_validator("weights")
    @classmethod
    def _weights(cls, weights: dict[str, int]) -> dict[str, int]:
        if any(not 0 <= w <= 100 for w in weights.values()):
            raise ValueError(f"weights must be percentages between 0 and 100, got {weights}")
        if sum(weights.values()) != 100:
            raise ValueError(f"A/B weights must sum to 100, got {sum(weights.values())}")
        return weights

    @field_validator("sticky_key")
    @classmethod
    def _sticky(cls, key: str) -> str:
        if not _KEY.fullmatch(key):
            raise ValueError(
                f"sticky_key {key!r} must be header:NAME or parameter:NAME, e.g. header:x-ab-key"
            )
        return key.lower() if key.startswith("header:") else key


class DeploymentSpec(BaseModel):
    """One deployment file, checked on its own (references are checked against the registry
    later, by :func:`modelport.routing.plan.plan_deployment`)."""


    model_config = _STRICT
    endpoint: str
    strategy: str
    stable: str
    candidate: str
    shadow: list[str] = Field(default_factory=list)
    alias: str | None = None
    """The stable alias a promotion moves to the candidate; by default the alias named in
    ``stable`` (``stable: fraud@production``), else ``production``."""
    shadow_share: float = Field(100.0, gt=0, le=100)
    shadow_timeout: str = "5s"
    canary: CanarySpec | None = None
    blue_green: BlueGreenSpec | None = None
    ab: ABSpec | None = None

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, name: str) -> str:
        try:
            return check_model_name(name)
        except InvalidInput as exc:
            raise ValueError(exc.message.replace("model name", "endpoint name")) from None

    @field_validator("alias")
    @classmethod
    def _alias(cls, alias: str | None) -> str | None:
        if alias is None:
            return None
        try:
            return check_settable_alias(alias)
        except InvalidInput as exc:
            raise ValueError(exc.message) from None

    @property
    def stable_alias(self) -> str:
        """The alias promote moves: ``alias``, else the one in ``stable``, else production."""
        return self.alias or parse_ref(self.stable).alias or "production"

    @field_validator("stable", "candidate")
    @classmethod
    def _refs(cls, ref: str) -> str:
        return _check_ref(ref)

    @field_validator("shadow")
    @classmethod
    def _shadows(cls, refs: list[str]) -> list[str]:
        return [_check_ref(r) for r in refs]

    @field_validator("strategy")
    @classmethod
    def _strategy(cls, strategy: str) -> str:
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r}; use canary, blue-green or ab")
        return strategy

    @field_validator("shadow_timeout", mode="before")
    @classmethod
    def _timeout(cls, text: object) -> object:
        parse_duration(text)
        return text

    @property
    def shadow_timeout_s(self) -> float:
        return parse_duration(self.shadow_timeout)

    def ab_weights(self) -> tuple[int, int]:
        """(stable, candidate) percent for an A/B test."""
        ab = self.ab or ABSpec()
        pick = {("stable" if k in ("stable", self.stable) else "candidate"): w
                for k, w in ab.weights.items()}
        return pick.get("stable", 0), pick.get("candidate", 0)


FIELDS: dict[str, str] = {
    "": "endpoint, strategy, stable, candidate, alias (default: the alias in stable, else "
        "production), shadow, shadow_share (default 100), shadow_timeout (default 5s), and "
        "the strategy's section (canary, blue_green or ab)",
    "canary": "steps, interval, gates, min_requests (default 20 candidate requests per "
              "interval before the gates are judged), on_failure (default rollback), "
              "compare_output (default: the first output)",
    "gates": "max_error_rate, max_p99_latency_ms, max_prediction_psi, max_prediction_ks "
             "(each unset by default: not checked)",
    "blue_green": "switch (default auto)",
    "ab": "weights (default {stable: 50, candidate: 50}), sticky_key (default header:x-ab-key)",
}
"""Every field of each section with its default, for the messages that teach the file."""


def parse_spec(text: str, *, label: str = "deployment file") -> tuple[DeploymentSpec, LineIndex]:
    """Parse and check a deployment file; InvalidInput listing each problem with its line."""
    data, lines = load_with_lines(text, label)
    if not isinstance(data, dict):
        raise spec_error(label, [(1, "", "a deployment file is a YAML mapping: endpoint, "
                                           "strategy, stable, candidate, ...")])
    try:
        spec = DeploymentSpec.model_validate(data)
    except ValidationError as exc:
        raise spec_error(label, [_problem(err, lines) for err in exc.errors()]) from None
    problems = [(lines.line(path), ".".join(map(str, path)), reason)
                for path, reason in _cross_checks(spec)]
    if problems:
        raise spec_error(label, problems)
    return spec, lines


def _cross_checks(spec: DeploymentSpec) -> list[tuple[tuple[str | int, ...], str]]:
    """What no single field can check: sections matching the strategy, distinct versions."""
    out: list[tuple[tuple[str | int, ...], str]] = []
    sections = {"canary": spec.canary, "blue_green": spec.blue_green, "ab": spec.ab}
    for field, section in sections.items():
        owner = field.replace("_", "-")
        if section is not None and owner != spec.strategy:
            out.append(((field,), f"section {field!r} belongs to strategy {owner}, not "
                                  f"{spec.strategy}; remove it"))
    if spec.strategy == "canary" and spec.canary is None:
        out.append((("strategy",), "strategy canary needs a 'canary' section: "
                                   f"{FIELDS['canary']}"))
    if spec.stable == spec.candidate:
        out.append((("candidate",), f"candidate {spec.candidate} is the stable version; "
                                    "roll out a different version"))
    for index, ref in enumerate(spec.shadow):
        if ref in (spec.stable, spec.candidate):
            out.append((("shadow", index), f"shadow {ref} already serves live traffic here; "
                                           "shadow a version that is neither stable nor candidate"))
    if spec.ab is not None:
        known = {"stable", "candidate", spec.stable, spec.candidate}
        arms = {"stable" if k in ("stable", spec.stable) else "candidate" for k in spec.ab.weights}
        if set(spec.ab.weights) - known or arms != {"stable", "candidate"} \
                or len(spec.ab.weights) != 2:
            out.append((("ab", "weights"), f"ab.weights must give the two arms, stable and "
                                           f"candidate, got {sorted(spec.ab.weights)}"))
    return out


def spec_error(label: str, problems: list[tuple[int, str, str]]) -> InvalidInput:
    """One InvalidInput for every (line, field, reason), the earliest line first."""
    problems = sorted(problems)
    text = "\n".join(
        f"{label} line {line}{f', {field}' if field else ''}: {reason}"
        for line, field, reason in problems
    )
    return InvalidInput(
        text,
        details={"errors": [{"line": ln, "field": f, "reason": r} for ln, f, r in problems]},
    )


def _problem(err: Any, lines: LineIndex) -> tuple[int, str, str]:
    loc = list(err["loc"])
    field = ".".join(str(p) for p in loc)
    reason = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        section = next((k for k in reversed(loc[:-1]) if isinstance(k, str)), "")
        known = FIELDS.get(section, FIELDS[""])
        reason = (f"unknown field {str(loc[-1])!r}; check its spelling. "
                  f"{section or 'a deployment file'} takes: {known}")
    elif err["type"] == "missing":
        reason = f"{field} is required"
    elif err["type"] == "literal_error":
        reason = f"{reason}, got {err.get('input')!r}"
    return lines.line(loc), field, reason
