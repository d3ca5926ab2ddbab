"""Tiny in-test models shared by the serving tests."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from modelport.protocol.signature import Signature, TensorSpec
from modelport.runtimes.base import Array, Batch, Runtime

SIGNATURE = Signature(
    inputs=(TensorSpec(name="x", datatype="FP32", shape=(-1, 3)),),
    outputs=(
        TensorSpec(name="y", datatype="FP32", shape=(-1, 3)),
        TensorSpec(name="total", datatype="FP64", shape=(-1,)),
    ),
)


class Scaler(Runtime):
    """Multiplies x by a factor; ``total`` is the row sum. Negative input makes it raise."""

    flavor = "python"

    def __init__(
        self, factor: float = 2.0, *, load_delay_s: float = 0.0, fail_negative: bool = True
    ) -> None:
        super().__init__()
        self.factor = factor
        self.fail_negative = fail_negative
        self.unloaded = False
        if load_delay_s:
            time.sleep(load_delay_s)

    @classmethod
    def detect(cls, path: Path) -> bool:
        return False

    def load(self, path: Path) -> None:
        pass

    def signature(self) -> Signature:
        return SIGNATURE

    def predict(self, inputs: Batch) -> dict[str, Array]:
        x = inputs["x"]
        if self.fail_negative and (x < 0).any():
            raise ValueError("negative input")
        return {"y": x * np.float32(self.factor), "total": x.sum(axis=1).astype(np.float64)}

    def unload(self) -> None:
        self.unloaded = True


def broken() -> Runtime:
    raise RuntimeError("weights file is corrupt")


TABLE = Signature.for_table(
    ["amount", "count"],
    [TensorSpec(name="score", datatype="FP64", shape=(-1,))],
    datatype="FP64",
)


class Table(Scaler):
    """A tabular model: score = amount * count."""

    def signature(self) -> Signature:
        return TABLE

    def predict(self, inputs: Batch) -> dict[str, Array]:
        return {"score": inputs["amount"] * inputs["count"]}
