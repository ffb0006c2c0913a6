"""The op table: every built-in op as one row.

A row says what an op computes and its local derivatives, both written in the dual vocabulary of
:mod:`microgradnet._dual` (re-exported here: ``exp``, ``log``, ``cos``, ``where``, ...), so the same
rule runs on floats (an ordinary ``backward()``), on ``Value``s (``create_graph=True``: the
gradient is itself a graph), on NumPy arrays (compiled mode) and on sympy expressions (reference
forms for tests). Every backend is derived from the row; what the rules cannot say (how to draw
the op, the name the expression grammar knows it by, where test generators keep its inputs) is a
field of the row, never a table keyed by the op's name.

Rules for a row:

* a rule uses arithmetic operators, its inputs, ``out`` and the dual helpers, never ``math.*`` on
  an input nor ``.data``: ``float(v)`` is legal on a ``Value`` and would silently cut the graph;
* the exception is a piecewise-constant selector (``relu``, ``abs``, ``max``), whose derivative
  reads a comparison (``where(x > 0.0, ...)``), ``sign`` or ``data_of``: it is 0 wherever it
  exists, so a float is exact;
* domain checks live in the float branch of the helpers and raise an error naming the op and the
  value;
* a rule that special-cases a point does it with ``where`` or a helper that runs on every
  backend: ``power_derivative`` (``x ** 0`` has derivative 0 at 0 too), ``exponent_derivative``
  (``0 ** y`` has derivative 0 in ``y > 0``), ``at_infinity`` (the limit where a formula would
  compute ``inf * 0``: ``gelu(-inf)`` is 0).

At the edges (0, -0.0, ±inf, NaN, the ends of a domain) the rows follow PyTorch: NaN propagates,
a derivative that exists is given, and where PyTorch would give NaN from inputs that are not NaN
the float rule raises instead (``tests/test_op_edges.py`` checks every row, point by point).

Every caller reaches a rule through :meth:`Op.evaluate` and :meth:`Op.local_derivatives`, the
one calling contract: whatever the op's arity or constant argument, the inputs come as a
sequence and the local derivatives come back as a tuple, one per input.

This module imports no engine code: the engine calls these rules, it does not define them.
"""

from __future__ import annotations

import math
import operator
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from ._dual import (
    UndefinedGradient,
    arccos,
    arcsin,
    arctan,
    arctan2,
    at_infinity,
    cos,
    cosh,
    data_of,
    divide,
    equal,
    erf,
    exp,
    exp2,
    expm1,
    exponent_derivative,
    hypot,
    is_nan,
    log,
    log1p,
    log2,
    log10,
    log_for_exponent,
    maximum,
    minimum,
    power,
    power_derivative,
    relu,
    sigmoid,
    sign,
    sin,
    sinh,
    softplus,
    sqrt,
    tan,
    tanh,
    where,
)

__all__ = [
    "BUILTIN_OPS",
    "MODERATE",
    "VARIADIC",
    "Op",
    "UndefinedGradient",
    "arccos",
    "arcsin",
    "arctan",
    "arctan2",
    "at_infinity",
    "cos",
    "cosh",
    "data_of",
    "divide",
    "equal",
    "erf",
    "exp",
    "exp2",
    "expm1",
    "exponent_derivative",
    "hypot",
    "is_nan",
    "log",
    "log1p",
    "log2",
    "log10",
    "log_for_exponent",
    "maximum",
    "minimum",
    "power",
    "power_derivative",
    "register_user_op",
    "relu",
    "sigmoid",
    "sign",
    "sin",
    "sinh",
    "softplus",
    "sqrt",
    "tan",
    "tanh",
    "user_ops",
    "where",
]

VARIADIC = 0  # the arity of an op taking any number of inputs (sum, max, dot)
# Where test generators keep an input the result grows fast with: squashed into (-1, 1).
MODERATE = "moderate"

Interval: TypeAlias = tuple[float, float]
InputRange: TypeAlias = "Interval | str | None"


