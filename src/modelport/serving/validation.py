"""A model's signature, digested once per version into tables a request is checked against.

Checking a request then costs one dict lookup and a few comparisons per input: names, datatype,
rank, fixed dimensions and an equal number of rows. Every refusal names the model, the input,
what the signature wants and what came.
"""

from __future__ import annotations

from modelport.errors import InvalidInput, PredictionFailed
from modelport.protocol.datatypes import oip_datatype
from modelport.protocol.signature import Signature
from modelport.protocol.types import InferenceRequest, RequestedOutput, Tensor
from modelport.runtimes.base import Array

__all__ = ["SignaturePlan"]

# name -> (datatype, declared shape, rank, ((axis, size), ...) for every fixed axis)
_Spec = tuple[str, tuple[int, ...], int, tuple[tuple[int, int], ...] | None]


class SignaturePlan:
    """Validates requests against one model version's signature and picks its outputs."""

    __slots__ = (
        "_inputs", "_model", "_order", "_out_order", "_outputs", "batchable", "layout", "open"
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

    def inputs(self, request: InferenceRequest) -> dict[str, Array]:
        """The request's arrays by name, in signature order, or InvalidInput saying why not."""
        if request.outputs is not None:
            self._check_requested(request.outputs)
        if self.open:
            return {t.name: t.data for t in request.inputs}
        specs = self._inputs
        batch: dict[str, Array] = {}
        rows = -1
        for tensor in request.inputs:
            name = tensor.name
            spec = specs.get(name)
            if spec is None:
                raise InvalidInput(
                    f"model {self._model!r} has no input {name!r}; its inputs are: "
                    f"{', '.join(self._order)}"
                )
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
            if rank:
                if rows == -1:
                    rows = got[0]
                elif got[0] != rows:
                    raise InvalidInput(
                        f"model {self._model!r}: input {name!r} has {got[0]} row(s) but earlier "
                        f"inputs have {rows}; every input needs the same first dimension"
                    )
            batch[name] = arr
        if len(batch) != len(specs):
            missing = [n for n in self._order if n not in batch]
            raise InvalidInput(
                f"model {self._model!r} is missing input(s) {', '.join(map(repr, missing))}; "
                f"it takes: {', '.join(self._order)}"
            )
        if tuple(batch) != self._order:
            batch = {n: batch[n] for n in self._order}
        return batch

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


def _show(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"
