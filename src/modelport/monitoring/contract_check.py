"""The per-request data contract check, compiled once per contract.

Numeric inputs are checked together: their arrays are concatenated into one block and compared
with the bound vectors in two numpy operations (NaN fails both comparisons, so missing values
fall out of the same test). Only a request that fails gets the slower pass that says which
field, which value, which rule. Categorical inputs are one ``np.isin`` each.

A tabular model's rows sent as one ``[N, F]`` tensor are read as the contract's fields in
order (a contract lists a model's features in signature order), the transposed matrix being the
block already, without a copy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from modelport.errors import ContractViolation
from modelport.monitoring.contract import Contract, FieldRule
from modelport.protocol.types import Tensor

__all__ = ["ContractCheck", "Violation", "contract_error"]

_SHOWN = 20
_NUMERIC_TYPES = frozenset(
    ("INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64",
     "FP16", "FP32", "FP64")
)


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: which field, which row, what came, what was allowed."""

    field: str
    rule: str
    """``type``, ``min``, ``max``, ``missing`` or ``category``."""
    value: Any
    limit: Any = None
    row: int = 0

    def describe(self) -> str:
        value = _show(self.value)
        if self.rule == "min":
            return f"{self.field}={value} is below the minimum {self.limit:g} (row {self.row})"
        if self.rule == "max":
            return f"{self.field}={value} is above the maximum {self.limit:g} (row {self.row})"
        if self.rule == "missing":
            return f"{self.field} is missing (row {self.row}) and the contract does not allow it"
        if self.rule == "category":
            allowed = ", ".join(self.limit[:8]) + (", ..." if len(self.limit) > 8 else "")
            return f"{self.field}={value} is not an allowed category ({allowed}) (row {self.row})"
        return f"{self.field} was sent as {value}; the contract wants {self.limit}"

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "rule": self.rule, "value": self.value,
                "limit": self.limit, "row": self.row}


class ContractCheck:
    """Checks requests against one contract; most requests cost a handful of numpy calls."""

    __slots__ = ("_cats", "_fields", "_hi", "_lo", "_numeric", "_positions", "_types",
                 "contract")

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        numeric = [
            f for f in contract.fields
            if f.kind == "numeric" and f.datatype in _NUMERIC_TYPES
            and (f.min is not None or f.max is not None or not f.nullable)
        ]
        self._numeric = tuple(numeric)
        self._lo = np.array([-math.inf if f.min is None else f.min for f in numeric])[:, None]
        self._hi = np.array([math.inf if f.max is None else f.max for f in numeric])[:, None]
        self._cats = tuple(
            (f, np.array([c.encode() for c in f.categories] + list(f.categories), dtype=object))
            for f in contract.fields
            if f.kind == "categorical" and f.datatype == "BYTES" and f.categories is not None
        )
        self._types = {f.name: f.datatype for f in contract.fields}
        self._fields = tuple(f.name for f in contract.fields)
        self._positions: dict[tuple[str, ...], tuple[int, ...] | None] = {}
        """Input order of a request -> where the numeric fields are (learnt once per order)."""

    def violations(self, inputs: Sequence[Tensor]) -> list[Violation]:
        """Every broken rule in the request (empty when it fits the contract).

        Datatypes are the signature's to enforce (a mistyped input is refused after this
        stage with 400); they are listed here only beside other violations.
        """
        if (len(inputs) == 1 and inputs[0].data.ndim == 2
                and inputs[0].name not in self._types):
            return self._matrix_violations(inputs[0])
        found: list[Violation] = []
        if self._numeric:
            order = tuple([t.name for t in inputs])
            positions = self._positions.get(order, ())
            if positions == ():
                positions = self._learn(order)
            if positions is None or not self._check_block(inputs, positions, found):
                self._check_each({t.name: t for t in inputs}, found)
        if self._cats:
            by_name = {t.name: t for t in inputs}
            for rule, allowed in self._cats:
                tensor = by_name.get(rule.name)
                if tensor is not None and tensor.datatype == "BYTES":
                    _check_categories(rule, allowed, tensor.data.reshape(-1), found)
        if found:
            types = self._types
            found[:0] = [Violation(t.name, "type", t.datatype, types[t.name]) for t in inputs
                         if t.name in types and t.datatype != types[t.name]]
        return found

    def _matrix_violations(self, tensor: Tensor) -> list[Violation]:
        """Rows sent as one ``[N, F]`` tensor, column j being feature j."""
        names = tensor.features or self._fields
        data = tensor.data
        found: list[Violation] = []
        if data.shape[1] != len(names):
            return found  # not this model's rows: the signature check refuses them
        if self._numeric and tensor.datatype in _NUMERIC_TYPES:
            positions = self._positions.get(names, ())
            if positions == ():
                positions = self._learn(names)
            if positions is not None:
                block = data.T
                if positions != tuple(range(len(names))):
                    block = block[list(positions)]
                self._check_values(block, found)
        if self._cats and tensor.datatype == "BYTES":
            where = {name: j for j, name in enumerate(names)}
            for rule, allowed in self._cats:
                j = where.get(rule.name)
                if j is not None:
                    _check_categories(rule, allowed, data[:, j], found)
        if found:
            types = self._types
            found[:0] = [Violation(n, "type", tensor.datatype, types[n]) for n in names
                         if n in types and tensor.datatype != types[n]]
        return found

    def _learn(self, order: tuple[str, ...]) -> tuple[int, ...] | None:
        where = {name: i for i, name in enumerate(order)}
        found = tuple(where.get(rule.name, -1) for rule in self._numeric)
        positions = None if -1 in found else found
        if len(self._positions) < 64:
            self._positions[order] = positions
        return positions

    def _check_block(self, inputs: Sequence[Tensor], positions: tuple[int, ...],
                     found: list[Violation]) -> bool:
        """All numeric fields in two comparisons; False when they cannot form one block."""
        block = _shared_block(inputs, positions)
        if block is None:
            try:
                block = np.concatenate([inputs[i].data for i in positions]).reshape(
                    len(positions), -1)
            except ValueError:  # differing shapes: the signature check will say so
                return False
        self._check_values(block, found)
        return True

    def _check_values(self, block: np.ndarray[Any, Any], found: list[Violation]) -> None:
        """``block[i]`` holds the values of numeric rule i."""
        if ((block >= self._lo) & (block <= self._hi)).all():
            return
        for i, rule in enumerate(self._numeric):
            _explain(rule, block[i], found)

    def _check_each(self, by_name: dict[str, Tensor], found: list[Violation]) -> None:
        for rule in self._numeric:
            tensor = by_name.get(rule.name)
            if tensor is not None and tensor.datatype in _NUMERIC_TYPES:
                _explain(rule, tensor.data.reshape(-1), found)


