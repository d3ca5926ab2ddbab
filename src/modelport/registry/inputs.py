"""Checks and normalisation of what callers hand the registry, done once at the edge."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from modelport.errors import InvalidInput
from modelport.protocol.signature import Signature

_FLAVOR = re.compile(r"[a-z][a-z0-9_.-]{0,63}")
_MAX_KEY = 256


def check_flavor(flavor: str) -> str:
    if not isinstance(flavor, str) or not _FLAVOR.fullmatch(flavor):
        raise InvalidInput(
            f"invalid flavor {flavor!r}: use a lowercase framework name such as "
            "sklearn, xgboost, lightgbm, onnx, torch, transformers or python"
        )
    return flavor


def check_signature(signature: Any) -> Signature:
    if not isinstance(signature, Signature):
        raise InvalidInput(
            f"signature must be a modelport.protocol.Signature, got {type(signature).__name__}; "
            "build one with Signature.for_table(...) or Signature(inputs=..., outputs=...)"
        )
    return signature


def check_actor(actor: str, what: str) -> str:
    if not isinstance(actor, str) or not actor.strip() or len(actor) > 256:
        raise InvalidInput(f"{what} must name who acts (1-256 characters), got {actor!r}")
    return actor


def check_version(version: Any) -> int:
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidInput(f"version must be a whole number >= 1, got {version!r}")
    return version


def text_values(kind: str, values: Mapping[str, Any] | None) -> dict[str, str]:
    """Tags or params: string keys, values of str, int, float or bool stored as text."""
    out: dict[str, str] = {}
    for key, value in _items(kind, values):
        if not isinstance(value, str | int | float | bool):
            raise InvalidInput(
                f"{kind} {key!r}: value must be a string or a number, got {type(value).__name__}"
            )
        out[key] = value if isinstance(value, str) else str(value)
    return out


def metric_values(values: Mapping[str, Any] | None) -> dict[str, float]:
    """Metrics: string keys, finite numbers."""
    out: dict[str, float] = {}
    for key, value in _items("metric", values):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInput(f"metric {key!r}: value must be a number, got {value!r}")
        number = float(value)
        if not math.isfinite(number):
            raise InvalidInput(f"metric {key!r}: value must be finite, got {number}")
        out[key] = number
    return out


def _items(kind: str, values: Mapping[str, Any] | None) -> list[tuple[str, Any]]:
    if values is None:
        return []
    if not isinstance(values, Mapping):
        raise InvalidInput(
            f"{kind}s must be a mapping of name to value, got {type(values).__name__}"
        )
    for key in values:
        if not isinstance(key, str) or not key or len(key) > _MAX_KEY:
            raise InvalidInput(f"{kind} names must be 1-{_MAX_KEY} characters, got {key!r}")
    return list(values.items())
