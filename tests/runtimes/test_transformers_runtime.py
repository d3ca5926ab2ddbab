from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from modelport.errors import InvalidInput, MissingDependency, UnsupportedArtifact
from modelport.runtimes.transformers_runtime import SIGNATURE, TransformersRuntime

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "movie", "great", "the"]
TEXTS = ["the movie is good", "bad bad movie", "great", "unknown words only"]


def _tiny_classifier(folder: Path) -> object:
    """A 1-layer BERT with a 10-word vocabulary, saved as a text-classification pipeline.

    Returns the pipeline read back from disk (in eval mode, as a user would run it).
    """
    vocab = folder.parent / f"{folder.name}-vocab.txt"
    vocab.write_text("\n".join(WORDS) + "\n")
    tokenizer = transformers.BertTokenizer(str(vocab))
    config = transformers.BertConfig(
        vocab_size=len(WORDS),
        hidden_size=8,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=16,
        max_position_embeddings=32,
        id2label={0: "NEG", 1: "POS"},
        label2id={"NEG": 0, "POS": 1},
        initializer_range=0.5,  # large random weights: scores far from a coin toss
    )
    torch.manual_seed(1)  # a seed whose untrained model gives both labels on TEXTS
    model = transformers.BertForSequenceClassification(config)
    pipe = transformers.pipeline("text-classification", model=model, tokenizer=tokenizer)
    pipe.save_pretrained(str(folder))
    return transformers.pipeline("text-classification", model=str(folder), local_files_only=True)


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    folder = tmp_path_factory.mktemp("hf") / "sentiment"
    pipe = _tiny_classifier(folder)
    return folder, pipe


def _load(path: Path) -> TransformersRuntime:
    runtime = TransformersRuntime()
    runtime.load(path)
    return runtime


def test_text_classification_matches_the_pipeline(saved: tuple[Path, object]) -> None:
    folder, pipe = saved
    assert TransformersRuntime.detect(folder)
    runtime = _load(folder)
    assert runtime.signature() == SIGNATURE
    text = np.array([t.encode() for t in TEXTS], dtype=object)
    out = runtime.predict({"text": text})
    expected = pipe(TEXTS)  # type: ignore[operator]
    assert out["label"].tolist() == [e["label"].encode() for e in expected]
    assert set(out["label"]) == {b"NEG", b"POS"}
    np.testing.assert_allclose(out["score"], [e["score"] for e in expected], rtol=1e-4)
    assert out["score"].dtype == np.float32


def test_column_shaped_and_empty_batches(saved: tuple[Path, object]) -> None:
    runtime = _load(saved[0])
    column = np.array([[b"good"], [b"bad"]], dtype=object)
    assert runtime.predict({"text": column})["label"].shape == (2,)
    empty = runtime.predict({"text": np.array([], dtype=object)})
    assert empty["label"].shape == (0,) and empty["score"].shape == (0,)


def test_wrong_inputs(saved: tuple[Path, object]) -> None:
    runtime = _load(saved[0])
    with pytest.raises(InvalidInput, match="one input 'text'"):
        runtime.predict({"sentence": np.array([b"good"], dtype=object)})
    with pytest.raises(InvalidInput, match=r"shape \[rows\]"):
        runtime.predict({"text": np.array([[b"a", b"b"]], dtype=object)})


def test_unsupported_tasks_and_missing_dependency(
    saved: tuple[Path, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"architectures": ["BertModel"]}))
    (other / "vocab.txt").write_text("\n".join(WORDS))
    assert TransformersRuntime.detect(other)
    with pytest.raises(UnsupportedArtifact, match="text-classification"):
        _load(other)
    (other / "modelport.json").write_text(json.dumps({"task": "summarization"}))
    with pytest.raises(UnsupportedArtifact, match="'summarization'"):
        _load(other)
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(MissingDependency, match=r"modelport\[transformers\]"):
        _load(saved[0])
