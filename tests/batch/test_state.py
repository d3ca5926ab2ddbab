"""The journal of an output folder: who may write there, and the manifest."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelport.batch.state import RunFolder
from modelport.errors import Conflict

JOB = {"model": {"name": "m", "version": 1}, "batch_size": 10, "inputs": []}


def test_the_same_unfinished_job_resumes_and_a_different_one_is_refused(tmp_path: Path) -> None:
    folder = RunFolder(str(tmp_path))
    assert folder.claim(JOB, overwrite=False) is None
    (tmp_path / "part-00000-00000-00000.parquet").write_bytes(b"x")
    assert folder.claim(JOB, overwrite=False) is None  # same job: resume, keep the part
    assert (tmp_path / "part-00000-00000-00000.parquet").exists()
    other = {**JOB, "model": {"name": "m", "version": 2}}
    with pytest.raises(Conflict) as caught:
        folder.claim(other, overwrite=False)
    assert "holds the unfinished output of a different job (model m:1 vs now m:2)" in (
        caught.value.message
    )
    assert "re-run that job's exact command" in caught.value.message
    assert folder.claim(other, overwrite=True) is None
    assert not (tmp_path / "part-00000-00000-00000.parquet").exists()


def test_part_files_of_an_unknown_run_are_not_overwritten_silently(tmp_path: Path) -> None:
    (tmp_path / "part-0.parquet").write_bytes(b"x")
    (tmp_path / "README.md").write_text("mine")
    with pytest.raises(Conflict, match="part files of an unknown run"):
        RunFolder(str(tmp_path)).claim(JOB, overwrite=False)
    RunFolder(str(tmp_path)).claim(JOB, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md", "_batch"]


def test_a_run_that_stopped_before_scoring_anything_is_taken_over(tmp_path: Path) -> None:
    folder = RunFolder(str(tmp_path))
    folder.claim(JOB, overwrite=False)  # e.g. the model then failed to load
    other = {**JOB, "batch_size": 20}
    assert folder.claim(other, overwrite=False) is None
    assert b'"batch_size":20' in (tmp_path / "_batch" / "job.json").read_bytes()
