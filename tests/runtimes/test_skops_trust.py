from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from modelport.errors import UnsafeArtifact, UnsupportedArtifact
from modelport.runtimes.skops_trust import is_sklearn_estimator, load_skops

from .data import table

X = table().to_numpy()


def double(x: np.ndarray) -> np.ndarray:
    return x * 2


def test_only_sklearn_estimator_classes_count() -> None:
    assert is_sklearn_estimator("sklearn.linear_model.LogisticRegression")
    assert is_sklearn_estimator("sklearn.multiclass._ConstantPredictor")
    assert not is_sklearn_estimator("sklearn.tree._tree.Tree")
    assert not is_sklearn_estimator("sklearn.no_such_module.Thing")
    assert not is_sklearn_estimator("sklearnish.Thing")
    assert not is_sklearn_estimator("os.system")
    assert not is_sklearn_estimator("builtins.eval")


def test_checking_a_name_never_imports_outside_sklearn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "imported"
    (tmp_path / "side_effect_mod.py").write_text(
        f"open({str(marker)!r}, 'w').close()\nclass Thing: pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert not is_sklearn_estimator("side_effect_mod.Thing")
    assert not marker.exists()


@pytest.mark.filterwarnings("ignore:Label 1 is present")
def test_private_sklearn_estimators_load_without_trust(tmp_path: Path) -> None:
    y = np.c_[X[:, 0] > 0.5, np.ones(len(X))]  # a constant label: OvR keeps a _ConstantPredictor
    model = OneVsRestClassifier(LogisticRegression()).fit(X, y)
    sio.dump(model, tmp_path / "ovr.skops")
    assert sio.get_untrusted_types(file=tmp_path / "ovr.skops") == [
        "sklearn.multiclass._ConstantPredictor"
    ]
    loaded = load_skops(tmp_path / "ovr.skops", trust_all=False)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_user_functions_are_refused_unless_trusted(tmp_path: Path) -> None:
    model = make_pipeline(FunctionTransformer(double), LogisticRegression()).fit(X, X[:, 0] > 0.5)
    sio.dump(model, tmp_path / "ft.skops")
    with pytest.raises(UnsafeArtifact) as info:
        load_skops(tmp_path / "ft.skops", trust_all=False)
    assert "double: not a scikit-learn estimator" in info.value.message
    loaded = load_skops(tmp_path / "ft.skops", trust_all=True)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_a_file_that_is_not_skops(tmp_path: Path) -> None:
    (tmp_path / "junk.skops").write_bytes(b"PK\x03\x04 definitely not a zip")
    with pytest.raises(UnsupportedArtifact, match="not a readable skops file"):
        load_skops(tmp_path / "junk.skops", trust_all=False)
