"""Finding out which of the op table's rows another engine has, and how to call each one.

A row is reached the way micrograd-style classes are written, read from its fields: a row whose
symbol is one of Python's binary operators through that operator, with values and numbers on
either side (``x + y``, ``x + 2``, ``2 + x``); a row with a constant argument and an operator
symbol as ``x ** 2`` (``2 ** x`` when ``arg_first``); unary minus as ``-x``; every other row as
a method named by its ``function`` (``x.tanh()``, ``x.leaky_relu(0.1)``, ``x.hypot(y)``), or
``abs(x)`` for ``abs``. An :class:`~microgradnet.testing.Adapter`'s ``methods`` name the rows an
engine calls differently. Each way is tried on values inside the row's domain (its
``ranges``); the ones that work make the row's :class:`Binding`.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .. import ops
from ..ops import VARIADIC, Op
from ._engine import Engine

__all__ = ["Binding", "probe"]

_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
}
# What probing may raise for an op the engine does not have (micrograd asserts on x ** y).
_MISSING = (TypeError, AttributeError, NotImplementedError, AssertionError)

Call = Callable[[Sequence[Any], Any], Any]  # (inputs, constant argument) -> a value


@dataclass(frozen=True)
class Binding:
    """How an engine computes one row of the op table.

    Attributes:
        op: the row.
        how: how it is written for the engine (``"x + y, x + 2, 2 + x"``, ``"x.tanh()"``).
        call: ``call(inputs, arg)``, the op on the engine's values.
        forms: for an operator, which operands may be plain numbers: ``"vv"``, ``"vn"``,
            ``"nv"`` (value or number, left then right); a number in a form the engine lacks
            is made a leaf first. Empty for a method: every input is made a value.
    """

    op: Op
    how: str
    call: Call
    forms: frozenset[str] = frozenset()

    def apply(self, engine: Engine, inputs: Sequence[Any], arg: Any = None) -> Any:
        """The op on ``inputs``: the engine's values or plain numbers."""
        if self.forms:
            form = "".join("v" if engine.is_value(x) else "n" for x in inputs)
            if form not in self.forms:
                inputs = [engine.lift(x) for x in inputs]
            return self.call(inputs, arg)
        return self.call([engine.lift(x) for x in inputs], arg)


# ----- a point inside each row's domain -----
_SPOTS = (0.7, 1.3, 0.4, 1.9)  # distinct (no ties), away from 0 (relu's kink)


def _spot(input_range: ops.InputRange, i: int) -> float:
    spot = _SPOTS[i % len(_SPOTS)]
    if input_range is None:
        return spot
    if input_range == ops.MODERATE:
        return spot / 2.0
    if isinstance(input_range, str):
        return spot
    low, high = input_range
    if math.isfinite(low) and math.isfinite(high):
        return low + (high - low) * (0.3 + 0.1 * i)
    return low + spot if math.isfinite(low) else (high - spot if math.isfinite(high) else spot)


def example_arg(op: Op) -> Any:
    """A constant argument to try the row with (``None`` for a row without one)."""
    if not op.const:
        return None
    return op.arg_examples[0] if op.arg_examples else op.arg_default


def spots(op: Op, arg: Any = None, n_inputs: int | None = None) -> list[float]:
    """Distinct inputs inside the row's domain, away from its kinks."""
    n = n_inputs if n_inputs is not None else (op.arity or 2)
    ranges = op.ranges(arg, n)
    return [_spot(ranges[i] if i < len(ranges) else None, i) for i in range(n)]


# ----- the ways a row can be called -----
def _method_call(name: str | Callable[..., Any], const: bool) -> Call:
    def call(inputs: Sequence[Any], arg: Any) -> Any:
        extra = (arg,) if const else ()
        if callable(name):
            return name(*inputs, *extra)
        first, *rest = inputs
        return getattr(first, name)(*rest, *extra)

    return call


def _abs_call(inputs: Sequence[Any], arg: Any) -> Any:
    return abs(inputs[0])


