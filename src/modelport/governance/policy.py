"""A model's promotion policy: which aliases are protected and what moving them takes.

Protection is on by default for ``production`` as soon as a model has a policy (set with
``modelport policy set``, by acceptance criteria, or by ``modelport apply``). Models without
one keep moving freely, unless ``MODELPORT_GOVERNANCE_PROTECT_ALL=1`` gives every model the
default policy. Moving a protected alias, or starting a canary or blue-green rollout, then
needs a passing evaluation of the version and, with ``require_approval``, an approval by an
approver who did not register it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from modelport.errors import InvalidInput
from modelport.governance.criteria import parse_criterion

__all__ = ["PROTECT_ALL_ENV", "Policy", "protect_all"]

PROTECT_ALL_ENV = "MODELPORT_GOVERNANCE_PROTECT_ALL"
_FIELDS = {"protected", "require_evaluation", "require_approval", "criteria"}


def protect_all() -> bool:
    """Whether models without a policy get the default one."""
    return os.environ.get(PROTECT_ALL_ENV, "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    protected: tuple[str, ...] = ("production",)
    """Aliases that only move to versions meeting this policy."""
    require_evaluation: bool = True
    """A passing evaluation of the version is needed."""
    require_approval: bool = False
    """An approval by an approver other than the registrant is needed (four eyes)."""
    criteria: tuple[str, ...] = field(default_factory=tuple)
    """Acceptance criteria an evaluation must meet to pass."""

    def __post_init__(self) -> None:
        for text in self.criteria:
            parse_criterion(text)

    def to_dict(self) -> dict[str, Any]:
        return {"protected": list(self.protected), "require_evaluation": self.require_evaluation,
                "require_approval": self.require_approval, "criteria": list(self.criteria)}

    @classmethod
    def from_dict(cls, doc: Any, *, where: str = "policy") -> Policy:
        if not isinstance(doc, dict):
            raise InvalidInput(f"{where} must be a mapping of {sorted(_FIELDS)}")
        unknown = sorted(set(doc) - _FIELDS)
        if unknown:
            raise InvalidInput(f"{where}: unknown field(s) {unknown}; known: {sorted(_FIELDS)}")
        out: dict[str, Any] = {}
        for key in ("protected", "criteria"):
            if key in doc:
                value = doc[key]
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise InvalidInput(f"{where}.{key} must be a list of strings")
                out[key] = tuple(value)
        for key in ("require_evaluation", "require_approval"):
            if key in doc:
                if not isinstance(doc[key], bool):
                    raise InvalidInput(f"{where}.{key} must be true or false")
                out[key] = doc[key]
        return cls(**out)
