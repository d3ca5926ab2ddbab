"""Messages to model inputs, and predictions back to output records.

A message is a JSON object keyed by feature name (one row), or an Open Inference Protocol
request (``{"inputs": [...]}``, any number of rows). The rows of one micro-batch become one
set of named arrays, so the model sees one vectorised call. A message that cannot become
valid input is *rejected* with a reason, never raised: it goes to the dead-letter stream and
the rest of the batch carries on.

Decoding the rows tries three ways, cheapest first: numpy columns straight from the parsed
objects; the table codec on the whole batch; the table codec one row at a time, only to find
which rows are bad.

A result carries the event's id fields (``keep``, by default ``id``) as they were, so it can be
joined back to the event: ``{"transaction_id": "t-1", "predict": 0, "id": "1700-0", ...}``.
``id`` is the input's stream id (Redis entry id, Kafka key or ``partition:offset``) unless the
event has its own ``id`` field, which is kept instead (the stream id is still the Redis
entry's ``id`` field and the Kafka record's key).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from modelport.errors import ErrorKind, InvalidInput, ModelportError
from modelport.protocol.datatypes import numpy_dtype
from modelport.protocol.json_codec import decode_request
from modelport.protocol.signature import Signature
from modelport.protocol.table_codec import frame_to_inputs, outputs_to_rows, records_to_frame
from modelport.runtimes.base import Array
from modelport.streaming.base import Message, Record

__all__ = ["Decoded", "Decoder", "Kept", "Rejected", "dead_letter", "output_records",
           "request_record"]

Kept = dict[int, dict[str, Any]]
"""The id fields kept from each message, by ``id(message)`` (only messages that had some)."""


@dataclass(frozen=True, slots=True)
class Rejected:
    """A message that cannot be scored, and why."""

    message: Message
    reason: str
    kind: str = ErrorKind.INVALID_INPUT.value


@dataclass(slots=True)
class Decoded:
    """One micro-batch, split into what the model can take and what it cannot."""

    rows: list[Message] = field(default_factory=list)
    """Feature-record messages, one row each, in the order of ``inputs``."""
    inputs: dict[str, Array] | None = None
    """The rows as named arrays (None when there are no rows)."""
    requests: list[tuple[Message, dict[str, Array]]] = field(default_factory=list)
    """OIP-request messages, each with its own named arrays."""
    rejected: list[Rejected] = field(default_factory=list)
    kept: Kept = field(default_factory=dict)
    """The id fields each message's result carries (see :data:`Kept`)."""


