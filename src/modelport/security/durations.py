"""Durations written the way people type them: ``90d``, ``12h``, ``30m``, ``45s``."""

from __future__ import annotations

import re
from datetime import timedelta

from modelport.errors import InvalidInput

__all__ = ["parse_duration"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


def parse_duration(text: str, *, option: str = "duration") -> timedelta:
    """``"90d"`` -> 90 days; a clear error for anything else."""
    match = _PATTERN.match(text or "")
    if match is None:
        raise InvalidInput(
            f"{option} {text!r} is not a duration; write a number and a unit, "
            "e.g. 30m, 12h, 1d, 90d (units: s, m, h, d, w)"
        )
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise InvalidInput(f"{option} {text!r} must be longer than zero")
    return timedelta(seconds=seconds)
