"""Activations by name, and as modules for ``Sequential`` (re-exported by ``microgradnet.nn``).

An activation module applies its function to one ``Value``, or elementwise to a list of them,
nested to any depth: a convolution's output ``[channels][height][width]`` works as well as a
layer's list of outputs.

Example:
    >>> from microgradnet import Value
    >>> [round(v.data, 4) for v in Tanh()([0.5, Value(-1.0)])]
    [0.4621, -0.7616]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._module import Module
from .engine import Value

__all__ = [
    "ACTIVATIONS",
    "ELU",
    "GELU",
    "LEAKY_RELU_SLOPE",
    "Activation",
    "Hardtanh",
    "Identity",
    "LeakyReLU",
    "ReLU",
    "SiLU",
    "Sigmoid",
    "Softsign",
    "Tanh",
    "activation_fn",
]

LEAKY_RELU_SLOPE = 0.01


def _linear(v: Value) -> Value:
    return v


def _leaky_relu(v: Value) -> Value:
    return v.leaky_relu(LEAKY_RELU_SLOPE)


# PyTorch's defaults: gelu in its exact (erf) form, elu with alpha 1, hardtanh on [-1, 1].
ACTIVATIONS: dict[str, Callable[[Value], Value]] = {
    "relu": Value.relu,
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    "leaky_relu": _leaky_relu,
    "gelu": Value.gelu,
    "silu": Value.silu,
    "elu": Value.elu,
    "softsign": Value.softsign,
    "hardtanh": Value.hardtanh,
    "linear": _linear,
}


def activation_fn(name: object) -> Callable[[Value], Value]:
    """The function of the activation called ``name``.

    Raises:
        ValueError: ``name`` is not one of :data:`ACTIVATIONS` (the message lists them).
    """
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {name!r}; valid activations: {', '.join(map(repr, ACTIVATIONS))}"
        )
    return ACTIVATIONS[name]


def _elementwise(fn: Callable[[Value], Value], x: Any) -> Any:
    if isinstance(x, list | tuple):
        return [_elementwise(fn, v) for v in x]
    return fn(x if type(x) is Value else Value(x))


class Activation(Module):
    """An activation applied to one ``Value`` or to each of a (nested) list of them.

    Args:
        name: one of :data:`ACTIVATIONS`.
    """

    def __init__(self, name: str) -> None:
        self._fn = activation_fn(name)
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def __call__(self, x: Any) -> Any:
        """Apply the activation to one value, or elementwise to a (nested) list of them."""
        return _elementwise(self._fn, x)

    def extra_repr(self) -> str:
        return "" if type(self) is not Activation else repr(self._name)


class ReLU(Activation):
    """``max(0, x)`` elementwise."""

    def __init__(self) -> None:
        super().__init__("relu")


class Tanh(Activation):
    """``tanh(x)`` elementwise."""

    def __init__(self) -> None:
        super().__init__("tanh")


class Sigmoid(Activation):
    """``1 / (1 + exp(-x))`` elementwise."""

    def __init__(self) -> None:
        super().__init__("sigmoid")


class LeakyReLU(Activation):
    """``x`` for ``x > 0``, else ``0.01 * x``, elementwise."""

    def __init__(self) -> None:
        super().__init__("leaky_relu")


class GELU(Activation):
    """``x Φ(x)`` elementwise, Φ the standard normal CDF (PyTorch's ``GELU()``, erf form)."""

    def __init__(self) -> None:
        super().__init__("gelu")


class SiLU(Activation):
    """``x * sigmoid(x)`` elementwise (also called swish)."""

    def __init__(self) -> None:
        super().__init__("silu")


class ELU(Activation):
    """``x`` for ``x > 0``, else ``e ** x - 1``, elementwise (PyTorch's ``ELU()``, alpha 1)."""

    def __init__(self) -> None:
        super().__init__("elu")


class Softsign(Activation):
    """``x / (1 + |x|)`` elementwise."""

    def __init__(self) -> None:
        super().__init__("softsign")


class Hardtanh(Activation):
    """``x`` limited to ``[-1, 1]`` elementwise (PyTorch's ``Hardtanh()``)."""

    def __init__(self) -> None:
        super().__init__("hardtanh")


class Identity(Activation):
    """Returns its input unchanged (the ``"linear"`` activation)."""

    def __init__(self) -> None:
        super().__init__("linear")
