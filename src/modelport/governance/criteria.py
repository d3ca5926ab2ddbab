"""Acceptance criteria: ``auc >= 0.95``, ``auc >= production - 0.005``, ``p99_ms <= 15``.

A criterion compares one metric of an evaluation with a number, or with the same metric of
the version an alias points at (plus or minus a margin). With no criteria, a completed
evaluation passes.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from modelport.errors import InvalidInput

__all__ = ["Criterion", "CriterionResult", "check_criteria", "parse_criterion"]

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt,
}
_PATTERN = re.compile(
    r"^\s*(?P<metric>[A-Za-z_][\w.]*)\s*(?P<op>>=|<=|>|<)\s*"
    r"(?:(?P<number>[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)|"
    r"(?P<alias>[A-Za-z][\w-]*)\s*(?:(?P<sign>[-+])\s*(?P<margin>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?))?)"
    r"\s*$"
)


@dataclass(frozen=True, slots=True)
class Criterion:
    text: str
    metric: str
    op: str
    number: float | None = None
    alias: str | None = None
    margin: float = 0.0


@dataclass(frozen=True, slots=True)
class CriterionResult:
    criterion: str
    passed: bool
    actual: float | None
    threshold: float | None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"criterion": self.criterion, "passed": self.passed, "actual": self.actual,
                "threshold": self.threshold, "reason": self.reason}


def parse_criterion(text: str) -> Criterion:
    """One criterion, or InvalidInput showing the forms that work."""
    match = _PATTERN.match(text)
    if match is None:
        raise InvalidInput(
            f"cannot read acceptance criterion {text!r}; write METRIC OP VALUE, e.g. "
            "'auc >= 0.95', 'auc >= production - 0.005' or 'p99_ms <= 15'"
        )
    number = match.group("number")
    margin = float(match.group("margin") or 0.0)
    if match.group("sign") == "-":
        margin = -margin
    return Criterion(text=text.strip(), metric=match.group("metric"), op=match.group("op"),
                     number=float(number) if number is not None else None,
                     alias=match.group("alias"), margin=margin)


def check_criteria(
    criteria: Sequence[str], metrics: Mapping[str, Any],
    reference: Callable[[str], Mapping[str, Any] | None],
) -> list[CriterionResult]:
    """Each criterion against ``metrics``; ``reference(alias)`` gives the metrics of the version
    an alias points at (None when it has no evaluation to compare with)."""
    results = []
    for text in criteria:
        c = parse_criterion(text)
        actual = _number(metrics.get(c.metric))
        if actual is None:
            known = ", ".join(sorted(k for k, v in metrics.items() if _number(v) is not None))
            results.append(CriterionResult(c.text, False, None, None,
                                           f"the evaluation has no metric {c.metric!r} "
                                           f"(it has: {known})"))
            continue
        if c.alias is not None:
            theirs = reference(c.alias)
            base = _number(theirs.get(c.metric)) if theirs is not None else None
            if base is None:
                results.append(CriterionResult(
                    c.text, False, actual, None,
                    f"no evaluation of the {c.alias!r} version with metric {c.metric!r} to "
                    f"compare with; evaluate with --against NAME@{c.alias}"))
                continue
            threshold = base + c.margin
        else:
            assert c.number is not None
            threshold = c.number
        ok = _OPS[c.op](actual, threshold)
        results.append(CriterionResult(c.text, ok, actual, threshold,
                                       "" if ok else f"{c.metric} = {actual:.6g}, needs "
                                       f"{c.op} {threshold:.6g}"))
    return results


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
