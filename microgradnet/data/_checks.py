"""Argument checks shared by the data sets and helpers: one error naming the argument."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import TypeAlias

import numpy as np

__all__ = [
    "MAX_SEED",
    "Matrix",
    "integer",
    "integer_labels",
    "matrix",
    "non_negative",
    "seed_or_none",
    "shown",
]

Matrix: TypeAlias = list[list[float]]  # samples: one list of floats per sample


def integer(value: object, name: str, minimum: int) -> int:
    """``value`` as an int of at least ``minimum`` (a bool is refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an int, got {shown(value)}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {shown(value)}")
    return int(value)


def non_negative(value: object, name: str) -> float:
    """``value`` as a finite float >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {shown(value)}")
    number = _float_or_nan(value)
    if not math.isfinite(number) or number < 0.0:
        raise ValueError(f"{name} must be finite and >= 0, got {shown(value)}")
    return number


MAX_SEED = 2**32 - 1  # the largest seed scikit-learn's generators (NumPy's legacy RNG) take


def seed_or_none(seed: object) -> int | None:
    """A seed: ``None`` (fresh randomness) or an int from 0 to ``MAX_SEED``."""
    if seed is None:
        return None
    value = integer(seed, "seed", 0)
    if value > MAX_SEED:
        raise ValueError(f"seed must be <= 2**32 - 1 = {MAX_SEED}, got {shown(value)}")
    return value


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
            number = _float_or_nan(x)
            if isinstance(x, bool) or not math.isfinite(number):
                raise ValueError(f"{name}[{i}] must hold finite real numbers, got {shown(x)}")
            values.append(number)
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
        if isinstance(label, numbers.Integral) and not isinstance(label, bool):
            labels.append(int(label))
            continue
        number = _float_or_nan(label)
        if isinstance(label, bool) or not number.is_integer():
            raise ValueError(f"{name}[{i}] must be an integer label, got {shown(label)}")
        labels.append(int(number))
    return labels


def _float_or_nan(x: object) -> float:
    """``float(x)`` for a real number (infinite if too large for a float), else NaN."""
    if not isinstance(x, numbers.Real):
        return math.nan
    try:
        return float(x)
    except OverflowError:  # an int of 400 digits
        return math.inf


def shown(x: object) -> str:
    """``repr(x)`` cut to a readable length (a huge int is not even converted)."""
    if isinstance(x, int) and x.bit_length() > 256:
        return f"an int of {x.bit_length()} bits"
    try:
        text = repr(x)
    except ValueError:  # a list holding an int too long to print
        return type(x).__name__
    return text if len(text) <= 60 else text[:59] + "…"
