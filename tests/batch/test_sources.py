"""Finding input files and cutting them into work units."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from modelport.batch.sources import discover, plan_units
from modelport.errors import InvalidInput, NotFound

from .helpers import write_parquet


def _tables(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    frame = pd.DataFrame({"x": range(10)})
    write_parquet(frame, data / "b.parquet", row_group_size=4)
    write_parquet(frame.head(3), data / "a.parquet", row_group_size=4)
    (data / "sub").mkdir()
    frame.to_csv(data / "sub" / "c.csv", index=False)
    (data / "d.jsonl").write_text('{"x": 1}\n')
    (data / "_SUCCESS").write_text("")
    (data / ".hidden.parquet").write_text("junk")
    (data / "notes.txt").write_text("not a table")
    return data


def test_a_folder_lists_its_tables_recursively_in_path_order(tmp_path: Path) -> None:
    data = _tables(tmp_path)
    files = discover(str(data))
    assert [Path(f.url).relative_to(data).as_posix() for f in files] == [
        "a.parquet",
        "b.parquet",
        "d.jsonl",
        "sub/c.csv",
    ]
    assert [f.format for f in files] == ["parquet", "parquet", "jsonl", "csv"]
    assert files[1].row_groups == (4, 4, 2)
    assert files[1].rows == 10
    assert files[2].rows is None


def test_a_glob_and_a_file_url_select_the_same_files(tmp_path: Path) -> None:
    data = _tables(tmp_path)
    by_glob = discover(str(data / "*.parquet"))
    by_url = discover(f"file://{data}/*.parquet")
    assert [f.url for f in by_glob] == [str(data / "a.parquet"), str(data / "b.parquet")]
    assert [f.url for f in by_url] == [f.url for f in by_glob]


def test_units_are_row_groups_for_parquet_and_whole_files_otherwise(tmp_path: Path) -> None:
    data = _tables(tmp_path)
    units = plan_units(discover(str(data)))
    assert [(u.file, u.chunk, u.first_row, u.rows) for u in units] == [
        (0, 0, 0, 3),
        (1, 0, 0, 4),
        (1, 1, 4, 4),
        (1, 2, 8, 2),
        (2, 0, 0, None),
        (3, 0, 0, None),
    ]
    assert units[2].key == "00001-00001"


def test_missing_inputs_and_empty_matches_are_clear(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="does not exist"):
        discover(str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(NotFound, match="holds no Parquet, CSV or JSON Lines files"):
        discover(str(tmp_path / "empty"))
    with pytest.raises(NotFound, match="matched 0 file"):
        discover(str(tmp_path / "*.parquet"))


def test_a_file_of_unknown_format_or_a_broken_parquet_is_refused(tmp_path: Path) -> None:
    (tmp_path / "rows.txt").write_text("x\n1\n")
    with pytest.raises(InvalidInput, match="cannot tell the format"):
        discover(str(tmp_path / "rows.txt"))
    (tmp_path / "broken.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(InvalidInput, match="not a readable Parquet file"):
        discover(str(tmp_path / "broken.parquet"))
