"""How :func:`check_engine` talks to another autograd engine: an :class:`Adapter` of names, and
the :class:`Engine` that reads and writes values through it."""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Adapter", "Engine"]


@dataclass(frozen=True)
class Adapter:
    """The names of an engine that differ from micrograd's.

    Every field has micrograd's answer as its default, so ``Adapter()`` fits a micrograd-style
    ``Value``. A field is an attribute or method name, or a function doing the job.

    Attributes:
        make: builds a leaf from a float (default: the value class itself, ``Value(2.0)``).
        data: where a value keeps its number (``"data"``).
        grad: where a value keeps its gradient (``"grad"``; minitorch: ``"derivative"``); a
            gradient of ``None`` reads as 0.0.
        backward: the method that backpropagates from an output (``"backward"``). A method
            that needs the output's own gradient (``backward(d_output)``) gets 1.0.
        methods: ops the engine names differently, by op name: a method name
            (``{"sigmoid": "sigm"}``) or a function of the inputs, then the constant argument
            if the op has one (``{"sum": lambda *xs: Scalar.sum(xs)}``).

    Example:
        >>> minitorch_like = Adapter(grad="derivative", methods={"sigmoid": "sigm"})
    """

    make: Callable[[float], Any] | None = None
    data: str | Callable[[Any], Any] = "data"
    grad: str | Callable[[Any], Any] = "grad"
    backward: str | Callable[[Any], Any] = "backward"
    methods: Mapping[str, str | Callable[..., Any]] = field(default_factory=dict)


def _reader(how: str | Callable[[Any], Any]) -> Callable[[Any], Any]:
    if callable(how):
        return how
    return lambda value: getattr(value, how)


def _is_number(x: object) -> bool:
    return isinstance(x, numbers.Real)


class Engine:
    """A value class and its adapter: leaves from floats, numbers and gradients as floats.

    Args:
        value_class: the engine's value class (``micrograd.engine.Value``).
        adapter: its names, where they differ from micrograd's.

    Raises:
        TypeError: ``value_class`` or ``adapter`` has the wrong type.
    """

    def __init__(self, value_class: Any, adapter: Adapter | None = None) -> None:
        if adapter is None:
            adapter = Adapter()
        if not isinstance(adapter, Adapter):
            raise TypeError(f"check_engine: adapter must be an Adapter, got {adapter!r}")
        if not callable(value_class) and adapter.make is None:
            raise TypeError(f"check_engine: value_class must be a class, got {value_class!r}")
        self.value_class = value_class
        self.adapter = adapter
        self.name = _qualified_name(value_class)
        self._make: Callable[[float], Any] = adapter.make or value_class
        self._data = _reader(adapter.data)
        self._grad = _reader(adapter.grad)
        self.backward_call = ""  # how backward() was called, for the report

    def check_basics(self) -> None:
        """Raise ``TypeError`` unless a leaf can be made and its number and gradient read."""
        a = self.adapter
        try:
            leaf = self.leaf(2.0)
            number = self.number(leaf)
            self.gradient(leaf)
        except Exception as error:
            raise TypeError(
                f"check_engine: cannot use {self.name}: making a value of 2.0 and reading its "
                f"{a.data!r} and {a.grad!r} failed with {type(error).__name__}: {error} (an "
                "Adapter names what an engine calls differently: Adapter(grad='derivative'))"
            ) from error
        if number != 2.0:
            raise TypeError(f"check_engine: {self.name}(2.0) holds {number!r}, not 2.0")

    # ----- values -----
    def leaf(self, x: float) -> Any:
        """A new leaf holding ``x``."""
        return self._make(x)

    def number(self, value: Any) -> float:
        """The number a value holds, as a float."""
        return _to_float(self._data(value))

    def gradient(self, value: Any) -> float:
        """The gradient a value holds, as a float (``None`` reads as 0.0)."""
        g = self._grad(value)
        if g is None:
            return 0.0
        try:
            return _to_float(g)
        except TypeError:
            return self.number(g)  # a gradient held as a value of the engine

    def is_value(self, x: object) -> bool:
        """Whether ``x`` is a value of the engine: not a plain number, holding a real number."""
        if _is_number(x):
            return False
        try:
            self.number(x)
        except Exception:
            return False
        return True

    def lift(self, x: Any) -> Any:
        """``x`` itself if a value of the engine, else a new leaf holding it."""
        return self.leaf(float(x)) if _is_number(x) else x

    # ----- backward -----
    def backward(self, output: Any) -> None:
        """Backpropagate from ``output`` as the engine does (``output.backward()``)."""
        how = self.adapter.backward
        if callable(how):
            how(output)
            self.backward_call = getattr(how, "__name__", "adapter.backward")
            return
        method = getattr(output, how)
        if _needs_an_argument(method):
            method(1.0)
            self.backward_call = f"{how}(1.0)"
        else:
            method()
            self.backward_call = f"{how}()"


def _needs_an_argument(method: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return any(p.kind in positional and p.default is p.empty for p in parameters)


def _to_float(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        raise TypeError(f"expected a real number, got {type(x).__name__}") from None


def _qualified_name(value_class: Any) -> str:
    module = getattr(value_class, "__module__", "")
    name = getattr(value_class, "__qualname__", None) or repr(value_class)
    return f"{module}.{name}" if module and module != "builtins" else name