@dataclass(frozen=True, slots=True, eq=False, weakref_slot=True)
class Op:
    """One differentiable operation: a row of the table.

    Attributes:
        name: short name shown in errors and by ``Value.op`` (``"mul"``, ``"tanh"``).
        forward: the op itself, ``forward(*inputs)`` (``forward(x, arg)`` for an op with a
            constant argument); on floats it raises on out-of-domain input.
        derivative: ``derivative(*inputs, out)`` (``(x, out, arg)`` with a constant argument):
            d(out)/d(input), a tuple when there are several inputs.
        symbol: label for graph drawings (``"*"``, ``"tanh"``).
        arity: number of ``Value`` inputs; ``VARIADIC`` (0) for any number (sum, dot).
        const: the op carries one constant, non-differentiable argument (an exponent, a slope).
        domain: for a unary op, an open interval on which it is defined and smooth (``None``:
            the whole real line): a hint for test generators.
        kinks: inputs of a unary op where it has no derivative (relu's 0).
        ties_are_kinks: the op selects among its inputs (max): where two tie, it has no
            derivative.
        input_ranges: for each input, where test generators keep it: ``None`` (anywhere), an
            open interval, or ``MODERATE``; or a function of the constant argument returning
            that tuple. Empty: from ``domain``.
        arg_examples: constant arguments test generators draw from.
        arg_name: what the constant argument is (``"negative_slope"``), for messages and help.
        arg_default: the constant argument when the expression grammar is given none.
        arg_first: the constant is written before the operator (``2 ** x``, not ``x ** 2``).
        input_defaults: the last inputs' values when a grammar call leaves them out
            (``hardtanh(x)`` is ``hardtanh(x, -1, 1)``, as PyTorch's).
        function: the op's name as a function of the expression grammar (``exp(x)``,
            ``max(x, y, z)``); ``None`` for an op written with an operator, ``sum`` and ``dot``.
        linear: the local derivatives are constants (add, sub, neg, sum): ``fixed_derivative``
            holds them for a fixed arity, evaluated once here (and ``passes_gradient_on`` says
            whether they are all exactly 1, as for add).
        gates: where the output is exactly 0, so is every local derivative (relu below 0):
            backward passes nothing on from such a node and does not even look behind it.
        selects: the gradient goes to one input, every other local derivative being exactly 0
            (max): backward looks behind the chosen input only.
        bilinear: a product whose local derivative for each factor is the other factor:
            ``x * y``, or a variadic ``Σ wᵢ·xᵢ`` over its first and second halves of inputs plus
            an optional last input, a bias (d/dwᵢ = xᵢ, d/dxᵢ = wᵢ, d/db = 1).
        numpy_reduction: a variadic op that is this NumPy ufunc's ``reduce`` (max: "maximum").
        nonexpansive: finite inputs give a finite output and local derivatives of at most 1 in
            size (relu, tanh, max): compiled mode's finite check skips what such nodes write.
    """

    name: str
    forward: Callable[..., Any]
    derivative: Callable[..., Any]
    symbol: str = ""
    arity: int = 1
    const: bool = False
    domain: Interval | None = None
    kinks: tuple[float, ...] = ()
    ties_are_kinks: bool = False
    input_ranges: tuple[InputRange, ...] | Callable[[Any], tuple[InputRange, ...]] = ()
    arg_examples: tuple[float, ...] = ()
    arg_name: str = "constant"
    arg_default: float | None = None
    arg_first: bool = False
    input_defaults: tuple[float, ...] = ()
    function: str | None = None
    linear: bool = False
    gates: bool = False
    selects: bool = False
    bilinear: bool = False
    numpy_reduction: str | None = None
    nonexpansive: bool = False
    local_derivatives: Callable[..., tuple[Any, ...]] = field(init=False, repr=False)
    fixed_derivative: Any = field(init=False, default=None, repr=False)
    passes_gradient_on: bool = field(init=False, default=False, repr=False)

    def __post_init__(self) -> None:
        if self.const and self.arity != 1:
            raise ValueError(f"op {self.name!r}: only a unary op can take a constant argument")
        object.__setattr__(self, "local_derivatives", _local_derivatives_rule(self))
        if self.linear and self.arity:
            # Any point will do: the derivative of a linear op does not depend on it.
            fixed = self.local_derivatives((0.0,) * self.arity, 0.0)
            object.__setattr__(self, "fixed_derivative", fixed)
            object.__setattr__(self, "passes_gradient_on", fixed == (1.0,) * self.arity)

    # ----- the calling contract -----
    def evaluate(self, inputs: Sequence[Any], arg: Any = None) -> Any:
        """The op on ``inputs`` (floats, NumPy arrays or sympy expressions) and its argument."""
        if self.const:
            return self.forward(*inputs, arg)
        return self.forward(*inputs)

    # ----- what the rules cannot say -----
    def ranges(self, arg: Any = None, n_inputs: int | None = None) -> tuple[InputRange, ...]:
        """Where test generators keep each of ``n_inputs`` inputs (default: the arity): the
        ``input_ranges``, or else ``domain`` for every input."""
        n = self.arity if n_inputs is None else n_inputs
        ranges = self.input_ranges
        if callable(ranges):
            return ranges(arg)
        return ranges if ranges else (self.domain,) * n

    def label(self, arg: object = None) -> str:
        """Text for the op's node in a drawing, the constant argument included."""
        symbol = self.symbol or self.name
        if not self.const:
            return symbol
        if symbol.isidentifier():
            return f"{symbol}({_short(arg)})"
        return f"{_short(arg)} {symbol}" if self.arg_first else f"{symbol} {_short(arg)}"

    def __repr__(self) -> str:
        return f"Op({self.name!r})"


