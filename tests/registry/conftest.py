"""Small real artifacts and hand-built signatures for registry tests (no runtimes needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelport.protocol.signature import Signature, TensorSpec


@pytest.fixture
def signature() -> Signature:
    return Signature.for_table(
        ["amount", "age"], [TensorSpec(name="score", datatype="FP32", shape=(-1,))]
    )


@pytest.fixture
def artifact(tmp_path: Path) -> Path:
    """A small model-like file."""
    path = tmp_path / "src" / "model.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"trees": [1, 2, 3]}')
    return path


@pytest.fixture
def artifact_dir(tmp_path: Path) -> Path:
    """A small model-like folder with a nested file."""
    root = tmp_path / "src" / "bert"
    (root / "tokenizer").mkdir(parents=True)
    (root / "config.json").write_text('{"layers": 2}')
    (root / "weights.bin").write_bytes(bytes(range(256)) * 10)
    (root / "tokenizer" / "vocab.txt").write_text("a\nb\nc\n")
    return root
