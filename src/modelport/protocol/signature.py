"""A model's signature: its named inputs and outputs, with datatype and shape.

The shape uses -1 for a variable dimension; the first dimension is the batch. A tabular
signature stores one input per feature, each of shape ``[-1]``, so rows from CSV, Parquet or
JSON records map to inputs by column name. On the wire such a model also takes the form every
Open Inference Protocol client sends: one ``[-1, F]`` tensor holding the rows
(:attr:`Signature.matrix`), which is what its metadata advertises when the features share one
datatype.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from modelport.errors import InvalidInput
from modelport.protocol.datatypes import DATATYPES

MATRIX_INPUT = "input-0"
"""The advertised name of a tabular model's one ``[-1, F]`` input (any name is accepted)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TensorSpec:
    """One named input or output."""

    name: str
    datatype: str
    shape: tuple[int, ...]

    def __post_init__(self) -> None:
        if self.datatype not in DATATYPES:
            raise InvalidInput(f"tensor {self.name!r}: unknown datatype {self.datatype!r}")
        if any(d < -1 for d in self.shape):
            raise InvalidInput(f"tensor {self.name!r}: dimensions must be >= -1, got {self.shape}")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TensorSpec:
        return cls(
            name=str(data["name"]),
            datatype=str(data["datatype"]),
            shape=tuple(int(d) for d in data["shape"]),
        )

    def accepts_shape(self, shape: tuple[int, ...]) -> bool:
        """Whether a concrete shape fits this spec (-1 matches any size)."""
        if len(shape) != len(self.shape):
            return False
        return all(want in (-1, got) for want, got in zip(self.shape, shape, strict=True))


@dataclass(frozen=True, slots=True, kw_only=True)
class Signature:
    """The inputs and outputs of a model, in order."""

    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    tabular: bool = False
    """True when every input is one feature column of shape [-1]."""
    _by_name: dict[str, TensorSpec] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for kind, specs in (("input", self.inputs), ("output", self.outputs)):
            names = [s.name for s in specs]
            dupes = {n for n in names if names.count(n) > 1}
            if dupes:
                raise InvalidInput(f"duplicate {kind} names in signature: {sorted(dupes)}")
        self._by_name.update({s.name: s for s in self.inputs})

    @property
    def input_names(self) -> list[str]:
        return [s.name for s in self.inputs]

    @property
    def output_names(self) -> list[str]:
        return [s.name for s in self.outputs]

    def input(self, name: str) -> TensorSpec | None:
        return self._by_name.get(name)

    @property
    def matrix(self) -> TensorSpec | None:
        """The one ``[-1, F]`` tensor a tabular model takes, its columns the features in
        order; None unless the signature is tabular and every feature has one datatype."""
        if not self.tabular or not self.inputs:
            return None
        datatype = self.inputs[0].datatype
        if any(s.datatype != datatype or s.shape != (-1,) for s in self.inputs):
            return None
        return TensorSpec(name=MATRIX_INPUT, datatype=datatype, shape=(-1, len(self.inputs)))

    @property
    def wire_inputs(self) -> tuple[TensorSpec, ...]:
        """The inputs as generic clients should send them: the matrix form when there is one."""
        matrix = self.matrix
        return (matrix,) if matrix is not None else self.inputs

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": [s.to_dict() for s in self.inputs],
            "outputs": [s.to_dict() for s in self.outputs],
            "tabular": self.tabular,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Signature:
        return cls(
            inputs=tuple(TensorSpec.from_dict(d) for d in data.get("inputs", [])),
            outputs=tuple(TensorSpec.from_dict(d) for d in data.get("outputs", [])),
            tabular=bool(data.get("tabular", False)),
        )

    @classmethod
    def for_table(
        cls, features: Iterable[str], outputs: Iterable[TensorSpec], *, datatype: str = "FP32"
    ) -> Signature:
        """A tabular signature: one ``[-1]`` input per feature column."""
        return cls(
            inputs=tuple(TensorSpec(name=f, datatype=datatype, shape=(-1,)) for f in features),
            outputs=tuple(outputs),
            tabular=True,
        )
