"""What counts as a real number: int, float, bool and NumPy's scalars, stored as ``float``."""

from __future__ import annotations

import numbers

__all__ = ["real_or_none", "short", "to_float"]


def real_or_none(x: object) -> float | None:
    """``float(x)`` for a real number (int, float, bool, NumPy scalar), else ``None``."""
    if type(x) is float:
        return x
    if isinstance(x, numbers.Real) or _is_numpy_bool(x):
        return float(x)  # type: ignore[arg-type]
    return None


def _is_numpy_bool(x: object) -> bool:
    kind = type(x)
    return kind.__module__ == "numpy" and kind.__name__ in ("bool", "bool_")


def to_float(x: object, what: str) -> float:
    """``float(x)`` for a real number; otherwise a ``TypeError`` naming ``what`` and the type."""
    value = real_or_none(x)
    if value is None:
        raise TypeError(
            f"{what} must be a real number (int, float, bool or NumPy scalar), "
            f"got {type(x).__name__}"
        )
    return value


def short(x: float) -> str:
    """Six significant digits, still reading as a float (``2.0``, not ``2``)."""
    text = f"{x:.6g}"
    return text if any(c in text for c in ".einn") else text + ".0"