def _class_call(name: str, as_list: bool) -> Call:
    # Value.arctan2(y, x), Value.sum([a, b, c]): a function of the class, not a method
    def call(inputs: Sequence[Any], arg: Any) -> Any:
        function = getattr(type(inputs[0]), name)
        return function(list(inputs)) if as_list else function(*inputs)

    return call


def _candidates(op: Op, engine: Engine) -> list[tuple[str, Call, bool]]:
    """``(how, call, is_operator)`` in the order they are tried."""
    found: list[tuple[str, Call, bool]] = []
    custom = engine.adapter.methods.get(op.name) or (
        engine.adapter.methods.get(op.function) if op.function else None
    )
    if custom is not None:
        how = f"x.{custom}()" if isinstance(custom, str) else "adapter.methods"
        found.append((how, _method_call(custom, op.const), False))
    symbol = op.symbol
    if symbol in _OPERATORS and op.arity == 2 and not op.const:
        fn = _OPERATORS[symbol]
        found.append((f"x {symbol} y", lambda xs, arg: fn(xs[0], xs[1]), True))
    elif symbol in _OPERATORS and op.const:
        fn = _OPERATORS[symbol]
        if op.arg_first:
            found.append((f"c {symbol} x", lambda xs, arg: fn(arg, xs[0]), False))
        else:
            found.append((f"x {symbol} c", lambda xs, arg: fn(xs[0], arg), False))
    elif symbol == "-" and op.arity == 1 and not op.const:
        found.append(("-x", lambda xs, arg: operator.neg(xs[0]), False))
    name = op.function or op.name
    if not name.isidentifier():
        return found
    if op.arity == VARIADIC:
        if not op.bilinear:  # a dot's inputs (w..., x..., b) have no common call
            found.append((f"Value.{name}([x, y, ...])", _class_call(name, True), False))
        return found
    shown = ", ".join(["y", "z"][: op.arity - 1] + (["c"] if op.const else []))
    found.append((f"x.{name}({shown})", _method_call(name, op.const), False))
    if op.arity > 1 and not op.const:
        inputs = ", ".join(["x", "y", "z"][: op.arity])
        found.append((f"Value.{name}({inputs})", _class_call(name, False), False))
    if name == "abs" and op.arity == 1:
        found.append(("abs(x)", _abs_call, False))
    return found


def _works(engine: Engine, call: Call, inputs: Sequence[Any], arg: Any) -> str | None:
    """``None`` if ``call`` gives a value of the engine, else why not."""
    try:
        result = call(inputs, arg)
    except _MISSING as error:
        return f"{type(error).__name__}: {error}".rstrip(": ")
    except (ArithmeticError, ValueError) as error:
        return f"raises {type(error).__name__} inside its domain: {error}"
    if not engine.is_value(result):
        return f"gives {type(result).__name__}, not a value"
    return None


def probe(op: Op, engine: Engine) -> Binding | str:
    """The row's binding for ``engine``, or why the engine does not have the op."""
    arg = example_arg(op)
    points = spots(op, arg)
    reasons = []
    for how, call, is_operator in _candidates(op, engine):
        values = [engine.leaf(x) for x in points]
        reason = _works(engine, call, values, arg)
        if reason is not None:
            reasons.append(f"{how}: {reason}")
            continue
        if not is_operator:
            return Binding(op, how, call)
        forms = {"vv"}
        symbol = op.symbol
        shown = [f"x {symbol} y"]
        for form, mixed, text in (
            ("vn", [engine.leaf(points[0]), points[1]], f"x {symbol} 2"),
            ("nv", [points[0], engine.leaf(points[1])], f"2 {symbol} x"),
        ):
            if _works(engine, call, mixed, arg) is None:
                forms.add(form)
                shown.append(text)
        return Binding(op, ", ".join(shown), call, frozenset(forms))
    if not reasons:
        return "no way to call it (an adapter's methods can name one)"
    return "; ".join(reasons)
