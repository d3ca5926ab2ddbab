"""The model manager's records: its configuration, one slot per served reference, and the
status lines of the repository index."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from modelport.errors import InvalidInput
from modelport.registry.refs import ModelRef
from modelport.serving.served import ModelOptions, ServedModel

__all__ = ["ManagerConfig", "ModelState", "ModelStatus", "Slot", "status_of"]


class ModelState(StrEnum):
    READY = "READY"
    LOADING = "LOADING"
    UNAVAILABLE = "UNAVAILABLE"


@dataclass(frozen=True, slots=True)
class ModelStatus:
    """One line of the repository index."""

    name: str
    version: str | None
    state: ModelState
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ManagerConfig:
    """What to serve and how to keep it loaded."""

    refs: tuple[str, ...] = ()
    """References to serve (fraud, fraud@production, fraud:3); empty serves every model."""

    max_loaded: int = 16
    """Least-recently-used versions beyond this count are unloaded."""

    poll_interval_s: float = 1.5
    """How often alias references are re-resolved; 0 turns hot swapping off."""

    load_wait_s: float = 30.0
    """How long a request waits for its model to load before a 503."""

    retry_failed_after_s: float = 30.0
    """A version that failed to load is not tried again for this long."""

    options: ModelOptions = field(default_factory=ModelOptions)
    """Batching and caching for every model without its own entry in ``per_model``."""

    per_model: Mapping[str, ModelOptions] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if type(self.max_loaded) is not int or self.max_loaded < 1:
            raise InvalidInput(f"max_loaded_models must be >= 1, got {self.max_loaded!r}")
        for label, value in (
            ("poll_interval_s", self.poll_interval_s),
            ("load_wait_s", self.load_wait_s),
            ("retry_failed_after_s", self.retry_failed_after_s),
        ):
            if not isinstance(value, int | float) or math.isnan(value) or value < 0:
                raise InvalidInput(f"{label} must be a number of seconds >= 0, got {value!r}")


class Slot:
    """One served reference and the version currently answering for it."""

    __slots__ = ("current", "disabled", "error", "failed_at", "failed_version", "loading",
                 "preload", "ref", "used")

    def __init__(self, ref: ModelRef) -> None:
        self.ref = ref
        self.current: ServedModel | None = None
        self.loading: asyncio.Task[None] | None = None
        self.error = ""
        self.failed_at = -math.inf
        self.failed_version: str | None = None
        self.disabled = False
        self.preload = False
        self.used = 0


def status_of(name: str, slot: Slot | None) -> ModelStatus:
    """The repository-index line of a slot (or of a model no slot was made for yet)."""
    if slot is None:
        return ModelStatus(name, None, ModelState.UNAVAILABLE, "not loaded; loads on first use")
    version = slot.current.version if slot.current else None
    if slot.ref.version is not None:
        version = str(slot.ref.version)
    if slot.current is not None:
        return ModelStatus(name, version, ModelState.READY)
    if slot.loading is not None:
        return ModelStatus(name, version, ModelState.LOADING)
    if slot.disabled:
        return ModelStatus(name, version, ModelState.UNAVAILABLE, "unloaded")
    if slot.error:
        return ModelStatus(name, version, ModelState.UNAVAILABLE, slot.error)
    return ModelStatus(name, version, ModelState.UNAVAILABLE, "not loaded; loads on first use")
