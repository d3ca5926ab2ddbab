"""The data plane: signature validation, output selection, metadata, readiness."""

from __future__ import annotations

import numpy as np
import pytest

from modelport.errors import InvalidInput, NotFound
from modelport.protocol.types import InferenceRequest, RequestedOutput, Tensor
from modelport.serving.dataplane import DataPlane
from modelport.serving.models import ManagerConfig, ModelManager
from modelport.serving.source import StaticSource


def x_tensor(rows: int = 2, name: str = "x", datatype: str = "FP32", cols: int = 3) -> Tensor:
    data = np.arange(rows * cols, dtype=np.float32).reshape(rows, cols)
    return Tensor(name=name, datatype=datatype, data=data)


@pytest.fixture
async def plane(source: StaticSource) -> DataPlane:
    dp = DataPlane(ModelManager(source, ManagerConfig(refs=("scaler@production",))))
    await dp.start()
    yield dp  # type: ignore[misc]
    await dp.stop()


async def test_infer_answers_every_output_with_the_version_and_id(plane: DataPlane) -> None:
    resp = await plane.infer("scaler", None, InferenceRequest(inputs=[x_tensor()], id="r-1"))
    assert (resp.model_name, resp.model_version, resp.id) == ("scaler", "1", "r-1")
    assert [t.name for t in resp.outputs] == ["y", "total"]
    assert [t.datatype for t in resp.outputs] == ["FP32", "FP64"]
    assert resp.outputs[0].data.tolist() == [[0, 2, 4], [6, 8, 10]]
    assert resp.outputs[1].data.tolist() == [3.0, 12.0]


async def test_requested_outputs_only(plane: DataPlane) -> None:
    req = InferenceRequest(inputs=[x_tensor()], outputs=[RequestedOutput(name="total")])
    resp = await plane.infer("scaler", "1", req)
    assert [t.name for t in resp.outputs] == ["total"]


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (InferenceRequest(inputs=[x_tensor(), x_tensor(name="z")]),
         "has no input 'z'; it takes: x"),
        (InferenceRequest(inputs=[x_tensor(datatype="FP64")]), "takes FP32, got FP64"),
        (InferenceRequest(inputs=[x_tensor(cols=4)]), r"takes shape \[-1, 3\].*got \[2, 4\]"),
        (
            InferenceRequest(inputs=[x_tensor()], outputs=[RequestedOutput(name="nope")]),
            "has no output 'nope'; its outputs are: y, total",
        ),
    ],
)
async def test_requests_that_do_not_fit_the_signature(
    plane: DataPlane, request_: InferenceRequest, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        await plane.infer("scaler", None, request_)


async def test_a_model_with_one_input_takes_a_tensor_of_another_name(plane: DataPlane) -> None:
    """As MLServer does: with one input there is nothing to confuse the tensor with."""
    resp = await plane.infer("scaler", None, InferenceRequest(inputs=[x_tensor(name="input-0")]))
    assert resp.outputs[0].data.tolist() == [[0, 2, 4], [6, 8, 10]]


async def test_missing_inputs_and_disagreeing_rows(source: StaticSource) -> None:
    from modelport.protocol.signature import Signature, TensorSpec

    from .tiny import Scaler

    class TwoInputs(Scaler):
        def signature(self) -> Signature:
            spec = TensorSpec(name="a", datatype="FP32", shape=(-1,))
            return Signature(
                inputs=(spec, TensorSpec(name="b", datatype="FP32", shape=(-1,))),
                outputs=(spec,),
            )

        def predict(self, inputs):  # type: ignore[no-untyped-def]
            return {"a": inputs["a"] + inputs["b"]}

    source.add("pair", 1, TwoInputs)
    plane = DataPlane(ModelManager(source))
    one = Tensor(name="b", datatype="FP32", data=np.ones(2, dtype=np.float32))
    with pytest.raises(InvalidInput, match="missing input\\(s\\) 'a'; it takes: a, b"):
        await plane.infer("pair", None, InferenceRequest(inputs=[one]))
    three = Tensor(name="a", datatype="FP32", data=np.ones(3, dtype=np.float32))
    with pytest.raises(InvalidInput, match="has 2 row\\(s\\) but earlier inputs have 3"):
        await plane.infer("pair", None, InferenceRequest(inputs=[three, one]))
    # inputs in any order are fine
    two = Tensor(name="a", datatype="FP32", data=np.full(2, 5, dtype=np.float32))
    resp = await plane.infer("pair", None, InferenceRequest(inputs=[one, two]))
    assert resp.outputs[0].data.tolist() == [6.0, 6.0]
    await plane.stop()


async def test_metadata_and_readiness(plane: DataPlane) -> None:
    assert plane.live() and plane.ready()
    assert plane.server_metadata()["name"] == "modelport"
    assert not await plane.model_ready("scaler")
    meta = await plane.model_metadata("scaler")
    assert meta == {
        "name": "scaler",
        "versions": ["1"],
        "platform": "python",
        "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 3]}],
        "outputs": [
            {"name": "y", "datatype": "FP32", "shape": [-1, 3]},
            {"name": "total", "datatype": "FP64", "shape": [-1]},
        ],
    }
    assert await plane.model_ready("scaler")
    assert await plane.model_ready("scaler", "1")
    assert not await plane.model_ready("scaler", "2")
    with pytest.raises(NotFound):
        await plane.model_ready("ghost")
    with pytest.raises(NotFound):
        await plane.infer("ghost", None, InferenceRequest(inputs=[x_tensor()]))


async def test_cache_answers_repeats_without_the_model(source: StaticSource) -> None:
    from modelport.serving.cache import CachePolicy
    from modelport.serving.served import ModelOptions

    from .tiny import Scaler

    calls: list[int] = []

    class Counting(Scaler):
        def predict(self, inputs):  # type: ignore[no-untyped-def]
            calls.append(1)
            return super().predict(inputs)

    source.add("cached", 1, Counting)
    config = ManagerConfig(options=ModelOptions(cache=CachePolicy(max_entries=8)))
    plane = DataPlane(ModelManager(source, config))
    for _ in range(3):
        resp = await plane.infer("cached", None, InferenceRequest(inputs=[x_tensor()]))
        assert resp.outputs[1].data.tolist() == [3.0, 12.0]
    assert len(calls) == 1
    served = await plane.model("cached")
    assert served.cache is not None
    assert (served.cache.stats.hits, served.cache.stats.misses) == (2, 1)
    await plane.stop()
