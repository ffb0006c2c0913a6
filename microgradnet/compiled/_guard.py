"""Data-dependent Python caught while tracing: ``.data``, ``float()``, ``bool()``, comparisons.

A compiled program runs the Python of the traced function once, on the example sample. Code that
turns a traced value into a Python number or bool (``if x.data < 100``, ``float(x)``, ``if x:``,
``max(x, y)``) would freeze the example's decision into the program, so while a function is
traced those uses raise :class:`TraceError` naming the user's line, as ``torch.jit.trace`` warns
on a tensor turned into a Python bool. Writing ``.data`` of a traced value raises too: the
engine would go on with the number written, the program computes the value from the inputs.

Note [guarding Value while tracing]
``Value`` is the engine's, and a learner reads it first, so the guard is not written into it:
while any thread traces, :func:`guarding` wraps ``Value.data``'s descriptor and the dunders that
turn a value into a number or a bool (``__float__ __bool__ __lt__ __le__ __gt__ __ge__``), and
puts the originals back when the last trace ends. A wrapper does what the original does, and
raises only when all of these hold: this thread is tracing, the caller is outside the
``microgradnet`` package (the library itself reads ``.data`` to build nodes), and the value
depends on an input of the trace (a parameter's ``.data`` is no data). Other threads go through
the wrappers meanwhile and get the original behaviour. A trace of an MLP reads ``.data`` a few
times per node, so the check first asks whether the calling code object lies in the package,
once per code object.
"""

from __future__ import annotations

import contextlib
import linecache
import os
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

from .._graph import topological_order
from ..engine import Value

__all__ = ["TraceError", "guarding"]


class TraceError(RuntimeError):
    """A traced program would not compute what the function computes (its graph depends on the
    data), or the function cannot be traced."""


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_DUNDERS = {
    "__float__": "float() of",
    "__bool__": "bool() of (an `if` or `while` on)",
    "__lt__": "a comparison (<) on",
    "__le__": "a comparison (<=) on",
    "__gt__": "a comparison (>) on",
    "__ge__": "a comparison (>=) on",
}


class _Trace:
    """What one thread's trace guards: its input leaves, and which values reach them."""

    def __init__(self, inputs: list[Value]) -> None:
        self.inputs = set(inputs)
        self.depends: dict[Value, bool] = {}

    def depends_on_inputs(self, value: Value) -> bool:
        known = self.depends.get(value)
        if known is None:
            order = topological_order([value], stop=self.inputs)
            known = self.depends[value] = any(v in self.inputs for v in order)
        return known


_lock = threading.Lock()
_traces: dict[int, _Trace] = {}  # thread id -> the trace it runs
_originals: dict[str, Any] = {}
_in_package: dict[object, bool] = {}  # code object -> lies in the package


def _check(value: object, what: str) -> None:
    """Raise if the current thread traces and its caller's caller, outside the package, uses a
    traced value as ``what`` (see Note [guarding Value while tracing])."""
    frame = sys._getframe(2)
    code = frame.f_code
    inside = _in_package.get(code)
    if inside is None:
        inside = _in_package[code] = os.path.abspath(code.co_filename).startswith(_PACKAGE)
    if inside or type(value) is not Value:
        return
    trace = _traces.get(threading.get_ident())
    if trace is None or not trace.depends_on_inputs(value):
        return
    line = linecache.getline(code.co_filename, frame.f_lineno).strip()
    source = f": `{line}`" if line else ""
    raise TraceError(
        f"{what} a traced value (one that depends on the inputs) at {code.co_filename}, line "
        f"{frame.f_lineno}{source}. The compiled program runs this Python once, on the example "
        "sample, so its decision would be frozen for every sample. Write the branch with ops "
        "(relu, abs, Value.max) or use the dynamic engine"
    )


def _wrapped_data(original: Any) -> property:
    def get(self: Value) -> Any:
        # the library reads .data to build every node: its code objects are let through first
        if _traces and _in_package.get(sys._getframe(1).f_code) is not True:
            _check(self, "reading .data of")
        return original.__get__(self, Value)

    def set_(self: Value, data: Any) -> None:
        # the program computes a traced value from the inputs, whatever was written into it
        if _traces:
            _check(self, "writing .data of")
        original.__set__(self, data)

    return property(get, set_, doc=getattr(original, "__doc__", None))


def _wrapped_dunder(name: str, original: Callable[..., Any] | None) -> Callable[..., Any]:
    what = _DUNDERS[name]

    def method(self: Value, *args: Any) -> Any:
        if _traces:
            _check(self, what)
            for other in args:
                _check(other, what)
        if original is None:  # __bool__ that Value does not define: every object is true
            return True
        return original(self, *args)

    method.__name__ = name
    return method


def _install() -> None:
    _originals["data"] = Value.__dict__["data"]
    setattr(Value, "data", _wrapped_data(_originals["data"]))  # noqa: B010
    for name in _DUNDERS:
        # Value's own method, or the one it inherits (put back by deleting the wrapper)
        _originals[name] = (Value.__dict__.get(name), getattr(Value, name, None))
        setattr(Value, name, _wrapped_dunder(name, _originals[name][1]))


def _uninstall() -> None:
    setattr(Value, "data", _originals.pop("data"))  # noqa: B010
    for name in _DUNDERS:
        own, _ = _originals.pop(name)
        if own is None:
            delattr(Value, name)
        else:
            setattr(Value, name, own)


@contextlib.contextmanager
def guarding(inputs: list[Value]) -> Iterator[None]:
    """While the block runs, this thread's data-dependent uses of values that depend on
    ``inputs`` raise :class:`TraceError` (see the module docstring)."""
    ident = threading.get_ident()
    with _lock:
        if not _traces:
            _install()
        previous = _traces.get(ident)  # compile called inside a traced function
        _traces[ident] = _Trace(inputs)
    try:
        yield
    finally:
        with _lock:
            if previous is None:
                del _traces[ident]
            else:
                _traces[ident] = previous
            if not _traces:
                _uninstall()
