"""Custom models written in plain Python.

The contract. The artifact is a ``.py`` file or a directory. The model is a class with

    def load(self, path: pathlib.Path) -> None          # path: the artifact, file or directory
    def predict(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]
    signature: dict                                     # optional, Signature.to_dict() form
    def unload(self) -> None                            # optional

built with no arguments. Which class: the ``python_class`` of the directory's
``modelport.json`` (``"module:Class"``, the module a ``.py`` file in the directory), else the
only class with ``load`` and ``predict`` defined in the file (for a directory: ``model.py``,
or its only ``.py`` file). The signature comes from the registered signature, else the
class's ``signature``, else the sidecar's; one of them is required. Inputs are checked against
it before ``predict``; a ModelportError the model raises (``InvalidInput``...) passes through
unchanged, any other exception becomes PredictionFailed.

Loading imports the file, which runs its code with the server's rights. That is the point of
this flavor: the code is the operator's own, registered on purpose, never a downloaded
artifact. The directory is on ``sys.path`` while the module is imported, so it may import
its sibling files, at module level (they are forgotten afterwards, so that two models each
get their own ``helpers.py``; an import inside ``predict`` would not find them).
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from modelport.errors import (
    InvalidInput,
    ModelportError,
    PredictionFailed,
    UnsupportedArtifact,
)
from modelport.protocol.signature import Signature
from modelport.runtimes.artifacts import (
    SIDECAR,
    read_sidecar,
    require_exists,
    sidecar_flavor,
    sidecar_signature,
)
from modelport.runtimes.base import Array, Batch, LoadOptions, Runtime, not_loaded
from modelport.runtimes.tensors import as_bytes, ordered_inputs


class PythonRuntime(Runtime):
    flavor = "python"

    def __init__(self, options: LoadOptions | None = None) -> None:
        super().__init__(options)
        self._model: Any = None
        self._signature: Signature | None = None

    @classmethod
    def detect(cls, path: Path) -> bool:
        if path.is_file():
            return path.suffix == ".py"
        if not path.is_dir():
            return False
        named = sidecar_flavor(path)
        if named is not None:
            return named == cls.flavor
        return (path / "model.py").is_file() and not (path / "config.json").is_file()

    def load(self, path: Path) -> None:
        require_exists(path)
        sidecar = read_sidecar(path)
        file, class_name = _entry_point(path, sidecar)
        module = _import(file)
        cls = _pick_class(module, class_name, file)
        try:
            model = cls()
            model.load(path)
        except ModelportError:
            raise
        except Exception as exc:
            raise UnsupportedArtifact(f"{cls.__name__}.load({path}) failed: {exc!r}") from exc
        self._signature = (
            self.options.signature
            or _declared_signature(model, cls.__name__)
            or sidecar_signature(sidecar, where=str(path / SIDECAR))
        )
        if self._signature is None:
            raise InvalidInput(
                f"{cls.__name__} declares no signature; give the class a 'signature' dict "
                '(e.g. {"inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 3]}], '
                '"outputs": [{"name": "y", "datatype": "FP32", "shape": [-1]}]}), '
                f"or put one in {SIDECAR}, or register with a signature"
            )
        self._model = model

    def signature(self) -> Signature:
        if self._signature is None:
            raise not_loaded(self)
        return self._signature

    def predict(self, inputs: Batch) -> dict[str, Array]:
        if self._model is None or self._signature is None:
            raise not_loaded(self)
        specs = self._signature.inputs
        batch = dict(zip((s.name for s in specs), ordered_inputs(specs, inputs), strict=True))
        try:
            result = self._model.predict(batch)
        except ModelportError:
            raise
        except Exception as exc:
            raise PredictionFailed(f"{type(self._model).__name__}.predict failed: {exc!r}") from exc
        if not isinstance(result, Mapping):
            raise PredictionFailed(
                f"{type(self._model).__name__}.predict must return a dict of arrays, "
                f"got {type(result).__name__}"
            )
        out: dict[str, Array] = {}
        for spec in self._signature.outputs:
            if spec.name not in result:
                raise PredictionFailed(
                    f"{type(self._model).__name__}.predict returned {sorted(map(str, result))} "
                    f"but the signature promises output {spec.name!r}"
                )
            value = np.asarray(result[spec.name])
            out[spec.name] = as_bytes(value) if spec.datatype == "BYTES" else value
        return out

    def unload(self) -> None:
        hook = getattr(self._model, "unload", None)
        if callable(hook):
            hook()
        self._model = None


def _entry_point(path: Path, sidecar: dict[str, Any]) -> tuple[Path, str | None]:
    """The module file to import and, when the sidecar names one, the class."""
    if path.is_file():
        if path.suffix != ".py":
            raise UnsupportedArtifact(f"{path} is not a .py file")
        return path, None
    named = sidecar.get("python_class")
    if named is not None:
        module, sep, cls = str(named).partition(":")
        file = (path / (module.replace(".", "/") + ".py")).resolve()
        if not sep or not cls or path.resolve() not in file.parents or not file.is_file():
            raise InvalidInput(
                f"{path / SIDECAR}: python_class must be 'module:Class' naming a .py file in "
                f"{path}, got {named!r}"
            )
        return file, cls
    if (path / "model.py").is_file():
        return path / "model.py", None
    files = sorted(path.glob("*.py"))
    if len(files) != 1:
        raise UnsupportedArtifact(
            f"{path} has {len(files)} .py files and no model.py; name the model class with "
            f'{{"python_class": "module:Class"}} in {SIDECAR}'
        )
    return files[0], None


def _import(file: Path) -> ModuleType:
    """Import a file under a name unique to its path, its directory on sys.path meanwhile.

    Sibling modules it imports are dropped from ``sys.modules`` afterwards (the model keeps
    its references), so two models that both ship a ``helpers.py`` each get their own.
    """
    digest = hashlib.sha1(str(file.resolve()).encode()).hexdigest()[:12]
    name = f"modelport_user_{file.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise UnsupportedArtifact(f"cannot import {file}")
    module = importlib.util.module_from_spec(spec)
    folder = file.parent.resolve()
    before = set(sys.modules)
    sys.path.insert(0, str(folder))
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise UnsupportedArtifact(f"importing {file} failed: {exc!r}") from exc
    finally:
        if str(folder) in sys.path:
            sys.path.remove(str(folder))
        for added in set(sys.modules) - before - {name}:
            origin = getattr(sys.modules[added], "__file__", None)
            if origin and folder in Path(origin).resolve().parents:
                del sys.modules[added]
    return module


def _pick_class(module: ModuleType, class_name: str | None, file: Path) -> type[Any]:
    if class_name is not None:
        cls = getattr(module, class_name, None)
        if not inspect.isclass(cls):
            raise InvalidInput(f"{file} defines no class {class_name!r}")
        return cls
    candidates = [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj)
        and obj.__module__ == module.__name__
        and callable(getattr(obj, "load", None))
        and callable(getattr(obj, "predict", None))
    ]
    if len(candidates) != 1:
        found = [c.__name__ for c in candidates]
        raise UnsupportedArtifact(
            f"{file} must define exactly one class with load() and predict(), found {found}; "
            f'name one with {{"python_class": "module:Class"}} in {SIDECAR}'
        )
    return candidates[0]


def _declared_signature(model: Any, cls_name: str) -> Signature | None:
    raw = getattr(model, "signature", None)
    if raw is None or isinstance(raw, Signature):
        return raw
    if isinstance(raw, Mapping):
        try:
            return Signature.from_dict(raw)
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"{cls_name}.signature is malformed: {exc!r}") from None
    raise InvalidInput(
        f"{cls_name}.signature must be a dict like Signature.to_dict(), got {type(raw).__name__}"
    )
