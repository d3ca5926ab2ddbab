"""Give a converted ONNX graph the original model's signature, exactly.

Converters emit a graph of their own shape: one ``[N, F]`` float matrix in, outputs named
``label``/``probabilities``/``variable``. A client of the converted version must not notice the
change, so the core graph is wrapped: one input per feature column (``[-1]``, the original
datatype) cast and stacked into the core's matrix, and each core output renamed, cast and
reshaped into the original output (``predict``, ``predict_proba``). Core tensor names are
prefixed so feature names can never collide with them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modelport.errors import UnsupportedArtifact
from modelport.protocol.signature import Signature, TensorSpec

__all__ = ["ONNX_TYPES", "OutputPlan", "check_same_signature", "wrap_tabular"]

#: OIP datatype -> onnx.TensorProto element type number.
ONNX_TYPES: dict[str, int] = {
    "FP32": 1, "UINT8": 2, "INT8": 3, "UINT16": 4, "INT16": 5, "INT32": 6, "INT64": 7,
    "BYTES": 8, "BOOL": 9, "FP16": 10, "FP64": 11, "UINT32": 12, "UINT64": 13,
}
_PREFIX = "core/"
_MIN_OPSET = 13
"""Unsqueeze takes its axes as an input from opset 13 on."""


@dataclass(frozen=True, slots=True)
class OutputPlan:
    """How one signature output is made from a core output."""

    source: str
    """The core graph's output name."""
    argmax: bool = False
    """Take the row-wise argmax (class index) of the source, as the tabular runtimes do."""


def _rename_core(graph: Any) -> None:
    """Prefix every tensor name of the core graph (in place)."""

    def new(name: str) -> str:
        return _PREFIX + name if name else name

    for node in graph.node:
        node.input[:] = [new(n) for n in node.input]
        node.output[:] = [new(n) for n in node.output]
        node.name = new(node.name)
    for init in graph.initializer:
        init.name = new(init.name)
    for group in (graph.input, graph.output, graph.value_info):
        for vi in group:
            vi.name = new(vi.name)


def _dims(spec: TensorSpec) -> list[Any]:
    return ["N" if i == 0 else (d if d >= 0 else f"d{i}") for i, d in enumerate(spec.shape)]


def wrap_tabular(core: Any, signature: Signature, outputs: Mapping[str, OutputPlan]) -> Any:
    """The core model (one ``[N, F]`` float input) behind the tabular ``signature``."""
    from onnx import TensorProto, helper

    graph = core.graph
    if len(graph.input) != 1:
        raise UnsupportedArtifact(
            f"the converted graph has {len(graph.input)} inputs; expected one feature matrix"
        )
    _rename_core(graph)
    matrix = graph.input[0].name
    float_type = graph.input[0].type.tensor_type.elem_type
    front: list[Any] = []
    inputs: list[Any] = []
    axes = helper.make_tensor("mp/axes1", TensorProto.INT64, [1], [1])
    columns: list[str] = []
    for i, spec in enumerate(signature.inputs):
        if spec.datatype == "BYTES":
            raise UnsupportedArtifact(
                f"feature {spec.name!r} is text; only numeric tabular models convert to ONNX"
            )
        inputs.append(helper.make_tensor_value_info(spec.name, ONNX_TYPES[spec.datatype], ["N"]))
        col = spec.name
        if ONNX_TYPES[spec.datatype] != float_type:
            front.append(helper.make_node("Cast", [col], [f"mp/cast{i}"], to=float_type))
            col = f"mp/cast{i}"
        front.append(helper.make_node("Unsqueeze", [col, "mp/axes1"], [f"mp/col{i}"]))
        columns.append(f"mp/col{i}")
    front.append(helper.make_node("Concat", columns, [matrix], axis=1))

    back: list[Any] = []
    out_infos: list[Any] = []
    core_types = {o.name: o.type.tensor_type.elem_type for o in graph.output}
    for spec in signature.outputs:
        plan = outputs[spec.name]
        source = _PREFIX + plan.source
        if source not in core_types:
            raise UnsupportedArtifact(
                f"the converted graph has no output {plan.source!r} for {spec.name!r}"
            )
        current, current_type = source, core_types[source]
        tag = spec.name
        if plan.argmax:
            back.append(helper.make_node("ArgMax", [current], [f"mp/{tag}/argmax"], axis=1,
                                         keepdims=0))
            current, current_type = f"mp/{tag}/argmax", TensorProto.INT64
        if len(spec.shape) == 1 and not plan.argmax:
            shape = helper.make_tensor(f"mp/{tag}/shape", TensorProto.INT64, [1], [-1])
            graph.initializer.append(shape)
            back.append(helper.make_node("Reshape", [current, f"mp/{tag}/shape"],
                                         [f"mp/{tag}/flat"]))
            current = f"mp/{tag}/flat"
        want = ONNX_TYPES[spec.datatype]
        if want != current_type:
            back.append(helper.make_node("Cast", [current], [f"mp/{tag}/cast"], to=want))
            current = f"mp/{tag}/cast"
        back.append(helper.make_node("Identity", [current], [spec.name]))
        out_infos.append(helper.make_tensor_value_info(spec.name, want, _dims(spec)))

    graph.initializer.append(axes)
    _need_opset(core, _MIN_OPSET)
    nodes = [*front, *graph.node, *back]
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.input[:]
    graph.input.extend(inputs)
    del graph.output[:]
    graph.output.extend(out_infos)
    return core


def _need_opset(model: Any, version: int) -> None:
    """Raise the default-domain opset to ``version`` (converters' Identity/Cast/Mul nodes
    mean the same there)."""
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            entry.version = max(entry.version, version)
            return
    entry = model.opset_import.add()
    entry.domain, entry.version = "", version


def check_same_signature(original: Signature, converted: Signature) -> None:
    """UnsupportedArtifact naming the first difference between two signatures."""
    for kind, ours, theirs in (
        ("input", original.inputs, converted.inputs),
        ("output", original.outputs, converted.outputs),
    ):
        a = [(s.name, s.datatype, s.shape) for s in ours]
        b = [(s.name, s.datatype, s.shape) for s in theirs]
        if a != b:
            diff = next(
                (f"{x} vs {y}" for x, y in zip(a, b, strict=False) if x != y),
                f"{len(a)} vs {len(b)} {kind}s",
            )
            raise UnsupportedArtifact(
                f"the converted model's {kind}s differ from the original's: {diff}; "
                "a converted version must keep the original signature"
            )

