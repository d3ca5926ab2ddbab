"""What each worker measures per routed version, kept small enough to write every second.

Latencies go into a log-bucketed histogram (about 5% wide, so a p99 read back is within 5%);
predictions into a category count (class outputs) or a bounded random sample (continuous
outputs). The rollout controller merges the rows of every worker and compares versions.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modelport.protocol.types import Tensor

__all__ = [
    "LatencyHistogram",
    "PredictionSketch",
    "ShadowCounts",
    "VersionCounts",
]

_BASE_MS = 0.05
_RATIO = 1.05
_LOG_RATIO = math.log(_RATIO)
_MAX_CATEGORIES = 64
_SAMPLE = 256
OTHER = "__other__"


class LatencyHistogram:
    """Counts per log bucket; bucket ``i`` holds latencies up to ``0.05 ms * 1.05**i``."""

    __slots__ = ("counts",)

    def __init__(self, counts: Mapping[int, int] | None = None) -> None:
        self.counts: dict[int, int] = dict(counts or {})

    def add(self, ms: float) -> None:
        index = 0 if ms <= _BASE_MS else math.ceil(math.log(ms / _BASE_MS) / _LOG_RATIO)
        self.counts[index] = self.counts.get(index, 0) + 1

    def merge(self, other: LatencyHistogram) -> None:
        for index, count in other.counts.items():
            self.counts[index] = self.counts.get(index, 0) + count

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def quantile(self, q: float) -> float | None:
        """The upper bound of the bucket holding the ``q`` quantile, in ms (None when empty)."""
        total = self.total
        if total == 0:
            return None
        rank = q * total
        seen = 0
        for index in sorted(self.counts):
            seen += self.counts[index]
            if seen >= rank:
                return _BASE_MS * _RATIO**index
        return _BASE_MS * _RATIO ** max(self.counts)

    def to_json(self) -> dict[str, int]:
        return {str(k): v for k, v in self.counts.items()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LatencyHistogram:
        return cls({int(k): int(v) for k, v in data.items()})


@dataclass(slots=True)
class PredictionSketch:
    """A version's predictions: class counts, or a uniform sample of continuous values."""

    kind: str = ""
    """``class``, ``continuous`` or empty (nothing seen yet)."""
    counts: dict[str, int] = field(default_factory=dict)
    sample: list[float] = field(default_factory=list)
    seen: int = 0

    def add(self, tensor: Tensor) -> None:
        data = tensor.data
        if data.dtype.kind == "f":
            self._add_continuous(data)
        else:
            self._add_classes(data)

    def _add_classes(self, data: np.ndarray[Any, Any]) -> None:
        self.kind = self.kind or "class"
        flat = data.ravel()
        if flat.size <= 16:  # the usual few rows: counting in Python beats np.unique
            pairs: list[tuple[Any, int]] = [(v, 1) for v in flat.tolist()]
        else:
            values, counts = np.unique(flat, return_counts=True)
            pairs = list(zip(values.tolist(), counts.tolist(), strict=True))
        for value, count in pairs:
            key = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
            if key not in self.counts and len(self.counts) >= _MAX_CATEGORIES:
                key = OTHER
            self.counts[key] = self.counts.get(key, 0) + int(count)

    def _add_continuous(self, data: np.ndarray[Any, Any]) -> None:
        self.kind = self.kind or "continuous"
        for value in data.ravel().tolist():
            self.seen += 1
            if len(self.sample) < _SAMPLE:
                self.sample.append(float(value))
            else:
                slot = random.randrange(self.seen)
                if slot < _SAMPLE:
                    self.sample[slot] = float(value)

    def merge(self, other: PredictionSketch) -> None:
        self.kind = self.kind or other.kind
        for key, count in other.counts.items():
            self.counts[key] = self.counts.get(key, 0) + count
        self.sample.extend(other.sample)
        self.seen += other.seen

    def to_json(self) -> dict[str, Any]:
        if self.kind == "class":
            return {"kind": "class", "counts": self.counts}
        if self.kind == "continuous":
            return {"kind": "continuous", "sample": self.sample, "seen": self.seen}
        return {}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PredictionSketch:
        return cls(kind=str(data.get("kind", "")),
                   counts={str(k): int(v) for k, v in dict(data.get("counts", {})).items()},
                   sample=[float(v) for v in data.get("sample", [])],
                   seen=int(data.get("seen", 0)))


@dataclass(slots=True)
class VersionCounts:
    """One version's requests in one window, in one worker."""

    requests: int = 0
    errors: int = 0
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    predictions: PredictionSketch = field(default_factory=PredictionSketch)

    def merge(self, other: VersionCounts) -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.latency.merge(other.latency)
        self.predictions.merge(other.predictions)

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None


@dataclass(slots=True)
class ShadowCounts:
    """Mirrored requests to one shadow version, compared with what the caller got."""

    mirrored: int = 0
    failed: int = 0
    timed_out: int = 0
    skipped: int = 0
    """Not mirrored because too many shadow requests were already in flight."""
    compared: int = 0
    agreed: int = 0
    diff_sum: float = 0.0
    latency_sum_ms: float = 0.0
    primary_latency_sum_ms: float = 0.0

    def merge(self, other: ShadowCounts) -> None:
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def to_dict(self) -> dict[str, Any]:
        compared = self.compared
        return {
            "mirrored": self.mirrored,
            "failed": self.failed,
            "timed_out": self.timed_out,
            "skipped": self.skipped,
            "compared": compared,
            "agreement": self.agreed / compared if compared else None,
            "mean_abs_diff": self.diff_sum / compared if compared else None,
            "shadow_latency_ms": self.latency_sum_ms / compared if compared else None,
            "primary_latency_ms": self.primary_latency_sum_ms / compared if compared else None,
        }


def merged(items: Iterable[VersionCounts]) -> VersionCounts:
    out = VersionCounts()
    for item in items:
        out.merge(item)
    return out
