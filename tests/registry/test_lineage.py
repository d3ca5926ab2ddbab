from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from modelport.errors import NotFound
from modelport.registry.lineage import capture, current_code_revision, hash_path


def test_file_hash_equals_plain_sha256(artifact: Path) -> None:
    assert hash_path(artifact) == hashlib.sha256(artifact.read_bytes()).hexdigest()


def test_directory_hash_is_deterministic_across_copies(artifact_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(artifact_dir, copy)
    assert hash_path(copy) == hash_path(artifact_dir)


@pytest.mark.parametrize("change", ["edit", "rename", "move", "add"])
def test_directory_hash_sees_every_change(artifact_dir: Path, change: str) -> None:
    before = hash_path(artifact_dir)
    if change == "edit":
        (artifact_dir / "config.json").write_text('{"layers": 3}')
    elif change == "rename":
        (artifact_dir / "config.json").rename(artifact_dir / "config2.json")
    elif change == "move":
        (artifact_dir / "tokenizer" / "vocab.txt").rename(artifact_dir / "vocab.txt")
    else:
        (artifact_dir / "extra.txt").write_text("")
    assert hash_path(artifact_dir) != before


def test_content_shift_between_files_changes_the_hash(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").write_text("ab")
    (a / "y").write_text("c")
    (b / "x").write_text("a")
    (b / "y").write_text("bc")
    assert hash_path(a) != hash_path(b)


def test_missing_path_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no such file"):
        hash_path(tmp_path / "nope")


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_code_revision_inside_and_outside_a_git_repo(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    assert current_code_revision(repo) is None  # no commit yet
    (repo / "train.py").write_text("print('hi')\n")
    _git(repo, "add", "train.py")
    _git(repo, "commit", "-q", "-m", "first")
    head = _git(repo, "rev-parse", "HEAD")
    assert current_code_revision(repo) == head
    outside = tmp_path / "plain"
    outside.mkdir()
    assert current_code_revision(outside) is None


def test_capture_hashes_training_data(artifact: Path, tmp_path: Path) -> None:
    lineage = capture(artifact, parent_version=2, cwd=tmp_path)
    assert lineage.training_data_sha256 == hashlib.sha256(artifact.read_bytes()).hexdigest()
    assert lineage.training_data_uri == str(artifact.resolve())
    assert lineage.parent_version == 2
