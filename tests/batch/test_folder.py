"""Files that appear whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelport.batch.folder import OutputFolder, atomic_writer, remove_stale_temporaries


def test_a_failed_write_leaves_neither_the_file_nor_a_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out" / "part.parquet"
    with pytest.raises(RuntimeError), atomic_writer(str(target)) as handle:
        handle.write(b"half")
        raise RuntimeError("killed")
    assert not target.exists()
    assert list((tmp_path / "out").iterdir()) == []


def test_a_write_replaces_the_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "f.json"
    target.write_bytes(b"old")
    with atomic_writer(str(target)) as handle:
        handle.write(b"new")
        assert target.read_bytes() == b"old"  # not visible until the block ends
    assert target.read_bytes() == b"new"


def test_temporaries_of_a_killed_writer_are_removed(tmp_path: Path) -> None:
    (tmp_path / ".rejects.jsonl.tmp-123-abcd").write_bytes(b"partial")
    (tmp_path / "rejects.jsonl").write_bytes(b"done")
    remove_stale_temporaries(str(tmp_path / "rejects.jsonl"))
    assert [p.name for p in tmp_path.iterdir()] == ["rejects.jsonl"]


def test_the_output_folder_reads_lists_and_removes(tmp_path: Path) -> None:
    folder = OutputFolder(str(tmp_path / "out"))
    assert folder.read("missing.json") is None
    assert folder.names("nowhere") == []
    folder.write("a/b.json", b"{}", temp_dir="_tmp")
    folder.write("c.json", b"[]")
    assert folder.read("a/b.json") == b"{}"
    assert folder.names() == ["c.json"]
    assert list((tmp_path / "out" / "_tmp").iterdir()) == []
    folder.remove("a")
    assert folder.names("a") == []
    assert folder.url_of("c.json") == str(tmp_path / "out" / "c.json")