def _local_derivatives_rule(op: Op) -> Callable[..., tuple[Any, ...]]:
    # Op.local_derivatives, shaped once for the row's arity so that no call pays for it.
    derivative = op.derivative
    if op.const:
        return lambda inputs, out, arg=None: (derivative(inputs[0], out, arg),)
    if op.arity == 1:
        return lambda inputs, out, arg=None: (derivative(inputs[0], out),)
    if op.arity == 2:
        return lambda inputs, out, arg=None: tuple(derivative(inputs[0], inputs[1], out))
    return lambda inputs, out, arg=None: tuple(derivative(*inputs, out))


def _short(x: object) -> str:
    return f"{x:.4g}" if isinstance(x, float) else str(x)


# ----- derivatives that need more than one line -----
def _d_pow(x: Any, y: Any, out: Any) -> tuple[Any, Any]:
    return power_derivative(x, y), exponent_derivative(x, y, out, "pow")


def _d_select(*inputs_and_out: Any) -> tuple[Any, ...]:
    # NOTE: a piecewise-constant selector (max, min): 1 for the first input equal to the output
    # (the first NaN, if the output is NaN), 0 elsewhere.
    *xs, out = (data_of(v) for v in inputs_and_out)
    locals_ = []
    still_open: Any = 1.0  # 0 once an earlier input took the gradient
    for x in xs:
        wins = still_open * where(equal(x, out) | is_nan(x), 1.0, 0.0)
        locals_.append(wins)
        still_open = still_open - wins
    return tuple(locals_)


def _sum(*xs: Any) -> Any:
    return sum(xs)


def _d_sum(*inputs_and_out: Any) -> tuple[float, ...]:
    return (1.0,) * (len(inputs_and_out) - 1)


def _dot(*xs: Any) -> Any:
    # dot(w..., x..., b): the very expression Layer's batched forward evaluates, to the last bit.
    n = len(xs) // 2
    total = sum(map(operator.mul, xs[:n], xs[n : 2 * n]), 0.0)
    return total + xs[-1] if len(xs) % 2 else total


def _d_dot(*inputs_and_out: Any) -> tuple[Any, ...]:
    xs = inputs_and_out[:-1]
    n = len(xs) // 2
    weights, inputs = xs[:n], xs[n : 2 * n]
    return (*inputs, *weights, 1.0) if len(xs) % 2 else (*inputs, *weights)


def _pow_const_ranges(exponent: Any) -> tuple[InputRange, ...]:
    # x ** c for a negative or fractional c needs x > 0; an integer power is defined everywhere.
    if exponent < 0 or not float(exponent).is_integer():
        return ((0.0, math.inf),)
    return (None,)


