"""Tiny tables shared by the runtime tests: 40 rows, three numeric features."""

from __future__ import annotations

import numpy as np
import pandas as pd

FEATURES = ["a", "b", "c"]


def table(rows: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.random((rows, len(FEATURES))), columns=FEATURES)


def binary_target(frame: pd.DataFrame) -> np.ndarray:
    return (frame["a"] + frame["b"] > 1.0).to_numpy().astype(int)


def three_classes(frame: pd.DataFrame) -> np.ndarray:
    return np.digitize(frame["a"].to_numpy(), [0.33, 0.66])


def regression_target(frame: pd.DataFrame) -> np.ndarray:
    return (2 * frame["a"] - frame["b"] + 0.5 * frame["c"]).to_numpy()


def columns(frame: pd.DataFrame, names: list[str] | None = None) -> dict[str, np.ndarray]:
    """The frame as one named column per feature, renamed to ``names`` when given."""
    names = names or list(frame.columns)
    return {n: frame[c].to_numpy() for n, c in zip(names, frame.columns, strict=True)}


def unnamed(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Columns named f0..fN-1, as a model trained without names expects."""
    return columns(frame, [f"f{i}" for i in range(frame.shape[1])])
