"""Checks of the strategies' arguments: a bad one raises ``InvalidArgument``, as Hypothesis's
own strategies do, naming the strategy and the argument."""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection, Sequence

from hypothesis.errors import InvalidArgument

__all__ = ["check_bounds", "check_int", "check_names", "check_real"]


def check_real(value: object, name: str, who: str) -> float:
    """``value`` as a finite float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidArgument(f"{who}: {name}={value!r} must be a real number")
    number = float(value)
    if not math.isfinite(number):
        raise InvalidArgument(f"{who}: {name}={value!r} must be finite")
    return number


def check_int(value: object, name: str, who: str, low: int, high: int) -> int:
    """``value``, an int between ``low`` and ``high``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{who}: {name}={value!r} must be an int")
    if not low <= value <= high:
        raise InvalidArgument(f"{who}: {name}={value!r} must be between {low} and {high}")
    return value


def check_bounds(min_value: object, max_value: object, who: str) -> tuple[float, float]:
    """``(min_value, max_value)`` as finite floats in order."""
    low = check_real(min_value, "min_value", who)
    high = check_real(max_value, "max_value", who)
    if low > high:
        raise InvalidArgument(f"{who}: min_value={low!r} is greater than max_value={high!r}")
    return low, high


def check_names(names: object, argument: str, who: str, valid: Collection[str]) -> list[str]:
    """``names`` (every name in ``valid`` for ``None``): a non-empty list drawn from ``valid``."""
    if names is None:
        return list(valid)
    if isinstance(names, str) or not isinstance(names, Sequence) or not names:
        raise InvalidArgument(f"{who}: {argument}={names!r} must be a non-empty list of names")
    for name in names:
        if name not in valid:
            raise InvalidArgument(
                f"{who}: unknown activation {name!r} in {argument}; valid: {', '.join(valid)}"
            )
    return list(names)
