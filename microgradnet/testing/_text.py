"""An expression tree as readable Python text, derived from each op's row.

An op whose symbol is a Python binary operator is written infix (``x0 * x1``; with a constant
argument, on the side ``arg_first`` says: ``x0 ** 2``, ``2 ** x0``), a unary ``-`` as a prefix,
and every other op as a call of its function name, the constant argument last (first with
``arg_first``): ``tanh(x0)``, ``leaky_relu(x0, 0.1)``. A fused ``w·x + b`` node (``bilinear``
and variadic) reads ``dot([w...], [x...], b)``.
"""

from __future__ import annotations

from .. import ops
from ._tree import Node

__all__ = ["text"]

# Python's binding strength of its binary operators (a fact of the grammar, not of our ops),
# between that of a unary minus and of an atom.
_BINARY_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "//": 2, "%": 2, "@": 2, "**": 4}
_UNARY = 3
_ATOM = 5

_Part = tuple[str, int]  # text and its precedence


def text(node: Node) -> str:
    """The tree as Python text: ``tanh(x0 * x1) + exp(x0)``."""
    return _text(node)[0]


def _number(c: float) -> str:
    return str(int(c)) if c.is_integer() and abs(c) < 1e15 else repr(c)


def _constant(c: float) -> _Part:
    return _number(c), _ATOM if c >= 0 else _UNARY


def _wrap(part: _Part, min_precedence: int) -> str:
    text, precedence = part
    return text if precedence >= min_precedence else f"({text})"


def _infix(symbol: str, left: _Part, right: _Part) -> _Part:
    precedence = _BINARY_PRECEDENCE[symbol]
    # Left-associative operators take a left operand of their own precedence unparenthesized;
    # ``**`` binds tighter than a unary minus on its left, so both of its operands are wrapped
    # unless atoms.
    left_needs = precedence + 1 if symbol == "**" else precedence
    text = f"{_wrap(left, left_needs)} {symbol} {_wrap(right, precedence + 1)}"
    return text, precedence


def _text(node: Node) -> _Part:
    """The node as Python text, and its precedence (to parenthesize correctly)."""
    if node.kind == "var":
        return f"x{node.index}", _ATOM
    if node.kind == "const":
        assert node.arg is not None
        return _constant(node.arg)
    op = node.op
    assert op is not None
    parts = [_text(child) for child in node.children]
    symbol, arg = op.symbol, node.arg
    if op.const and arg is not None and symbol in _BINARY_PRECEDENCE:
        constant = _constant(arg)
        left, right = (constant, parts[0]) if op.arg_first else (parts[0], constant)
        return _infix(symbol, left, right)
    if op.arity == 2 and symbol in _BINARY_PRECEDENCE:
        return _infix(symbol, parts[0], parts[1])
    if op.arity == 1 and not op.const and symbol == "-":
        return f"-{_wrap(parts[0], _ATOM)}", _UNARY
    args = [part_text for part_text, _ in parts]
    if op.bilinear and op.arity == ops.VARIADIC:
        n = len(args) // 2
        args = [f"[{', '.join(args[:n])}]", f"[{', '.join(args[n : 2 * n])}]", *args[2 * n :]]
    if op.const and arg is not None:
        args = [_number(arg), *args] if op.arg_first else [*args, _number(arg)]
    return f"{op.function or op.name}({', '.join(args)})", _ATOM
