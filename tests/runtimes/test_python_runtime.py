from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

from modelport.errors import InvalidInput, PredictionFailed, UnsupportedArtifact
from modelport.runtimes.python_runtime import PythonRuntime

SCALER = textwrap.dedent(
    """
    import json
    import numpy as np

    from helpers import scale  # a sibling file of the artifact directory

    class Scaler:
        signature = {
            "inputs": [{"name": "x", "datatype": "FP64", "shape": [-1, 2]}],
            "outputs": [
                {"name": "y", "datatype": "FP64", "shape": [-1, 2]},
                {"name": "tag", "datatype": "BYTES", "shape": [-1]},
            ],
        }

        def load(self, path):
            self.factor = json.loads((path / "weights.json").read_text())["factor"]
            self.folder = path

        def predict(self, inputs):
            x = inputs["x"]
            if (x < 0).any():
                raise ValueError("negative values are not allowed")
            return {"y": scale(x, self.factor), "tag": np.array(["ok"] * len(x), dtype=object)}

        def unload(self):
            (self.folder / "unloaded").write_text("yes")
    """
)


@pytest.fixture
def scaler_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "scaler"
    folder.mkdir()
    (folder / "model.py").write_text(SCALER)
    (folder / "helpers.py").write_text("def scale(x, f):\n    return x * f\n")
    (folder / "weights.json").write_text(json.dumps({"factor": 3.0}))
    return folder


def _load(path: Path) -> PythonRuntime:
    runtime = PythonRuntime()
    runtime.load(path)
    return runtime


def test_directory_model_loads_predicts_and_unloads(scaler_dir: Path) -> None:
    assert PythonRuntime.detect(scaler_dir)
    runtime = _load(scaler_dir)
    assert runtime.signature().input_names == ["x"]
    out = runtime.predict({"x": np.array([[1, 2], [3, 4]])})  # ints cast to the declared FP64
    np.testing.assert_allclose(out["y"], [[3.0, 6.0], [9.0, 12.0]])
    assert out["tag"].tolist() == [b"ok", b"ok"]  # BYTES outputs become bytes
    runtime.unload()
    assert (scaler_dir / "unloaded").read_text() == "yes"


def test_errors_in_predict(scaler_dir: Path) -> None:
    runtime = _load(scaler_dir)
    with pytest.raises(PredictionFailed, match="negative values"):
        runtime.predict({"x": np.array([[-1.0, 0.0]])})
    with pytest.raises(InvalidInput, match=r"expects \[-1, 2\]"):
        runtime.predict({"x": np.zeros((2, 3))})


def test_single_file_with_a_model_raising_invalid_input(tmp_path: Path) -> None:
    file = tmp_path / "echo.py"
    file.write_text(
        textwrap.dedent(
            """
            from modelport.errors import InvalidInput

            class Helper:
                pass

            class Echo:
                signature = {"inputs": [{"name": "t", "datatype": "BYTES", "shape": [-1]}],
                             "outputs": [{"name": "t", "datatype": "BYTES", "shape": [-1]}]}
                def load(self, path):
                    self.path = path
                def predict(self, inputs):
                    if len(inputs["t"]) > 2:
                        raise InvalidInput("at most two texts")
                    return {"t": inputs["t"]}
            """
        )
    )
    assert PythonRuntime.detect(file)
    runtime = _load(file)
    out = runtime.predict({"t": np.array([b"hi"], dtype=object)})
    assert out["t"].tolist() == [b"hi"]
    with pytest.raises(InvalidInput, match="at most two texts"):
        runtime.predict({"t": np.array([b"a", b"b", b"c"], dtype=object)})


def test_sidecar_picks_among_several_classes(tmp_path: Path) -> None:
    folder = tmp_path / "two"
    folder.mkdir()
    body = (
        "import numpy as np\n"
        "class {name}:\n"
        "    def load(self, path): pass\n"
        "    def predict(self, inputs): return {{'y': inputs['x'] + {add}}}\n"
    )
    (folder / "models.py").write_text(body.format(name="A", add=1) + body.format(name="B", add=2))
    with pytest.raises(UnsupportedArtifact, match=r"exactly one class.*\['A', 'B'\]"):
        _load(folder)
    signature = {
        "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1]}],
        "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1]}],
    }
    sidecar = {"flavor": "python", "python_class": "models:B", "signature": signature}
    (folder / "modelport.json").write_text(json.dumps(sidecar))
    assert PythonRuntime.detect(folder)
    out = _load(folder).predict({"x": np.array([1.0], dtype=np.float32)})
    assert out["y"].tolist() == [3.0]


def test_contract_violations_are_explained(tmp_path: Path) -> None:
    nosig = tmp_path / "nosig.py"
    nosig.write_text("class M:\n    def load(self, p): pass\n    def predict(self, i): return i\n")
    with pytest.raises(InvalidInput, match="declares no signature"):
        _load(nosig)

    bad_return = tmp_path / "bad_return.py"
    bad_return.write_text(
        "class M:\n"
        "    signature = {'inputs': [{'name': 'x', 'datatype': 'FP32', 'shape': [-1]}],\n"
        "                 'outputs': [{'name': 'y', 'datatype': 'FP32', 'shape': [-1]}]}\n"
        "    def load(self, p): pass\n"
        "    def predict(self, i): return [1.0] if len(i['x']) == 1 else {'z': i['x']}\n"
    )
    runtime = _load(bad_return)
    with pytest.raises(PredictionFailed, match="must return a dict"):
        runtime.predict({"x": np.zeros(1, dtype=np.float32)})
    with pytest.raises(PredictionFailed, match="promises output 'y'"):
        runtime.predict({"x": np.zeros(2, dtype=np.float32)})

    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('boom at import')\n")
    with pytest.raises(UnsupportedArtifact, match="boom at import"):
        _load(broken)

    escape = tmp_path / "escape"
    escape.mkdir()
    (escape / "modelport.json").write_text(json.dumps({"python_class": "../nosig:M"}))
    with pytest.raises(InvalidInput, match="python_class must be 'module:Class'"):
        _load(escape)


def test_two_models_with_same_named_siblings_stay_apart(tmp_path: Path) -> None:
    runtimes = []
    for factor in (2, 5):
        folder = tmp_path / f"m{factor}"
        folder.mkdir()
        (folder / "helpers.py").write_text(f"FACTOR = {factor}\n")
        (folder / "model.py").write_text(
            "import helpers\n"
            "class M:\n"
            "    signature = {'inputs': [{'name': 'x', 'datatype': 'FP64', 'shape': [-1]}],\n"
            "                 'outputs': [{'name': 'y', 'datatype': 'FP64', 'shape': [-1]}]}\n"
            "    def load(self, path): pass\n"
            "    def predict(self, i): return {'y': i['x'] * helpers.FACTOR}\n"
        )
        runtimes.append(_load(folder))
    outs = [r.predict({"x": np.array([1.0])})["y"].tolist() for r in runtimes]
    assert outs == [[2.0], [5.0]]
