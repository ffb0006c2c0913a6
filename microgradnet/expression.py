"""A safe parser for arithmetic expressions over named variables, built as a `Value` graph.

The text is parsed with :func:`ast.parse` and walked over an allow-list of node types (numbers,
the given variables, ``+ - * / **``, unary ``-``/``+``, calls to the engine's functions by name).
Nothing is ever evaluated as Python: anything outside the list is refused with an
:class:`ExpressionError` naming the offending piece.
"""

from __future__ import annotations

import ast
import keyword
import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any, TypeAlias

from . import ops
from .engine import Value

__all__ = [
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_NODES",
    "ExpressionError",
    "parse_expression",
]

MAX_LENGTH = 1000  # characters
MAX_NODES = 400  # syntax-tree nodes
MAX_DEPTH = 100  # nesting of syntax-tree nodes
_MAX_LABEL = 24

Term: TypeAlias = "float | Value"


class ExpressionError(ValueError):
    """An expression that cannot be parsed or is not allowed; the message is one line."""


def _one_line(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ----- the functions an expression may call -----
def _unary(op: ops.Op, method: str) -> Callable[[Term], Term]:
    def call(x: Term) -> Term:
        return op.forward(x) if isinstance(x, float) else getattr(x, method)()

    return call


def _leaky_relu(x: Term, negative_slope: Term = 0.01) -> Term:
    if isinstance(negative_slope, Value):
        raise ExpressionError("leaky_relu: the slope must be a number, not depend on a variable")
    if isinstance(x, float):
        return ops.LEAKY_RELU.forward(x, negative_slope)
    return x.leaky_relu(negative_slope)


def _pow(x: Term, y: Term) -> Term:
    if isinstance(x, float) and isinstance(y, float):
        return ops.POW.forward(x, y)
    return x**y


FUNCTIONS: dict[str, tuple[Callable[..., Term], int, int]] = {
    # name: (function, fewest arguments, most arguments)
    "exp": (_unary(ops.EXP, "exp"), 1, 1),
    "log": (_unary(ops.LOG, "log"), 1, 1),
    "sqrt": (_unary(ops.SQRT, "sqrt"), 1, 1),
    "sin": (_unary(ops.SIN, "sin"), 1, 1),
    "cos": (_unary(ops.COS, "cos"), 1, 1),
    "tanh": (_unary(ops.TANH, "tanh"), 1, 1),
    "sigmoid": (_unary(ops.SIGMOID, "sigmoid"), 1, 1),
    "softplus": (_unary(ops.SOFTPLUS, "softplus"), 1, 1),
    "relu": (_unary(ops.RELU, "relu"), 1, 1),
    "abs": (lambda x: abs(x), 1, 1),
    "leaky_relu": (_leaky_relu, 1, 2),
    "pow": (_pow, 2, 2),
}

_BINARY: dict[type[ast.operator], tuple[str, Callable[[Any, Any], Term]]] = {
    ast.Add: ("+", lambda x, y: x + y),
    ast.Sub: ("-", lambda x, y: x - y),
    ast.Mult: ("*", lambda x, y: x * y),
    ast.Div: (
        "/",
        lambda x, y: (
            x / y if isinstance(x, Value) or isinstance(y, Value) else ops.DIV.forward(x, y)
        ),
    ),
    ast.Pow: ("**", _pow),
}
_OPERATOR_TEXT = {
    ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>",
    ast.BitOr: "|", ast.BitXor: "^", ast.BitAnd: "&", ast.Not: "not", ast.Invert: "~",
}  # fmt: skip
_REFUSED = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscripts",
    ast.Slice: "slices",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.Lambda: "lambdas",
    ast.Starred: "starred arguments",
    ast.Compare: "comparisons",
    ast.BoolOp: "boolean operators",
    ast.IfExp: "conditional expressions",
    ast.NamedExpr: "assignment expressions",
    ast.JoinedStr: "f-strings",
    ast.List: "lists",
    ast.Tuple: "tuples",
    ast.Set: "sets",
    ast.Dict: "dicts",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}


