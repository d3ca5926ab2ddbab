"""Edge fixtures: a private MODELPORT_HOME, the CLI in-process, small models built here."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from modelport.cli.main import main

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "mp-home"
    monkeypatch.setenv("MODELPORT_HOME", str(home))
    monkeypatch.delenv("MODELPORT_DATABASE_URL", raising=False)
    monkeypatch.delenv("MODELPORT_ARTIFACT_ROOT", raising=False)
    monkeypatch.setenv("MODELPORT_USER", "alice")
    return home


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], home: Path) -> Run:
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""

    def _run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return _run


def run_json(run: Run, *args: str) -> dict[str, object]:
    code, out, err = run(*args, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert isinstance(data, dict)
    return data


def tiny_transformer(
    vocab: int = 64, dim: int = 32, classes: int = 3, seed: int = 0, sharpness: float = 30.0
) -> object:
    """A one-block transformer text classifier over token ids, scripted (TorchScript)."""
    import torch

    torch.manual_seed(seed)

    class Block(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.q = torch.nn.Linear(dim, dim)
            self.k = torch.nn.Linear(dim, dim)
            self.v = torch.nn.Linear(dim, dim)
            self.o = torch.nn.Linear(dim, dim)
            self.n1 = torch.nn.LayerNorm(dim)
            self.ff = torch.nn.Sequential(
                torch.nn.Linear(dim, 4 * dim), torch.nn.GELU(), torch.nn.Linear(4 * dim, dim)
            )
            self.n2 = torch.nn.LayerNorm(dim)
            self.scale = 1.0 / math.sqrt(dim)

        def forward(self, h: torch.Tensor) -> torch.Tensor:
            scores = self.q(h) @ self.k(h).transpose(1, 2) * self.scale
            h = self.n1(h + self.o(torch.softmax(scores, -1) @ self.v(h)))
            return self.n2(h + self.ff(h))

    class Classifier(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = torch.nn.Embedding(vocab, dim)
            self.block = Block()
            self.head = torch.nn.Linear(dim, classes)

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            return torch.softmax(self.head(self.block(self.emb(ids)).mean(1)), -1)

    model = Classifier()
    with torch.no_grad():  # a confident head, as a trained classifier has
        model.head.weight.mul_(sharpness)
    return torch.jit.script(model.eval())


def save_scripted(module: object, folder: Path, signature: dict[str, object]) -> Path:
    """A TorchScript artifact with its signature embedded (modelport.json)."""
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.pt"
    torch.jit.save(module, str(path), _extra_files={"modelport.json": json.dumps(
        {"flavor": "torch", "signature": signature})})
    return path


def token_rows(rows: int, length: int = 12, vocab: int = 64, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, vocab, size=(rows, length), dtype=np.int64)
