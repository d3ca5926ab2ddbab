"""Property test of the REST infer route: no body and no header makes it answer 5xx."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelport.serving.dataplane import DataPlane
from modelport.serving.models import ManagerConfig, ModelManager
from modelport.serving.rest import RestApp
from modelport.serving.source import StaticSource

from .tiny import Scaler

DATATYPES = ["FP32", "FP64", "INT64", "BOOL", "BYTES", "UINT8", "FP16", "fp32", "", "INT128"]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1), st.floats(allow_nan=False),
    st.text(max_size=4),
)
data = st.recursive(st.lists(scalars, max_size=8), lambda inner: st.lists(inner, max_size=3),
                    max_leaves=20)
tensor = st.fixed_dictionaries(
    {"name": st.sampled_from(["x", "y", ""]),
     "datatype": st.sampled_from(DATATYPES),
     "shape": st.one_of(st.lists(st.integers(-2, 4), max_size=3), scalars)},
    optional={"data": st.one_of(data, scalars),
              "parameters": st.one_of(st.dictionaries(st.text(max_size=3), scalars, max_size=2),
                                      st.fixed_dictionaries({"binary_data_size":
                                                             st.integers(-1, 16)}))},
)
documents = st.fixed_dictionaries(
    {"inputs": st.one_of(st.lists(tensor, max_size=3), scalars)},
    optional={"id": scalars,
              "outputs": st.one_of(st.lists(st.fixed_dictionaries(
                  {"name": st.sampled_from(["y", "total", "q"])}), max_size=2), scalars),
              "parameters": st.one_of(st.dictionaries(st.text(max_size=3), scalars), scalars)},
)
bodies = st.one_of(
    st.binary(max_size=64),
    documents.map(orjson.dumps),
    st.tuples(documents.map(orjson.dumps), st.binary(max_size=32)).map(lambda p: p[0] + p[1]),
)


@pytest.fixture(scope="module")
def harness() -> Iterator[tuple[asyncio.AbstractEventLoop, RestApp]]:
    source = StaticSource()
    source.add("scaler", 1, lambda: Scaler(fail_negative=False))
    plane = DataPlane(ModelManager(source, ManagerConfig(refs=("scaler",), poll_interval_s=0)))
    loop = asyncio.new_event_loop()
    loop.run_until_complete(plane.start(preload=True))
    loop.run_until_complete(plane.models.wait_preloaded())
    yield loop, RestApp(plane, max_body_bytes=1 << 16)
    loop.run_until_complete(plane.stop())
    loop.close()


async def _call(app: RestApp, body: bytes, header: bytes | None) -> tuple[int, Any]:
    headers = [(b"inference-header-content-length", header)] if header is not None else []
    scope = {"type": "http", "method": "POST", "path": "/v2/models/scaler/infer",
             "headers": headers}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], sent[1]["body"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies, header=st.one_of(st.none(), st.integers(-5, 200).map(lambda n: b"%d" % n),
                                     st.binary(max_size=4)))
def test_no_input_makes_the_infer_route_fail_with_5xx(
    harness: tuple[asyncio.AbstractEventLoop, RestApp], body: bytes, header: bytes | None
) -> None:
    loop, app = harness
    status, answer = loop.run_until_complete(_call(app, body, header))
    if status != 200:  # a model that never fails: anything but 200 is the input's fault
        assert status in (400, 413), (status, answer)
        assert orjson.loads(answer)["error"]
