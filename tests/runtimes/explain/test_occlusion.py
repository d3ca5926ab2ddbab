"""Word occlusion for a real (tiny) Hugging Face text classifier loaded by the runtime."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from modelport.errors import InvalidInput
from modelport.runtimes.explain import explainer_for
from tests.runtimes.test_transformers_runtime import _load, _tiny_classifier

pytest.importorskip("transformers")


def test_each_word_gets_the_drop_its_removal_causes(tmp_path: Path) -> None:
    runtime = _load(_tiny_classifier_dir(tmp_path))
    explainer = explainer_for(runtime, name="sentiment")
    text = "the movie is good"
    exp = explainer.explain({"text": np.array([text.encode()], dtype=object)})
    assert exp.method == "occlusion" and not exp.additive
    assert exp.features == ("the", "movie", "is", "good")
    target = int(exp.target[0])  # type: ignore[index]
    full = runtime.native()([text])[0, target]
    assert exp.value[0] == pytest.approx(full)
    without_good = runtime.native()(["the movie is"])[0, target]
    assert exp.contributions[0, 3] == pytest.approx(full - without_good)
    with pytest.raises(InvalidInput, match="one text per request"):
        explainer.explain({"text": np.array([b"a", b"b"], dtype=object)})


def _tiny_classifier_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "sentiment"
    _tiny_classifier(folder)
    return folder
