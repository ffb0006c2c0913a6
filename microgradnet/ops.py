"""The derivative table: every built-in op as one row.

Each row says what an op computes on floats (with its domain checks) and its local derivative,
written in the dual vocabulary below so that the same rule works on floats (an ordinary
``backward()``) and on ``Value``s (``grad(..., create_graph=True)``, where the gradient is itself a
graph and higher-order derivatives follow).

Rules for a row (see STYLE 3.2):

* a derivative uses arithmetic operators, its inputs, ``out`` and the dual helpers of this
  module (``exp``, ``log``, ``cos``, ...), never ``math.*`` on an input nor ``.data``:
  ``float(v)`` is legal on a ``Value`` and would silently cut the graph;
* the exception is a piecewise-constant selector (``relu``, ``abs``, ``leaky_relu``), which reads
  the sign of its input by comparing it with ``0.0`` (a ``Value`` compares by its data) or
  through :func:`data_of`;
* domain checks live in ``forward`` and raise an error naming the op and the value.

This module imports no engine code: the engine calls these rules, it does not define them.
"""

from __future__ import annotations

import math
import operator
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "BUILTIN_OPS",
    "Op",
    "UndefinedGradient",
    "cos",
    "data_of",
    "exp",
    "log",
    "register_user_op",
    "sigmoid",
    "sin",
    "sqrt",
    "tanh",
    "user_ops",
]

VARIADIC = 0


@dataclass(frozen=True, slots=True, eq=False, weakref_slot=True)
class Op:
    """One differentiable operation.

    Attributes:
        name: short name shown in errors and by ``Value.op`` (``"mul"``, ``"tanh"``).
        forward: floats in, float out; raises on out-of-domain input.
        derivative: ``(*inputs, out)`` -> d(out)/d(input), a tuple when there are several inputs.
            Rows with a constant argument (``const=True``) are called as ``(x, out, arg)``.
        symbol: label for graph drawings (``"*"``, ``"tanh"``).
        arity: number of ``Value`` inputs; ``0`` for a variadic op (sum, dot).
        const: the op carries one constant, non-differentiable argument (an exponent, a slope).
        domain: open interval on which a unary op is defined and smooth, a hint for test
            generators (``None``: the whole real line).
        linear: the local derivatives are constants (add, sub, neg): the engine evaluates the
            derivative once, here, instead of once per node (``fixed_derivative``; when they
            are all exactly 1, as for add, ``passes_gradient_on`` is true and the engine passes
            the gradient on without multiplying).
        gates: some local derivatives are often exactly 0 (relu below 0, every input of a max
            but the largest): backward does not even walk what lies behind such an input.
        bilinear: a product whose local derivative for each factor is the other factor, as
            ``derivative`` says: ``x * y`` (d/dx = y, d/dy = x), or a variadic ``Σ wᵢ·xᵢ`` over
            its first and second halves of inputs plus an optional last input, a bias
            (d/dwᵢ = xᵢ, d/dxᵢ = wᵢ, d/db = 1). The engine applies this on floats without
            calling ``derivative``, and stores a dot node's weights and inputs as two tuples (a
            layer's neurons share one input tuple).
    """

    name: str
    forward: Callable[..., float]
    derivative: Callable[..., Any]
    symbol: str = ""
    arity: int = 1
    const: bool = False
    domain: tuple[float, float] | None = None
    linear: bool = False
    gates: bool = False
    bilinear: bool = False
    fixed_derivative: Any = field(init=False, default=None, repr=False)
    passes_gradient_on: bool = field(init=False, default=False, repr=False)

    def __post_init__(self) -> None:
        if self.gates and self.const:
            raise ValueError(f"op {self.name!r}: a gating op cannot take a constant argument")
        if self.linear and self.arity:
            # Any point will do: the derivative of a linear op does not depend on it.
            zeros = (0.0,) * (self.arity + 1)
            fixed = self.derivative(*zeros)
            object.__setattr__(self, "fixed_derivative", fixed)
            # every local derivative exactly 1 (x + y): the gradient passes on unchanged
            ones = fixed == (1.0,) * self.arity if self.arity > 1 else fixed == 1.0
            object.__setattr__(self, "passes_gradient_on", ones)

    def label(self, arg: object = None) -> str:
        """Text for the op's node in a drawing, the constant argument included."""
        symbol = self.symbol or self.name
        if not self.const:
            return symbol
        if self.name == "rpow":
            return f"{_short(arg)} **"
        if self.name == "pow_const":
            return f"** {_short(arg)}"
        return f"{symbol}({_short(arg)})"

    def __repr__(self) -> str:
        return f"Op({self.name!r})"


