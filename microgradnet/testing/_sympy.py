"""An expression tree as a sympy expression: each op's own forward, run on sympy expressions.

The dual vocabulary of the op table runs every built-in forward on sympy expressions, so the
sympy form of an op is ``op.evaluate(sympy_inputs, arg)`` (``Abs(x)`` for abs, a ``Piecewise``
for relu). A ``define_op`` op gets its form the same way when its forward is written with
operators; one written with ``math`` needs a form in ``functions``.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from typing import Any

from ._tree import Node

__all__ = ["SympyForms", "sympy_form"]

SympyForms = Mapping[str, Callable[..., Any]]

# What a forward raises on a sympy expression it cannot handle: math.exp and float() raise
# TypeError, a comparison in an ``if`` raises TypeError, a NumPy ufunc TypeError or
# AttributeError.
_NOT_SYMBOLIC = (TypeError, ValueError, AttributeError, ArithmeticError)


def sympy_form(node: Node, sp: Any, symbols: tuple[Any, ...], functions: SympyForms) -> Any:
    """The tree as a sympy expression over ``symbols`` (``x0, x1, ...``).

    Args:
        node: the tree.
        sp: the sympy module.
        symbols: one sympy symbol per input.
        functions: sympy forms by op name; they take precedence over the ops' forwards.

    Raises:
        ValueError: an op has no entry in ``functions`` and its forward does not run on sympy
            expressions.
    """
    if node.kind == "var":
        return symbols[node.index]
    if node.kind == "const":
        return sp.Rational(node.arg)
    op = node.op
    assert op is not None
    xs = [sympy_form(child, sp, symbols, functions) for child in node.children]
    if op.name in functions:
        return functions[op.name](*xs)
    arg = None if node.arg is None else sp.Rational(node.arg)
    try:
        result = op.evaluate(xs, arg)
    except _NOT_SYMBOLIC as error:
        raise ValueError(
            f"Expression.sympy: the op {op.name!r} has no sympy form (its forward does not run "
            f"on sympy expressions: {error}); pass functions={{{op.name!r}: <a function of "
            f"sympy expressions>}}"
        ) from error
    if isinstance(result, sp.Basic):
        return result
    if isinstance(result, numbers.Real) and not isinstance(result, bool):
        return sp.Rational(float(result))  # a forward that ignores its inputs
    raise ValueError(
        f"Expression.sympy: the forward of op {op.name!r} returned {type(result).__name__} "
        f"for sympy expressions; pass functions={{{op.name!r}: <a function of sympy "
        f"expressions>}}"
    )
