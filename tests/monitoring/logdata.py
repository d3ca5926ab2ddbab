"""Records for the inference log tests."""

from __future__ import annotations

import time

import numpy as np

from modelport.monitoring.log_table import LogRecord, log_record
from modelport.protocol.types import Tensor


def record(
    request_id: str,
    amount: list[float],
    *,
    email: list[bytes] | None = None,
    model: str = "fraud",
    version: str = "1",
    ts: float | None = None,
    with_proba: bool = True,
    violations: str | None = None,
    inputs: list[Tensor] | None = None,
    outputs: list[Tensor] | None = None,
) -> LogRecord:
    n = len(amount)
    tensors = [Tensor(name="amount", datatype="FP64", data=np.array(amount))]
    if email is not None:
        tensors.append(Tensor(name="email", datatype="BYTES", data=np.array(email, dtype=object)))
    outs = [Tensor(name="predict", datatype="INT64", data=np.arange(n, dtype=np.int64) % 2)]
    if with_proba:
        proba = np.tile(np.array([[0.25, 0.75]], dtype=np.float32), (n, 1))
        outs.append(Tensor(name="predict_proba", datatype="FP32", data=proba))
    return log_record(
        time.time() if ts is None else ts, request_id, model, model, version, "rest", 0.002,
        inputs if inputs is not None else tensors, outputs if outputs is not None else outs,
        violations,
    )
