"""Gradient clipping, as ``torch.nn.utils`` does it: by the joint norm or by value.

Both functions are importable from :mod:`microgradnet.optim`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from ._optimizer import non_negative, parameter_list, real
from .engine import Value

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


# ----- gradient clipping -----
def clip_grad_norm_(params: Iterable[Value], max_norm: float, norm_type: float = 2.0) -> float:
    """Scale the gradients in place so that their joint norm is at most ``max_norm``.

    Args:
        params: the parameters whose ``.grad`` to clip (duplicates count once).
        max_norm: the largest allowed norm (>= 0).
        norm_type: the p of the p-norm (> 0), or ``math.inf`` for the largest absolute value.

    Returns:
        The total norm of the gradients before clipping.

    Raises:
        ValueError: ``max_norm`` is negative or ``norm_type`` is not positive.

    Note:
        As ``torch.nn.utils.clip_grad_norm_``: every gradient is multiplied by
        ``min(max_norm / (total_norm + 1e-6), 1)``.

    Example:
        >>> loss.backward(); clip_grad_norm_(model.parameters(), 1.0)  # doctest: +SKIP
    """
    parameters = parameter_list(params)
    max_norm = non_negative(max_norm, "max_norm")
    norm_type = real(norm_type, "norm_type")
    if norm_type <= 0.0:
        raise ValueError(f"Invalid norm_type value: {norm_type} (must be > 0 or math.inf)")
    grads = [abs(p.grad) for p in parameters]
    if norm_type == math.inf:
        total_norm = max(grads)
    elif norm_type == 2.0:
        total_norm = math.hypot(*grads)
    else:
        total_norm = math.fsum(g**norm_type for g in grads) ** (1.0 / norm_type)
    clip_coef = min(max_norm / (total_norm + 1e-6), 1.0)
    for p in parameters:
        p.grad *= clip_coef
    return total_norm


def clip_grad_value_(params: Iterable[Value], clip_value: float) -> None:
    """Clamp every gradient in place to ``[-clip_value, clip_value]``.

    Args:
        params: the parameters whose ``.grad`` to clip.
        clip_value: the largest allowed absolute gradient (>= 0).

    Raises:
        ValueError: ``clip_value`` is negative.
    """
    parameters = parameter_list(params)
    limit = non_negative(clip_value, "clip_value")
    for p in parameters:
        p.grad = min(max(p.grad, -limit), limit)
