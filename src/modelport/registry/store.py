"""Content-addressed artifact store on a local folder or any fsspec URL.

Artifacts live at ``<root>/sha256/<first two hex>/<sha256>/<original name>``: the hash makes
the location, keeping the original name keeps file extensions that runtimes detect flavors by.
Every ``fetch`` re-hashes the bytes it hands out, so a changed artifact is refused, never served.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from modelport.errors import IntegrityError, InvalidInput, NotFound, Unavailable
from modelport.registry.lineage import hash_path


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredArtifact:
    """Where an artifact was stored and what its bytes hash to."""

    uri: str
    sha256: str
    size: int


class ArtifactStore:
    """Put files and directories under their sha256; fetch them back, verified."""

    def __init__(self, root: str, *, cache_dir: Path | None = None) -> None:
        if not root:
            raise InvalidInput("artifact store root is empty; give a folder or an fsspec URL")
        self.root = root
        self._cache_dir = cache_dir or Path(tempfile.gettempdir()) / "modelport-artifacts"
        try:
            self._fs, self._base = fsspec.core.url_to_fs(root)
        except (ImportError, ValueError) as exc:
            raise InvalidInput(
                f"artifact store root {root!r} is not usable: {exc}; "
                "give a local folder or an fsspec URL such as s3://bucket/prefix"
            ) from None
        self._local = isinstance(self._fs, LocalFileSystem)

    def __repr__(self) -> str:
        return f"ArtifactStore({self.root!r})"

    def put(self, path: Path) -> StoredArtifact:
        """Copy a file or a whole directory into the store; idempotent for equal content."""
        path = Path(path)
        if not path.exists():
            raise NotFound(
                f"artifact {path} does not exist; give the path of a model file or folder"
            )
        sha256 = hash_path(path)
        size = _size_of(path)
        target = self._join("sha256", sha256[:2], sha256, path.name)
        with _store_errors(self.root):
            self._copy_in(path, target, sha256)
        return StoredArtifact(uri=self._uri(target), sha256=sha256, size=size)

    def put_file(self, path: Path) -> StoredArtifact:
        """Store one file (e.g. a reference-data parquet); refuses directories."""
        if Path(path).is_dir():
            raise InvalidInput(f"{path} is a directory; put_file stores single files, use put()")
        return self.put(path)

    def put_bytes(self, data: bytes, name: str) -> StoredArtifact:
        """Store in-memory bytes under ``name`` (e.g. ``reference.parquet``)."""
        if not name or "/" in name or name in (".", ".."):
            raise InvalidInput(f"artifact name must be a plain file name, got {name!r}")
        with tempfile.TemporaryDirectory(prefix="modelport-put-") as tmp:
            file = Path(tmp) / name
            file.write_bytes(data)
            return self.put(file)

    def fetch(self, uri: str, expected_sha256: str, *, model: str, version: int) -> Path:
        """A local path to the artifact whose bytes hash to ``expected_sha256``.

        Remote artifacts are downloaded once into the local cache; local ones are used in
        place. Either way the bytes are hashed again on every call.
        """
        label = f"model {model!r} version {version}"
        fs, rpath = fsspec.core.url_to_fs(uri)
        if isinstance(fs, LocalFileSystem):
            local = Path(rpath)
            if not local.exists():
                raise NotFound(f"artifact of {label} is missing from the store: {uri}")
            _verify(local, expected_sha256, label, uri)
            return local
        cached = self._cache_dir / expected_sha256 / Path(rpath).name
        if cached.exists() and hash_path(cached) == expected_sha256:
            return cached
        return self._download(fs, rpath, cached, expected_sha256, label, uri)

    def _download(
        self, fs: Any, rpath: str, cached: Path, expected: str, label: str, uri: str
    ) -> Path:
        with _store_errors(uri):
            if not fs.exists(rpath):
                raise NotFound(f"artifact of {label} is missing from the store: {uri}")
            cached.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".fetch-", dir=cached.parent))
            try:
                local = staging / cached.name
                fs.get(rpath, str(local), recursive=fs.isdir(rpath))
                _verify(local, expected, label, uri)
                _place(local, cached, expected)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        return cached

    def _join(self, *parts: str) -> str:
        return "/".join([self._base.rstrip("/"), *parts])

    def _uri(self, target: str) -> str:
        if self._local:
            return target
        return str(self._fs.unstrip_protocol(target))

    def _copy_in(self, path: Path, target: str, sha256: str) -> None:
        if self._local:
            _copy_local(path, Path(target), sha256)
        elif path.is_dir():
            # A trailing slash copies the folder's contents into target, existing or not.
            self._fs.put(f"{path}/", f"{target}/", recursive=True)
        else:
            self._fs.put(str(path), target)


def _copy_local(path: Path, final: Path, sha256: str) -> None:
    """Stage next to the target, then rename into place: readers never see half a copy."""
    if final.exists() and hash_path(final) == sha256:
        return
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".put-", dir=final.parent))
    try:
        staged = staging / path.name
        if path.is_dir():
            shutil.copytree(path, staged)
        else:
            shutil.copyfile(path, staged)
        _place(staged, final, sha256)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _place(staged: Path, final: Path, sha256: str) -> None:
    """Rename ``staged`` onto ``final`` atomically.

    A directory already in place that holds the same bytes (another process won the race)
    is kept; a damaged one is replaced.
    """
    try:
        os.replace(staged, final)
    except OSError:  # a non-empty directory is in the way
        if hash_path(final) == sha256:
            return
        shutil.rmtree(final)
        os.replace(staged, final)


def _verify(local: Path, expected: str, label: str, uri: str) -> None:
    actual = hash_path(local)
    if actual != expected:
        raise IntegrityError(
            f"artifact of {label} has changed since it was registered: expected sha256 "
            f"{expected}, found {actual} at {uri}; refusing to load it. Register the model "
            "again if the change is intended.",
            details={"expected_sha256": expected, "actual_sha256": actual, "uri": uri},
        )


def _size_of(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


@contextmanager
def _store_errors(where: str) -> Iterator[None]:
    """Translate I/O failures of the storage backend into Unavailable."""
    try:
        yield
    except OSError as exc:
        raise Unavailable(f"artifact store {where} failed: {exc}") from exc