class _Builder:
    """Walks an already size-checked tree; ``float`` for constants, ``Value`` otherwise."""

    def __init__(self, text: str, variables: dict[str, Value]) -> None:
        self.text = text
        self.variables = variables

    def piece(self, node: ast.AST) -> str:
        segment = ast.get_source_segment(self.text, node)
        return _one_line(segment if segment else type(node).__name__)

    def refuse(self, node: ast.AST, what: str) -> ExpressionError:
        return ExpressionError(f"{what} not allowed: {self.piece(node)}")

    def build(self, node: ast.AST) -> Term:
        result = self._build(node)
        if isinstance(result, Value) and not result.label and result.parents:
            label = self.piece(node)
            result.label = label if len(label) <= _MAX_LABEL else ""
        return result

    def _build(self, node: ast.AST) -> Term:
        if isinstance(node, ast.Constant):
            return self.number(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.BinOp):
            entry = _BINARY.get(type(node.op))
            if entry is None:
                symbol = _OPERATOR_TEXT.get(type(node.op), type(node.op).__name__)
                raise ExpressionError(f"operator {symbol} is not allowed: {self.piece(node)}")
            left, right = self.build(node.left), self.build(node.right)
            return self.compute(node, entry[1], left, right)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return -self.build(node.operand)
            if isinstance(node.op, ast.UAdd):
                return self.build(node.operand)
            symbol = _OPERATOR_TEXT.get(type(node.op), type(node.op).__name__)
            raise ExpressionError(f"operator {symbol} is not allowed: {self.piece(node)}")
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self.refuse(node, _REFUSED.get(type(node), f"{type(node).__name__} expressions"))

    def number(self, node: ast.Constant) -> float:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            kind = "complex numbers" if isinstance(value, complex) else type(value).__name__
            raise ExpressionError(f"{kind} not allowed, only real numbers: {self.piece(node)}")
        try:
            number = float(value)
        except OverflowError:
            raise ExpressionError(f"number too large: {self.piece(node)}") from None
        if not math.isfinite(number):
            raise ExpressionError(f"number too large: {self.piece(node)}")
        return number

    def name(self, node: ast.Name) -> Value:
        if node.id in self.variables:
            return self.variables[node.id]
        if node.id in FUNCTIONS:
            raise ExpressionError(f"{node.id} is a function; call it, e.g. {node.id}(x)")
        known = ", ".join(self.variables) or "none"
        raise ExpressionError(
            f"unknown name {node.id!r}: not a function nor one of the variables ({known})"
        )

    def call(self, node: ast.Call) -> Term:
        if not isinstance(node.func, ast.Name):
            raise self.refuse(node, "calls to anything but a function name")
        name = node.func.id
        if name not in FUNCTIONS:
            allowed = ", ".join(FUNCTIONS)
            raise ExpressionError(f"unknown function {name!r} (allowed: {allowed})")
        if node.keywords:
            raise self.refuse(node, f"keyword arguments (to {name})")
        for argument in node.args:
            if isinstance(argument, ast.Starred):
                raise self.refuse(argument, "starred arguments")
        function, fewest, most = FUNCTIONS[name]
        if not fewest <= len(node.args) <= most:
            wanted = str(fewest) if fewest == most else f"{fewest} or {most}"
            raise ExpressionError(
                f"{name} takes {wanted} argument{'s' if most > 1 else ''}, "
                f"got {len(node.args)}: {self.piece(node)}"
            )
        arguments = [self.build(argument) for argument in node.args]
        return self.compute(node, function, *arguments)

    def compute(self, node: ast.AST, function: Callable[..., Term], *arguments: Term) -> Term:
        try:
            result = function(*arguments)
        except ExpressionError:
            raise
        except (ArithmeticError, ValueError) as error:
            raise ExpressionError(f"{_one_line(str(error), 120)} in {self.piece(node)}") from None
        if not math.isfinite(float(result)):
            raise ExpressionError(f"the result overflows ({float(result)}) in {self.piece(node)}")
        return result


