"""Nested lists as images: shape checks and index gatherers for ``microgradnet.conv``.

A sample is a nested list ``[channels][height][width]`` of numbers or ``Value``s. These helpers
check such lists (with errors that name the shape found), flatten them, and build the fast
gatherers convolution and pooling read their windows with.

Example:
    >>> shape_of([[[0.0, 1.0]], [[2.0, 3.0]]]), flatten([[[1, 2]], [[3, 4]]])
    ('[2][1][2]', [1, 2, 3, 4])
"""

from __future__ import annotations

import numbers
import operator
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

from .engine import Value

__all__ = [
    "Gather",
    "count",
    "flatten",
    "gatherer",
    "image",
    "is_list",
    "output_size",
    "pair",
    "shape_of",
]

Gather: TypeAlias = Callable[[Sequence[Any]], tuple[Any, ...]]


# ----- argument checks -----
def pair(value: object, name: str, owner: str, minimum: int) -> tuple[int, int]:
    """``value`` (an int or a pair of ints) as ``(height, width)``, each ``>= minimum``."""
    items = value if isinstance(value, tuple | list) else (value, value)
    if len(items) != 2 or any(
        isinstance(v, bool) or not isinstance(v, numbers.Integral) for v in items
    ):
        raise TypeError(f"{owner}: {name} must be an int or a pair of ints, got {value!r}")
    if any(v < minimum for v in items):
        raise ValueError(f"{owner}: {name} must be >= {minimum}, got {value!r}")
    return int(items[0]), int(items[1])


def count(value: object, name: str, owner: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{owner}: {name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{owner}: {name} must be at least 1, got {value}")
    return int(value)


# ----- nested lists -----
def is_list(x: object) -> bool:
    return isinstance(x, list | tuple)


def shape_of(x: Any) -> str:
    """The shape of a nested list as text, read along its first elements: ``"[1][8][8]"``.

    A scalar is ``"a scalar"``; anything else is named by its type.

    Example:
        >>> shape_of([[[0.0, 1.0]], [[2.0, 3.0]]])
        '[2][1][2]'
    """
    if isinstance(x, Value | numbers.Real):
        return "a scalar"
    if not is_list(x):
        return f"a {type(x).__name__}"
    dims = []
    while is_list(x):
        dims.append(len(x))
        if not x:
            break
        x = x[0]
    return "".join(f"[{d}]" for d in dims)


def image(x: Any, channels: int | None, owner: str) -> tuple[list[Value], int, int, int]:
    """``x`` checked to be ``[channels][H][W]`` (any channel count for ``None``); returns its
    elements as a flat list of Values, C, H and W."""
    expected = f"[{'channels' if channels is None else channels}][height][width]"
    if (
        not is_list(x)
        or not x
        or (channels is not None and len(x) != channels)
        or not is_list(x[0])
        or not x[0]
    ):
        raise ValueError(f"{owner}: expected an input of shape {expected}, got {shape_of(x)}")
    height = len(x[0])
    width = len(x[0][0]) if is_list(x[0][0]) else -1
    flat: list[Any] = []
    for c, channel in enumerate(x):
        if not is_list(channel) or len(channel) != height:
            raise ValueError(
                f"{owner}: expected an input of shape {expected}; channel 0 has {height} rows "
                f"but channel {c} is {shape_of(channel)}"
            )
        for i, row in enumerate(channel):
            if not is_list(row) or len(row) != width or width < 1:
                raise ValueError(
                    f"{owner}: expected an input of shape {expected} with equal rows; "
                    f"got {shape_of(x)} whose row [{c}][{i}] is {shape_of(row)}"
                )
            flat.extend(row)
    for k, v in enumerate(flat):
        if type(v) is not Value:
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                c, rest = divmod(k, height * width)
                raise TypeError(
                    f"{owner}: input element [{c}][{rest // width}][{rest % width}] must be a "
                    f"Value or a real number, got {type(v).__name__}"
                )
            flat[k] = Value(float(v))
    return flat, len(x), height, width


def flatten(x: Any) -> list[Any]:
    """The leaves of a nested list, in row-major order (channels, then rows, then columns).

    Example:
        >>> flatten([[[1, 2], [3, 4]], [[5, 6], [7, 8]]])
        [1, 2, 3, 4, 5, 6, 7, 8]
    """
    if not is_list(x):
        return [x]
    if not any(is_list(v) for v in x):
        return list(x)
    return [leaf for v in x for leaf in flatten(v)]


def gatherer(indices: Sequence[int]) -> Gather:
    """A fast ``lambda seq: tuple(seq[i] for i in indices)``."""
    if len(indices) == 0:
        return lambda seq: ()
    if len(indices) == 1:
        (index,) = indices
        return lambda seq: (seq[index],)
    return operator.itemgetter(*indices)


def output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1
