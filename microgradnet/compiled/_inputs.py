"""What compiled mode accepts as data: samples and batches as float arrays, with named errors."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..engine import Value

__all__ = ["as_floats", "batch_array", "example_arrays", "perturbed"]


def as_floats(x: Any, what: str) -> np.ndarray:
    """``x`` (a number, Value, or nested sequence / array of them) as a float array."""
    if isinstance(x, Value):
        return np.asarray(x.data)
    if isinstance(x, np.ndarray):
        if x.dtype.kind not in "biuf":
            raise TypeError(f"{what} must hold real numbers, got an array of dtype {x.dtype}")
        return x.astype(float)
    if isinstance(x, str | bytes) or x is None:
        raise TypeError(f"{what} must be a real number or a sequence of them, got {type(x)}")
    if isinstance(x, numbers.Real):
        return np.asarray(float(x))
    if not isinstance(x, Sequence):
        raise TypeError(
            f"{what} must be a real number or a sequence of them, got {type(x).__name__}"
        )
    try:  # nested lists of numbers, the usual data: NumPy converts them in one call
        fast = np.asarray(x)
    except ValueError:  # ragged: named below
        fast = None
    if fast is not None and fast.dtype.kind in "biuf" and fast.ndim:
        return fast.astype(float)
    try:
        return np.asarray([as_floats(v, what) for v in x], dtype=float)
    except ValueError:
        raise ValueError(f"{what} is ragged: every row needs the same length") from None


def example_arrays(example_inputs: Any, what: str) -> list[np.ndarray]:
    """One sample, a tuple with one entry per argument of the function, as arrays."""
    if isinstance(example_inputs, Value | numbers.Real | str | bytes | np.ndarray) or not (
        isinstance(example_inputs, Sequence)
    ):
        raise TypeError(
            f"{what} must be a tuple with one entry per argument of fn, e.g. (x,) or (x, y); "
            f"got {type(example_inputs).__name__}"
        )
    return [as_floats(a, f"{what}[{i}]") for i, a in enumerate(example_inputs)]


def perturbed(example: list[np.ndarray]) -> list[list[np.ndarray]]:
    """Candidate second samples to re-trace on: one flips most signs (to expose
    ``if x.data > 0``), one keeps the signs (for functions defined on a half-line)."""
    with np.errstate(over="ignore"):  # an example near the largest float: an infinite one
        return [[-1.3 * a + 0.1 for a in example], [1.1 * a + 0.05 for a in example]]


def batch_array(args: tuple[Any, ...], shapes: list[tuple[int, ...]]) -> np.ndarray:
    """The arguments of a call, one batch per argument of one sample's ``shapes``, as one
    ``(N, n_inputs)`` array, after every check."""
    if len(args) != len(shapes):
        raise TypeError(
            f"compiled function takes {len(shapes)} batch array(s), one per example input, "
            f"got {len(args)}"
        )
    columns = []
    size = None
    for i, (arg, shape) in enumerate(zip(args, shapes, strict=True)):
        a = as_floats(arg, f"batch input {i}")
        if a.ndim and not a.shape[0]:
            raise ValueError(f"batch input {i} is empty: at least one sample is needed")
        if a.ndim == 0 or a.shape[1:] != shape:
            raise ValueError(
                f"batch input {i} must have shape (N, {', '.join(map(str, shape))}) "
                f"(a batch of the example's shape {shape}), got {a.shape}".replace(", )", ")")
            )
        if size is None:
            size = a.shape[0]
        elif a.shape[0] != size:
            raise ValueError(
                f"batch inputs disagree on the batch size: input 0 has {size} samples, "
                f"input {i} has {a.shape[0]}"
            )
        columns.append(a.reshape(a.shape[0], -1))
    if not size:
        raise ValueError("the batch is empty: at least one sample is needed")
    return np.concatenate(columns, axis=1) if len(columns) > 1 else columns[0]
