"""The friendly route: ``POST /v1/models/{name}:predict`` with ``{"instances": [...]}``.

For people who do not think in tensors: rows are objects keyed by input name, or lists in
signature order (or, for a model with one multi-dimensional input, that input's values), and
the answer is ``{"predictions": [...]}``: one value per row for a one-output model, else one
object per row keyed by output name. Like V2, the answer says which version answered (body and
``x-model-version``) and the request id (body ``id`` and ``x-request-id``): the id feedback
is reported against. A request may bring its own ``"id"``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson

from modelport.errors import InvalidInput
from modelport.protocol.datatypes import numpy_dtype
from modelport.protocol.signature import Signature
from modelport.protocol.table_codec import frame_to_inputs, outputs_to_rows, records_to_frame
from modelport.protocol.types import InferenceRequest, InferenceResponse, Tensor
from modelport.serving.dataplane import DataPlane
from modelport.serving.pipeline import CallContext

__all__ = ["predict_rows", "rows_to_request"]

_EXAMPLE = '{"instances": [{"amount": 12.5, "country": "FR"}]}'


Headers = list[tuple[bytes, bytes]]


async def predict_rows(
    plane: DataPlane, name: str, body: bytes, ctx: CallContext | None = None
) -> tuple[bytes, Headers]:
    """Answer one friendly predict call: the JSON body and the headers to send back."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"request body is not valid JSON: {exc}; send {_EXAMPLE}") from None
    instances = doc.get("instances") if type(doc) is dict else None
    if type(instances) is not list or not instances:
        raise InvalidInput(f"send a JSON object with a non-empty 'instances' list, e.g. {_EXAMPLE}")
    given = doc.get("id")
    if given is not None and type(given) is not str:
        raise InvalidInput(f"'id' must be a string, got {type(given).__name__}")
    served = await plane.model(name)
    request = rows_to_request(served.signature, instances)
    request.id = given
    response = await plane.infer(name, served.version, request, ctx)
    answer: dict[str, Any] = {
        "model_name": response.model_name,
        "model_version": response.model_version,
    }
    headers: Headers = []
    if response.model_version:
        headers.append((b"x-model-version", response.model_version.encode()))
    if response.id is not None:
        answer["id"] = response.id
        headers.append((b"x-request-id", response.id.encode("latin-1", "replace")))
    answer["predictions"] = _predictions(response)
    return orjson.dumps(answer), headers


def rows_to_request(signature: Signature, rows: list[Any]) -> InferenceRequest:
    """An inference request holding ``rows``, converted to the signature's datatypes."""
    inputs = signature.inputs
    if len(inputs) == 1 and len(inputs[0].shape) > 1 and all(type(r) is list for r in rows):
        spec = inputs[0]
        try:
            data = np.asarray(rows, dtype=numpy_dtype(spec.datatype))
        except (TypeError, ValueError) as exc:
            raise InvalidInput(
                f"instances must be {spec.datatype} values of shape {list(spec.shape[1:])} "
                f"each: {exc}"
            ) from None
        return InferenceRequest(inputs=[Tensor(name=spec.name, datatype=spec.datatype, data=data)])
    arrays = frame_to_inputs(records_to_frame(rows, signature), signature)
    return InferenceRequest(
        inputs=[Tensor(name=s.name, datatype=s.datatype, data=arrays[s.name]) for s in inputs]
    )


def _predictions(response: InferenceResponse) -> list[Any]:
    if len(response.outputs) == 1:
        return [row["v"] for row in outputs_to_rows({"v": response.outputs[0].data})]
    return outputs_to_rows({t.name: t.data for t in response.outputs})
