"""Files that appear whole or not at all, in a local folder or behind an fsspec URL.

Every file a run writes goes through :func:`atomic_writer`: locally the bytes go to a
temporary name, are fsync-ed, then renamed over the final name (atomic on POSIX); on object
stores (s3, gs) a file is published whole by its single upload. A run killed at any moment
therefore leaves finished files and stray temporaries, never a half-written final file.
"""

from __future__ import annotations

import io
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from modelport.errors import InvalidInput, Unavailable


@contextmanager
def atomic_writer(url: str, *, temp_dir: str | None = None) -> Iterator[IO[bytes]]:
    """A binary file that replaces ``url`` only when the ``with`` block ends without error."""
    fs, path = _split(url)
    with _io_errors(url):
        if not isinstance(fs, LocalFileSystem):
            buffer = io.BytesIO()
            yield buffer
            fs.pipe_file(path, buffer.getvalue())
            return
        final = Path(path)
        final.parent.mkdir(parents=True, exist_ok=True)
        parent = Path(temp_dir) if temp_dir else final.parent
        parent.mkdir(parents=True, exist_ok=True)
        temp = parent / f".{final.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            with open(temp, "wb") as handle:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, final)
        finally:
            temp.unlink(missing_ok=True)


def remove_stale_temporaries(url: str) -> None:
    """Delete temporaries a killed writer of the local file ``url`` left beside it."""
    fs, path = _split(url)
    if isinstance(fs, LocalFileSystem):
        final = Path(path)
        for stray in final.parent.glob(f".{final.name}.tmp-*"):
            stray.unlink(missing_ok=True)


class OutputFolder:
    """The output folder of a run: names inside it are relative, with ``/`` separators."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.fs, root = _split(url)
        self.root = root.rstrip("/") or "/"
        self.local = isinstance(self.fs, LocalFileSystem)

    def __repr__(self) -> str:
        return f"OutputFolder({self.url!r})"

    def url_of(self, name: str) -> str:
        path = f"{self.root}/{name}"
        return path if self.local else str(self.fs.unstrip_protocol(path))

    def write(self, name: str, data: bytes, *, temp_dir: str | None = None) -> None:
        """Write ``name`` atomically (local temporaries go to ``temp_dir`` when given)."""
        temp = f"{self.root}/{temp_dir}" if temp_dir and self.local else None
        with atomic_writer(self.url_of(name), temp_dir=temp) as handle:
            handle.write(data)

    def read(self, name: str) -> bytes | None:
        """The bytes of ``name``, or None when it does not exist."""
        path = f"{self.root}/{name}"
        with _io_errors(self.url_of(name)):
            try:
                with self.fs.open(path, "rb") as handle:
                    data: bytes = handle.read()
                    return data
            except FileNotFoundError:
                return None

    def names(self, directory: str = "") -> list[str]:
        """File names directly inside ``directory`` (empty when it does not exist)."""
        path = f"{self.root}/{directory}".rstrip("/")
        with _io_errors(self.url_of(directory)):
            try:
                entries = self.fs.ls(path, detail=True)
            except FileNotFoundError:
                return []
        return sorted(
            str(e["name"]).rstrip("/").rsplit("/", 1)[-1] for e in entries if e["type"] == "file"
        )

    def remove(self, name: str) -> None:
        path = f"{self.root}/{name}"
        with _io_errors(self.url_of(name)):
            if self.fs.exists(path):
                self.fs.rm(path, recursive=True)


def _split(url: str) -> tuple[Any, str]:
    try:
        fs, path = fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise InvalidInput(
            f"output {url!r} is not a usable path or URL: {exc}; give a folder or an fsspec "
            "URL such as s3://bucket/scores/"
        ) from None
    return fs, str(path)


@contextmanager
def _io_errors(where: str) -> Iterator[None]:
    try:
        yield
    except PermissionError as exc:
        raise Unavailable(f"cannot write {where}: {exc}") from None
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise Unavailable(f"writing {where} failed: {exc}") from None
