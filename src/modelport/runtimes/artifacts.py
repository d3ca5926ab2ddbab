"""Cheap looks at an artifact's bytes, shared by every runtime's ``detect``.

Detection must never load a model nor import a framework: it reads a few bytes, a zip
directory or a small JSON sidecar. A *sidecar* is a ``modelport.json`` file inside a directory
artifact (or embedded in a TorchScript archive); its keys, all optional:

    {"flavor": "python",                     which runtime serves the directory
     "signature": {"inputs": [...], ...},    Signature.to_dict() form
     "python_class": "model:Sentiment",      python runtime: module:Class to use
     "task": "text-classification",          transformers runtime: the pipeline task
     "model_file": "model.pt"}               torch runtime: the TorchScript file in the directory

A sidecar that names a flavor settles detection: only that runtime claims the directory.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from modelport.errors import InvalidInput, NotFound
from modelport.protocol.signature import Signature

SIDECAR = "modelport.json"

#: File suffixes that always mean pickle (joblib files are pickles, maybe compressed).
PICKLE_SUFFIXES = frozenset({".pkl", ".pickle", ".joblib"})

#: File suffixes under which torch.save writes (legacy files are plain pickles).
TORCH_SUFFIXES = frozenset({".pt", ".pth"})


def require_exists(path: Path) -> Path:
    """The path itself, or NotFound when nothing is there (every ``load`` starts here)."""
    if not path.exists():
        raise NotFound(f"no file or directory at {path}")
    return path


def read_head(path: Path, size: int = 64) -> bytes:
    """The first ``size`` bytes of a file, or b"" for a directory or unreadable file."""
    if not path.is_file():
        return b""
    try:
        with path.open("rb") as f:
            return f.read(size)
    except OSError:
        return b""


def has_pickle_magic(head: bytes) -> bool:
    """Whether bytes open like a pickle of protocol 2 to 5 (what pickle and joblib write)."""
    return len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def is_pickle_file(path: Path) -> bool:
    """A pickle or joblib file, by suffix or by its opening bytes."""
    return path.is_file() and (
        path.suffix.lower() in PICKLE_SUFFIXES or has_pickle_magic(read_head(path, 2))
    )


def zip_names(path: Path) -> list[str]:
    """Member names of a zip file, or [] when the file is not a zip."""
    if not path.is_file() or read_head(path, 4) != b"PK\x03\x04":
        return []
    try:
        with zipfile.ZipFile(path) as zf:
            return zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return []


def read_sidecar(directory: Path) -> dict[str, Any]:
    """The parsed ``modelport.json`` of a directory artifact, or {} when there is none."""
    file = directory / SIDECAR
    if not directory.is_dir() or not file.is_file():
        return {}
    return parse_sidecar(file.read_bytes(), where=str(file))


def parse_sidecar(raw: bytes, *, where: str) -> dict[str, Any]:
    """A sidecar's JSON object, or InvalidInput saying what is wrong with it."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise InvalidInput(f"{where} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{where} must hold a JSON object, got {type(data).__name__}")
    return data


def sidecar_flavor(directory: Path) -> str | None:
    """The flavor a directory's sidecar names, if any (a broken sidecar names none)."""
    try:
        flavor = read_sidecar(directory).get("flavor")
    except (InvalidInput, OSError):
        return None
    return flavor if isinstance(flavor, str) else None


def sidecar_signature(data: dict[str, Any], *, where: str) -> Signature | None:
    """The signature in a sidecar, or None; InvalidInput when it is malformed."""
    raw = data.get("signature")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidInput(f"{where}: 'signature' must be an object with inputs and outputs")
    try:
        return Signature.from_dict(raw)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(
            f"{where}: malformed signature ({exc!r}); each tensor needs name, datatype and "
            'shape, e.g. {"name": "input__0", "datatype": "FP32", "shape": [-1, 4]}'
        ) from None


def describe(path: Path) -> str:
    """A short account of what detection looked at, for error messages."""
    if path.is_dir():
        entries = sorted(p.name for p in path.iterdir())
        shown = ", ".join(entries[:12]) + (", ..." if len(entries) > 12 else "")
        return f"directory {path} containing [{shown}]"
    head = read_head(path, 16)
    size = path.stat().st_size if path.exists() else 0
    return f"file {path} ({size} bytes, suffix {path.suffix or 'none'!r}, starts with {head!r})"