def _check_variables(variables: object) -> dict[str, float]:
    if not isinstance(variables, Mapping):
        raise TypeError(
            f"variables must be a dict of name -> number, got {type(variables).__name__}"
        )
    checked = {}
    for name, value in variables.items():
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise ValueError(f"variable name {name!r} is not a valid name (letters, digits, _)")
        if name in FUNCTIONS:
            raise ValueError(f"variable name {name!r} is already the name of a function")
        if isinstance(value, bool) or not isinstance(value, numbers.Real | Value):
            raise TypeError(f"variable {name!r} must be a real number, got {type(value).__name__}")
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"variable {name!r} must be finite, got {number!r}")
        checked[name] = number
    return checked


def _check_size(tree: ast.AST) -> None:
    count = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ExpressionError(f"expression too large: more than {MAX_NODES} syntax nodes")
        if depth > MAX_DEPTH:
            raise ExpressionError(f"expression nested too deeply: more than {MAX_DEPTH} levels")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def parse_expression(text: str, variables: Mapping[str, float]) -> tuple[Value, dict[str, Value]]:
    """Build the ``Value`` graph of an arithmetic expression, without evaluating any Python.

    Allowed: numbers, the names in ``variables``, ``+ - * / **``, unary ``-`` and ``+``,
    parentheses, and calls by name to ``exp log sqrt sin cos tanh sigmoid softplus relu abs``,
    ``leaky_relu(x, slope=0.01)`` (slope a number, given by position) and ``pow(x, y)``.
    A part without variables is folded into one number, so ``x ** 2`` keeps its constant
    exponent. Each variable becomes a leaf labelled with its name, intermediate results are
    labelled with their text (when short) and the result is labelled ``out`` (unless it is a
    variable itself).

    Args:
        text: the expression, e.g. ``"tanh(a*b + c)"`` (at most ``MAX_LENGTH`` characters).
        variables: each variable's value, e.g. ``{"a": 2, "b": -3, "c": 10}``.

    Returns:
        ``(out, leaves)``: the result and a dict of the variables' leaves by name, in the
        order of ``variables``; ``out.backward()`` fills their ``.grad``.

    Raises:
        ExpressionError: (a ``ValueError``) with a one-line message naming the offending piece:
            a syntax error, a construct that is not allowed (attribute access, subscripts,
            comprehensions, lambdas, keyword or starred arguments, ...), an unknown name or
            function, oversized input, or an error computing it (``log(-1)``).
        TypeError, ValueError: ``variables`` has a bad name or a value that is not a number.

    Example:
        >>> out, leaves = parse_expression("a*b + c", {"a": 2, "b": -3, "c": 10})
        >>> out.backward(); out.data, leaves["a"].grad
        (4.0, -3.0)
    """
    if not isinstance(text, str):
        raise TypeError(f"expression must be a str, got {type(text).__name__}")
    values = _check_variables(variables)
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression too long: {len(text)} characters (at most {MAX_LENGTH})")
    if not text.strip():
        raise ExpressionError("the expression is empty")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        where = f" at column {error.offset}" if error.offset else ""
        message = f"syntax error{where}: {error.msg or 'invalid syntax'}"
        raise ExpressionError(f"{_one_line(message, 80)} in {_one_line(text)}") from None
    except (ValueError, MemoryError, RecursionError) as error:
        raise ExpressionError(f"cannot parse the expression: {_one_line(str(error))}") from None
    _check_size(tree)
    leaves = {name: Value(value, label=name) for name, value in values.items()}
    builder = _Builder(text.strip(), leaves)
    out = builder.build(tree.body)
    if not isinstance(out, Value):
        out = Value(out)
    if not (out.op == "" and out.label in leaves):
        out.label = "out"
    return out, leaves
