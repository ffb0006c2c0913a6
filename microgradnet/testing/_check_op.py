"""``check_op``: gradcheck an op at many Hypothesis-drawn points, in one line of a test."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Sequence
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ..gradcheck import gradcheck, gradgradcheck
from ..ops import VARIADIC, Op
from ._arguments import check_bounds, check_int

__all__ = ["check_op"]


def _arity(op_fn: Callable[..., Any], n_inputs: int | None, who: str) -> int:
    if n_inputs is not None:
        return check_int(n_inputs, "n_inputs", who, 1, 100)
    op = getattr(op_fn, "op", None)
    if isinstance(op, Op):
        return 2 if op.arity == VARIADIC else op.arity
    try:
        parameters = inspect.signature(op_fn).parameters.values()
    except (TypeError, ValueError):
        raise InvalidArgument(
            f"{who}: cannot read the signature of {op_fn!r}; pass n_inputs"
        ) from None
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    count = sum(1 for p in parameters if p.kind in positional and p.default is p.empty)
    if count == 0:
        raise InvalidArgument(f"{who}: {op_fn!r} takes no positional inputs; pass n_inputs")
    return count


def _checked_domain(domain: object, op_fn: Callable[..., Any], who: str) -> tuple[float, float]:
    if isinstance(domain, str) or not isinstance(domain, Sequence) or len(domain) != 2:
        raise InvalidArgument(f"{who}: domain={domain!r} must be a pair (low, high)")
    low, high = check_bounds(domain[0], domain[1], who)
    hint = getattr(getattr(op_fn, "op", None), "domain", None)
    if hint is not None:
        low, high = max(low, hint[0]), min(high, hint[1])
    if not low < high:
        raise InvalidArgument(f"{who}: domain={domain!r} leaves no room inside the op's domain")
    return low, high


def check_op(
    op_fn: Callable[..., Any],
    domain: tuple[float, float] = (-3.0, 3.0),
    *,
    order: int = 2,
    max_examples: int | None = None,
    n_inputs: int | None = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> None:
    """Gradcheck an op at many Hypothesis-drawn points, at first and second order.

    Points are drawn inside ``domain`` (intersected with the op's own ``domain`` hint), 1% of
    its width away from either edge. A failure raises the shrunk example's
    :class:`~microgradnet.gradcheck.GradcheckError`, so a pytest test needs one line.

    Args:
        op_fn: a function made by ``define_op``, or any function of ``Value``s returning a
            ``Value``.
        domain: the finite interval ``(low, high)`` to draw every input from.
        order: 1 checks first derivatives; 2 (default) checks second derivatives too.
        max_examples: number of points (default: the current Hypothesis settings profile).
        n_inputs: number of inputs (default: the op's arity, 2 for a variadic op).
        eps: central-difference step (see :func:`~microgradnet.gradcheck.gradcheck`).
        atol: absolute tolerance.
        rtol: relative tolerance.

    Raises:
        GradcheckError: a gradient is wrong (or the op is not differentiable) at some point.
        InvalidArgument: an argument has the wrong type or is out of range.

    Example:
        >>> from microgradnet import define_op
        >>> @define_op(derivative=lambda x, out: 2 * x)
        ... def square(x):
        ...     return x * x
        >>> check_op(square, max_examples=20)
    """
    who = "check_op"
    if not callable(op_fn):
        raise InvalidArgument(f"{who}: op_fn must be callable, got {type(op_fn).__name__}")
    arity = _arity(op_fn, n_inputs, who)
    low, high = _checked_domain(domain, op_fn, who)
    check_order = check_int(order, "order", who, 1, 2)
    examples = (
        None if max_examples is None else check_int(max_examples, "max_examples", who, 1, 10**6)
    )
    margin = 0.01 * (high - low)
    points = st.lists(st.floats(low + margin, high - margin), min_size=arity, max_size=arity)

    def check(point: list[float]) -> None:
        gradcheck(op_fn, point, eps=eps, atol=atol, rtol=rtol)
        if check_order == 2:
            gradgradcheck(op_fn, point, eps=eps, atol=atol, rtol=rtol)

    # Hypothesis keys its example database on the test's name: one name per op.
    name = re.sub(r"\W", "_", getattr(op_fn, "__name__", "op"))
    check.__name__ = check.__qualname__ = f"check_op_{name}"
    test = given(points)(check)
    if examples is not None:
        test = settings(max_examples=examples)(test)
    test()