# ----- activations whose rules need more than one line (PyTorch's formulas) -----
_SQRT1_2 = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_KAPPA = 0.044715  # the cubic term of the tanh approximation of gelu


def _gelu(x: Any) -> Any:
    # x Φ(x), Φ the standard normal CDF; at -inf the formula computes -inf * 0, its limit is 0.
    return at_infinity(x, 0.5 * x * (1.0 + erf(x * _SQRT1_2)), -0.0, math.inf)


def _d_gelu(x: Any, out: Any) -> Any:
    # Φ(x) + x φ(x); at ±inf the second term computes inf * 0.
    cdf = 0.5 * (1.0 + erf(x * _SQRT1_2))
    return at_infinity(x, cdf + x * exp(-0.5 * x * x) * _INV_SQRT_2PI, 0.0, 1.0)


def _gelu_tanh(x: Any) -> Any:
    inner = _SQRT_2_OVER_PI * (x + _KAPPA * x * x * x)
    return at_infinity(x, 0.5 * x * (1.0 + tanh(inner)), -0.0, math.inf)


def _d_gelu_tanh(x: Any, out: Any) -> Any:
    t = tanh(_SQRT_2_OVER_PI * (x + _KAPPA * x * x * x))
    d_inner = _SQRT_2_OVER_PI * (1.0 + 3.0 * _KAPPA * x * x)
    return at_infinity(x, 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * d_inner, 0.0, 1.0)


def _d_silu(x: Any, out: Any) -> Any:
    s = sigmoid(x)
    return at_infinity(x, s * (1.0 + x * (1.0 - s)), 0.0, 1.0)


def _d_softsign(x: Any, out: Any) -> Any:
    root = 1.0 + abs(x)
    return 1.0 / (root * root)


def _d_arctan2(y: Any, x: Any, out: Any) -> tuple[Any, Any]:
    # No derivative at the origin (0 / 0) nor where both are infinite (inf / inf): both raise.
    r = x * x + y * y
    return divide(x, r), divide(-y, r)


def _clamp(x: Any, low: Any, high: Any) -> Any:
    return minimum(maximum(x, low), high)  # high wins when low > high, as in PyTorch


def _d_clamp(x: Any, low: Any, high: Any, out: Any) -> tuple[Any, Any, Any]:
    # NOTE: a selector, as PyTorch's clamp: x passes the gradient on inside [low, high], ends
    # included; a bound takes it where it is the output.
    x, low, high = data_of(x), data_of(low), data_of(high)
    return (
        where((x >= low) & (x <= high), 1.0, 0.0),
        where((x < low) & (low < high), 1.0, 0.0),
        where((x > high) | (high < low), 1.0, 0.0),
    )


def _d_hardtanh(x: Any, low: Any, high: Any, out: Any) -> tuple[Any, Any, Any]:
    # NOTE: as clamp, but x passes the gradient on strictly inside (low, high) (and where it is
    # NaN), as PyTorch's hardtanh; at an end, the bound takes it.
    x, low, high = data_of(x), data_of(low), data_of(high)
    return (
        where((x <= low) | (x >= high), 0.0, 1.0),
        where((x <= low) & (low < high), 1.0, 0.0),
        where((x >= high) | (high <= low), 1.0, 0.0),
    )


_POSITIVE = (0.0, math.inf)
# Test generators keep min's inputs and clamp's bounds apart: their tie-breaking lifts the
# largest input clear of the next, which cannot untie the smallest two (min) or x and a low bound.
_APART = ((-0.75, -0.45), (0.25, 0.37), (1.21, 1.37))
_BOUNDED = (None, _APART[1], _APART[2])  # clamp(x, low, high): x anywhere
_LN2, _LN10 = math.log(2.0), math.log(10.0)

# fmt: off
# ----- arithmetic -----
ADD = Op("add", operator.add, lambda x, y, out: (1.0, 1.0), "+", 2, linear=True)
SUB = Op("sub", operator.sub, lambda x, y, out: (1.0, -1.0), "-", 2, linear=True)
MUL = Op("mul", operator.mul, lambda x, y, out: (y, x), "*", 2, bilinear=True)
DIV = Op("div", divide, lambda x, y, out: (1.0 / y, -out / y), "/", 2,
         input_ranges=(None, _POSITIVE))
