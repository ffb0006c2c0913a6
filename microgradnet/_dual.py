"""The dual vocabulary: math that works on floats, ``Value``s, NumPy arrays and sympy expressions.

Every rule of the op table is written with these helpers and Python's operators, so one rule
serves four backends:

* a float (or int): plain math, with the domain checks of the op table (``log(-1.0)`` raises a
  ``ValueError`` naming the op and the value);
* a ``Value``: the graph op (``exp(v)`` is ``v.exp()``), so a derivative evaluated on ``Value``s
  is itself a graph and higher-order gradients follow;
* a NumPy array: the vectorised function, element by element (compiled mode); out-of-domain
  elements give NaN or an infinity, which compiled mode explains with the float rule;
* a sympy expression: the symbolic function (reference forms for tests and documentation).

Piecewise-constant selectors (``where`` on a condition, ``sign``) read the data of a ``Value``:
their derivative is 0 wherever it exists, so a float is the exact answer and no graph is needed.

This module imports neither the engine nor NumPy nor sympy: :mod:`microgradnet._dispatch` finds a
backend from the type of the argument and imports its library the first time it is needed.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

from ._dispatch import UndefinedGradient, data_of
from ._dispatch import backend as _backend
from ._dispatch import binary as _binary
from ._dispatch import library as _library
from ._dispatch import unary as _unary
from ._select import select

__all__ = [
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
    "relu",
    "sigmoid",
    "sign",
    "sin",
    "sinh",
    "softplus",
    "sqrt",
    "tan",
    "tanh",
    "where",
]


# ----- unary functions -----
def _named(name: str, function: Callable[[float], float]) -> Callable[[float], float]:
    """``function`` on floats, its errors naming ``name`` and the input (``sin(inf)``)."""

    def on_float(x: float) -> float:
        try:
            return function(x)
        except OverflowError:
            raise OverflowError(f"{name}: overflow for input {x!r}") from None
        except ValueError:
            raise ValueError(f"{name}: undefined for input {x!r}") from None

    return on_float


def _above(name: str, function: Callable[[float], float], low: float) -> Callable[[float], float]:
    """``function`` on floats greater than ``low`` (a logarithm's domain); NaN passes through."""

    def on_float(x: float) -> float:
        if x <= low:
            raise ValueError(f"{name}: undefined for value {x!r} (needs a value above {low:g})")
        return function(x)

    return on_float


def _within_one(name: str, function: Callable[[float], float]) -> Callable[[float], float]:
    """``function`` on floats in [-1, 1] (arcsin, arccos); NaN passes through."""

    def on_float(x: float) -> float:
        if x < -1.0 or x > 1.0:
            raise ValueError(f"{name}: undefined for value {x!r} (outside [-1, 1])")
        return function(x)

    return on_float


def _checked_exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        raise OverflowError(f"exp: overflow for input {x!r}") from None


def _checked_log(x: float) -> float:
    if x <= 0.0:
        raise ValueError(f"log: undefined for non-positive value {x!r}")
    return math.log(x)


def _checked_sqrt(x: float) -> float:
    if x < 0.0:
        raise ValueError(f"sqrt: undefined for negative value {x!r}")
    return math.sqrt(x)


def _float_sigmoid(x: float) -> float:
    # Two branches, so that exp never sees a large positive argument (stable at +-1000).
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _numpy_sigmoid(x: Any) -> Any:
    np = _library("numpy")
    z = np.exp(-np.abs(x))  # the float branches at once: exp only ever sees -|x|
    return np.where(x >= 0.0, 1.0 / (1.0 + z), z / (1.0 + z))


def _float_softplus(x: float) -> float:
    # log(1 + e**x) = max(x, 0) + log1p(e**-|x|): no overflow for large |x|.
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _numpy_softplus(x: Any) -> Any:
    np = _library("numpy")
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _sympy_sigmoid(x: Any) -> Any:
    return 1 / (1 + _library("sympy").exp(-x))


def _sympy_softplus(x: Any) -> Any:
    sp = _library("sympy")
    return sp.log(1 + sp.exp(x))


def _numpy_erf(x: Any) -> Any:
    # NumPy has no erf; SciPy comes with scikit-learn, a dependency.
    return _library("scipy.special").erf(x)


def _sympy(function: Callable[[Any, Any], Any]) -> Callable[[Any], Any]:
    """A sympy form written with the sympy module: ``_sympy(lambda sp, x: sp.log(1 + x))``."""
    return lambda x: function(_library("sympy"), x)


exp = _unary("exp", _checked_exp)
log = _unary("log", _checked_log)
sqrt = _unary("sqrt", _checked_sqrt)
sin = _unary("sin", _named("sin", math.sin))
cos = _unary("cos", _named("cos", math.cos))
tan = _unary("tan", _named("tan", math.tan))
tanh = _unary("tanh", math.tanh)
sinh = _unary("sinh", _named("sinh", math.sinh))
cosh = _unary("cosh", _named("cosh", math.cosh))
sigmoid = _unary("sigmoid", _float_sigmoid, _numpy_sigmoid, _sympy_sigmoid)
softplus = _unary("softplus", _float_softplus, _numpy_softplus, _sympy_softplus)
# sympy cannot always prove arcsin(u) real (it would need |u| <= 1), and then cannot differentiate
# |arcsin(u)|; the real part is the same function on the domain where ours is defined.
arcsin = _unary(
    "arcsin", _within_one("arcsin", math.asin), on_sympy=_sympy(lambda sp, x: sp.re(sp.asin(x)))
)
arccos = _unary(
    "arccos", _within_one("arccos", math.acos), on_sympy=_sympy(lambda sp, x: sp.re(sp.acos(x)))
)
arctan = _unary("arctan", math.atan, on_sympy=_sympy(lambda sp, x: sp.atan(x)))
log1p = _unary(
    "log1p", _above("log1p", math.log1p, -1.0), on_sympy=_sympy(lambda sp, x: sp.log(1 + x))
)
expm1 = _unary("expm1", _named("expm1", math.expm1), on_sympy=_sympy(lambda sp, x: sp.exp(x) - 1))
log2 = _unary("log2", _above("log2", math.log2, 0.0), on_sympy=_sympy(lambda sp, x: sp.log(x, 2)))
log10 = _unary(
    "log10", _above("log10", math.log10, 0.0), on_sympy=_sympy(lambda sp, x: sp.log(x, 10))
)
exp2 = _unary("exp2", _named("exp2", lambda x: 2.0**x), on_sympy=_sympy(lambda sp, x: 2**x))
erf = _unary("erf", math.erf, _numpy_erf)


def relu(x: Any) -> Any:
    """``x`` where it is not negative, else 0.0, of a float, a ``Value``, an array or an expression.

    NaN passes through (``relu(nan)`` is NaN), and so does ``-0.0``, as in PyTorch."""
    if type(x) is float:  # a network's most common activation: no second call
        return 0.0 if x < 0.0 else x
    if _backend(x) == "graph":
        return x.relu()
    return where(x < 0.0, 0.0, x)


def equal(x: Any, y: Any) -> Any:
    """``x == y`` as a condition for :func:`where`: a bool on numbers, element by element on
    arrays, a sympy ``Eq`` on sympy expressions (whose ``==`` compares their structure)."""
    if _backend(x) == "sympy" or _backend(y) == "sympy":
        return _library("sympy").Eq(x, y)
    return x == y


def is_nan(x: Any) -> Any:
    """Whether ``x`` is NaN (element by element for an array; never, for a sympy expression)."""
    backend = _backend(x)
    if backend == "numpy":
        return _library("numpy").isnan(x)
    if backend == "sympy":
        return False
    x = data_of(x)
    return x != x


def at_infinity(x: Any, value: Any, below: float, above: float) -> Any:
    """``value``, except ``below`` where ``x`` is -inf and ``above`` where it is +inf.

    For a formula that computes ``inf * 0`` at an infinite input (``x * sigmoid(x)`` at -inf)
    although it has a limit there: the limit replaces the NaN. ``value`` is computed everywhere,
    so it must not raise at an infinite input."""
    backend = _backend(x)
    if backend == "numpy":
        np = _library("numpy")
        return np.where(x == math.inf, above, np.where(x == -math.inf, below, value))
    if backend == "sympy":
        return value
    data = data_of(x)
    return above if data == math.inf else below if data == -math.inf else value


# ----- binary functions -----
arctan2 = _binary("arctan2", math.atan2, "arctan2", lambda sp, y, x: sp.atan2(y, x))
hypot = _binary("hypot", math.hypot, "hypot", lambda sp, x, y: sp.sqrt(x * x + y * y))
arctan2.__doc__ = "The angle of the point ``(x, y)``, ``arctan2(y, x)``, in (-pi, pi]."
hypot.__doc__ = "``sqrt(x**2 + y**2)`` without overflow or underflow on the way."


def divide(x: Any, y: Any) -> Any:
    """``x / y``; on numbers, division by zero raises ``ZeroDivisionError`` naming the op, and
    an infinity divided by an infinity (NaN) raises ``ValueError``."""
    if _backend(y) == "float" and _backend(x) == "float":
        if y == 0.0:
            raise ZeroDivisionError(f"div: division of {x!r} by zero")
        result = x / y
        if result != result and x == x and y == y:
            raise ValueError(f"div: {x!r} / {y!r} is undefined")
        return result
    return x / y


def power(x: Any, y: Any, op: str = "pow") -> Any:
    """``x ** y``; on numbers, the domain errors name ``op`` (``0 ** -1``, ``(-2) ** 0.5``)."""
    if _backend(y) == "float" and _backend(x) == "float":
        if x == 0.0 and y < 0.0:
            raise ZeroDivisionError(f"{op}: 0.0 raised to the negative power {y!r}")
        if x < 0.0 and y == y and not float(y).is_integer():
            raise ValueError(f"{op}: negative base {x!r} raised to the non-integer power {y!r}")
        try:
            return float(x**y)
        except OverflowError:
            raise OverflowError(f"{op}: overflow for {x!r} ** {y!r}") from None
    if _backend(x) == "numpy" or _backend(y) == "numpy":
        return _library("numpy").power(x, y)
    return x**y


def power_derivative(x: Any, y: Any, op: str = "pow") -> Any:
    """d/dx of ``x ** y``: ``y * x ** (y - 1)``, and 0 where ``y`` is 0 (``x ** 0`` is 1
    everywhere, ``0 ** 0`` included).

    Where the formula computes ``inf * 0`` (``y`` infinite, ``x ** (y - 1)`` 0) the limit is 0:
    the power falls faster than ``y`` grows. At ``x = 0`` with ``y < 1`` the slope is infinite:
    an :class:`UndefinedGradient` on numbers and ``Value``s (an error only if this gradient is
    needed: ``0 ** y`` still has its derivative in ``y``), an infinity in an array."""
    backend = _backend(x) if _backend(y) == "float" else _backend(y)
    if backend == "numpy":
        np = _library("numpy")
        d = y * np.power(x, y - 1.0)
        limit = np.isnan(d) & ~np.isnan(x) & ~np.isnan(y)  # inf * 0: the limit is 0
        return np.where((np.asarray(y) == 0.0) | limit, 0.0, d)
    if backend == "sympy":
        return y * x ** (y - 1)
    if backend == "graph":  # keep the graph: d/dy of this is needed at second order
        if data_of(y) == 0.0 and data_of(x) == 0.0:
            return 0.0
        if data_of(x) == 0.0 and data_of(y) < 1.0:
            return _infinite_slope(data_of(y), op)
        return y * x ** (y - 1)
    if y == 0.0:
        return 0.0
    if x == 0.0 and y < 1.0:
        return _infinite_slope(y, op)
    d = float(y * x ** (y - 1))
    return 0.0 if d != d and x == x and y == y else d


def _infinite_slope(exponent: float, op: str) -> UndefinedGradient:
    return UndefinedGradient(
        f"{op}: the gradient with respect to the base is infinite at 0.0 ** {exponent!r}"
    )


def exponent_derivative(x: Any, y: Any, out: Any, op: str) -> Any:
    """d/dy of ``out = x ** y``: ``out * log(x)``; 0 where ``x`` is 0 and ``y`` positive
    (``0 ** y`` is 0 for every positive ``y``).

    Elsewhere (``x < 0``, or ``x`` 0 and ``y`` not positive) it does not exist: an
    :class:`UndefinedGradient` on numbers and ``Value``s, NaN in an array (compiled mode explains
    it with this rule on floats)."""
    backend = _backend(x) if _backend(y) == "float" else _backend(y)
    if backend == "numpy":
        np = _library("numpy")
        return np.where((np.asarray(x) == 0.0) & (np.asarray(y) > 0.0), 0.0, out * np.log(x))
    if backend == "sympy":
        return out * log(x)
    base, exponent = data_of(x), data_of(y)
    if not base <= 0.0:  # a positive base, or NaN: NaN propagates
        d = out * log(x)
        if backend != "float" or d == d or base != base or exponent != exponent:
            return d
    elif exponent != exponent:
        return math.nan  # NaN propagates
    elif base == 0.0 and exponent > 0.0:
        return 0.0
    return UndefinedGradient(
        f"{op}: the gradient with respect to the exponent needs log(base), "
        f"undefined for base {base!r} and exponent {exponent!r}"
    )


def log_for_exponent(x: Any, op: str) -> Any:
    """``log(x)``, the factor the gradient of ``op`` with respect to an exponent needs.

    Where ``x <= 0`` it does not exist: an :class:`UndefinedGradient` on numbers and ``Value``s,
    NaN in an array (compiled mode explains it with this rule on floats)."""
    backend = _backend(x)
    if backend in ("numpy", "sympy"):
        return log(x)
    if data_of(x) > 0.0:
        return log(x)
    return UndefinedGradient(
        f"{op}: the gradient with respect to the exponent needs log(base), "
        f"undefined for base {data_of(x)!r}"
    )


# ----- the largest and the smallest -----
def _extreme(pick: Callable[..., Any], xs: tuple[Any, ...]) -> Any:
    result = pick(xs)
    total = sum(xs)  # NaN if any input is (a sum runs in C)
    if total != total:
        # Every comparison with NaN is false, so max() and min() would keep or skip a NaN
        # by where it stands; it wins wherever it stands, as in PyTorch and NumPy.
        for x in xs:
            if x != x:
                return x
    return result


def _kind_of_all(xs: tuple[Any, ...]) -> str:
    """The backend of ``xs`` taken together: the first that is not plain numbers."""
    for x in xs:
        kind = _backend(x)
        if kind != "float":
            return kind
    return "float"


def maximum(*xs: Any) -> Any:
    """The largest of ``xs`` (element by element for arrays); NaN if any of them is NaN."""
    kind = _kind_of_all(xs)
    if kind == "numpy":
        return functools.reduce(_library("numpy").maximum, xs)
    if kind == "sympy":
        return _library("sympy").Max(*xs)
    if kind == "float":
        return _extreme(max, xs)
    return max(xs)


def minimum(*xs: Any) -> Any:
    """The smallest of ``xs`` (element by element for arrays); NaN if any of them is NaN."""
    kind = _kind_of_all(xs)
    if kind == "numpy":
        return functools.reduce(_library("numpy").minimum, xs)
    if kind == "sympy":
        return _library("sympy").Min(*xs)
    if kind == "float":
        return _extreme(min, xs)
    return min(xs)


# ----- piecewise-constant selectors -----
def where(condition: Any, if_true: Any, if_false: Any) -> Any:
    """``if_true`` where ``condition`` holds, else ``if_false``.

    A plain ``bool`` condition (a float or a ``Value`` compared with a number) picks one branch;
    a NumPy array of bools picks element by element; a sympy relation gives a ``Piecewise``.
    Both branches are evaluated, so each must be defined everywhere."""
    if type(condition) is bool:
        return if_true if condition else if_false
    backend = _backend(condition)
    if backend == "numpy":
        return select(_library("numpy"), condition, if_true, if_false)
    if backend == "sympy":
        return _library("sympy").Piecewise((if_true, condition), (if_false, True))
    return if_true if condition else if_false


def sign(x: Any) -> Any:
    """1.0, -1.0 or 0.0 by the sign of ``x``, NaN for NaN (a float for a ``Value``: see the
    module note)."""
    backend = _backend(x)
    if backend in ("numpy", "sympy"):
        return _library(backend).sign(x)
    x = data_of(x)
    return 1.0 if x > 0.0 else -1.0 if x < 0.0 else x if x != x else 0.0
