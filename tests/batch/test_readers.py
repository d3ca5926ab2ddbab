"""Streaming a unit's rows in batches of exactly batch_size rows, whatever the format."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from modelport.batch.readers import probe_schema, read_unit
from modelport.batch.sources import discover, plan_units
from modelport.errors import InvalidInput

from .helpers import write_parquet


def _batches(path: Path, columns: list[str], batch_size: int) -> list:
    files = discover(str(path))
    return [
        batch
        for unit in plan_units(files)
        for batch in read_unit(files[unit.file], unit, columns, batch_size)
    ]


def test_parquet_batches_are_cut_within_each_row_group(tmp_path: Path) -> None:
    frame = pd.DataFrame({"id": range(25), "x": [float(i) for i in range(25)], "y": 1})
    path = write_parquet(frame, tmp_path / "t.parquet", row_group_size=10)
    batches = _batches(path, ["x", "id"], 4)
    assert [(b.index, b.first_row, b.num_rows) for b in batches] == [
        (0, 0, 4), (1, 4, 4), (2, 8, 2),
        (0, 10, 4), (1, 14, 4), (2, 18, 2),
        (0, 20, 4), (1, 24, 1),
    ]  # fmt: skip
    assert batches[0].data.schema.names == ["x", "id"]
    assert [v for b in batches for v in b.data.column("id").to_pylist()] == list(range(25))


def test_csv_is_read_as_text_in_exact_batches(tmp_path: Path) -> None:
    lines = ["id,x,label"] + [f"{i},{i}.5,l{i}" for i in range(10)] + ["10,abc,l10"]
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n")
    batches = _batches(path, ["id", "x"], 3)
    assert [(b.first_row, b.num_rows) for b in batches] == [(0, 3), (3, 3), (6, 3), (9, 2)]
    assert batches[0].data.schema == pa.schema([("id", pa.string()), ("x", pa.string())])
    assert batches[-1].data.column("x").to_pylist() == ["9.5", "abc"]
    assert probe_schema(discover(str(path))[0]).field("id").type == pa.int64()


def test_jsonl_keeps_unparsable_lines_as_broken_rows(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"id": 0, "x": 1.5}\n\n{"id": 1, "x": "two"}\n{not json\n[1, 2]\n{"id": 4}\n')
    batches = _batches(path, ["id", "x"], 10)
    assert len(batches) == 1
    batch = batches[0]
    assert batch.num_rows == 5  # the blank line is not a row
    assert batch.data.column("id").to_pylist() == [0, 1, None, None, 4]
    # a column of mixed JSON types arrives as text, to be checked cell by cell
    assert batch.data.column("x").to_pylist() == ["1.5", "two", None, None, None]
    assert sorted(batch.broken) == [2, 3]
    assert batch.broken[2][0].startswith("not valid JSON")
    assert batch.broken[3] == ("not a JSON object", "[1, 2]")


def test_jsonl_schema_comes_from_the_first_rows(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"id": 1, "name": "a"}\n{"id": 2, "extra": true}\n')
    schema = probe_schema(discover(str(path))[0])
    assert schema.names == ["id", "name", "extra"]
    assert schema.field("id").type == pa.int64()


def test_a_csv_that_cannot_be_parsed_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('a,b\n1,2,3\n"unterminated\n')
    with pytest.raises(InvalidInput, match=r"cannot read .*t\.csv as csv"):
        probe_schema(discover(str(path))[0])
