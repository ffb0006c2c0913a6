"""Generated data sets: scikit-learn's moons, circles and blobs, and logic gates' truth tables."""

from __future__ import annotations

import numpy as np
from sklearn import datasets as _datasets

from ._checks import Matrix, integer, non_negative, seed_or_none, shown
from ._preprocessing import signed_labels

__all__ = ["GATES", "logic_gate", "make_blobs", "make_circles", "make_moons", "xor"]

GATES: dict[str, tuple[int, int, int, int]] = {
    # outputs for the inputs (0, 0), (0, 1), (1, 0), (1, 1)
    "and": (0, 0, 0, 1),
    "or": (0, 1, 1, 1),
    "nand": (1, 1, 1, 0),
    "nor": (1, 0, 0, 0),
    "xor": (0, 1, 1, 0),
}


def _as_lists(X: np.ndarray, y: np.ndarray, signed: bool) -> tuple[Matrix, list[int]]:
    labels = [int(label) for label in y]
    return X.astype(float).tolist(), signed_labels(labels) if signed else labels


def make_moons(
    n_samples: int = 100, noise: float = 0.0, seed: int | None = None, *, signed: bool = False
) -> tuple[Matrix, list[int]]:
    """Two interleaving half circles (scikit-learn's ``make_moons``).

    Args:
        n_samples: number of points (>= 2), split evenly between the moons.
        noise: standard deviation of the Gaussian noise added to the points (>= 0).
        seed: makes the data reproducible; ``None`` draws fresh data.
        signed: labels in {-1, +1} instead of {0, 1}.

    Returns:
        ``(X, y)``: a list of ``[x0, x1]`` points and their labels.

    Raises:
        ValueError: an argument is out of range (named in the message).

    Example:
        >>> X, y = make_moons(4, seed=0, signed=True)
        >>> sorted(y)
        [-1, -1, 1, 1]
    """
    n = integer(n_samples, "n_samples", 2)
    X, y = _datasets.make_moons(
        n_samples=n, noise=non_negative(noise, "noise"), random_state=seed_or_none(seed)
    )
    return _as_lists(X, y, signed)


def make_circles(
    n_samples: int = 100,
    noise: float = 0.0,
    factor: float = 0.8,
    seed: int | None = None,
    *,
    signed: bool = False,
) -> tuple[Matrix, list[int]]:
    """A small circle inside a large one (scikit-learn's ``make_circles``); label 1 is inside.

    Args:
        n_samples: number of points (>= 2).
        noise: standard deviation of the Gaussian noise (>= 0).
        factor: radius of the inner circle relative to the outer one, in (0, 1).
        seed: makes the data reproducible.
        signed: labels in {-1, +1} instead of {0, 1}.

    Returns:
        ``(X, y)`` as lists.

    Raises:
        ValueError: an argument is out of range (named in the message).
    """
    n = integer(n_samples, "n_samples", 2)
    ratio = non_negative(factor, "factor")
    if not 0.0 < ratio < 1.0:
        raise ValueError(f"factor must be in (0, 1), got {shown(factor)}")
    X, y = _datasets.make_circles(
        n_samples=n,
        noise=non_negative(noise, "noise"),
        factor=ratio,
        random_state=seed_or_none(seed),
    )
    return _as_lists(X, y, signed)


def make_blobs(
    n_samples: int = 100,
    centers: int = 3,
    n_features: int = 2,
    cluster_std: float = 1.0,
    seed: int | None = None,
) -> tuple[Matrix, list[int]]:
    """Gaussian blobs, one class per blob (scikit-learn's ``make_blobs``).

    Args:
        n_samples: number of points (>= 1).
        centers: number of blobs, i.e. classes (>= 1).
        n_features: dimension of each point (>= 1).
        cluster_std: standard deviation of each blob (> 0).
        seed: makes the data reproducible.

    Returns:
        ``(X, y)`` with labels ``0 .. centers - 1``.

    Raises:
        ValueError: an argument is out of range (named in the message).
    """
    std = non_negative(cluster_std, "cluster_std")
    if std == 0.0:
        raise ValueError(f"cluster_std must be > 0, got {shown(cluster_std)}")
    X, y = _datasets.make_blobs(
        n_samples=integer(n_samples, "n_samples", 1),
        centers=integer(centers, "centers", 1),
        n_features=integer(n_features, "n_features", 1),
        cluster_std=std,
        random_state=seed_or_none(seed),
    )
    return _as_lists(X, y, signed=False)


def logic_gate(name: str, *, signed: bool = False) -> tuple[Matrix, list[int]]:
    """The truth table of a two-input logic gate.

    Args:
        name: one of ``"and"``, ``"or"``, ``"nand"``, ``"nor"``, ``"xor"`` (any case).
        signed: labels in {-1, +1} instead of {0, 1}.

    Returns:
        ``(X, y)``: the four inputs ``[0, 0], [0, 1], [1, 0], [1, 1]`` and the gate's outputs.

    Raises:
        ValueError: unknown gate name.

    Example:
        >>> logic_gate("nand")[1]
        [1, 1, 1, 0]
    """
    key = name.lower() if isinstance(name, str) else name
    if key not in GATES:
        raise ValueError(f"unknown logic gate {shown(name)}; expected one of {', '.join(GATES)}")
    X = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    y = list(GATES[key])
    return X, signed_labels(y) if signed else y


def xor(*, signed: bool = False) -> tuple[Matrix, list[int]]:
    """The XOR truth table, the classic problem a single neuron cannot learn.

    Example:
        >>> xor()
        ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 1, 0])
    """
    return logic_gate("xor", signed=signed)
