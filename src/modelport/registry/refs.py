"""Model references as users type them: ``fraud``, ``fraud@production``, ``fraud:3``.

Also the naming rules for models and aliases, so every entry point checks names the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from modelport.errors import InvalidInput

#: Alias that always means "the highest version"; it cannot be set by hand.
LATEST = "latest"

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_ALIAS = re.compile(r"[A-Za-z][A-Za-z0-9._-]{0,63}")
_REF = re.compile(r"(?P<name>[^@:]+)(?:@(?P<alias>[^@:]+)|:(?P<version>[^@:]+))?")
_REF_HELP = (
    "expected NAME, NAME@ALIAS or NAME:VERSION (for example fraud, fraud@production, fraud:3)"
)


@dataclass(frozen=True, slots=True)
class ModelRef:
    """A model name plus at most one of: a version number, an alias. Neither means latest."""

    name: str
    version: int | None = None
    alias: str | None = None

    def __post_init__(self) -> None:
        if self.version is not None and self.alias is not None:
            raise InvalidInput(f"a model reference takes a version or an alias, not both: {self}")

    def __str__(self) -> str:
        if self.version is not None:
            return f"{self.name}:{self.version}"
        if self.alias is not None:
            return f"{self.name}@{self.alias}"
        return self.name


def parse_ref(text: str) -> ModelRef:
    """Parse ``NAME``, ``NAME@ALIAS`` or ``NAME:VERSION``; ``NAME@latest`` equals ``NAME``."""
    match = _REF.fullmatch(text.strip()) if text else None
    if match is None or text != text.strip():
        raise InvalidInput(f"invalid model reference {text!r}: {_REF_HELP}")
    name = check_model_name(match["name"])
    if match["version"] is not None:
        raw = match["version"]
        if not raw.isdigit() or int(raw) < 1:
            raise InvalidInput(
                f"invalid model reference {text!r}: version must be a whole number >= 1, "
                f"got {raw!r}; use NAME@ALIAS for an alias"
            )
        return ModelRef(name, version=int(raw))
    alias = match["alias"]
    if alias is None or alias == LATEST:
        return ModelRef(name)
    return ModelRef(name, alias=check_alias_name(alias))


def check_model_name(name: str) -> str:
    """``name`` if it is a valid model name, else InvalidInput stating the rule."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidInput(
            f"invalid model name {name!r}: use 1-128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (for example fraud-detector)"
        )
    return name


def check_alias_name(alias: str) -> str:
    """``alias`` if it is a valid alias name, else InvalidInput stating the rule."""
    if not isinstance(alias, str) or not _ALIAS.fullmatch(alias):
        raise InvalidInput(
            f"invalid alias {alias!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter (for example production)"
        )
    return alias


def check_settable_alias(alias: str) -> str:
    """Like :func:`check_alias_name`, and refuses the reserved ``latest``."""
    check_alias_name(alias)
    if alias == LATEST:
        raise InvalidInput(
            f"{LATEST!r} is reserved: it always means the highest version; pick another alias"
        )
    return alias
