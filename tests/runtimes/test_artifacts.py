from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from modelport.errors import InvalidInput, NotFound
from modelport.runtimes.artifacts import (
    describe,
    is_pickle_file,
    read_sidecar,
    require_exists,
    sidecar_flavor,
    sidecar_signature,
    zip_names,
)


def test_pickle_by_suffix_or_magic(tmp_path: Path) -> None:
    (tmp_path / "a.joblib").write_bytes(b"anything")
    (tmp_path / "b.bin").write_bytes(pickle.dumps({"x": 1}, protocol=4))
    (tmp_path / "c.bin").write_bytes(b"plain text")
    assert is_pickle_file(tmp_path / "a.joblib")
    assert is_pickle_file(tmp_path / "b.bin")
    assert not is_pickle_file(tmp_path / "c.bin")
    assert not is_pickle_file(tmp_path)


def test_zip_names_of_non_zips_is_empty(tmp_path: Path) -> None:
    (tmp_path / "fake.zip").write_bytes(b"PK\x03\x04 not really")
    assert zip_names(tmp_path / "fake.zip") == []
    assert zip_names(tmp_path) == []


def test_sidecar_reading(tmp_path: Path) -> None:
    assert read_sidecar(tmp_path) == {}
    (tmp_path / "modelport.json").write_text("{broken")
    with pytest.raises(InvalidInput, match="not valid JSON"):
        read_sidecar(tmp_path)
    assert sidecar_flavor(tmp_path) is None  # a broken sidecar claims nothing
    (tmp_path / "modelport.json").write_text("[1, 2]")
    with pytest.raises(InvalidInput, match="JSON object"):
        read_sidecar(tmp_path)
    (tmp_path / "modelport.json").write_text(json.dumps({"flavor": "python"}))
    assert sidecar_flavor(tmp_path) == "python"


def test_sidecar_signatures(tmp_path: Path) -> None:
    assert sidecar_signature({}, where="x") is None
    with pytest.raises(InvalidInput, match="must be an object"):
        sidecar_signature({"signature": [1]}, where="x")
    with pytest.raises(InvalidInput, match="each tensor needs name, datatype and shape"):
        sidecar_signature({"signature": {"inputs": [{"name": "a"}]}}, where="x")
    spec = {"name": "a", "datatype": "FP32", "shape": [-1]}
    sig = sidecar_signature({"signature": {"inputs": [spec], "outputs": []}}, where="x")
    assert sig is not None and sig.input_names == ["a"]


def test_describe_and_require_exists(tmp_path: Path) -> None:
    (tmp_path / "m.bin").write_bytes(b"\x01\x02abc")
    assert "5 bytes" in describe(tmp_path / "m.bin") and "'.bin'" in describe(tmp_path / "m.bin")
    assert "m.bin" in describe(tmp_path)
    assert require_exists(tmp_path) == tmp_path
    with pytest.raises(NotFound):
        require_exists(tmp_path / "gone")
