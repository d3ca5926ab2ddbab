"""Hugging Face text classifiers saved with ``save_pretrained``. Needs the ``transformers`` extra.

The artifact is a local directory (``pipeline.save_pretrained(dir)`` or the model's and
tokenizer's own ``save_pretrained``). Nothing is ever downloaded: loading sets
``HF_HUB_OFFLINE=1`` and passes ``local_files_only=True``. ``trust_remote_code`` stays off:
modelling code shipped inside the directory is never run.

Supported task: ``text-classification``, taken from a ``modelport.json`` ``task`` or from a
``*ForSequenceClassification`` architecture in ``config.json``. Input ``text`` (BYTES
``[-1]``); outputs ``label`` (BYTES ``[-1]``) and ``score`` (FP32 ``[-1]``), the top class of
each row scored like the ``text-classification`` pipeline does (softmax, or sigmoid for one
label or multi-label models). The batch runs as one padded forward pass.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from modelport.errors import InvalidInput, MissingDependency, PredictionFailed, UnsupportedArtifact
from modelport.protocol.signature import Signature, TensorSpec
from modelport.runtimes.artifacts import read_sidecar, require_exists, sidecar_flavor
from modelport.runtimes.base import Array, Batch, LoadOptions, Runtime, not_loaded
from modelport.runtimes.tensors import as_strings

TEXT_CLASSIFICATION = "text-classification"
SUPPORTED_TASKS = (TEXT_CLASSIFICATION,)
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt")

SIGNATURE = Signature(
    inputs=(TensorSpec(name="text", datatype="BYTES", shape=(-1,)),),
    outputs=(
        TensorSpec(name="label", datatype="BYTES", shape=(-1,)),
        TensorSpec(name="score", datatype="FP32", shape=(-1,)),
    ),
)


def find_task(path: Path, sidecar: dict[str, Any]) -> str:
    """The pipeline task of a saved model directory, from the sidecar or ``config.json``."""
    task = sidecar.get("task")
    if isinstance(task, str):
        return task
    try:
        config = json.loads((path / "config.json").read_text())
    except (OSError, ValueError) as exc:
        raise UnsupportedArtifact(f"{path}/config.json is missing or not JSON: {exc}") from None
    architectures = config.get("architectures") or []
    if any(str(a).endswith("ForSequenceClassification") for a in architectures):
        return TEXT_CLASSIFICATION
    raise UnsupportedArtifact(
        f"cannot tell the task of {path} (architectures {architectures}); supported tasks: "
        f"{', '.join(SUPPORTED_TASKS)}; name it with 'task' in modelport.json"
    )


class TransformersRuntime(Runtime):
    flavor = "transformers"

    def __init__(self, options: LoadOptions | None = None) -> None:
        super().__init__(options)
        self._model: Any = None
        self._tokenizer: Any = None
        self._torch: Any = None
        self._labels: list[bytes] = []
        self._sigmoid = False
        self._max_length: int | None = None

    @classmethod
    def detect(cls, path: Path) -> bool:
        if not path.is_dir():
            return False
        named = sidecar_flavor(path)
        if named is not None:
            return named == cls.flavor
        has_tokenizer = any((path / f).is_file() for f in _TOKENIZER_FILES)
        return (path / "config.json").is_file() and has_tokenizer

    def load(self, path: Path) -> None:
        if not require_exists(path).is_dir():
            raise UnsupportedArtifact(
                f"{path} is a file; a transformers model is the directory written by "
                "save_pretrained"
            )
        task = find_task(path, read_sidecar(path))
        if task not in SUPPORTED_TASKS:
            raise UnsupportedArtifact(
                f"task {task!r} of {path} is not supported; supported: {', '.join(SUPPORTED_TASKS)}"
            )
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before transformers reads it
        try:
            import torch
            from transformers import AutoModelForSequenceClassification, AutoTokenizer
        except ImportError:
            raise MissingDependency.for_extra("transformers", "transformers") from None
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
            model = AutoModelForSequenceClassification.from_pretrained(
                str(path), local_files_only=True
            )
        except (OSError, ValueError) as exc:
            raise UnsupportedArtifact(f"transformers could not load {path}: {exc}") from None
        model.eval()
        config = model.config
        self._labels = [
            str(config.id2label.get(i, f"LABEL_{i}")).encode() for i in range(config.num_labels)
        ]
        self._sigmoid = config.num_labels == 1 or (
            getattr(config, "problem_type", None) == "multi_label_classification"
        )
        self._max_length = _max_length(tokenizer, config)
        self._torch, self._tokenizer, self._model = torch, tokenizer, model

    def signature(self) -> Signature:
        if self._model is None:
            raise not_loaded(self)
        return SIGNATURE

    def predict(self, inputs: Batch) -> dict[str, Array]:
        if self._model is None:
            raise not_loaded(self)
        if set(inputs) != {"text"}:
            raise InvalidInput(
                "the model takes one input 'text' (BYTES, one string per row), "
                f"got {sorted(inputs)}"
            )
        text = np.asarray(inputs["text"])
        if text.ndim == 2 and text.shape[1] == 1:
            text = text[:, 0]
        if text.ndim != 1:
            raise InvalidInput(f"input 'text' must have shape [rows], got {list(text.shape)}")
        if text.shape[0] == 0:
            return {"label": np.empty(0, dtype=object), "score": np.empty(0, dtype=np.float32)}
        texts = [str(t) for t in as_strings(text)]
        try:
            scores = self._scores(texts)
        except Exception as exc:
            raise PredictionFailed(f"the transformers model failed: {exc}") from None
        best = scores.argmax(axis=1)
        labels = np.empty(len(texts), dtype=object)
        labels[:] = [self._labels[i] for i in best]
        return {"label": labels, "score": scores.max(axis=1).astype(np.float32)}

    def _scores(self, texts: list[str]) -> Array:
        torch = self._torch
        encoded = self._tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self._max_length,
            return_tensors="pt",
        )
        with torch.inference_mode():
            logits = self._model(**encoded).logits
        probs = torch.sigmoid(logits) if self._sigmoid else torch.softmax(logits, dim=-1)
        return np.asarray(probs.float().cpu().numpy())

    def native(self) -> Any:
        """``texts -> [rows, classes]`` class probabilities (what occlusion explains)."""
        return None if self._model is None else self._scores

    def unload(self) -> None:
        self._model = None
        self._tokenizer = None


def _max_length(tokenizer: Any, config: Any) -> int | None:
    """Where to truncate: the tokenizer's limit when it knows one, else the model's positions."""
    for limit in (
        getattr(tokenizer, "model_max_length", None),
        getattr(config, "max_position_embeddings", None),
    ):
        if isinstance(limit, int) and 0 < limit < 1_000_000:
            return limit
    return None