POW = Op("pow", power, _d_pow, "**", 2, input_ranges=(_POSITIVE, MODERATE), function="pow")
NEG = Op("neg", operator.neg, lambda x, out: -1.0, "-", linear=True, nonexpansive=True)
# x ** c and c ** x: a plain-number operand is a constant, not a node.
POW_CONST = Op("pow_const", power, lambda x, out, c: power_derivative(x, c, "pow_const"), "**",
               const=True, input_ranges=_pow_const_ranges,
               arg_examples=(2.0, 3.0, -1.0, 0.5, 1.5, -0.5), arg_name="exponent")
RPOW = Op("rpow", lambda x, c: power(c, x, "rpow"),
          lambda x, out, c: exponent_derivative(c, x, out, "rpow"), "**", const=True,
          arg_first=True, input_ranges=(MODERATE,), arg_examples=(2.0, 0.5, 3.0), arg_name="base")

# ----- elementary functions -----
EXP = Op("exp", exp, lambda x, out: out, input_ranges=(MODERATE,), function="exp")
LOG = Op("log", log, lambda x, out: 1.0 / x, domain=_POSITIVE, function="log")
SQRT = Op("sqrt", sqrt, lambda x, out: 0.5 / out, domain=_POSITIVE, function="sqrt")
SIN = Op("sin", sin, lambda x, out: cos(x), function="sin", nonexpansive=True)
COS = Op("cos", cos, lambda x, out: -sin(x), function="cos", nonexpansive=True)
ABS = Op("abs", abs, lambda x, out: sign(x), kinks=(0.0,), function="abs", nonexpansive=True)
SIGN = Op("sign", sign, lambda x, out: 0.0, kinks=(0.0,), function="sign", nonexpansive=True)
TAN = Op("tan", tan, lambda x, out: 1.0 + out * out, domain=(-math.pi / 2, math.pi / 2),
         function="tan")
SINH = Op("sinh", sinh, lambda x, out: cosh(x), input_ranges=(MODERATE,), function="sinh")
COSH = Op("cosh", cosh, lambda x, out: sinh(x), input_ranges=(MODERATE,), function="cosh")
# At ±1 the derivative is infinite: 1 / 0 raises, as sqrt's at 0.
ARCSIN = Op("arcsin", arcsin, lambda x, out: 1.0 / sqrt((1.0 - x) * (1.0 + x)),
            domain=(-1.0, 1.0), function="arcsin")
ARCCOS = Op("arccos", arccos, lambda x, out: -1.0 / sqrt((1.0 - x) * (1.0 + x)),
            domain=(-1.0, 1.0), function="arccos")
ARCTAN = Op("arctan", arctan, lambda x, out: 1.0 / (1.0 + x * x), function="arctan",
            nonexpansive=True)
ARCTAN2 = Op("arctan2", arctan2, _d_arctan2, arity=2, input_ranges=(None, _POSITIVE),
             function="arctan2")  # arctan2(y, x); x > 0 keeps generators off the branch cut
HYPOT = Op("hypot", hypot, lambda x, y, out: (divide(x, out), divide(y, out)), arity=2,
           input_ranges=(_POSITIVE, None), function="hypot")  # no derivative at (0, 0)
LOG1P = Op("log1p", log1p, lambda x, out: 1.0 / (1.0 + x), domain=(-1.0, math.inf),
           function="log1p")
EXPM1 = Op("expm1", expm1, lambda x, out: exp(x), input_ranges=(MODERATE,), function="expm1")
LOG2 = Op("log2", log2, lambda x, out: 1.0 / (x * _LN2), domain=_POSITIVE, function="log2")
LOG10 = Op("log10", log10, lambda x, out: 1.0 / (x * _LN10), domain=_POSITIVE, function="log10")
EXP2 = Op("exp2", exp2, lambda x, out: out * _LN2, input_ranges=(MODERATE,), function="exp2")
ERF = Op("erf", erf, lambda x, out: 2.0 / math.sqrt(math.pi) * exp(-x * x), function="erf")

