"""TorchScript modules (``torch.jit.save``), on CPU. Needs the ``torch`` extra.

TorchScript is safe to load: ``torch.jit.load`` rebuilds only TorchScript code and tensors, it
never unpickles arbitrary classes. A plain ``torch.save`` file is a pickle and is refused
unless the operator trusts the artifact (``trust_pickle``), exactly like sklearn pickles.

TorchScript does not record input names, datatypes or shapes, so the signature comes from, in
order: the registered signature (``LoadOptions.signature``); a ``modelport.json`` embedded in
the archive (``torch.jit.save(m, f, _extra_files={"modelport.json": ...})``); a
``modelport.json`` beside the model in a directory artifact. Without one, load fails and says
how to give one; guessing a rank would only move the error to the first request. Inputs are
passed to ``forward`` positionally in signature order (Triton's convention names them
``input__0``, ``input__1``...); a returned tensor, tuple or dict maps onto the outputs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from modelport.errors import (
    InvalidInput,
    MissingDependency,
    PredictionFailed,
    UnsafeArtifact,
    UnsupportedArtifact,
)
from modelport.protocol.signature import Signature
from modelport.runtimes.artifacts import (
    SIDECAR,
    TORCH_SUFFIXES,
    has_pickle_magic,
    parse_sidecar,
    read_head,
    read_sidecar,
    require_exists,
    sidecar_flavor,
    sidecar_signature,
    zip_names,
)
from modelport.runtimes.base import Array, Batch, LoadOptions, Runtime, not_loaded
from modelport.runtimes.tensors import ordered_inputs

_EXAMPLE = {
    "inputs": [{"name": "input__0", "datatype": "FP32", "shape": [-1, 4]}],
    "outputs": [{"name": "output__0", "datatype": "FP32", "shape": [-1, 2]}],
}


def is_torch_zip(names: list[str]) -> bool:
    """A zip written by torch: ``<root>/data.pkl`` or ``<root>/constants.pkl`` one level down."""
    return any(n.count("/") == 1 and n.endswith(("/data.pkl", "/constants.pkl")) for n in names)


def is_torchscript(names: list[str]) -> bool:
    """TorchScript archives hold ``constants.pkl`` and ``code/``; torch.save ones do not."""
    return any(n.endswith("/constants.pkl") or "/code/" in n for n in names)


def import_torch() -> Any:
    try:
        import torch
    except ImportError:
        raise MissingDependency.for_extra("torch", "torch") from None
    return torch


class TorchScriptRuntime(Runtime):
    flavor = "torch"

    def __init__(self, options: LoadOptions | None = None) -> None:
        super().__init__(options)
        self._module: Any = None
        self._torch: Any = None
        self._signature: Signature | None = None

    @classmethod
    def detect(cls, path: Path) -> bool:
        if path.is_dir():
            return sidecar_flavor(path) == "torch"
        names = zip_names(path)
        if names:
            return is_torch_zip(names)
        return path.suffix.lower() in TORCH_SUFFIXES and has_pickle_magic(read_head(path, 2))

    def load(self, path: Path) -> None:
        file, beside = _locate(path)
        torch = import_torch()
        embedded: dict[str, Any] = {}
        if is_torchscript(zip_names(file)):
            extra: dict[str, Any] = {SIDECAR: ""}
            try:
                module = torch.jit.load(str(file), map_location="cpu", _extra_files=extra)
            except Exception as exc:
                raise UnsupportedArtifact(f"torch.jit.load could not read {file}: {exc}") from None
            if extra[SIDECAR]:
                embedded = parse_sidecar(extra[SIDECAR], where=f"{file}:extra/{SIDECAR}")
        else:
            module = self._load_pickle(torch, file)
        module.eval()
        signature = (
            self.options.signature
            or sidecar_signature(embedded, where=f"{file}:extra/{SIDECAR}")
            or sidecar_signature(beside, where=str(path / SIDECAR))
        )
        if signature is None:
            raise InvalidInput(
                f"TorchScript does not record input names, datatypes or shapes, so {path} "
                "needs a signature. Embed one when saving: torch.jit.save(m, 'model.pt', "
                "_extra_files={'modelport.json': json.dumps({'signature': SIG})}), or put a "
                "modelport.json with a 'signature' beside the model in a directory, or register "
                f"with a signature. SIG looks like {json.dumps(_EXAMPLE)}"
            )
        bad = [s.name for s in signature.inputs if s.datatype == "BYTES"]
        if bad:
            raise InvalidInput(f"torch models take numeric tensors; BYTES inputs {bad} cannot be")
        self._torch = torch
        self._module = module
        self._signature = signature

    def _load_pickle(self, torch: Any, file: Path) -> Any:
        if not self.options.trust_pickle:
            raise UnsafeArtifact(
                f"{file} was written by torch.save, which is a pickle: loading it runs arbitrary "
                "code chosen by whoever wrote the file. Export it once, where you trust it, "
                "with torch.jit.save(torch.jit.script(model), 'model.pt') and register that; "
                "or, if you trust this file, register it with --trust-pickle."
            )
        try:
            module = torch.load(str(file), map_location="cpu", weights_only=False)
        except Exception as exc:
            raise UnsupportedArtifact(f"torch.load could not read {file}: {exc}") from None
        if not isinstance(module, torch.nn.Module):
            raise UnsupportedArtifact(
                f"{file} holds a {type(module).__name__}, not a torch.nn.Module (a state_dict "
                "has no code to run); save the module itself with torch.jit.save"
            )
        return module

    def signature(self) -> Signature:
        if self._signature is None:
            raise not_loaded(self)
        return self._signature

    def predict(self, inputs: Batch) -> dict[str, Array]:
        if self._module is None or self._signature is None:
            raise not_loaded(self)
        torch = self._torch
        arrays = ordered_inputs(self._signature.inputs, inputs)
        tensors = [torch.from_numpy(a if a.flags.writeable else a.copy()) for a in arrays]
        try:
            with torch.inference_mode():
                result = self._module(*tensors)
        except Exception as exc:
            message = str(exc).strip().splitlines()
            raise PredictionFailed(
                f"the torch model failed: {message[-1] if message else type(exc).__name__}"
            ) from None
        return self._outputs(result)

    def _outputs(self, result: Any) -> dict[str, Array]:
        names = self._signature.output_names if self._signature else []
        if isinstance(result, dict):
            values = {str(k): v for k, v in result.items()}
        elif isinstance(result, (tuple, list)):
            values = dict(zip(names, result, strict=False))
            if len(result) != len(names):
                values = {}
        else:
            values = {names[0]: result} if len(names) == 1 else {}
        if set(values) != set(names):
            raise PredictionFailed(
                f"the torch model returned {_kind(result)}, which does not match the "
                f"signature's outputs {names}"
            )
        return {n: np.asarray(values[n].detach().cpu().numpy()) for n in names}

    def unload(self) -> None:
        self._module = None


def _locate(path: Path) -> tuple[Path, dict[str, Any]]:
    """The model file and the directory sidecar (``{}`` for a single-file artifact)."""
    if require_exists(path).is_file():
        return path, {}
    sidecar = read_sidecar(path)
    named = sidecar.get("model_file")
    if isinstance(named, str):
        file = (path / named).resolve()
        if path.resolve() not in file.parents or not file.is_file():
            raise InvalidInput(
                f"{path / SIDECAR}: model_file {named!r} is not a file inside {path}"
            )
        return file, sidecar
    found = sorted(p for p in path.iterdir() if p.suffix.lower() in TORCH_SUFFIXES)
    if len(found) != 1:
        raise UnsupportedArtifact(
            f"{path} must hold exactly one .pt/.pth file, found {[p.name for p in found]}; "
            f"or name it with 'model_file' in {SIDECAR}"
        )
    return found[0], sidecar


def _kind(result: Any) -> str:
    if isinstance(result, dict):
        return f"a dict with keys {sorted(map(str, result))}"
    if isinstance(result, (tuple, list)):
        return f"a {type(result).__name__} of {len(result)}"
    return f"a {type(result).__name__}"
