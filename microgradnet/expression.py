"""A safe parser for arithmetic expressions over named variables, built as a `Value` graph.

The text is parsed with :func:`ast.parse` and walked over an allow-list of node types (numbers,
the given variables, ``+ - * / **``, unary ``-``/``+``, calls to the functions of
:data:`FUNCTIONS` by name). Nothing is ever evaluated as Python: anything outside the list is
refused with an :class:`ExpressionError` naming the offending piece.

The functions are the op table's: every row of :data:`microgradnet.ops.BUILTIN_OPS` with a
``function`` name is callable by it, so a new row is part of the grammar with no code here.
"""

from __future__ import annotations

import ast
import keyword
import math
import numbers
import operator
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import TypeAlias

from . import ops
from .engine import Value, apply

__all__ = [
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_NODES",
    "ExpressionError",
    "Function",
    "parse_expression",
]

MAX_LENGTH = 1000  # characters
MAX_NODES = 400  # syntax-tree nodes
MAX_DEPTH = 100  # nesting of syntax-tree nodes
_MAX_LABEL = 24
_MAX_LISTED = 10  # variables named in a message

Term: TypeAlias = "float | Value"


class ExpressionError(ValueError):
    """An expression that cannot be parsed or is not allowed; the message is one line."""


def _one_line(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quoted(name: object) -> str:
    """A name the user wrote, quoted and shortened for a message."""
    return _one_line(repr(name[: _MAX_LABEL * 2] if isinstance(name, str) else name), 40)


# ----- the binary operators: Python's, on Values and floats -----
_OPERATOR_SYMBOLS: dict[type[ast.operator], str] = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**",
}  # fmt: skip
_PYTHON_OPERATORS: dict[str, Callable[[Term, Term], Term]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "**": operator.pow,
}  # fmt: skip
# The row each operator builds, found by its drawing symbol: on two plain numbers the row's
# forward runs, so a domain error names the op ("div: division of 1.0 by zero").
_OPERATOR_ROWS: dict[str, ops.Op] = {
    op.symbol: op for op in ops.BUILTIN_OPS if op.arity == 2 and op.symbol in _PYTHON_OPERATORS
}


def _binary(symbol: str, x: Term, y: Term) -> Term:
    if isinstance(x, Value) or isinstance(y, Value):
        # Python's operator, not apply: a plain-number exponent stays a constant (x ** 2 for a
        # negative x needs no log(x)) and 2 ** x is rpow, as the engine's operators decide.
        return _PYTHON_OPERATORS[symbol](x, y)
    return float(_OPERATOR_ROWS[symbol].evaluate([x, y]))


# ----- the functions an expression may call: the op table's rows -----
@dataclass(frozen=True)
class Function:
    """An op-table row called by its ``function`` name: ``exp(x)``, ``leaky_relu(x, 0.2)``.

    A call gives one argument per input of the row (at least one, any number, for a variadic
    row), then the row's constant argument if it has one, which may be left out when the row
    has an ``arg_default``. The constant must be a number, not depend on a variable. The last
    inputs may be left out when the row has ``input_defaults`` (``hardtanh(x)``).

    Attributes:
        op: the row.
    """

    op: ops.Op

    @property
    def name(self) -> str:
        """The name the grammar calls it by (the row's ``function``)."""
        return self.op.function or self.op.name

    @property
    def fewest(self) -> int:
        """The fewest arguments a call may give."""
        needs_constant = self.op.const and self.op.arg_default is None
        return max(self.op.arity - len(self.op.input_defaults), 1) + int(needs_constant)

    @property
    def most(self) -> int | None:
        """The most arguments a call may give; ``None``: any number (a variadic row)."""
        if self.op.arity == ops.VARIADIC:
            return None
        return self.op.arity + int(self.op.const)

    def call_form(self) -> str:
        """How to call it: ``exp(x)``, ``pow(x, y)``, ``f(x, ...)``,
        ``leaky_relu(x[, negative_slope=0.01])``, ``hardtanh(x0[, x1=-1[, x2=1]])``."""
        arity = self.op.arity
        if arity == ops.VARIADIC:
            inputs = ["x", "..."]
        else:
            inputs = ["x", "y"][:arity] if arity <= 2 else [f"x{i}" for i in range(arity)]
        defaults = self.op.input_defaults
        if defaults:  # each optional input nested in the one before it
            first = arity - len(defaults)
            optional = [f"[, {x}={d:g}" for x, d in zip(inputs[first:], defaults, strict=True)]
            inputs = [*inputs[: first - 1], inputs[first - 1] + "".join(optional)]
            inputs[-1] += "]" * len(defaults)
        if self.op.const:
            default = self.op.arg_default
            name = self.op.arg_name
            inputs[-1] += f", {name}" if default is None else f"[, {name}={default:g}]"
        return f"{self.name}({', '.join(inputs)})"

    def __call__(self, *arguments: Term) -> Term:
        """The row on ``arguments``: a node when an input is a ``Value``, else a float.

        Raises:
            ExpressionError: the constant argument depends on a variable.
            ValueError, ArithmeticError: out-of-domain plain numbers (the message names the op).
        """
        op = self.op
        n_inputs = op.arity or len(arguments)
        inputs, rest = arguments[:n_inputs], arguments[n_inputs:]
        if len(inputs) < n_inputs:  # the last inputs left out: the row's input_defaults
            inputs = (*inputs, *op.input_defaults[len(inputs) - n_inputs :])
        arg: Term | None = None
        if op.const:
            arg = rest[0] if rest else op.arg_default
            if isinstance(arg, Value):
                raise ExpressionError(
                    f"{self.name}: {op.arg_name} must be a number, not depend on a variable"
                )
        if _OPERATOR_ROWS.get(op.symbol) is op:
            return _binary(op.symbol, *inputs)  # pow(x, y) is x ** y, the operator by name
        if any(isinstance(x, Value) for x in inputs):
            return apply(op, *inputs, arg=arg)
        return float(op.evaluate(inputs, arg))


