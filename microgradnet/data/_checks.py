"""Argument checks shared by the data sets and helpers: one error naming the argument."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import TypeAlias

import numpy as np

__all__ = ["Matrix", "integer", "integer_labels", "matrix", "non_negative", "seed_or_none"]

Matrix: TypeAlias = list[list[float]]  # samples: one list of floats per sample


def integer(value: object, name: str, minimum: int) -> int:
    """``value`` as an int of at least ``minimum`` (a bool is refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


def non_negative(value: object, name: str) -> float:
    """``value`` as a finite float >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or number < 0.0:
        raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
    return number


def seed_or_none(seed: object) -> int | None:
    """A seed: ``None`` (fresh randomness) or an int >= 0."""
    if seed is None:
        return None
    return integer(seed, "seed", 0)


def matrix(X: object, name: str = "X") -> Matrix:
    """``X`` as a list of equally long lists of finite floats."""
    if isinstance(X, np.ndarray):
        X = X.tolist()
    if isinstance(X, (str, bytes)) or not isinstance(X, Sequence):
        raise ValueError(f"{name} must be a list of samples, got {type(X).__name__}")
    rows: Matrix = []
    for i, row in enumerate(X):
        if isinstance(row, (str, bytes)) or not isinstance(row, Sequence):
            raise ValueError(f"{name}[{i}] must be a list of numbers, got {type(row).__name__}")
        values = []
        for x in row:
            if isinstance(x, bool) or not isinstance(x, numbers.Real) or not math.isfinite(x):
                raise ValueError(f"{name}[{i}] must hold finite real numbers, got {x!r}")
            values.append(float(x))
        if rows and len(values) != len(rows[0]):
            raise ValueError(
                f"{name}[{i}] has {len(values)} features but {name}[0] has {len(rows[0])}"
            )
        rows.append(values)
    return rows


def integer_labels(y: object, name: str = "y") -> list[int]:
    """``y`` as a list of ints; a label must be a whole number (``1.0`` is ``1``)."""
    if isinstance(y, np.ndarray):
        y = y.tolist()
    if isinstance(y, (str, bytes)) or not isinstance(y, Sequence):
        raise ValueError(f"{name} must be a list of integer labels, got {type(y).__name__}")
    labels = []
    for i, label in enumerate(y):
        number = float(label) if isinstance(label, numbers.Real) else math.nan
        if isinstance(label, bool) or not number.is_integer():
            raise ValueError(f"{name}[{i}] must be an integer label, got {label!r}")
        labels.append(int(number))
    return labels
