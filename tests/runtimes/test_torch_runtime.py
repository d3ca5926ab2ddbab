from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from modelport.errors import (
    InvalidInput,
    MissingDependency,
    PredictionFailed,
    UnsafeArtifact,
    UnsupportedArtifact,
)
from modelport.protocol.signature import Signature, TensorSpec
from modelport.runtimes.base import LoadOptions
from modelport.runtimes.torch_runtime import TorchScriptRuntime

SIG = Signature(
    inputs=(TensorSpec(name="input__0", datatype="FP32", shape=(-1, 3)),),
    outputs=(TensorSpec(name="output__0", datatype="FP32", shape=(-1, 2)),),
)
X = np.random.default_rng(0).random((5, 3)).astype(np.float32)


class TwoHeads(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        logits = self.linear(x)
        return {"logits": logits, "proba": torch.softmax(logits, dim=1)}


def _linear() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Linear(3, 2).eval()


def _save_script(module: torch.nn.Module, path: Path, sidecar: dict[str, object] | None) -> Path:
    extra = {"modelport.json": json.dumps(sidecar)} if sidecar is not None else {}
    torch.jit.save(torch.jit.script(module), str(path), _extra_files=extra)
    return path


def _load(path: Path, options: LoadOptions | None = None) -> TorchScriptRuntime:
    runtime = TorchScriptRuntime(options)
    runtime.load(path)
    return runtime


def test_torchscript_with_an_embedded_signature(tmp_path: Path) -> None:
    module = _linear()
    path = _save_script(module, tmp_path / "model.pt", {"signature": SIG.to_dict()})
    assert TorchScriptRuntime.detect(path)
    runtime = _load(path)
    assert runtime.signature() == SIG
    out = runtime.predict({"input__0": X})
    expected = module(torch.from_numpy(X)).detach().numpy()
    np.testing.assert_allclose(out["output__0"], expected, rtol=1e-6)


def test_without_a_signature_load_explains_how_to_give_one(tmp_path: Path) -> None:
    path = _save_script(_linear(), tmp_path / "bare.pt", None)
    with pytest.raises(InvalidInput, match="_extra_files") as info:
        _load(path)
    assert '"input__0"' in info.value.message
    assert _load(path, LoadOptions(signature=SIG)).signature() == SIG


def test_directory_with_a_sidecar_and_dict_outputs(tmp_path: Path) -> None:
    folder = tmp_path / "heads"
    folder.mkdir()
    _save_script(TwoHeads(), folder / "weights.pt", None)
    signature = Signature(
        inputs=(TensorSpec(name="x", datatype="FP32", shape=(-1, 3)),),
        outputs=(
            TensorSpec(name="logits", datatype="FP32", shape=(-1, 2)),
            TensorSpec(name="proba", datatype="FP32", shape=(-1, 2)),
        ),
    )
    sidecar = {"flavor": "torch", "signature": signature.to_dict()}
    (folder / "modelport.json").write_text(json.dumps(sidecar))
    assert TorchScriptRuntime.detect(folder)
    runtime = _load(folder)
    out = runtime.predict({"x": X.astype(np.float64)})  # cast to the declared FP32
    assert out["proba"].shape == (5, 2)
    np.testing.assert_allclose(out["proba"].sum(axis=1), 1.0, rtol=1e-6)


def test_outputs_that_do_not_match_the_signature_fail_clearly(tmp_path: Path) -> None:
    extra = TensorSpec(name="extra", datatype="FP32", shape=(-1,))
    wrong = Signature(inputs=SIG.inputs, outputs=(*SIG.outputs, extra))
    path = _save_script(_linear(), tmp_path / "m.pt", {"signature": wrong.to_dict()})
    with pytest.raises(PredictionFailed, match="does not match the signature"):
        _load(path).predict({"input__0": X})


def test_wrong_inputs(tmp_path: Path) -> None:
    runtime = _load(_save_script(_linear(), tmp_path / "m.pt", {"signature": SIG.to_dict()}))
    with pytest.raises(InvalidInput, match=r"expects \[-1, 3\]"):
        runtime.predict({"input__0": X[:, :2]})
    with pytest.raises(InvalidInput, match=r"missing \['input__0'\]"):
        runtime.predict({"x": X})


def test_torch_save_pickles_need_trust(tmp_path: Path) -> None:
    module = _linear()
    path = tmp_path / "pickled.pt"
    torch.save(module, path)
    assert TorchScriptRuntime.detect(path)
    with pytest.raises(UnsafeArtifact, match=r"torch\.jit\.save") as info:
        _load(path, LoadOptions(signature=SIG))
    assert "--trust-pickle" in info.value.message
    runtime = _load(path, LoadOptions(signature=SIG, trust_pickle=True))
    expected = module(torch.from_numpy(X)).detach().numpy()
    np.testing.assert_allclose(runtime.predict({"input__0": X})["output__0"], expected, rtol=1e-6)

    state = tmp_path / "state.pt"
    torch.save(module.state_dict(), state)
    with pytest.raises(UnsupportedArtifact, match="state_dict"):
        _load(state, LoadOptions(signature=SIG, trust_pickle=True))

    legacy = tmp_path / "legacy.pth"
    torch.save(module, legacy, _use_new_zipfile_serialization=False)
    assert TorchScriptRuntime.detect(legacy)


def test_missing_torch_is_reported_at_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _save_script(_linear(), tmp_path / "m.pt", {"signature": SIG.to_dict()})
    monkeypatch.setitem(sys.modules, "torch", None)  # what a machine without torch sees
    with pytest.raises(MissingDependency, match=r"modelport\[torch\]"):
        _load(path)


def test_importing_the_runtimes_imports_no_framework() -> None:
    code = (
        "import sys, modelport.runtimes.catalog as c\n"
        "[c.runtime_class(f) for f in c.RUNTIMES]\n"
        "heavy = {'torch', 'transformers', 'xgboost', 'lightgbm', 'onnxruntime', 'sklearn'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
