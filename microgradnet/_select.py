"""A select on NumPy arrays without a branch per element, for the dual vocabulary's ``where``.

Note [a select without branches]
np.where picks each element with a branch. On a condition with no pattern (a relu over a layer:
about half its inputs negative, at random) the processor guesses wrong half the time, and
np.where costs ten times a multiplication. For float64 branches the bits are picked instead,
``f ^ ((t ^ f) & mask)`` with ``mask`` all ones where the condition holds: no branch, and the
same floats (NaN, -0.0 and infinities included). Arrays under 8,192 elements keep np.where:
there the four calls here cost more than the branches.
"""

from __future__ import annotations

from typing import Any

__all__ = ["select"]


def select(np: Any, condition: Any, if_true: Any, if_false: Any) -> Any:
    """``np.where(condition, if_true, if_false)`` to the last bit (Note [a select without
    branches]); ``np`` is the NumPy module, which the caller has already imported."""
    if condition.dtype == bool and condition.size >= 8192:
        t, f = np.asarray(if_true), np.asarray(if_false)
        shape = np.broadcast_shapes(condition.shape, t.shape, f.shape)
        if t.dtype == f.dtype == np.float64 and shape == condition.shape:
            mask = condition.astype(np.int64)
            np.negative(mask, out=mask)  # all ones where the condition holds
            np.bitwise_and(mask, np.bitwise_xor(t.view(np.int64), f.view(np.int64)), out=mask)
            np.bitwise_xor(mask, f.view(np.int64), out=mask)
            return mask.view(np.float64)
    return np.where(condition, if_true, if_false)
