"""The inference pipeline: concerns wrap one ``Infer`` callable, assembled from a list.

Security (who may call), routing (which version answers, who gets a shadow copy) and
monitoring (contract checks, metrics, the inference log) each contribute a :data:`Stage`: a
function that takes the next ``Infer`` and returns one wrapping it. The data plane builds the
chain once, in one place, around its core (validate against the signature, batch, predict).

A :class:`CallContext` travels with each request: transports fill in what they know (protocol,
headers or gRPC metadata, the authenticated principal); stages read it and leave notes in it
(the version that answered, timings) for stages further out. ``name`` is the endpoint the caller
addressed and never changes; routing records the model it picked in ``target``, so a stage
outside routing counts and logs the endpoint whatever model answered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from modelport.protocol.types import InferenceRequest, InferenceResponse

__all__ = ["CallContext", "Infer", "Stage", "compose"]


@dataclass(slots=True, kw_only=True)
class CallContext:
    """What is known about one inference call beyond its payload."""

    name: str
    """The model or endpoint name the caller addressed; never reassigned."""

    version: str | None = None
    """The version asked for (None = what the name resolves to); routing may set it."""

    target: str | None = None
    """The model routing chose to answer (None: the model named ``name``)."""

    protocol: str = "rest"
    """``rest`` or ``grpc``."""

    headers: Mapping[str, str] = field(default_factory=dict)
    """HTTP headers or gRPC metadata, keys lower-case."""

    principal: Any = None
    """Who is calling, as the security layer authenticated them (None when auth is off)."""

    notes: dict[str, Any] = field(default_factory=dict)
    """Free-form facts stages share, e.g. ``queue_ms`` or ``shadow``."""

    @property
    def model(self) -> str:
        """The model that answers: routing's choice, else the name addressed."""
        return self.target or self.name


Infer = Callable[[CallContext, InferenceRequest], Awaitable[InferenceResponse]]
"""Answer one request (the core, or a stage wrapping it)."""

Stage = Callable[[Infer], Infer]
"""Wrap an ``Infer`` with one concern, returning the wrapped ``Infer``."""


def compose(stages: Sequence[Stage], core: Infer) -> Infer:
    """``stages[0]`` is outermost: it sees the request first and the response last."""
    infer = core
    for stage in reversed(stages):
        infer = stage(infer)
    return infer
