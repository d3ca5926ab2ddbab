"""A model's signature, digested once per version into tables a request is checked against.

Checking a request then costs one dict lookup and a few comparisons per input: names, datatype,
rank, fixed dimensions and an equal number of rows. Every refusal names the model, the input,
what the signature wants and what came.

A tabular model takes its rows in either form: one ``[N]`` tensor per feature, or one ``[N, F]``
tensor (any name, as MLServer accepts: a model with one input has nothing to confuse it with).
The matrix becomes a :class:`FeatureMatrix` without a copy. A model with exactly one input
likewise accepts a single tensor under another name.
"""

from __future__ import annotations

import numpy as np

from modelport.errors import InvalidInput, PredictionFailed
from modelport.protocol.datatypes import oip_datatype
from modelport.protocol.signature import Signature
from modelport.protocol.types import InferenceRequest, RequestedOutput, Tensor
from modelport.runtimes.base import Array, Batch
from modelport.runtimes.tabular import FeatureMatrix

__all__ = ["SignaturePlan"]

# name -> (datatype, declared shape, rank, ((axis, size), ...) for every fixed axis)
_Spec = tuple[str, tuple[int, ...], int, tuple[tuple[int, int], ...] | None]


class SignaturePlan:
    """Validates requests against one model version's signature and picks its outputs."""

    __slots__ = (
        "_inputs", "_matrix", "_model", "_order", "_out_order", "_outputs", "batchable",
        "layout", "open",
    )

    def __init__(self, model: str, signature: Signature) -> None:
        self._model = model
        self._inputs: dict[str, _Spec] = {
            s.name: (
                s.datatype,
                s.shape,
                len(s.shape),
                tuple((axis, size) for axis, size in enumerate(s.shape) if size >= 0) or None,
            )
            for s in signature.inputs
        }
        self._order = tuple(s.name for s in signature.inputs)
        matrix = signature.matrix
        self._matrix = None if matrix is None else (matrix.datatype, FeatureMatrix(self._order,
                                                                                 _NO_ROWS))
        """The datatype of the ``[N, F]`` form and an empty FeatureMatrix to copy its index."""
        self._outputs = {s.name: s.datatype for s in signature.outputs}
        self._out_order = tuple(s.name for s in signature.outputs)
        self.open = not signature.inputs
        """True when the signature names no inputs: every request is passed through."""
        self.batchable = all(s.shape and s.shape[0] == -1 for s in signature.inputs)
        """False when an input fixes its first dimension (or is a scalar): no merging then."""
        fixed = all(d >= 0 for s in signature.inputs for d in s.shape[1:])
        self.layout: str | None = f"{model}:fixed" if fixed and not self.open else None
        """One batching layout key for every valid request, when the signature fixes every
        non-batch dimension (validated requests then always merge); else None."""

    def inputs(self, request: InferenceRequest) -> Batch:
        """The request's arrays by name, in signature order, or InvalidInput saying why not."""
        if request.outputs is not None:
            self._check_requested(request.outputs)
        tensors = request.inputs
        if self.open:
            return {t.name: t.data for t in tensors}
        specs = self._inputs
        if len(tensors) == 1 and tensors[0].name not in specs:
            if self._matrix is not None:
                return self._matrix_batch(tensors[0])
            if len(specs) == 1:  # one input: the name cannot be confused with another
                name = self._order[0]
                return {name: self._checked(name, specs[name], tensors[0])}
        batch: dict[str, Array] = {}
        rows = -1
        for tensor in tensors:
            name = tensor.name
            spec = specs.get(name)
            if spec is None:
                raise self._unknown(name, len(tensors))
            arr = self._checked(name, spec, tensor)
            if spec[2]:
                if rows == -1:
                    rows = arr.shape[0]
                elif arr.shape[0] != rows:
                    raise InvalidInput(
                        f"model {self._model!r}: input {name!r} has {arr.shape[0]} row(s) but "
                        f"earlier inputs have {rows}; every input needs the same first dimension"
                    )
            batch[name] = arr
        if len(batch) != len(specs):
            missing = [n for n in self._order if n not in batch]
            raise InvalidInput(
                f"model {self._model!r} is missing input(s) {', '.join(map(repr, missing))}; "
                f"it takes: {self._takes()}"
            )
        if tuple(batch) != self._order:
            batch = {n: batch[n] for n in self._order}
        return batch

    def _checked(self, name: str, spec: _Spec, tensor: Tensor) -> Array:
        """The tensor's array once its datatype, rank and fixed dimensions fit ``spec``."""
        datatype, shape, rank, fixed = spec
        if tensor.datatype != datatype:
            raise InvalidInput(
                f"model {self._model!r} input {name!r} takes {datatype}, got "
                f"{tensor.datatype}; send the data as {datatype}"
            )
        arr = tensor.data
        got = arr.shape
        if len(got) != rank or (
            fixed is not None and any(got[axis] != size for axis, size in fixed)
        ):
            raise InvalidInput(
                f"model {self._model!r} input {name!r} takes shape {_show(shape)} "
                f"(-1 is any size), got {list(got)}"
            )
        return arr

    def _matrix_batch(self, tensor: Tensor) -> FeatureMatrix:
        """A tabular model's rows sent as one ``[N, F]`` tensor, as a FeatureMatrix view."""
        assert self._matrix is not None
        datatype, empty = self._matrix
        width = len(self._order)
        arr = tensor.data
        if tensor.datatype != datatype:
            raise InvalidInput(
                f"model {self._model!r} takes its rows as one {datatype} tensor of shape "
                f"[-1, {width}], got {tensor.datatype} in {tensor.name!r}; send the data as "
                f"{datatype}"
            )
        if arr.ndim != 2 or arr.shape[1] != width:
            raise InvalidInput(
                f"model {self._model!r} takes its rows as one tensor of shape [-1, {width}] "
                f"(one row per example, one column per feature: {_names(self._order)}), got "
                f"{tensor.name!r} of shape {list(arr.shape)}"
                + (f"; for one row send shape [1, {width}]" if arr.shape == (width,) else "")
            )
        tensor.features = self._order
        return empty.with_matrix(arr)

    def _unknown(self, name: str, sent: int) -> InvalidInput:
        if self._matrix is not None and sent > 1:
            return InvalidInput(
                f"model {self._model!r} has no input {name!r}; send either one [N, "
                f"{len(self._order)}] tensor holding every feature, or one [N] tensor per "
                f"feature named {_names(self._order)}, not a mix"
            )
        return InvalidInput(
            f"model {self._model!r} has no input {name!r}; it takes: {self._takes()}"
        )

    def _takes(self) -> str:
        if self._matrix is not None:
            return (f"one [N, {len(self._order)}] {self._matrix[0]} tensor, or one [N] tensor "
                    f"per feature: {_names(self._order)}")
        return ", ".join(self._order)

    def outputs(self, request: InferenceRequest, produced: dict[str, Array]) -> list[Tensor]:
        """The requested outputs (every signature output when none was named) as tensors."""
        if request.outputs is not None:
            names: tuple[str, ...] | list[str] = [o.name for o in request.outputs]
        else:
            names = self._out_order or tuple(produced)
        tensors: list[Tensor] = []
        for name in names:
            arr = produced.get(name)
            if arr is None:
                raise PredictionFailed(
                    f"model {self._model!r} did not return output {name!r} that its signature "
                    f"declares; it returned: {', '.join(produced) or 'nothing'}"
                )
            datatype = self._outputs.get(name) or oip_datatype(arr.dtype)
            tensors.append(Tensor(name=name, datatype=datatype, data=arr))
        return tensors

    def _check_requested(self, wanted: list[RequestedOutput]) -> None:
        if not self._outputs:
            return
        for out in wanted:
            if out.name not in self._outputs:
                raise InvalidInput(
                    f"model {self._model!r} has no output {out.name!r}; its outputs are: "
                    f"{', '.join(self._out_order)}"
                )


_NO_ROWS: Array = np.empty((0, 0))


def _names(names: tuple[str, ...], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


def _show(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"
