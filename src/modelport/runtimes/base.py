"""The one interface every framework adapter implements.

A runtime is built cheaply, then ``load``-ed from an artifact path; ``predict`` takes a batch
of named numpy arrays (first dimension = rows) and returns named numpy arrays with the same
number of rows. Runtimes are synchronous and know nothing of HTTP, queues or the registry.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from modelport.errors import Unavailable
from modelport.protocol.signature import Signature

Array = np.ndarray[Any, Any]
Batch = Mapping[str, Array]


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadOptions:
    """What the operator allows a runtime to do while loading."""

    trust_pickle: bool = False
    """Allow pickle/joblib artifacts (arbitrary code execution on load)."""

    signature: Signature | None = None
    """The registered signature, when known; runtimes use it to name features."""


class Runtime(ABC):
    """Adapter from one framework's model to named-array prediction."""

    flavor: ClassVar[str]
    """Registry name of the framework, e.g. ``"xgboost"``."""

    def __init__(self, options: LoadOptions | None = None) -> None:
        self.options = options or LoadOptions()

    @classmethod
    @abstractmethod
    def detect(cls, path: Path) -> bool:
        """Whether the artifact at ``path`` is unambiguously this flavor."""

    @abstractmethod
    def load(self, path: Path) -> None:
        """Load the artifact into memory; raise a ModelportError when it cannot."""

    @abstractmethod
    def signature(self) -> Signature:
        """The model's inputs and outputs (available after ``load``)."""

    @abstractmethod
    def predict(self, inputs: Batch) -> dict[str, Array]:
        """Predict a batch; every output has as many rows as the inputs."""

    def unload(self) -> None:  # noqa: B027 - optional hook
        """Release memory held by the model."""

    def native(self) -> Any:
        """The framework's own loaded model (for explainers), or None when not exposed."""
        return None


def not_loaded(runtime: Runtime) -> Unavailable:
    """The error for using a runtime before ``load`` (or after ``unload``)."""
    return Unavailable(f"the {runtime.flavor} model is not loaded; call load() first")