class UndefinedGradient:
    """A local derivative that does not exist, such as d/dy of ``x ** y`` at ``x <= 0``.

    Sums and products with it stay undefined, and the engine raises ``ValueError`` with its
    message only if it reaches a gradient that is actually required: never a silent NaN, and no
    error for a gradient nobody asked for.
    """

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message

    def _spread(self, _other: object) -> UndefinedGradient:
        return self

    __mul__ = __rmul__ = __add__ = __radd__ = _spread

    def __float__(self) -> float:
        raise ValueError(self.message)

    def __repr__(self) -> str:
        return f"UndefinedGradient({self.message!r})"


def _short(x: object) -> str:
    return f"{x:.4g}" if isinstance(x, float) else str(x)


def data_of(x: Any) -> float:
    """The float inside ``x`` (a float or a ``Value``), for piecewise-constant selectors only."""
    return x if type(x) is float else float(x)


# ----- dual helpers: math on floats, graph ops on Values -----
def _dual(name: str, float_fn: Callable[[float], float]) -> Callable[[Any], Any]:
    def helper(x: Any) -> Any:
        if type(x) is float or type(x) is int:
            return float_fn(x)
        return getattr(x, name)()

    helper.__name__ = helper.__qualname__ = name
    helper.__doc__ = f"``{name}`` of a float, or ``x.{name}()`` of a ``Value``."
    return helper


# ----- forward functions with domain checks -----
def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        raise OverflowError(f"exp: overflow for input {x!r}") from None


def _log(x: float) -> float:
    if x <= 0.0:
        raise ValueError(f"log: undefined for non-positive value {x!r}")
    return math.log(x)


def _sqrt(x: float) -> float:
    if x < 0.0:
        raise ValueError(f"sqrt: undefined for negative value {x!r}")
    return math.sqrt(x)


def _sigmoid(x: float) -> float:
    # Note: two branches so that exp never sees a large positive argument (stable at +-1000).
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _div(x: float, y: float) -> float:
    if y == 0.0:
        raise ZeroDivisionError(f"div: division of {x!r} by zero")
    return x / y


def _pow(x: float, y: float, op: str = "pow") -> float:
    if x == 0.0 and y < 0.0:
        raise ZeroDivisionError(f"{op}: 0.0 raised to the negative power {y!r}")
    if x < 0.0 and not float(y).is_integer():
        raise ValueError(f"{op}: negative base {x!r} raised to the non-integer power {y!r}")
    try:
        return float(x**y)
    except OverflowError:
        raise OverflowError(f"{op}: overflow for {x!r} ** {y!r}") from None


def _pow_const(x: float, c: float) -> float:
    return _pow(x, c, "pow")


def _rpow(x: float, c: float) -> float:
    return _pow(c, x, "rpow")


def _softplus(x: float) -> float:
    # log(1 + e**x) = max(x, 0) + log1p(e**-|x|): no overflow for large |x|.
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _leaky_relu(x: float, slope: float) -> float:
    return x if x > 0.0 else slope * x


def _sum(*xs: float) -> float:
    return sum(xs)


def _dot(*xs: float) -> float:
    # The very expression engine.dots_over_batch evaluates, so the two agree to the last bit.
    n = len(xs) // 2
    total = sum(map(operator.mul, xs[:n], xs[n : 2 * n]), 0.0)
    return total + xs[-1] if len(xs) % 2 else total


exp = _dual("exp", _exp)
log = _dual("log", _log)
sqrt = _dual("sqrt", _sqrt)
tanh = _dual("tanh", math.tanh)
sigmoid = _dual("sigmoid", _sigmoid)
sin = _dual("sin", math.sin)
cos = _dual("cos", math.cos)


# ----- derivatives that need more than one line -----
def _d_pow(x: Any, y: Any, out: Any) -> tuple[Any, Any]:
    dx = y * x ** (y - 1)
    if data_of(x) > 0.0:
        return dx, out * log(x)
    return dx, UndefinedGradient(
        f"pow: the gradient with respect to the exponent needs log(base), "
        f"undefined for base {data_of(x)!r}"
    )


def _d_rpow(x: Any, out: Any, c: float) -> Any:
    if c > 0.0:
        return out * math.log(c)
    return UndefinedGradient(
        f"rpow: the gradient with respect to the exponent needs log(base), undefined for base {c!r}"
    )


