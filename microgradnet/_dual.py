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

This module imports neither the engine nor NumPy nor sympy: a backend is found from the type of
the argument, and its library is imported the first time it is needed.
"""

from __future__ import annotations

import importlib
import math
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

__all__ = [
    "UndefinedGradient",
    "cos",
    "data_of",
    "divide",
    "exp",
    "log",
    "log_for_exponent",
    "maximum",
    "power",
    "relu",
    "sigmoid",
    "sign",
    "sin",
    "softplus",
    "sqrt",
    "tanh",
    "where",
]


class UndefinedGradient:
    """A local derivative that does not exist, such as d/dy of ``x ** y`` at ``x <= 0``.

    Sums and products with it stay undefined (with floats, ``Value``s and NumPy arrays alike), and
    the engine raises ``ValueError`` with its message only if it reaches a gradient that is
    actually required: never a silent NaN, and no error for a gradient nobody asked for.
    """

    __slots__ = ("message",)
    __array_ufunc__ = None  # NumPy defers to us: array * undefined stays undefined

    def __init__(self, message: str) -> None:
        self.message = message

    def _spread(self, _other: object) -> UndefinedGradient:
        return self

    __mul__ = __rmul__ = __add__ = __radd__ = __sub__ = __rsub__ = __neg__ = _spread

    def __float__(self) -> float:
        raise ValueError(self.message)

    def __repr__(self) -> str:
        return f"UndefinedGradient({self.message!r})"


# ----- finding the backend of an argument -----
def _library(name: str) -> ModuleType:
    module = sys.modules.get(name)  # already imported: no import machinery per call
    return module if module is not None else importlib.import_module(name)


_BACKEND_OF_TYPE: dict[type, str] = {float: "float", int: "float", bool: "float"}


def _backend(x: object) -> str:
    """``"float"``, ``"numpy"``, ``"sympy"`` or ``"graph"`` (a ``Value``) for ``x``."""
    kind = type(x)
    backend = _BACKEND_OF_TYPE.get(kind)
    if backend is None:
        root = kind.__module__.partition(".")[0]
        backend = root if root in ("numpy", "sympy") else "graph"
        _BACKEND_OF_TYPE[kind] = backend
    return backend


def data_of(x: Any) -> Any:
    """The number inside ``x``: a ``Value``'s data, anything else unchanged.

    For piecewise-constant selectors only (see the module docstring)."""
    return float(x) if _backend(x) == "graph" else x


# ----- unary functions -----
def _unary(
    name: str,
    on_float: Callable[[float], float],
    on_numpy: Callable[[Any], Any] | None = None,
    on_sympy: Callable[[Any], Any] | None = None,
) -> Callable[[Any], Any]:
    """A helper computing ``name``: ``on_float`` on numbers, the method ``name`` on a ``Value``,
    NumPy's and sympy's function of the same name (or the ones given) on theirs."""

    def helper(x: Any) -> Any:
        if type(x) is float:  # the common case first: one type test
            return on_float(x)
        backend = _backend(x)
        if backend == "float":
            return on_float(float(x))
        if backend == "graph":
            return getattr(x, name)()
        if backend == "numpy":
            return on_numpy(x) if on_numpy else getattr(_library("numpy"), name)(x)
        return on_sympy(x) if on_sympy else getattr(_library("sympy"), name)(x)

    helper.__name__ = helper.__qualname__ = name
    helper.__doc__ = f"``{name}`` of a float, a ``Value``, a NumPy array or a sympy expression."
    return helper


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


exp = _unary("exp", _checked_exp)
log = _unary("log", _checked_log)
sqrt = _unary("sqrt", _checked_sqrt)
sin = _unary("sin", math.sin)
cos = _unary("cos", math.cos)
tanh = _unary("tanh", math.tanh)
sigmoid = _unary("sigmoid", _float_sigmoid, _numpy_sigmoid, _sympy_sigmoid)
softplus = _unary("softplus", _float_softplus, _numpy_softplus, _sympy_softplus)


def relu(x: Any) -> Any:
    """``x`` where it is positive, else 0.0, of a float, a ``Value``, an array or an expression."""
    if type(x) is float:  # a network's most common activation: no second call
        return x if x > 0.0 else 0.0
    if _backend(x) == "graph":
        return x.relu()
    return where(x > 0.0, x, 0.0)


# ----- binary functions -----
def divide(x: Any, y: Any) -> Any:
    """``x / y``; on numbers, division by zero raises ``ZeroDivisionError`` naming the op."""
    if _backend(y) == "float" and _backend(x) == "float":
        if y == 0.0:
            raise ZeroDivisionError(f"div: division of {x!r} by zero")
        return x / y
    return x / y


def power(x: Any, y: Any, op: str = "pow") -> Any:
    """``x ** y``; on numbers, the domain errors name ``op`` (``0 ** -1``, ``(-2) ** 0.5``)."""
    if _backend(y) == "float" and _backend(x) == "float":
        if x == 0.0 and y < 0.0:
            raise ZeroDivisionError(f"{op}: 0.0 raised to the negative power {y!r}")
        if x < 0.0 and not float(y).is_integer():
            raise ValueError(f"{op}: negative base {x!r} raised to the non-integer power {y!r}")
        try:
            return float(x**y)
        except OverflowError:
            raise OverflowError(f"{op}: overflow for {x!r} ** {y!r}") from None
    if _backend(x) == "numpy" or _backend(y) == "numpy":
        return _library("numpy").power(x, y)
    return x**y


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


def maximum(*xs: Any) -> Any:
    """The largest of ``xs`` (element by element for arrays)."""
    backend = _backend(xs[0])
    if backend == "numpy":
        return _library("numpy").maximum.reduce(xs)
    if backend == "sympy":
        return _library("sympy").Max(*xs)
    return max(xs)


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
        return _library("numpy").where(condition, if_true, if_false)
    if backend == "sympy":
        return _library("sympy").Piecewise((if_true, condition), (if_false, True))
    return if_true if condition else if_false


def sign(x: Any) -> Any:
    """1.0, -1.0 or 0.0 by the sign of ``x`` (a float for a ``Value``: see the module note)."""
    backend = _backend(x)
    if backend in ("numpy", "sympy"):
        return _library(backend).sign(x)
    x = data_of(x)
    return 1.0 if x > 0.0 else -1.0 if x < 0.0 else 0.0
