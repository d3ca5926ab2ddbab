"""Where a model version came from: training data, code revision, parent version.

``hash_path`` is the one content hash of the registry: the artifact store addresses files and
directories by it, and lineage records the training data by it, so ``sha256sum model.onnx``
and the registry agree for single files.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from modelport.errors import NotFound

_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True, kw_only=True)
class Lineage:
    """Provenance of one model version; every field is optional."""

    training_data_uri: str | None = None
    """Where the training data lives (path or URL)."""

    training_data_sha256: str | None = None
    """Content hash of the training data at training time."""

    code_revision: str | None = None
    """Git commit of the training code."""

    parent_version: int | None = None
    """The version of the same model this one was derived from (fine-tuned, retrained)."""

    reference_uri: str | None = None
    """Where the reference sample of training data is stored (for drift checks)."""

    reference_sha256: str | None = None
    """Content hash of the reference sample."""


def hash_path(path: Path) -> str:
    """sha256 of a file's bytes, or a deterministic sha256 over a directory tree.

    A directory hashes its files in sorted relative-path order, each as the path, its size
    and its bytes, so renaming, moving or editing any file changes the hash.
    """
    if path.is_file():
        digest = hashlib.sha256()
        _feed_file(digest, path)
        return digest.hexdigest()
    if path.is_dir():
        digest = hashlib.sha256()
        for rel in _sorted_files(path):
            full = path / rel
            digest.update(rel.encode("utf-8") + b"\0")
            digest.update(str(full.stat().st_size).encode("ascii") + b"\0")
            _feed_file(digest, full)
        return digest.hexdigest()
    raise NotFound(f"cannot hash {path}: no such file or directory")


def _feed_file(digest: hashlib._Hash, path: Path) -> None:
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)


def _sorted_files(root: Path) -> list[str]:
    """Relative POSIX paths of every regular file under ``root``, sorted."""
    found: list[str] = []
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            full = Path(dirpath) / name
            if full.is_file():
                found.append(full.relative_to(root).as_posix())
    return sorted(found)


def current_code_revision(cwd: Path | None = None) -> str | None:
    """The git commit checked out at ``cwd`` (default: the working directory), if any."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--verify", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    revision = done.stdout.strip()
    return revision if done.returncode == 0 and revision else None


def capture(
    training_data: Path | None = None,
    *,
    parent_version: int | None = None,
    cwd: Path | None = None,
) -> Lineage:
    """Lineage for a model trained now: hashes the training data, reads the git commit."""
    return Lineage(
        training_data_uri=str(training_data.resolve()) if training_data else None,
        training_data_sha256=hash_path(training_data) if training_data else None,
        code_revision=current_code_revision(cwd),
        parent_version=parent_version,
    )
