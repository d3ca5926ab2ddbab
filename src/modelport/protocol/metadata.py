"""V2 metadata bodies: what ``GET /v2`` and ``GET /v2/models/{name}`` answer (REST and gRPC)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from modelport.protocol.signature import Signature

#: Protocol extensions modelport speaks, as listed in the server metadata.
EXTENSIONS = ("binary_tensor_data", "model_repository")


def server_metadata(
    *, name: str = "modelport", version: str | None = None, extensions: Iterable[str] = EXTENSIONS
) -> dict[str, Any]:
    """The server metadata body: ``{"name", "version", "extensions"}``."""
    if version is None:
        from modelport import __version__ as version
    return {"name": name, "version": version, "extensions": list(extensions)}


def model_metadata(
    name: str, versions: Iterable[str | int], platform: str, signature: Signature | None
) -> dict[str, Any]:
    """The model metadata body; a model without a known signature lists no tensors.

    A tabular model whose features share a datatype advertises its one ``[-1, F]`` input;
    the tensor's ``parameters.feature_names`` (REST only: gRPC metadata has no such field)
    say which feature each column holds.
    """
    if signature is None:
        inputs: list[dict[str, Any]] = []
        outputs: list[dict[str, Any]] = []
    else:
        inputs = [_tensor(s.name, s.datatype, s.shape) for s in signature.wire_inputs]
        if signature.matrix is not None:
            inputs[0]["parameters"] = {"feature_names": signature.input_names}
        outputs = [_tensor(s.name, s.datatype, s.shape) for s in signature.outputs]
    return {
        "name": name,
        "versions": [str(v) for v in versions],
        "platform": platform,
        "inputs": inputs,
        "outputs": outputs,
    }


def _tensor(name: str, datatype: str, shape: tuple[int, ...]) -> dict[str, Any]:
    return {"name": name, "datatype": datatype, "shape": list(shape)}
