"""Which types in a skops file modelport lets skops build, and why.

skops never unpickles: it audits the file and refuses every type outside its default trust
list (scikit-learn's public estimators, numpy, scipy, builtins) unless the caller trusts it
by name. modelport trusts, on top of skops' defaults, exactly one more family:

* **scikit-learn estimator classes skops does not list** (private helpers such as
  ``sklearn.multiclass._ConstantPredictor``): the name must resolve inside the ``sklearn``
  package and to a subclass of ``sklearn.base.BaseEstimator``. Such an object is plain Python
  attributes whose behaviour is scikit-learn's own code, so it is as safe as the public
  estimators skops already trusts. Only modules under ``sklearn`` are imported to check a
  name: a file cannot make modelport import anything else.

Everything else stays refused, on purpose, including two scikit-learn types skops itself
flags: ``sklearn.tree._tree.Tree`` (trees, forests, gradient boosting) and
``...hist_gradient_boosting.predictor.TreePredictor``. They are Cython node arrays whose
child and feature indices scikit-learn follows without bounds checks, so a crafted file loads
fine and then crashes the process, or reads foreign memory, at the first predict. A type check
cannot make them safe; only trusting the file's author can. ``trust_pickle`` is that trust
(it already allows arbitrary code through pickle), so with it every type in the file loads.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from modelport.errors import UnsafeArtifact, UnsupportedArtifact

_HOW = (
    "If you created this file or fully trust its source, register it with --trust-pickle "
    "(LoadOptions(trust_pickle=True)), which trusts every type in the artifact; or convert "
    "the model to ONNX with skl2onnx and serve it with the onnx runtime."
)


def is_sklearn_estimator(type_name: str) -> bool:
    """Whether a fully qualified name is a scikit-learn estimator class (imports only sklearn)."""
    module_name, _, attr = type_name.rpartition(".")
    if not (module_name == "sklearn" or module_name.startswith("sklearn.")):
        return False
    try:
        module = importlib.import_module(module_name)
    except Exception:  # any failure to import means: not a type we can vouch for
        return False
    from sklearn.base import BaseEstimator

    obj = getattr(module, attr, None)
    return isinstance(obj, type) and issubclass(obj, BaseEstimator)


def load_skops(path: Path, *, trust_all: bool) -> Any:
    """The object in a skops file, built under the trust policy above."""
    import skops.io as sio

    try:
        untrusted = list(sio.get_untrusted_types(file=path))
    except Exception as exc:
        raise UnsupportedArtifact(f"{path} is not a readable skops file: {exc}") from None
    if not trust_all:
        refused = [name for name in untrusted if not is_sklearn_estimator(name)]
        if refused:
            raise UnsafeArtifact(_refusal(path, refused), details={"untrusted_types": refused})
    try:
        return sio.load(path, trusted=untrusted)
    except Exception as exc:
        raise UnsupportedArtifact(f"skops could not load {path}: {exc}") from None


_NODE_ARRAYS = (
    "scikit-learn follows its child and feature indices without bounds checks, so a crafted "
    "file loads and then crashes the process or reads foreign memory at predict"
)
_REASONS = {
    "sklearn.tree._tree.Tree": _NODE_ARRAYS,
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor": _NODE_ARRAYS,
}


def _refusal(path: Path, refused: list[str]) -> str:
    lines = [f"{path} holds types that are not safe to load from an untrusted file:"]
    for name in sorted(refused):
        why = _REASONS.get(name) or (
            "not a scikit-learn estimator; building it runs code from its module "
            "with state chosen by the file"
        )
        lines.append(f"- {name}: {why}")
    lines.append(_HOW)
    return "\n".join(lines)
