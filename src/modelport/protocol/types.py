"""The one request and response type that travels the whole data plane.

Tensors hold numpy arrays; codecs (JSON, binary extension, gRPC) translate to and from these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

Parameters = dict[str, Any]


@dataclass(slots=True, kw_only=True)
class Tensor:
    """A named n-dimensional array with its OIP datatype."""

    name: str
    datatype: str
    data: np.ndarray[Any, Any]
    parameters: Parameters = field(default_factory=dict)
    features: tuple[str, ...] | None = None
    """Set once a tabular model accepted this ``[rows, F]`` tensor: the feature each column
    holds, in order, so monitoring logs named columns whichever form the client sent."""

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.data.shape)


@dataclass(slots=True, kw_only=True)
class RequestedOutput:
    """An output the caller asked for, with e.g. ``{"binary_data": true}``."""

    name: str
    parameters: Parameters = field(default_factory=dict)


@dataclass(slots=True, kw_only=True)
class InferenceRequest:
    inputs: list[Tensor]
    id: str | None = None
    parameters: Parameters = field(default_factory=dict)
    outputs: list[RequestedOutput] | None = None
    """None means every output of the signature."""


@dataclass(slots=True, kw_only=True)
class InferenceResponse:
    model_name: str
    outputs: list[Tensor]
    model_version: str | None = None
    id: str | None = None
    parameters: Parameters = field(default_factory=dict)