# Every function of the grammar by name: one per op-table row with a ``function`` name.
FUNCTIONS: dict[str, Function] = {
    op.function: Function(op) for op in ops.BUILTIN_OPS if op.function is not None
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
            symbol = _OPERATOR_SYMBOLS.get(type(node.op))
            if symbol is None:
                text = _OPERATOR_TEXT.get(type(node.op), type(node.op).__name__)
                raise ExpressionError(f"operator {text} is not allowed: {self.piece(node)}")
            left, right = self.build(node.left), self.build(node.right)
            return self.compute(node, partial(_binary, symbol, left, right))
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
        known = ", ".join(list(self.variables)[:_MAX_LISTED]) or "none"
        if len(self.variables) > _MAX_LISTED:
            known += ", ..."
        raise ExpressionError(
            f"unknown name {_quoted(node.id)}: not a function nor one of the variables ({known})"
        )

    def call(self, node: ast.Call) -> Term:
        if not isinstance(node.func, ast.Name):
            raise self.refuse(node, "calls to anything but a function name")
        name = node.func.id
        if name not in FUNCTIONS:
            allowed = ", ".join(FUNCTIONS)
            raise ExpressionError(f"unknown function {_quoted(name)} (allowed: {allowed})")
        if node.keywords:
            raise self.refuse(node, f"keyword arguments (to {name})")
        for argument in node.args:
            if isinstance(argument, ast.Starred):
                raise self.refuse(argument, "starred arguments")
        function = FUNCTIONS[name]
        fewest, most = function.fewest, function.most
        if len(node.args) < fewest or (most is not None and len(node.args) > most):
            if most is None:
                wanted = f"at least {fewest} argument{'s' if fewest > 1 else ''}"
            elif most == fewest:
                wanted = f"{most} argument{'s' if most > 1 else ''}"
            else:
                wanted = f"{fewest} {'or' if most == fewest + 1 else 'to'} {most} arguments"
            raise ExpressionError(
                f"{name} takes {wanted}, got {len(node.args)}: {self.piece(node)}"
            )
        arguments = [self.build(argument) for argument in node.args]
        return self.compute(node, partial(function, *arguments))

    def compute(self, node: ast.AST, calculation: Callable[[], Term]) -> Term:
        try:
            result = calculation()
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
            raise ValueError(
                f"variable name {_quoted(name)} is not a valid name (letters, digits, _)"
            )
        if name in FUNCTIONS:
            raise ValueError(f"variable name {_quoted(name)} is already the name of a function")
        if isinstance(value, bool) or not isinstance(value, numbers.Real | Value):
            raise TypeError(
                f"variable {_quoted(name)} must be a real number, got {type(value).__name__}"
            )
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"variable {_quoted(name)} must be finite, got {number!r}")
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
    parentheses, and calls by name, with arguments by position, to the op table's functions in
    :data:`FUNCTIONS` (``exp(x)``, ``softplus(x)``, ``pow(x, y)``, ``leaky_relu(x)`` or
    ``leaky_relu(x, 0.2)``: a row's constant argument is a number, never a variable's
    expression). A part without variables is folded into one number, so ``x ** 2`` (and
    ``pow(x, 2)``) keeps its constant exponent. Each variable becomes a leaf labelled with its
    name, intermediate results are labelled with their text (when short) and the result is
    labelled ``out`` (unless it is a variable itself).

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
        # Python's tokenizer warns about some texts ("1if"): the refusal below says it all.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
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
