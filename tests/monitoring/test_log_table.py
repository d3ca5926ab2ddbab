"""Records become one row per instance row, columns per tensor, redacted and hashed."""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa

from modelport.monitoring.log_table import Redaction, records_to_table
from modelport.protocol.types import Tensor

from .logdata import record


def test_one_row_per_instance_row() -> None:
    table = records_to_table(
        [record("a", [1.0, 2.0], violations="amount:max"), record("b", [3.0])], Redaction())
    assert table.num_rows == 3
    assert table["request_id"].to_pylist() == ["a", "a", "b"]
    assert table["row"].to_pylist() == [0, 1, 0]
    assert table["in_amount"].to_pylist() == [1.0, 2.0, 3.0]
    assert table["out_predict"].to_pylist() == [0, 1, 0]
    assert table["out_predict_proba"].type == pa.list_(pa.float32(), 2)
    assert table["out_predict_proba"].to_pylist()[2] == [0.25, 0.75]
    assert table["violations"].to_pylist() == ["amount:max", "amount:max", None]
    assert table["timestamp"].type == pa.timestamp("us", tz="UTC")
    assert table["latency_ms"].to_pylist()[0 ] > 1.9


def test_outputs_some_requests_did_not_ask_for_are_null() -> None:
    table = records_to_table(
        [record("a", [1.0], with_proba=False), record("b", [2.0, 3.0])], Redaction())
    assert table["out_predict_proba"].to_pylist() == [None, [0.25, 0.75], [0.25, 0.75]]


def test_bytes_become_text_and_are_redacted_or_hashed() -> None:
    rec = record("a", [1.0, 2.0], email=[b"ann@example.com", b"bob@example.com"])
    plain = records_to_table([rec], Redaction())
    assert plain["in_email"].to_pylist() == ["ann@example.com", "bob@example.com"]
    hidden = records_to_table([rec], Redaction(redact=frozenset({"email"})))
    assert "in_email" not in hidden.column_names
    hashed = records_to_table([rec], Redaction(hashed=frozenset({"email", "amount"}),
                                               salt=b"pepper"))
    want = hashlib.sha256(b"pepper" + b"ann@example.com").hexdigest()
    assert hashed["in_email"].to_pylist()[0] == want
    assert hashed["in_amount"].to_pylist()[0] == hashlib.sha256(b"pepper1.0").hexdigest()


def test_column_shaped_inputs_are_flat_and_images_are_skipped() -> None:
    rec = record("a", [1.0], inputs=[
        Tensor(name="col", datatype="FP32", data=np.ones((1, 1), dtype=np.float32)),
        Tensor(name="img", datatype="FP32", data=np.ones((1, 64, 65), dtype=np.float32)),
        Tensor(name="half", datatype="FP16", data=np.ones(1, dtype=np.float16)),
    ])
    table = records_to_table([rec], Redaction())
    assert table["in_col"].to_pylist() == [1.0]
    assert table["in_half"].type == pa.float32()
    assert "in_img" not in table.column_names


def test_decoded_json_requests_give_the_same_table_through_the_shared_array() -> None:
    """Records decoded by the JSON codec take the one-array-per-request path; the table is
    the same as from separate arrays, for 1-row and multi-row requests, and a request whose
    inputs were reordered after decoding falls back to the general path."""
    import orjson

    from modelport.protocol.json_codec import decode_request

    def decoded(rows: list[list[float]]) -> list[Tensor]:
        body = {"inputs": [{"name": f"f{j}", "datatype": "FP32", "shape": [len(rows)],
                            "data": [r[j] for r in rows]} for j in range(3)]}
        return decode_request(orjson.dumps(body)).inputs

    def separate(rows: list[list[float]]) -> list[Tensor]:
        return [Tensor(name=f"f{j}", datatype="FP32",
                       data=np.array([r[j] for r in rows], dtype=np.float32)) for j in range(3)]

    for shapes in ([[[1, 2, 3]], [[4, 5, 6]]], [[[1, 2, 3], [7, 8, 9]], [[4, 5, 6]]]):
        via_json = [record(f"r{i}", [0.0] * len(rows), inputs=decoded(rows))
                    for i, rows in enumerate(shapes)]
        plain = [record(f"r{i}", [0.0] * len(rows), inputs=separate(rows))
                 for i, rows in enumerate(shapes)]
        got = records_to_table(via_json, Redaction()).select(["in_f0", "in_f1", "in_f2"])
        want = records_to_table(plain, Redaction()).select(["in_f0", "in_f1", "in_f2"])
        assert got.to_pylist() == want.to_pylist()
    reordered = decoded([[1, 2, 3]])[::-1]
    table = records_to_table([record("r", [0.0], inputs=reordered)], Redaction())
    assert table.select(["in_f0", "in_f1", "in_f2"]).to_pylist() == [
        {"in_f0": 1.0, "in_f1": 2.0, "in_f2": 3.0}]


def test_multi_value_rows_decoded_from_json_keep_their_width() -> None:
    import orjson

    from modelport.protocol.json_codec import decode_request

    body = {"inputs": [{"name": f"v{j}", "datatype": "FP32", "shape": [2, 3],
                        "data": [j, j, j, 9, 9, 9]} for j in range(2)]}
    decoded = decode_request(orjson.dumps(body)).inputs
    table = records_to_table([record("r", [0.0, 0.0], inputs=decoded)], Redaction())
    assert table["in_v1"].to_pylist() == [[1.0, 1.0, 1.0], [9.0, 9.0, 9.0]]
    assert table["row"].to_pylist() == [0, 1]