def _shared_block(inputs: Sequence[Tensor], positions: tuple[int, ...]
                  ) -> np.ndarray[Any, Any] | None:
    """The block without copying, when the decoder already made it: the JSON codec converts
    same-typed inputs in one flat array and hands out consecutive pieces in input order, so
    when the numeric fields are the request's first inputs, in order, and fill that array, it
    *is* the block. (A 2-D base, such as a pandas block, is never taken: its row order is its
    own.)"""
    k = len(positions)
    if positions[0] != 0 or positions[-1] != k - 1:
        return None
    base = inputs[0].data.base
    if type(base) is not np.ndarray or base.ndim != 1 or base.size != k * inputs[0].data.size:
        return None
    for i in range(k):
        if positions[i] != i or inputs[i].data.base is not base:
            return None
    block: np.ndarray[Any, Any] = base.reshape(k, -1)
    return block


def _explain(rule: FieldRule, values: np.ndarray[Any, Any], found: list[Violation]) -> None:
    lo = -math.inf if rule.min is None else rule.min
    hi = math.inf if rule.max is None else rule.max
    bad = ~((values >= lo) & (values <= hi))
    if not bad.any():
        return
    for row in np.flatnonzero(bad)[:_SHOWN].tolist():
        value = values[row].item()
        if isinstance(value, float) and math.isnan(value):
            if not rule.nullable:
                found.append(Violation(rule.name, "missing", None, None, row))
        elif value < lo:
            found.append(Violation(rule.name, "min", value, lo, row))
        else:
            found.append(Violation(rule.name, "max", value, hi, row))


def _check_categories(
    rule: FieldRule, allowed: np.ndarray[Any, Any], values: np.ndarray[Any, Any],
    found: list[Violation],
) -> None:
    ok = np.isin(values, allowed)
    if ok.all():
        return
    for row in np.flatnonzero(~ok)[:_SHOWN].tolist():
        value = values[row]
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        if text == "":
            if not rule.nullable:
                found.append(Violation(rule.name, "missing", None, None, row))
        else:
            found.append(Violation(rule.name, "category", text, rule.categories, row))


def contract_error(model: str, violations: Sequence[Violation]) -> ContractViolation:
    """The 422 answer: every violation, one per clause, and how to change the contract."""
    shown = "; ".join(v.describe() for v in violations[:_SHOWN])
    more = f"; and {len(violations) - _SHOWN} more" if len(violations) > _SHOWN else ""
    return ContractViolation(
        f"the request breaks the data contract of model {model!r}: {shown}{more}. "
        f"If the data is right, widen the contract: modelport monitor contract {model} "
        f"--set FIELD.max=VALUE",
        details={"violations": [v.to_dict() for v in violations]},
    )


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value) if isinstance(value, str) else str(value)
