"""What the model manager, served models and batchers report, for metrics to record.

An object with these methods (the monitoring package's ``Monitor`` is one) is handed to the
:class:`~modelport.serving.models.ModelManager`; every call is on the worker's event loop
and must be cheap. None of it is required: without an observer nothing is reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

__all__ = ["ServingObserver", "VersionObserver"]


class VersionObserver(Protocol):
    """Figures of one loaded version."""

    def batch(self, rows: int, waits: Sequence[float], predict_s: float, queued_rows: int
              ) -> None:
        """One predict call ran: its rows, each request's wait in the queue (seconds), the
        call's duration, and the rows still queued after it."""

    def cache(self, hit: bool) -> None:
        """One prediction cache lookup."""


class ServingObserver(Protocol):
    """Figures of the model manager."""

    def version_hooks(self, name: str, version: str) -> VersionObserver:
        """The observer of a version being loaded (called once per load)."""
        ...

    def loaded(self, name: str, version: str, seconds: float) -> None:
        """A version finished loading."""

    def load_failed(self, name: str, version: str) -> None:
        """A version failed to load."""
