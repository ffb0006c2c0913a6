"""The two-arm spiral: two classes wound around each other, the classic hard toy problem."""

from __future__ import annotations

import math

import numpy as np

from ._checks import Matrix, integer, non_negative, seed_or_none
from ._preprocessing import signed_labels

__all__ = ["make_spiral"]


def make_spiral(
    n_samples: int = 100,
    noise: float = 0.0,
    turns: float = 1.0,
    seed: int | None = None,
    *,
    signed: bool = False,
) -> tuple[Matrix, list[int]]:
    """Two spiral arms starting at the origin, one per class, half a turn apart.

    Point ``i`` of an arm sits at radius ``t`` and angle ``2π·turns·t`` (plus ``π`` for the
    second arm), the ``t`` evenly spaced in ``(0, 1]``; Gaussian noise is then added to both
    coordinates and the samples are shuffled. The points fill the disc of radius 1.

    Args:
        n_samples: number of points (>= 2); the first arm gets the extra one of an odd count.
        noise: standard deviation of the Gaussian noise added to each coordinate (>= 0).
        turns: how many times each arm winds around the origin (> 0).
        seed: makes the noise and the order reproducible; ``None`` draws fresh ones.
        signed: labels in {-1, +1} instead of {0, 1}.

    Returns:
        ``(X, y)``: a list of ``[x0, x1]`` points and their labels.

    Raises:
        ValueError: an argument is out of range (named in the message).

    Example:
        >>> X, y = make_spiral(6, seed=0)
        >>> len(X), sorted(y)
        (6, [0, 0, 0, 1, 1, 1])
        >>> round(max(math.hypot(*p) for p in X), 12)   # no noise: the arms end on the unit circle
        1.0
    """
    n = integer(n_samples, "n_samples", 2)
    sigma = non_negative(noise, "noise")
    winding = non_negative(turns, "turns")
    if winding == 0.0:
        raise ValueError(f"turns must be > 0, got {turns!r}")
    rng = np.random.default_rng(seed_or_none(seed))
    sizes = (n - n // 2, n // 2)
    points, labels = [], []
    for label, size in enumerate(sizes):
        t = np.arange(1, size + 1) / size
        angle = 2.0 * math.pi * winding * t + math.pi * label
        points.append(np.column_stack([t * np.cos(angle), t * np.sin(angle)]))
        labels.append(np.full(size, label))
    X = np.concatenate(points) + rng.normal(0.0, sigma, size=(n, 2))
    y = np.concatenate(labels)
    order = rng.permutation(n)
    ints = [int(label) for label in y[order]]
    return X[order].tolist(), signed_labels(ints) if signed else ints