class Decoder:
    """Checks messages against one model's signature and builds its input arrays."""

    def __init__(self, model: str, signature: Signature, *,
                 keep: Sequence[str] = ("id",)) -> None:
        self.model = model
        self.signature = signature
        self.keep = tuple(keep)
        self._names = tuple(signature.input_names)
        self._required = frozenset(self._names)
        self._fast = [
            (s.name, numpy_dtype(s.datatype))
            for s in signature.inputs
            if s.datatype != "BYTES" and len(s.shape) == 1
        ]
        self._all_fast = len(self._fast) == len(self._names)

    def decode(self, messages: Sequence[Message]) -> Decoded:
        out = Decoded()
        objects: list[dict[str, Any]] = []
        for message in messages:
            payload = message.payload
            if payload is None:
                out.rejected.append(Rejected(message, "the entry has no payload field"))
                continue
            try:
                doc = orjson.loads(payload)
            except orjson.JSONDecodeError as exc:
                out.rejected.append(Rejected(message, f"the payload is not valid JSON: {exc}"))
                continue
            if type(doc) is not dict:
                out.rejected.append(Rejected(message, _NOT_OBJECT))
                continue
            kept = {name: doc[name] for name in self.keep if name in doc}
            if kept:
                out.kept[id(message)] = kept
            if "inputs" in doc and "inputs" not in self._required:
                self._request(message, payload, out)
                continue
            if not self._required <= doc.keys():
                missing = [n for n in self._names if n not in doc]
                out.rejected.append(Rejected(message, self._missing(missing)))
                continue
            out.rows.append(message)
            objects.append(doc)
        if objects:
            self._rows(objects, out)
        return out

    def _missing(self, missing: list[str]) -> str:
        shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
        return (
            f"the event lacks {len(missing)} feature(s) model {self.model!r} needs: {shown}; "
            f"send a JSON object keyed by feature name with every one of: {', '.join(self._names)}"
        )

    def _rows(self, objects: list[dict[str, Any]], out: Decoded) -> None:
        if self._all_fast:
            try:
                out.inputs = {
                    name: np.array([o[name] for o in objects], dtype=dtype)
                    for name, dtype in self._fast
                }
                if all(a.ndim == 1 for a in out.inputs.values()):
                    return
            except (ValueError, TypeError, OverflowError):
                pass
        try:
            out.inputs = frame_to_inputs(records_to_frame(objects, self.signature), self.signature)
            return
        except InvalidInput:
            pass
        good: list[Message] = []
        parts: list[dict[str, Array]] = []
        for message, obj in zip(out.rows, objects, strict=True):
            try:
                parts.append(
                    frame_to_inputs(records_to_frame([obj], self.signature), self.signature)
                )
                good.append(message)
            except InvalidInput as exc:
                out.rejected.append(Rejected(message, exc.message, exc.kind.value))
        out.rows = good
        out.inputs = (
            {name: np.concatenate([p[name] for p in parts]) for name in self._names}
            if parts
            else None
        )

    def _request(self, message: Message, payload: bytes, out: Decoded) -> None:
        try:
            request = decode_request(payload)
            out.requests.append((message, self._tensors(request.inputs)))
        except ModelportError as exc:
            out.rejected.append(Rejected(message, exc.message, exc.kind.value))

    def _tensors(self, tensors: Sequence[Any]) -> dict[str, Array]:
        """The request's arrays in signature order, or InvalidInput naming the mismatch."""
        given = {t.name: t for t in tensors}
        unknown = [n for n in given if n not in self._required]
        if unknown:
            raise InvalidInput(
                f"model {self.model!r} has no input(s) {', '.join(map(repr, unknown))}; "
                f"its inputs are: {', '.join(self._names)}"
            )
        missing = [n for n in self._names if n not in given]
        if missing:
            raise InvalidInput(
                f"the request lacks input(s) {', '.join(map(repr, missing))} of model "
                f"{self.model!r}; it takes: {', '.join(self._names)}"
            )
        batch: dict[str, Array] = {}
        rows = -1
        for spec in self.signature.inputs:
            tensor = given[spec.name]
            if tensor.datatype != spec.datatype:
                raise InvalidInput(
                    f"input {spec.name!r} of model {self.model!r} takes {spec.datatype}, "
                    f"got {tensor.datatype}"
                )
            shape = tuple(tensor.data.shape)
            if not shape or not spec.accepts_shape(shape):
                raise InvalidInput(
                    f"input {spec.name!r} of model {self.model!r} takes shape "
                    f"{list(spec.shape)} (-1 is any size), got {list(shape)}"
                )
            if rows not in (-1, shape[0]):
                raise InvalidInput(
                    f"input {spec.name!r} has {shape[0]} row(s) but earlier inputs have {rows}; "
                    "every input needs the same first dimension"
                )
            rows = shape[0]
            batch[spec.name] = tensor.data
        return batch


_NOT_OBJECT = (
    "the payload must be a JSON object keyed by feature name, or an Open Inference Protocol "
    'request {"inputs": [...]}'
)


def output_records(
    messages: Sequence[Message], outputs: dict[str, Array], *, model: str, version: str,
    kept: Kept | None = None,
) -> list[Record]:
    """One record per row-message: every output's value, its id fields, the model and version."""
    rows = outputs_to_rows(outputs)
    kept = kept or {}
    return [
        Record(m.id, orjson.dumps({**row, "id": m.id, **kept.get(id(m), {}), "model": model,
                                   "version": version}))
        for m, row in zip(messages, rows, strict=True)
    ]


def request_record(
    message: Message, outputs: dict[str, Array], *, model: str, version: str,
    kept: Kept | None = None,
) -> Record:
    """The record for an OIP-request message: every output as a whole (nested) list."""
    rows = outputs_to_rows(outputs)
    doc: dict[str, Any] = {name: [row[name] for row in rows] for name in outputs}
    doc["id"] = message.id
    doc.update((kept or {}).get(id(message), {}))
    doc.update(model=model, version=version)
    return Record(message.id, orjson.dumps(doc))


def dead_letter(rejected: Rejected, *, model: str, version: str) -> Record:
    """The dead-letter record: the reason, and the original payload, untouched when it is text."""
    doc: dict[str, Any] = {
        "id": rejected.message.id,
        "model": model,
        "version": version,
        "kind": rejected.kind,
        "reason": rejected.reason,
    }
    payload = rejected.message.payload
    if payload is not None:
        try:
            doc["payload"] = payload.decode("utf-8")
        except UnicodeDecodeError:
            doc["payload_base64"] = base64.b64encode(payload).decode("ascii")
    return Record(rejected.message.id, orjson.dumps(doc))
