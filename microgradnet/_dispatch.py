"""How the dual vocabulary finds an argument's backend: a float, a ``Value``, a NumPy array or a
sympy expression, from its type alone (see :mod:`microgradnet._dual`).

This module imports neither the engine nor NumPy nor sympy: a library is imported the first
time an argument of its type is seen, and looked up in ``sys.modules`` after that.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

__all__ = ["UndefinedGradient", "backend", "binary", "data_of", "library", "unary"]


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
def library(name: str) -> ModuleType:
    module = sys.modules.get(name)  # already imported: no import machinery per call
    return module if module is not None else importlib.import_module(name)


_BACKEND_OF_TYPE: dict[type, str] = {float: "float", int: "float", bool: "float"}


def backend(x: object) -> str:
    """``"float"``, ``"numpy"``, ``"sympy"`` or ``"graph"`` (a ``Value``) for ``x``."""
    kind = type(x)
    found = _BACKEND_OF_TYPE.get(kind)
    if found is None:
        root = kind.__module__.partition(".")[0]
        found = root if root in ("numpy", "sympy") else "graph"
        _BACKEND_OF_TYPE[kind] = found
    return found


def data_of(x: Any) -> Any:
    """The number inside ``x``: a ``Value``'s data, anything else unchanged.

    For piecewise-constant selectors only (see the module docstring)."""
    return float(x) if backend(x) == "graph" else x


# ----- helpers of one and two arguments -----
def unary(
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
        kind = backend(x)
        if kind == "float":
            return on_float(float(x))
        if kind == "graph":
            return getattr(x, name)()
        if kind == "numpy":
            return on_numpy(x) if on_numpy else getattr(library("numpy"), name)(x)
        return on_sympy(x) if on_sympy else getattr(library("sympy"), name)(x)

    helper.__name__ = helper.__qualname__ = name
    helper.__doc__ = f"``{name}`` of a float, a ``Value``, a NumPy array or a sympy expression."
    return helper


def binary(
    name: str,
    on_float: Callable[[float, float], float],
    on_numpy: str,
    on_sympy: Callable[[Any, Any, Any], Any],
) -> Callable[[Any, Any], Any]:
    """A helper of two arguments: ``on_float`` on numbers, ``Value.<name>`` if either is a
    ``Value``, NumPy's function ``on_numpy`` or the sympy form ``on_sympy(sympy, a, b)``."""

    def helper(a: Any, b: Any) -> Any:
        kinds = (backend(a), backend(b))
        if kinds == ("float", "float"):
            return on_float(float(a), float(b))
        if "graph" in kinds:
            node = a if kinds[0] == "graph" else b
            return getattr(type(node), name)(a, b)
        if "numpy" in kinds:
            return getattr(library("numpy"), on_numpy)(a, b)
        return on_sympy(library("sympy"), a, b)

    helper.__name__ = helper.__qualname__ = name
    return helper
