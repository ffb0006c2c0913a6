"""Hypothesis strategies for gradient tests: ``values()``, ``expressions()``, ``mlps()``.

Plus :func:`check_op`, which gradchecks a user op over many generated points in one line. This is
the only module that imports Hypothesis, an optional dependency: ``pip install
'microgradnet[testing]'`` (which also installs sympy, used by :meth:`Expression.sympy`).

The strategies follow Hypothesis's API style: plural names, keyword-only arguments (bounds
excepted), and bad arguments raise :class:`hypothesis.errors.InvalidArgument` when the strategy
is first drawn from.

Example:
    >>> from hypothesis import given
    >>> from microgradnet.gradcheck import gradcheck
    >>> from microgradnet.testing import expressions
    >>> @given(expressions())
    ... def test_gradients(e):
    ...     assert gradcheck(e.fn, e.inputs)
"""

from __future__ import annotations

import inspect
import math
import numbers
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

try:
    from hypothesis import given, reject, settings
    from hypothesis import strategies as st
    from hypothesis.errors import InvalidArgument
except ImportError as error:  # pragma: no cover - exercised only without hypothesis
    raise ImportError(
        "microgradnet.testing needs Hypothesis, an optional dependency: "
        "pip install 'microgradnet[testing]'"
    ) from error

from . import ops
from .engine import Value, apply
from .gradcheck import gradcheck, gradgradcheck
from .ops import VARIADIC, Op

__all__ = [
    "Expression",
    "MLPExample",
    "check_op",
    "expressions",
    "mlps",
    "values",
]

# Every generated subexpression stays within +-LIMIT at the drawn inputs: a larger one is scaled
# by a power of ten, so that central differences are not drowned in rounding noise.
LIMIT = 100.0
# Arguments of abs, relu and leaky_relu stay at least this far from the kink at 0.
KINK_MARGIN = 0.1
# Input bounds of expressions(); beyond them, central differences in float64 lose their meaning.
MAX_INPUT = 100.0

_CONSTANTS = (2.0, 0.5, -1.5, 3.0)
_EXPONENTS = (2.0, 3.0, -1.0, 0.5, 1.5, -0.5)  # of x ** c
_BASES = (2.0, 0.5, 3.0)  # of c ** x
_SLOPES = (0.01, 0.1, 0.2)  # of leaky_relu
_BUILTIN_BY_NAME = {op.name: op for op in ops.BUILTIN_OPS}


