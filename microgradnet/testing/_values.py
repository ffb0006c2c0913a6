"""``values()``: finite floats to use as the inputs of a function under test."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ._arguments import check_bounds, check_real

__all__ = ["values"]


def values(
    min_value: float = -10.0,
    max_value: float = 10.0,
    *,
    allow_zero: bool = True,
    min_magnitude: float = 0.0,
) -> st.SearchStrategy[float]:
    """Finite floats to use as inputs of a function under test.

    Args:
        min_value: smallest value (inclusive).
        max_value: largest value (inclusive).
        allow_zero: if false, 0.0 (and -0.0) is never drawn.
        min_magnitude: every drawn value has ``abs(x) >= min_magnitude`` (to stay away from a
            singularity or kink at 0).

    Returns:
        A strategy of Python floats; never NaN or infinite.

    Raises:
        InvalidArgument: (when drawn) a bound is not a finite real number, ``min_value >
            max_value``, ``min_magnitude`` is negative, or no value fits the constraints.

    Example:
        >>> values(0.0, 1.0, allow_zero=False).example() > 0.0
        True
    """

    def build() -> st.SearchStrategy[float]:
        who = "values"
        low, high = check_bounds(min_value, max_value, who)
        magnitude = check_real(min_magnitude, "min_magnitude", who)
        if magnitude < 0.0:
            raise InvalidArgument(f"{who}: min_magnitude={magnitude!r} must be >= 0")
        if not isinstance(allow_zero, bool):
            raise InvalidArgument(f"{who}: allow_zero={allow_zero!r} must be a bool")
        if magnitude == 0.0:
            parts = [st.floats(low, high)]
        else:
            parts = []
            if high >= magnitude:
                parts.append(st.floats(max(low, magnitude), high))
            if low <= -magnitude:
                parts.append(st.floats(low, min(high, -magnitude)))
        if not parts:
            raise InvalidArgument(
                f"{who}: no value in [{low!r}, {high!r}] has magnitude >= {magnitude!r}"
            )
        strategy = st.one_of(parts)
        if not allow_zero:
            if low == high == 0.0:
                raise InvalidArgument(f"{who}: allow_zero=False with min_value=max_value=0.0")
            strategy = strategy.filter(lambda x: x != 0.0)
        return strategy.map(float)

    return st.deferred(build)
