"""``define_op``: a user's float function and its derivative, made a row like the built-ins.

The op it makes is an :class:`~microgradnet.ops.Op`, so every backend treats it as it treats a
built-in row: the engine records and differentiates it, compiled mode runs it on NumPy arrays
(the user's own functions, when they work on arrays, else element by element) and
``testing.expressions()`` draws it. On floats its results are checked (a real number, not NaN,
one local derivative per input); arrays, ``Value``s and sympy expressions pass through.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable
from typing import Any

from . import ops
from ._dual import UndefinedGradient
from ._numbers import real_or_none, to_float
from .engine import Value, apply
from .ops import VARIADIC, Op

__all__ = ["define_op"]


def _positional_arity(fn: Callable[..., Any]) -> int:
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        raise TypeError(f"define_op: cannot read the signature of {fn!r}") from None
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters):
        return VARIADIC
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    arity = sum(1 for p in parameters if p.kind in positional and p.default is p.empty)
    if arity == 0:
        raise TypeError(f"define_op: {getattr(fn, '__name__', fn)!r} takes no inputs")
    return arity


def _all_numbers(xs: tuple[Any, ...]) -> bool:
    return all(type(x) is float or type(x) is int for x in xs)


def _checked_forward(forward: Callable[..., Any], name: str) -> Callable[..., Any]:
    def checked(*xs: Any) -> Any:
        if not _all_numbers(xs):  # NumPy arrays, sympy expressions: the user's function as is
            return forward(*xs)
        try:
            result = forward(*xs)
        except (ArithmeticError, ValueError) as error:
            inputs = ", ".join(repr(x) for x in xs)
            raise type(error)(f"{name}: {error} (input {inputs})") from error
        value = real_or_none(result)
        if value is None:
            raise TypeError(
                f"{name}: forward must return a real number, got {type(result).__name__}"
            )
        if math.isnan(value):
            inputs = ", ".join(repr(x) for x in xs)
            raise ValueError(f"{name}: forward returned NaN for input {inputs}")
        return value

    return checked


def _checked_derivative(
    derivative: Callable[..., Any], name: str, arity: int
) -> Callable[..., Any]:
    def check_local(d: Any) -> Any:
        if type(d) is Value or isinstance(d, UndefinedGradient):
            return d
        value = real_or_none(d)
        if value is None:
            if type(d).__module__.partition(".")[0] in ("numpy", "sympy"):
                return d  # an array (compiled mode) or a symbolic form
            raise TypeError(
                f"derivative of {name!r} must return real numbers or Values, got {type(d).__name__}"
            )
        if math.isnan(value):
            raise ValueError(f"derivative of {name!r} returned NaN")
        return value

    def checked(*args: Any) -> Any:
        n_inputs = arity or len(args) - 1
        result = derivative(*args)
        if isinstance(result, list | tuple):
            if len(result) != n_inputs:
                raise TypeError(
                    f"derivative of {name!r} returned {len(result)} values for {n_inputs} input(s)"
                )
            locals_ = tuple(check_local(d) for d in result)
            return locals_[0] if arity == 1 else locals_
        if n_inputs != 1:
            raise TypeError(
                f"derivative of {name!r} returned 1 value for {n_inputs} inputs (return a tuple)"
            )
        return check_local(result)

    return checked


def define_op(
    derivative: Callable[..., Any],
    *,
    name: str | None = None,
    symbol: str | None = None,
    domain: tuple[float, float] | None = None,
) -> Callable[[Callable[..., float]], Callable[..., Any]]:
    """Turn a float function into a differentiable op, built on the same record as the built-ins.

    Args:
        derivative: ``derivative(*inputs, out)`` returning d(out)/d(input), a tuple of them for
            several inputs. It is called with floats, or with ``Value``s when a graph of the
            gradient is being built, so write it with operators and the helpers of
            :mod:`microgradnet.ops` (``exp``, ``cos``, ...) to get higher-order gradients.
        name: op name in errors and drawings (default: the function's name).
        symbol: short label for drawings (default: the name).
        domain: open interval where the op is smooth, a hint for test generators.

    Returns:
        A decorator. The decorated function takes ``Value``s or numbers; with at least one
        ``Value`` it returns a ``Value`` node, with plain numbers only a plain float.

    Example:
        >>> @define_op(derivative=lambda x, out: 2 * x)
        ... def square(x):
        ...     return x * x
        >>> y = square(Value(3.0)); y.backward(); y.data
        9.0
    """
    if not callable(derivative):
        raise TypeError(f"define_op: derivative must be callable, got {type(derivative).__name__}")

    def decorate(forward: Callable[..., float]) -> Callable[..., Any]:
        if not callable(forward):
            raise TypeError(f"define_op: expected a function, got {type(forward).__name__}")
        arity = _positional_arity(forward)
        op_name = name or str(getattr(forward, "__name__", "user_op"))
        op = Op(
            op_name,
            _checked_forward(forward, op_name),
            _checked_derivative(derivative, op_name, arity),
            symbol or op_name,
            arity,
            domain=domain,
        )
        ops.register_user_op(op)

        @functools.wraps(forward)
        def call(*args: Any) -> Any:
            if any(type(a) is Value for a in args):
                return apply(op, *args)
            if arity != VARIADIC and len(args) != arity:
                raise TypeError(f"{op_name}: takes {arity} input(s), got {len(args)}")
            return op.evaluate([to_float(a, f"{op_name} input") for a in args])

        call.op = op  # type: ignore[attr-defined]
        return call

    return decorate