# ----- argument checks (InvalidArgument, as Hypothesis's own strategies) -----
def _check_real(value: object, name: str, who: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidArgument(f"{who}: {name}={value!r} must be a real number")
    value = float(value)
    if not math.isfinite(value):
        raise InvalidArgument(f"{who}: {name}={value!r} must be finite")
    return value


def _check_int(value: object, name: str, who: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{who}: {name}={value!r} must be an int")
    if not low <= value <= high:
        raise InvalidArgument(f"{who}: {name}={value!r} must be between {low} and {high}")
    return value


def _check_bounds(min_value: object, max_value: object, who: str) -> tuple[float, float]:
    low = _check_real(min_value, "min_value", who)
    high = _check_real(max_value, "max_value", who)
    if low > high:
        raise InvalidArgument(f"{who}: min_value={low!r} is greater than max_value={high!r}")
    return low, high


# ----- values -----
def values(
    min_value: float = -10.0,
    max_value: float = 10.0,
    *,
    allow_zero: bool = True,
    min_magnitude: float = 0.0,
) -> st.SearchStrategy[float]:
    """Finite floats to use as inputs of a function under test.

    Args:
        min_value: smallest value (inclusive).
        max_value: largest value (inclusive).
        allow_zero: if false, 0.0 (and -0.0) is never drawn.
        min_magnitude: every drawn value has ``abs(x) >= min_magnitude`` (to stay away from a
            singularity or kink at 0).

    Returns:
        A strategy of Python floats; never NaN or infinite.

    Raises:
        InvalidArgument: (when drawn) a bound is not a finite real number, ``min_value >
            max_value``, ``min_magnitude`` is negative, or no value fits the constraints.

    Example:
        >>> values(0.0, 1.0, allow_zero=False).example() > 0.0
        True
    """

    def build() -> st.SearchStrategy[float]:
        who = "values"
        low, high = _check_bounds(min_value, max_value, who)
        magnitude = _check_real(min_magnitude, "min_magnitude", who)
        if magnitude < 0.0:
            raise InvalidArgument(f"{who}: min_magnitude={magnitude!r} must be >= 0")
        if not isinstance(allow_zero, bool):
            raise InvalidArgument(f"{who}: allow_zero={allow_zero!r} must be a bool")
        if magnitude == 0.0:
            parts = [st.floats(low, high)]
        else:
            parts = []
            if high >= magnitude:
                parts.append(st.floats(max(low, magnitude), high))
            if low <= -magnitude:
                parts.append(st.floats(low, min(high, -magnitude)))
        if not parts:
            raise InvalidArgument(
                f"{who}: no value in [{low!r}, {high!r}] has magnitude >= {magnitude!r}"
            )
        strategy = st.one_of(parts)
        if not allow_zero:
            if low == high == 0.0:
                raise InvalidArgument(f"{who}: allow_zero=False with min_value=max_value=0.0")
            strategy = strategy.filter(lambda x: x != 0.0)
        return strategy.map(float)

    return st.deferred(build)


# ----- expression trees -----
@dataclass(frozen=True, slots=True, eq=False)
class _Node:
    """A node of a generated expression and its value at the drawn inputs.

    ``kind`` is "var" (``arg`` is the input index), "const" (``arg`` is the number) or "op"
    (``op`` with ``children``; ``arg`` is the op's constant, or the number of weights of a dot).
    """

    kind: str
    value: float
    op: Op | None = None
    children: tuple[_Node, ...] = ()
    arg: Any = None


def _const(c: float) -> _Node:
    return _Node("const", c, arg=c)


def _node(op: Op, children: Sequence[_Node], arg: Any = None) -> _Node:
    xs = [child.value for child in children]
    value = op.forward(*xs, arg) if op.const else op.forward(*xs)
    return _Node("op", value, op, tuple(children), arg)


def _bounded(node: _Node) -> _Node:
    """``node`` itself, or ``10**-k * node`` when its value exceeds ``LIMIT``."""
    if abs(node.value) <= LIMIT:
        return node
    scale = 10.0 ** -math.ceil(math.log10(abs(node.value) / LIMIT))
    return _node(ops.MUL, [_const(scale), node])


def _squared_plus(a: _Node, c: float) -> _Node:
    """``a ** 2 + c``: at least ``c`` everywhere."""
    return _node(ops.ADD, [_node(ops.POW_CONST, [a], 2.0), _const(c)])


def _into_domain(a: _Node, domain: tuple[float, float] | None) -> _Node:
    """An expression of ``a`` that lies inside the open interval ``domain`` for every input."""
    if domain is None:
        return a
    low, high = domain
    if low == -math.inf and high == math.inf:
        return a
    if high == math.inf:
        return _squared_plus(a, low + 1.0)
    if low == -math.inf:
        return _node(ops.SUB, [_const(high - 1.0), _node(ops.POW_CONST, [a], 2.0)])
    # tanh is within (-1, 1): the result keeps 5% of the width from either edge.
    middle, half = (low + high) / 2.0, 0.45 * (high - low)
    spread = _node(ops.MUL, [_const(half), _tanh(a)])
    return spread if middle == 0.0 else _node(ops.ADD, [_const(middle), spread])


def _tanh(a: _Node) -> _Node:
    return _node(ops.TANH, [a])


def _away_from_kink(a: _Node, shift_up: bool) -> _Node:
    if abs(a.value) >= KINK_MARGIN:
        return a
    return _node(ops.ADD if shift_up else ops.SUB, [a, _const(1.0)])


def _realize_builtin(op: Op, children: list[_Node], extra: Any) -> _Node:
    """The op applied with every input inside its domain (and, at the drawn inputs, off kinks)."""
    name = op.name
    if name == "div":
        return _node(op, [children[0], _squared_plus(children[1], 1.0)])
    if name == "pow":
        return _node(op, [_squared_plus(children[0], 1.0), _tanh(children[1])])
    if name == "exp":
        return _node(op, [_tanh(children[0])])
    if name == "rpow":
        return _node(op, [_tanh(children[0])], extra)
    if name == "pow_const":
        exponent = extra
        base = children[0]
        if exponent < 0 or not exponent.is_integer():
            base = _squared_plus(base, 1.0)
        return _node(op, [base], exponent)
    if name in ("abs", "relu"):
        return _node(op, [_away_from_kink(children[0], extra)])
    if name == "leaky_relu":
        slope, shift_up = extra
        return _node(op, [_away_from_kink(children[0], shift_up)], slope)
    if name == "max" and len(children) > 1:
        # Keep the largest clear of the runner-up: a tie is a kink.
        ranked = sorted(range(len(children)), key=lambda i: children[i].value, reverse=True)
        first, second = ranked[0], ranked[1]
        if children[first].value - children[second].value < KINK_MARGIN:
            children = list(children)
            children[first] = _node(ops.ADD, [children[first], _const(1.0)])
        return _node(op, children)
    if name == "dot":
        pairs, bias = extra
        flat = [w for w, _ in pairs] + [x for _, x in pairs] + ([] if bias is None else [bias])
        return _node(op, flat, len(pairs))
    if op.arity == 1:
        return _node(op, [_into_domain(children[0], op.domain)])
    return _node(op, children)


def _leaves(shape: Any) -> list[tuple[str, Any]]:
    if isinstance(shape, tuple) and shape and shape[0] in ("var", "const"):
        return [shape]
    if isinstance(shape, tuple | list):
        return [leaf for part in shape for leaf in _leaves(part)]
    return []


def _with_a_variable(shape: Any) -> Any:
    """``shape``, or (when every leaf is a constant) the same with its first leaf made ``x0``."""
    leaves = _leaves(shape)
    if any(kind == "var" for kind, _ in leaves):
        return shape
    first = leaves[0]

    def replace(part: Any) -> Any:
        if part is first:
            return ("var", 0)
        if isinstance(part, tuple | list) and not (part and part[0] == "const"):
            return type(part)(replace(p) for p in part)
        return part

    return replace(shape)


def _realize(shape: Any, inputs: tuple[float, ...]) -> _Node:
    """Turn a drawn shape into an expression tree, in-domain and bounded at ``inputs``."""
    kind = shape[0]
    if kind == "var":
        return _Node("var", inputs[shape[1]], arg=shape[1])
    if kind == "const":
        return _const(shape[1])
    op, children_shapes, extra = shape
    if op is ops.DOT:
        pairs, bias = children_shapes
        pairs = [(_realize(w, inputs), _realize(x, inputs)) for w, x in pairs]
        extra = (pairs, None if bias is None else _realize(bias, inputs))
        children: list[_Node] = []
    else:
        children = [_realize(child, inputs) for child in children_shapes]
    if _BUILTIN_BY_NAME.get(op.name) is op:
        return _bounded(_realize_builtin(op, children, extra))
    # A user op: map a unary input into its domain hint; reject inputs where it still fails.
    if op.arity == 1:
        children = [_into_domain(children[0], op.domain)]
    try:
        node = _node(op, children)
    except (ArithmeticError, ValueError):
        reject()
    if not math.isfinite(node.value):
        reject()
    return _bounded(node)


# ----- evaluating and printing trees -----
_VALUE_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "add": lambda x, y: x + y,
    "sub": lambda x, y: x - y,
    "mul": lambda x, y: x * y,
    "div": lambda x, y: x / y,
    "pow": lambda x, y: x**y,
    "neg": lambda x: -x,
    "abs": abs,
}


def _evaluate(node: _Node, args: Sequence[Any]) -> Any:
    """The tree on ``args`` (Values or floats); a subtree without a Value gives a float."""
    if node.kind == "var":
        return args[node.arg]
    if node.kind == "const":
        return node.arg
    xs = [_evaluate(child, args) for child in node.children]
    op = node.op
    assert op is not None
    if not any(isinstance(x, Value) for x in xs):
        if op.const:
            return op.forward(*[float(x) for x in xs], node.arg)
        return op.forward(*[float(x) for x in xs])
    name = op.name
    if _BUILTIN_BY_NAME.get(name) is not op:
        return apply(op, *xs)
    if name in _VALUE_FUNCTIONS:
        return _VALUE_FUNCTIONS[name](*xs)
    if name == "pow_const":
        return xs[0] ** node.arg
    if name == "rpow":
        return node.arg ** xs[0]
    if name == "leaky_relu":
        return xs[0].leaky_relu(node.arg)
    if name == "sum":
        return Value.sum(xs)
    if name == "max":
        return Value.max(xs)
    if name == "dot":
        n = node.arg
        return Value.dot(xs[:n], xs[n : 2 * n], xs[2 * n] if len(xs) > 2 * n else None)
    return getattr(xs[0], name)()


_INFIX = {"add": ("+", 1), "sub": ("-", 1), "mul": ("*", 2), "div": ("/", 2)}
_ATOM = 5


def _number(c: float) -> str:
    return str(int(c)) if c.is_integer() and abs(c) < 1e15 else repr(c)


def _text(node: _Node) -> tuple[str, int]:
    """The node as Python-like text, and its precedence (to parenthesize correctly)."""
    if node.kind == "var":
        return f"x{node.arg}", _ATOM
    if node.kind == "const":
        return _number(node.arg), _ATOM if node.arg >= 0 else 3
    op = node.op
    assert op is not None
    parts = [_text(child) for child in node.children]
    name = op.name
    is_builtin = _BUILTIN_BY_NAME.get(name) is op

    def wrap(part: tuple[str, int], min_precedence: int) -> str:
        text, precedence = part
        return text if precedence >= min_precedence else f"({text})"

    if is_builtin and name in _INFIX:
        symbol, precedence = _INFIX[name]
        left, right = wrap(parts[0], precedence), wrap(parts[1], precedence + 1)
        return f"{left} {symbol} {right}", precedence
    if is_builtin and name == "neg":
        return f"-{wrap(parts[0], _ATOM)}", 3
    if is_builtin and name in ("pow", "pow_const", "rpow"):
        if name == "pow_const":
            parts = [parts[0], (_number(node.arg), _ATOM if node.arg >= 0 else 3)]
        elif name == "rpow":
            parts = [(_number(node.arg), _ATOM), parts[0]]
        return f"{wrap(parts[0], _ATOM)} ** {wrap(parts[1], _ATOM)}", 4
    args = [text for text, _ in parts]
    if is_builtin and name == "leaky_relu":
        args.append(_number(node.arg))
    if is_builtin and name == "dot":
        n = node.arg
        args = [f"[{', '.join(args[:n])}]", f"[{', '.join(args[n : 2 * n])}]", *args[2 * n :]]
    return f"{name}({', '.join(args)})", _ATOM


def _sympy_form(node: _Node, sp: Any, symbols: tuple[Any, ...], functions: dict[str, Any]) -> Any:
    if node.kind == "var":
        return symbols[node.arg]
    if node.kind == "const":
        return sp.Rational(node.arg)
    op = node.op
    assert op is not None
    xs = [_sympy_form(child, sp, symbols, functions) for child in node.children]
    name = op.name
    if name in functions:
        return functions[name](*xs)
    if _BUILTIN_BY_NAME.get(name) is not op:
        raise ValueError(
            f"Expression.sympy: the user op {name!r} has no sympy form; "
            f"pass functions={{{name!r}: <a function of sympy expressions>}}"
        )
    x = xs[0]
    forms: dict[str, Callable[[], Any]] = {
        "add": lambda: xs[0] + xs[1],
        "sub": lambda: xs[0] - xs[1],
        "mul": lambda: xs[0] * xs[1],
        "div": lambda: xs[0] / xs[1],
        "pow": lambda: xs[0] ** xs[1],
        "neg": lambda: -x,
        "pow_const": lambda: x ** sp.Rational(node.arg),
        "rpow": lambda: sp.Rational(node.arg) ** x,
        "exp": lambda: sp.exp(x),
        "log": lambda: sp.log(x),
        "sqrt": lambda: sp.sqrt(x),
        "sin": lambda: sp.sin(x),
        "cos": lambda: sp.cos(x),
        "abs": lambda: sp.Piecewise((x, x > 0), (-x, True)),
        "tanh": lambda: sp.tanh(x),
        "sigmoid": lambda: 1 / (1 + sp.exp(-x)),
        "softplus": lambda: sp.log(1 + sp.exp(x)),
        "relu": lambda: sp.Piecewise((x, x > 0), (0, True)),
        "leaky_relu": lambda: sp.Piecewise((x, x > 0), (sp.Rational(node.arg) * x, True)),
        "sum": lambda: sp.Add(*xs),
        "max": lambda: sp.Max(*xs),
        "dot": lambda: (
            sp.Add(
                *[w * v for w, v in zip(xs[: node.arg], xs[node.arg : 2 * node.arg], strict=True)]
            )
            + sp.Add(*xs[2 * node.arg :])
        ),
    }
    return forms[name]()


class _ExpressionFunction:
    """The callable of an Expression; its ``str()`` is the expression, for error messages."""

    __slots__ = ("_expression",)

    def __init__(self, expression: Expression) -> None:
        self._expression = expression

    def __call__(self, *args: Any) -> Any:
        return self._expression(*args)

    def __str__(self) -> str:
        return str(self._expression)

    def __repr__(self) -> str:
        return f"<function of {self._expression.n_inputs} inputs: {self._expression}>"


class Expression:
    """A generated scalar expression and the point it was generated for.

    Attributes:
        fn: callable on ``n_inputs`` Values (returns a Value) or floats (returns a float); its
            ``str()`` is the expression, so gradcheck messages name it.
        inputs: the drawn point, a tuple of ``n_inputs`` floats, at which every op is inside its
            domain, away from kinks, and every subexpression is within ``LIMIT``.
        n_inputs: the number of variables ``x0, x1, ...`` (some may not appear).

    Example:
        >>> from microgradnet.testing import expressions
        >>> e = expressions().example()
        >>> isinstance(e.fn(*e.inputs), float)
        True
    """

    __slots__ = ("_root", "fn", "inputs", "n_inputs")

    def __init__(self, root: _Node, inputs: Sequence[float], n_inputs: int) -> None:
        self._root = root
        self.inputs: tuple[float, ...] = tuple(inputs)
        self.n_inputs = n_inputs
        self.fn: Callable[..., Any] = _ExpressionFunction(self)

    def __call__(self, *args: Any) -> Any:
        if len(args) != self.n_inputs:
            raise TypeError(f"{self}: takes {self.n_inputs} inputs, got {len(args)}")
        out = _evaluate(self._root, args)
        if not isinstance(out, Value) and any(isinstance(a, Value) for a in args):
            return Value(out)  # a constant expression: still a Value for Value inputs
        return out

    def sympy(self, functions: dict[str, Callable[..., Any]] | None = None) -> tuple[Any, Any]:
        """The same expression in sympy, over real symbols ``x0, x1, ...``.

        Args:
            functions: sympy forms of user ops by op name (``{"square": lambda x: x**2}``);
                built-in ops need none.

        Returns:
            ``(expression, symbols)``: a sympy expression and the tuple of its symbols.

        Raises:
            ImportError: sympy is not installed.
            ValueError: the expression uses a user op missing from ``functions``.
        """
        try:
            import sympy as sp
        except ImportError as error:  # pragma: no cover - exercised only without sympy
            raise ImportError(
                "Expression.sympy needs sympy: pip install 'microgradnet[testing]'"
            ) from error
        symbols = tuple(sp.Symbol(f"x{i}", real=True) for i in range(self.n_inputs))
        return _sympy_form(self._root, sp, symbols, dict(functions or {})), symbols

    def __str__(self) -> str:
        return _text(self._root)[0]

    def __repr__(self) -> str:
        return f"Expression({str(self)!r}, inputs={list(self.inputs)!r})"


# ----- the expressions strategy -----
def _resolve_ops(chosen: object, include_user_ops: object, who: str) -> list[Op]:
    if not isinstance(include_user_ops, bool):
        raise InvalidArgument(f"{who}: include_user_ops={include_user_ops!r} must be a bool")
    if chosen is None:
        return [*ops.BUILTIN_OPS, *(ops.user_ops() if include_user_ops else ())]
    if isinstance(chosen, str | bytes) or not isinstance(chosen, Sequence | set | frozenset):
        raise InvalidArgument(f"{who}: ops={chosen!r} must be a list of ops or op names")
    user_by_name = {op.name: op for op in ops.user_ops()}
    resolved = []
    for item in chosen:
        op = item if isinstance(item, Op) else getattr(item, "op", None)
        if isinstance(item, str):
            op = _BUILTIN_BY_NAME.get(item) or user_by_name.get(item)
            if op is None:
                known = ", ".join([*_BUILTIN_BY_NAME, *user_by_name])
                raise InvalidArgument(f"{who}: unknown op name {item!r}; known ops: {known}")
        if not isinstance(op, Op):
            raise InvalidArgument(
                f"{who}: ops must hold ops.Op records, define_op functions or op names, "
                f"got {item!r}"
            )
        if op.const and _BUILTIN_BY_NAME.get(op.name) is not op:
            raise InvalidArgument(f"{who}: op {op.name!r} has a constant argument, unsupported")
        resolved.append(op)
    if not resolved:
        raise InvalidArgument(f"{who}: ops is empty; give at least one op (or None for all)")
    if include_user_ops:
        resolved += [op for op in ops.user_ops() if op not in resolved]
    return resolved


def _op_shapes(op: Op, children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Shapes ``(op, children, extra)`` of one op over subtrees drawn from ``children``."""
    name = op.name if _BUILTIN_BY_NAME.get(op.name) is op else ""
    if name == "dot":
        pairs = st.lists(st.tuples(children, children), min_size=1, max_size=2)
        return st.tuples(st.just(op), st.tuples(pairs, st.none() | children), st.none())
    if op.arity == VARIADIC:
        arguments = st.lists(children, min_size=1, max_size=3).map(tuple)
    else:
        arguments = st.tuples(*[children] * op.arity)
    extra: st.SearchStrategy[Any] = st.none()
    if name == "pow_const":
        extra = st.sampled_from(_EXPONENTS)
    elif name == "rpow":
        extra = st.sampled_from(_BASES)
    elif name in ("abs", "relu"):
        extra = st.booleans()
    elif name == "leaky_relu":
        extra = st.tuples(st.sampled_from(_SLOPES), st.booleans())
    return st.tuples(st.just(op), arguments, extra)


def expressions(
    *,
    n_inputs: int = 2,
    max_leaves: int = 10,
    ops: Sequence[Op | Callable[..., Any] | str] | None = None,
    include_user_ops: bool = False,
    min_value: float = -3.0,
    max_value: float = 3.0,
) -> st.SearchStrategy[Expression]:
    """Random scalar expressions over ``x0 .. x{n_inputs-1}``, with a point to check them at.

    Trees are built with ``st.recursive``, so a failing example shrinks to a small tree. Each op
    stays inside its domain by construction, for every input: ``log(a ** 2 + 1)``,
    ``sqrt(a ** 2 + 1)``, ``a / (b ** 2 + 1)``, ``(a ** 2 + 1) ** tanh(b)``, ``exp(tanh(a))``,
    ``2 ** tanh(a)``, and a user op with a ``domain`` hint gets its input mapped into that
    interval. At the drawn inputs, the arguments of ``abs``, ``relu`` and ``leaky_relu`` are at
    least ``KINK_MARGIN`` from their kink (shifted by 1 otherwise), and a subexpression larger than
    ``LIMIT`` is scaled down by a power of ten, so ``gradcheck(e.fn, e.inputs)`` is well defined.

    Args:
        n_inputs: number of variables (1 to 100).
        max_leaves: largest number of leaves (variables and constants) in the tree before
            domain wrappers are added.
        ops: the ops to use: ``ops.Op`` records, functions made by ``define_op``, or op names
            (``"tanh"``). ``None``: every built-in op.
        include_user_ops: also use every op made by ``define_op`` so far (``ops.user_ops()``,
            looked up when the strategy is first drawn from). Off by default, because every
            imported module's ops would join in, deliberately wrong ones of a test suite too.
        min_value: smallest input (at least -100).
        max_value: largest input (at most 100).

    Returns:
        A strategy of :class:`Expression`.

    Raises:
        InvalidArgument: (when drawn) an argument has the wrong type or is out of range.

    Example:
        >>> e = expressions(ops=["tanh", "mul"]).example()
        >>> from microgradnet.gradcheck import gradcheck
        >>> gradcheck(e.fn, e.inputs)
        True
    """
    chosen_ops = ops

    def build() -> st.SearchStrategy[Expression]:
        who = "expressions"
        n = _check_int(n_inputs, "n_inputs", who, 1, 100)
        leaves_max = _check_int(max_leaves, "max_leaves", who, 1, 1000)
        low, high = _check_bounds(min_value, max_value, who)
        if max(abs(low), abs(high)) > MAX_INPUT:
            raise InvalidArgument(
                f"{who}: min_value={low!r} and max_value={high!r} must be within "
                f"[-{MAX_INPUT:g}, {MAX_INPUT:g}] for central differences to be meaningful"
            )
        op_list = _resolve_ops(chosen_ops, include_user_ops, who)
        variables = st.tuples(st.just("var"), st.integers(0, n - 1))
        constants = st.tuples(st.just("const"), st.sampled_from(_CONSTANTS))
        leaves = st.one_of(variables, st.one_of(variables, constants))  # 3 in 4 are variables

        def extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
            return st.one_of([_op_shapes(op, children) for op in op_list])

        # The root is always an op: a bare leaf checks nothing.
        shapes = extend(st.recursive(leaves, extend, max_leaves=leaves_max))
        points = st.lists(values(low, high), min_size=n, max_size=n).map(tuple)

        @st.composite
        def draw_expression(draw: st.DrawFn) -> Expression:
            inputs = draw(points)
            root = _realize(_with_a_variable(draw(shapes)), inputs)
            return Expression(root, inputs, n)

        return draw_expression()

    return st.deferred(build)


# ----- networks -----
class MLPExample(NamedTuple):
    """A drawn network and an input vector for it (see :func:`mlps`)."""

    model: Any
    inputs: list[float]
    description: str

    def __repr__(self) -> str:
        return f"MLPExample({self.description}, inputs={self.inputs!r})"


def mlps(
    *,
    max_inputs: int = 3,
    max_hidden: int = 4,
    max_layers: int = 2,
    max_outputs: int = 2,
    activations: Sequence[str] | None = None,
    output_activations: Sequence[str] | None = None,
    min_value: float = -3.0,
    max_value: float = 3.0,
) -> st.SearchStrategy[MLPExample]:
    """Small random :class:`microgradnet.nn.MLP` networks, each with an input vector.

    Args:
        max_inputs: largest number of inputs ``nin``.
        max_hidden: largest hidden-layer size.
        max_layers: largest number of hidden layers (0 gives a single linear layer).
        max_outputs: largest size of the last layer.
        activations: hidden activations to choose from (default: every name in
            ``nn.ACTIVATIONS``; ``relu`` and ``leaky_relu`` have kinks).
        output_activations: output activations to choose from (default: every name).
        min_value: smallest input value.
        max_value: largest input value.

    Returns:
        A strategy of :class:`MLPExample` ``(model, inputs, description)``; ``model(inputs)`` is
        a ``Value`` when the last layer has one neuron, else a list of them.

    Raises:
        InvalidArgument: (when drawn) an argument has the wrong type or is out of range.

    Example:
        >>> model, x, _ = mlps().example()
        >>> len(x) == model.nin
        True
    """

    def build() -> st.SearchStrategy[MLPExample]:
        from . import nn

        who = "mlps"
        nin_max = _check_int(max_inputs, "max_inputs", who, 1, 1000)
        hidden_max = _check_int(max_hidden, "max_hidden", who, 1, 1000)
        layers_max = _check_int(max_layers, "max_layers", who, 0, 100)
        outputs_max = _check_int(max_outputs, "max_outputs", who, 1, 1000)
        low, high = _check_bounds(min_value, max_value, who)
        hidden_names = _check_names(activations, "activations", who, nn.ACTIVATIONS)
        output_names = _check_names(output_activations, "output_activations", who, nn.ACTIVATIONS)

        @st.composite
        def draw_mlp(draw: st.DrawFn) -> MLPExample:
            nin = draw(st.integers(1, nin_max))
            hidden = draw(st.lists(st.integers(1, hidden_max), max_size=layers_max))
            nouts = [*hidden, draw(st.integers(1, outputs_max))]
            activation = draw(st.sampled_from(hidden_names))
            output_activation = draw(st.sampled_from(output_names))
            seed = draw(st.integers(0, 2**32 - 1))
            model = nn.MLP(nin, nouts, activation, output_activation, seed=seed)
            inputs = draw(st.lists(values(low, high), min_size=nin, max_size=nin))
            description = (
                f"MLP({nin}, {nouts}, activation={activation!r}, "
                f"output_activation={output_activation!r}, seed={seed})"
            )
            return MLPExample(model, inputs, description)

        return draw_mlp()

    return st.deferred(build)


def _check_names(names: object, argument: str, who: str, valid: Any) -> list[str]:
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


# ----- checking a user op in one line -----
def _arity(op_fn: Callable[..., Any], n_inputs: int | None, who: str) -> int:
    if n_inputs is not None:
        return _check_int(n_inputs, "n_inputs", who, 1, 100)
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
    low, high = _check_bounds(domain[0], domain[1], who)
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
    check_order = _check_int(order, "order", who, 1, 2)
    examples = (
        None if max_examples is None else _check_int(max_examples, "max_examples", who, 1, 10**6)
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
