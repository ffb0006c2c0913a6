"""Positions in an array as a slice where they allow it: a run of consecutive positions reads
and writes a view of the array, where an index array gathers a copy and scatters it back."""

from __future__ import annotations

import numpy as np

__all__ = ["as_index"]


def as_index(idx: np.ndarray) -> np.ndarray | slice:
    """A slice when ``idx`` (1-D) is a run of consecutive slots, else ``idx`` itself."""
    if idx.ndim == 1 and idx.size == 1:
        return slice(int(idx[0]), int(idx[0]) + 1)
    if idx.ndim == 1 and idx.size > 1:
        step = int(idx[1] - idx[0])
        if step in (1, -1) and bool((np.diff(idx) == step).all()):
            stop = int(idx[-1]) + step
            return slice(int(idx[0]), None if stop < 0 else stop, step)
    return idx