# ----- activations -----
TANH = Op("tanh", tanh, lambda x, out: 1.0 - out * out, function="tanh", nonexpansive=True)
SIGMOID = Op("sigmoid", sigmoid, lambda x, out: out * (1.0 - out), function="sigmoid",
             nonexpansive=True)
SOFTPLUS = Op("softplus", softplus, lambda x, out: sigmoid(x), function="softplus",
              nonexpansive=True)
RELU = Op("relu", relu, lambda x, out: where(x <= 0.0, 0.0, 1.0), kinks=(0.0,), gates=True,
          function="relu", nonexpansive=True)  # 1 at NaN, as PyTorch's
LEAKY_RELU = Op("leaky_relu", lambda x, slope: where(x > 0.0, x, slope * x),
                lambda x, out, slope: where(x > 0.0, 1.0, slope), const=True, kinks=(0.0,),
                arg_examples=(0.01, 0.1, 0.2), arg_name="negative_slope", arg_default=0.01,
                function="leaky_relu")
GELU = Op("gelu", _gelu, _d_gelu, function="gelu")
GELU_TANH = Op("gelu_tanh", _gelu_tanh, _d_gelu_tanh, function="gelu_tanh")
SILU = Op("silu", lambda x: at_infinity(x, x * sigmoid(x), -0.0, math.inf), _d_silu,
          function="silu")
ELU = Op("elu", lambda x, alpha: where(x > 0.0, x, alpha * expm1(minimum(x, 0.0))),
         lambda x, out, alpha: where(x <= 0.0, out + alpha, 1.0), const=True, kinks=(0.0,),
         arg_examples=(1.0, 0.5, 2.0), arg_name="alpha", arg_default=1.0, function="elu")
# The second derivative of softsign jumps at 0: a kink for second-order checks.
SOFTSIGN = Op("softsign", lambda x: at_infinity(x, x / (1.0 + abs(x)), -1.0, 1.0), _d_softsign,
              kinks=(0.0,), function="softsign", nonexpansive=True)
# clamp(x, low, high) and hardtanh(x, low, high): the bounds are inputs, as torch.clamp's
# tensor bounds (a number becomes a constant leaf, as the 2 of x * 2 does).
CLAMP = Op("clamp", _clamp, _d_clamp, arity=3, ties_are_kinks=True, selects=True,
           input_ranges=_BOUNDED, function="clamp", nonexpansive=True)
HARDTANH = Op("hardtanh", _clamp, _d_hardtanh, arity=3, ties_are_kinks=True, selects=True,
              input_ranges=_BOUNDED, input_defaults=(-1.0, 1.0), function="hardtanh",
              nonexpansive=True)

# ----- fused n-ary nodes -----
SUM = Op("sum", _sum, _d_sum, "Σ", VARIADIC, linear=True)
MAX = Op("max", maximum, _d_select, "max", VARIADIC, ties_are_kinks=True, selects=True,
         function="max", numpy_reduction="maximum", nonexpansive=True)
MIN = Op("min", minimum, _d_select, "min", VARIADIC, ties_are_kinks=True, selects=True,
         input_ranges=_APART, function="min", numpy_reduction="minimum", nonexpansive=True)
# dot(w..., x..., b): a neuron's weighted sum w·x + b as one node (the bias is optional).
DOT = Op("dot", _dot, _d_dot, "w·x + b", VARIADIC, bilinear=True)
# fmt: on

BUILTIN_OPS: tuple[Op, ...] = (
    ADD, SUB, MUL, DIV, POW, NEG, POW_CONST, RPOW,
    EXP, LOG, SQRT, SIN, COS, ABS, SIGN, TAN, SINH, COSH, ARCSIN, ARCCOS, ARCTAN, ARCTAN2, HYPOT,
    LOG1P, EXPM1, LOG2, LOG10, EXP2, ERF,
    TANH, SIGMOID, SOFTPLUS, RELU, LEAKY_RELU, GELU, GELU_TANH, SILU, ELU, SOFTSIGN, CLAMP,
    HARDTANH, SUM, MAX, MIN, DOT,
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