def _d_max(*xs_and_out: Any) -> tuple[float, ...]:
    # NOTE: a piecewise-constant selector: 1 for the first of the largest inputs, 0 elsewhere.
    values = [data_of(x) for x in xs_and_out[:-1]]
    winner = values.index(max(values))
    return tuple(1.0 if i == winner else 0.0 for i in range(len(values)))


def _d_sum(*xs_and_out: Any) -> tuple[float, ...]:
    return (1.0,) * (len(xs_and_out) - 1)


def _d_dot(*xs_and_out: Any) -> tuple[Any, ...]:
    xs = xs_and_out[:-1]
    n = len(xs) // 2
    weights, inputs = xs[:n], xs[n : 2 * n]
    if len(xs) % 2:
        return (*inputs, *weights, 1.0)
    return (*inputs, *weights)


# ----- arithmetic -----
ADD = Op("add", operator.add, lambda x, y, out: (1.0, 1.0), "+", 2, linear=True)
SUB = Op("sub", operator.sub, lambda x, y, out: (1.0, -1.0), "-", 2, linear=True)
MUL = Op("mul", operator.mul, lambda x, y, out: (y, x), "*", 2, bilinear=True)
DIV = Op("div", _div, lambda x, y, out: (1.0 / y, -out / y), "/", 2)
POW = Op("pow", _pow, _d_pow, "**", 2)
NEG = Op("neg", operator.neg, lambda x, out: -1.0, "-", linear=True)
# x ** c and c ** x: a plain-number operand is a constant, not a node.
POW_CONST = Op("pow_const", _pow_const, lambda x, out, c: c * x ** (c - 1), "**", const=True)
RPOW = Op("rpow", _rpow, _d_rpow, "**", const=True)

# ----- elementary functions -----
EXP = Op("exp", _exp, lambda x, out: out)
LOG = Op("log", _log, lambda x, out: 1.0 / x, domain=(0.0, math.inf))
SQRT = Op("sqrt", _sqrt, lambda x, out: 0.5 / out, domain=(0.0, math.inf))
SIN = Op("sin", math.sin, lambda x, out: cos(x))
COS = Op("cos", math.cos, lambda x, out: -sin(x))
# NOTE: abs, relu and leaky_relu read the sign of x: their derivative is piecewise constant.
ABS = Op("abs", abs, lambda x, out: 1.0 if x > 0.0 else -1.0 if x < 0.0 else 0.0)

# ----- activations -----
TANH = Op("tanh", math.tanh, lambda x, out: 1.0 - out * out)
SIGMOID = Op("sigmoid", _sigmoid, lambda x, out: out * (1.0 - out))
SOFTPLUS = Op("softplus", _softplus, lambda x, out: sigmoid(x))
RELU = Op(
    "relu",
    lambda x: x if x > 0.0 else 0.0,
    lambda x, out: 1.0 if x > 0.0 else 0.0,
    gates=True,
)
LEAKY_RELU = Op(
    "leaky_relu",
    _leaky_relu,
    lambda x, out, slope: 1.0 if x > 0.0 else slope,
    "leaky_relu",
    const=True,
)

# ----- fused n-ary nodes -----
SUM = Op("sum", _sum, _d_sum, "Σ", VARIADIC)
MAX = Op("max", lambda *xs: max(xs), _d_max, "max", VARIADIC, gates=True)
# dot(w..., x..., b): a neuron's weighted sum w·x + b as one node (the bias is optional).
DOT = Op("dot", _dot, _d_dot, "w·x + b", VARIADIC, bilinear=True)

BUILTIN_OPS: tuple[Op, ...] = (
    ADD, SUB, MUL, DIV, POW, NEG, POW_CONST, RPOW,
    EXP, LOG, SQRT, SIN, COS, ABS,
    TANH, SIGMOID, SOFTPLUS, RELU, LEAKY_RELU,
    SUM, MAX, DOT,
)  # fmt: skip

# Weak references: an op defined inside a function (a test's deliberately wrong op, say) leaves
# the registry when nothing uses it any more.
_USER_OPS: list[weakref.ref[Op]] = []


def register_user_op(op: Op) -> None:
    """Record an op made by ``define_op`` so test generators can find it."""
    _USER_OPS.append(weakref.ref(op))


def user_ops() -> tuple[Op, ...]:
    """The ops made by ``define_op`` that are still in use, oldest first."""
    alive = [op for ref in _USER_OPS if (op := ref()) is not None]
    _USER_OPS[:] = [weakref.ref(op) for op in alive]
    return tuple(alive)
