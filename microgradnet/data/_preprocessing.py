"""Preparing samples and labels: splitting, standardising, signed and one-hot labels."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn import model_selection as _model_selection

from ._checks import Matrix, integer, integer_labels, matrix, seed_or_none, shown

__all__ = ["one_hot", "signed_labels", "standardize", "train_test_split"]


def signed_labels(y: Sequence[int]) -> list[int]:
    """Map labels {0, 1} to {-1, +1} (labels already in {-1, +1} pass unchanged).

    Raises:
        ValueError: a label outside {-1, 0, 1}, or both 0 and -1 present.

    Example:
        >>> signed_labels([0, 1, 1])
        [-1, 1, 1]
    """
    labels = integer_labels(y)
    present = set(labels)
    if not present <= {-1, 0, 1} or {-1, 0} <= present:
        raise ValueError(f"labels must be in {{0, 1}} or {{-1, 1}}, got {shown(sorted(present))}")
    return [1 if label == 1 else -1 for label in labels]


def train_test_split(
    X: Sequence[Sequence[float]],
    y: Sequence[Any],
    test_size: float = 0.25,
    seed: int | None = None,
    stratify: bool = False,
) -> tuple[Matrix, Matrix, list[Any], list[Any]]:
    """Shuffle and split samples and labels into a training and a test part.

    Args:
        X: the samples.
        y: one label (or target) per sample.
        test_size: the fraction of samples held out, in (0, 1), or their number (an int).
        seed: makes the split reproducible.
        stratify: keep the class proportions of ``y`` in both parts.

    Returns:
        ``(X_train, X_test, y_train, y_test)``, in scikit-learn's order.

    Raises:
        ValueError: ``X`` and ``y`` differ in length, or ``test_size`` is out of range.
    """
    rows = matrix(X)
    targets = y.tolist() if isinstance(y, np.ndarray) else list(y)
    if len(rows) != len(targets):
        raise ValueError(f"X has {len(rows)} samples but y has {len(targets)}")
    if isinstance(test_size, bool) or not isinstance(test_size, numbers.Real):
        raise ValueError(f"test_size must be a fraction or a count, got {shown(test_size)}")
    if isinstance(test_size, numbers.Integral):
        if not 1 <= test_size < len(rows):
            raise ValueError(f"test_size must be in [1, {len(rows) - 1}], got {shown(test_size)}")
    elif not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be in (0, 1), got {shown(test_size)}")
    index = list(range(len(rows)))
    train, test = _model_selection.train_test_split(
        index,
        test_size=test_size,
        random_state=seed_or_none(seed),
        stratify=integer_labels(targets) if stratify else None,
    )
    return (
        [rows[i] for i in train],
        [rows[i] for i in test],
        [targets[i] for i in train],
        [targets[i] for i in test],
    )


def standardize(
    X: Sequence[Sequence[float]],
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
) -> tuple[Matrix, list[float], list[float]]:
    """Scale each feature to zero mean and unit variance.

    Compute ``mean`` and ``std`` on the training data, then pass them to standardise test data
    the same way. A constant feature gets ``std`` 1.0, so it maps to 0 instead of dividing by 0.

    Args:
        X: the samples.
        mean: per-feature means to use; computed from ``X`` if omitted.
        std: per-feature standard deviations to use; computed from ``X`` if omitted.

    Returns:
        ``(X_scaled, mean, std)``.

    Raises:
        ValueError: ``X`` is empty or ragged, or ``mean``/``std`` have the wrong length or a
            non-positive ``std``.

    Example:
        >>> standardize([[1.0], [3.0]])
        ([[-1.0], [1.0]], [2.0], [1.0])
    """
    rows = matrix(X)
    if not rows:
        raise ValueError("X must hold at least one sample")
    array = np.asarray(rows, dtype=float)
    n_features = array.shape[1]
    mu = array.mean(axis=0) if mean is None else np.asarray(matrix([mean], "mean")[0])
    if std is None:
        sigma = array.std(axis=0)
        sigma[sigma == 0.0] = 1.0
    else:
        sigma = np.asarray(matrix([std], "std")[0])
        if (sigma <= 0.0).any():
            raise ValueError(f"std must be > 0 for every feature, got {shown(list(std))}")
    for name, values in (("mean", mu), ("std", sigma)):
        if len(values) != n_features:
            raise ValueError(f"{name} has {len(values)} entries but X has {n_features} features")
    return ((array - mu) / sigma).tolist(), mu.tolist(), sigma.tolist()


def one_hot(labels: Sequence[int], n_classes: int) -> Matrix:
    """Each label as a list of ``n_classes`` floats, 1.0 at the label's index.

    Raises:
        ValueError: a label is outside ``0 .. n_classes - 1``.

    Example:
        >>> one_hot([0, 2], 3)
        [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    classes = integer(n_classes, "n_classes", 1)
    rows = []
    for i, label in enumerate(integer_labels(labels, "labels")):
        if not 0 <= label < classes:
            raise ValueError(f"labels[{i}] = {shown(label)} is outside 0 .. {classes - 1}")
        row = [0.0] * classes
        row[label] = 1.0
        rows.append(row)
    return rows
