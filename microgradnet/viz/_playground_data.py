"""The playground's data sets: five two-class problems in the square ``[-1.5, 1.5]²``.

Each generator gives points scaled to lie roughly in ``[-1, 1]²`` (plus their noise), so one
fixed view of the input plane suits them all and the inputs need no standardising. ``noise`` is
the standard deviation of the Gaussian noise, in the units of that square.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import numpy as np

from ..data import make_circles, make_moons, make_spiral

__all__ = ["DATASETS", "DOMAIN", "Split", "make_dataset", "split"]

Points = list[list[float]]

# The input plane the pictures show: x0 and x1 from -1.5 to 1.5.
DOMAIN = (-1.5, 1.5)


def _circles(n: int, noise: float, seed: int) -> tuple[Points, list[int]]:
    return make_circles(n, noise=noise, factor=0.5, seed=seed)


def _moons(n: int, noise: float, seed: int) -> tuple[Points, list[int]]:
    # scikit-learn's moons span x0 in [-1, 2] and x1 in [-0.5, 1]: centred and shrunk.
    X, y = make_moons(n, noise=noise * 1.5, seed=seed)
    return [[(a - 0.5) / 1.5, (b - 0.25) / 1.5] for a, b in X], y


def _xor(n: int, noise: float, seed: int) -> tuple[Points, list[int]]:
    # A point's class is whether x0 and x1 have the same sign; points keep clear of the axes.
    rng = np.random.default_rng(seed)
    corners = rng.uniform(0.1, 1.0, size=(n, 2)) * rng.choice([-1.0, 1.0], size=(n, 2))
    labels = (corners[:, 0] * corners[:, 1] > 0).astype(int)
    X = corners + rng.normal(0.0, noise, size=(n, 2))
    return X.tolist(), labels.tolist()


def _blobs(n: int, noise: float, seed: int) -> tuple[Points, list[int]]:
    # Two round clouds on a diagonal; the noise widens them until they overlap.
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    centres = np.where(labels[:, None] == 1, 0.5, -0.5)
    X = centres + rng.normal(0.0, 0.2 + noise, size=(n, 2))
    return X.tolist(), labels.tolist()


def _spiral(n: int, noise: float, seed: int) -> tuple[Points, list[int]]:
    return make_spiral(n, noise=noise, turns=1.25, seed=seed)


DATASETS: dict[str, Callable[[int, float, int], tuple[Points, list[int]]]] = {
    "circles": _circles,
    "xor": _xor,
    "moons": _moons,
    "blobs": _blobs,
    "spiral": _spiral,
}


def make_dataset(name: str, n_points: int, noise: float, seed: int) -> tuple[Points, list[int]]:
    """``n_points`` points of the data set ``name`` and their labels (0 or 1).

    Raises:
        ValueError: an unknown name (the message lists the data sets).

    Example:
        >>> X, y = make_dataset("xor", 8, 0.0, seed=0)
        >>> all((a * b > 0) == bool(label) for (a, b), label in zip(X, y))
        True
    """
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    return DATASETS[name](n_points, noise, seed)


Split = tuple[Points, list[int], Points, list[int]]


def split(X: Points, y: list[int], train_fraction: float, seed: int) -> Split:
    """``(X_train, y_train, X_test, y_test)``: a shuffled split keeping ``train_fraction`` of the
    points (at least one) for training and the rest (at least one) for testing.

    Example:
        >>> X_train, y_train, X_test, y_test = split([[0.0, 0.0]] * 10, [0] * 10, 0.7, seed=0)
        >>> len(X_train), len(X_test)
        (7, 3)
    """
    order = list(range(len(X)))
    random.Random(seed).shuffle(order)
    n_train = min(max(1, math.floor(train_fraction * len(X) + 0.5)), len(X) - 1)
    train, test = order[:n_train], order[n_train:]
    return [X[i] for i in train], [y[i] for i in train], [X[i] for i in test], [y[i] for i in test]
