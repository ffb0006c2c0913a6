"""The functions of a ``Value``: ``exp``, ``tanh``, ``relu``, ``gelu``, ... and ``Value.sum``,
``.max``, ``.min``, ``.arctan2``, ``.hypot``, ``.dot`` and ``.matvec``, each of which applies one
row of the op table.

``Value`` inherits them from :class:`ValueFunctions` and hands over, in its class statement, the
engine's two ways of making nodes (``class Value(ValueFunctions, record=..., lift_all=...)``): this
module builds on the engine without importing it.

Fused nodes keep a network's graph small: a neuron's ``w·x + b`` is one node with 2n + 1 inputs
rather than 2n nodes, and a sum of any length is one node.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Self

from . import ops
from ._numbers import to_float
from .ops import Op

__all__ = ["ValueFunctions"]


def _no_engine(*args: Any) -> Any:
    raise TypeError("ValueFunctions: only Value, which gives it the engine's node maker, works")


# The engine's node makers, handed over by Value's class statement (see __init_subclass__):
# record(op, data, x, y) makes a node as Value stores it; lift_all(values, what) makes every
# entry a node (a number becomes a constant leaf).
_record: Callable[[Op, float, Any, Any], Any] = _no_engine
_lift_all: Callable[[Iterable[Any], str], tuple[Any, ...]] = _no_engine


class ValueFunctions:
    """The functions of a ``Value``; a base class of ``Value`` only."""

    __slots__ = ()
    data: float

    def __init_subclass__(
        cls,
        record: Callable[[Op, float, Any, Any], Any] | None = None,
        lift_all: Callable[[Iterable[Any], str], tuple[Any, ...]] | None = None,
        **kwargs: Any,
    ) -> None:
        # Value's class statement hands over the engine's node makers; a subclass of Value
        # (a user's) gives none and keeps them.
        global _record, _lift_all
        super().__init_subclass__(**kwargs)
        if record is not None and lift_all is not None:
            _record, _lift_all = record, lift_all

    # ----- one input -----
    def exp(self) -> Self:
        """e ** self."""
        return _record(ops.EXP, ops.EXP.forward(self.data), self, None)

    def log(self) -> Self:
        """Natural logarithm; ``ValueError`` for a non-positive value."""
        return _record(ops.LOG, ops.LOG.forward(self.data), self, None)

    def sqrt(self) -> Self:
        """Square root; ``ValueError`` for a negative value."""
        return _record(ops.SQRT, ops.SQRT.forward(self.data), self, None)

    def sin(self) -> Self:
        """Sine (radians)."""
        return _record(ops.SIN, ops.SIN.forward(self.data), self, None)

    def cos(self) -> Self:
        """Cosine (radians)."""
        return _record(ops.COS, ops.COS.forward(self.data), self, None)

    def tanh(self) -> Self:
        """Hyperbolic tangent (stable for any finite input)."""
        return _record(ops.TANH, ops.TANH.forward(self.data), self, None)

    def sigmoid(self) -> Self:
        """Logistic sigmoid 1 / (1 + e**-x) (stable for any finite input)."""
        return _record(ops.SIGMOID, ops.SIGMOID.forward(self.data), self, None)

    def softplus(self) -> Self:
        """log(1 + e**x), a smooth relu (stable for any finite input); its derivative is sigmoid."""
        return _record(ops.SOFTPLUS, ops.SOFTPLUS.forward(self.data), self, None)

    def relu(self) -> Self:
        """max(0, x); its derivative at 0 is taken as 0."""
        return _record(ops.RELU, ops.RELU.forward(self.data), self, None)

    def tan(self) -> Self:
        """Tangent (radians)."""
        return _record(ops.TAN, ops.TAN.forward(self.data), self, None)

    def sinh(self) -> Self:
        """Hyperbolic sine."""
        return _record(ops.SINH, ops.SINH.forward(self.data), self, None)

    def cosh(self) -> Self:
        """Hyperbolic cosine."""
        return _record(ops.COSH, ops.COSH.forward(self.data), self, None)

    def arcsin(self) -> Self:
        """Inverse sine, in [-pi/2, pi/2]; ``ValueError`` outside [-1, 1]."""
        return _record(ops.ARCSIN, ops.ARCSIN.forward(self.data), self, None)

    def arccos(self) -> Self:
        """Inverse cosine, in [0, pi]; ``ValueError`` outside [-1, 1]."""
        return _record(ops.ARCCOS, ops.ARCCOS.forward(self.data), self, None)

    def arctan(self) -> Self:
        """Inverse tangent, in (-pi/2, pi/2)."""
        return _record(ops.ARCTAN, ops.ARCTAN.forward(self.data), self, None)

    def log1p(self) -> Self:
        """log(1 + x), exact for small x; ``ValueError`` for x <= -1."""
        return _record(ops.LOG1P, ops.LOG1P.forward(self.data), self, None)

    def expm1(self) -> Self:
        """e ** x - 1, exact for small x."""
        return _record(ops.EXPM1, ops.EXPM1.forward(self.data), self, None)

    def log2(self) -> Self:
        """Base-2 logarithm; ``ValueError`` for a non-positive value."""
        return _record(ops.LOG2, ops.LOG2.forward(self.data), self, None)

    def log10(self) -> Self:
        """Base-10 logarithm; ``ValueError`` for a non-positive value."""
        return _record(ops.LOG10, ops.LOG10.forward(self.data), self, None)

    def exp2(self) -> Self:
        """2 ** x."""
        return _record(ops.EXP2, ops.EXP2.forward(self.data), self, None)

    def erf(self) -> Self:
        """The error function, 2/sqrt(pi) times the integral of e ** -t**2 from 0 to x."""
        return _record(ops.ERF, ops.ERF.forward(self.data), self, None)

    def sign(self) -> Self:
        """1.0, -1.0 or 0.0 by the sign (NaN for NaN); its derivative is 0."""
        return _record(ops.SIGN, ops.SIGN.forward(self.data), self, None)

    def leaky_relu(self, negative_slope: float = 0.01) -> Self:
        """x for x > 0, else ``negative_slope * x``."""
        slope = to_float(negative_slope, "negative_slope")
        return _record(ops.LEAKY_RELU, ops.LEAKY_RELU.forward(self.data, slope), self, slope)

    def gelu(self, approximate: str = "none") -> Self:
        """x Φ(x), Φ the standard normal CDF (with ``approximate="tanh"``, PyTorch's tanh
        approximation); the activation of BERT and GPT.

        Raises:
            ValueError: ``approximate`` is neither ``"none"`` nor ``"tanh"``.
        """
        if approximate not in ("none", "tanh"):
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        op = ops.GELU if approximate == "none" else ops.GELU_TANH
        return _record(op, op.forward(self.data), self, None)

    def silu(self) -> Self:
        """x * sigmoid(x) (also called swish)."""
        return _record(ops.SILU, ops.SILU.forward(self.data), self, None)

    def elu(self, alpha: float = 1.0) -> Self:
        """x for x > 0, else ``alpha * (e ** x - 1)``."""
        alpha = to_float(alpha, "alpha")
        return _record(ops.ELU, ops.ELU.forward(self.data, alpha), self, alpha)

    def softsign(self) -> Self:
        """x / (1 + |x|)."""
        return _record(ops.SOFTSIGN, ops.SOFTSIGN.forward(self.data), self, None)

    def clamp(self, lo: Any = None, hi: Any = None) -> Self:
        """``min(max(x, lo), hi)``: x limited to [lo, hi] (``None``: no bound on that side).

        As PyTorch's ``clamp``, the gradient passes to x inside [lo, hi], ends included; a bound
        that is a ``Value`` gets the gradient where it is the result.

        Raises:
            ValueError: both bounds are ``None``.
            TypeError: a bound is neither a ``Value`` nor a real number.

        Example:
            >>> from microgradnet import Value
            >>> Value(3.0).clamp(-1, 1).data
            1.0
        """
        if lo is None and hi is None:
            raise ValueError("clamp: needs at least one bound, lo or hi")
        lo = -math.inf if lo is None else lo
        hi = math.inf if hi is None else hi
        return _bounded(ops.CLAMP, self, lo, hi)

    def hardtanh(self, min_val: Any = -1.0, max_val: Any = 1.0) -> Self:
        """x limited to [min_val, max_val]; unlike ``clamp``, the gradient passes to x only
        strictly inside, as in PyTorch.

        Raises:
            TypeError: a bound is neither a ``Value`` nor a real number.
        """
        return _bounded(ops.HARDTANH, self, min_val, max_val)

    # ----- many inputs: fused nodes -----
    @classmethod
    def sum(cls, values: Iterable[Any]) -> Self:
        """The sum of ``values`` as one node (``Σ``), however many there are.

        Example:
            >>> from microgradnet import Value
            >>> Value.sum([Value(1.0), 2, Value(3.0)]).data
            6.0
        """
        inputs = _lift_all(values, "Value.sum")
        if not inputs:
            return _lift_all([0.0], "Value.sum")[0]
        return _record(ops.SUM, ops.SUM.evaluate([v.data for v in inputs]), inputs, None)

    @classmethod
    def max(cls, values: Iterable[Any]) -> Self:
        """The largest of ``values`` as one node; backward sends the gradient to the first of the
        largest (a max-pooling window, say).

        Raises:
            ValueError: ``values`` is empty.

        Example:
            >>> from microgradnet import Value
            >>> Value.max([Value(1.0), 3, Value(2.0)]).data
            3.0
        """
        inputs = _lift_all(values, "Value.max")
        if not inputs:
            raise ValueError("Value.max: needs at least one value, got none")
        return _record(ops.MAX, ops.MAX.evaluate([v.data for v in inputs]), inputs, None)

    @classmethod
    def min(cls, values: Iterable[Any]) -> Self:
        """The smallest of ``values`` as one node; backward sends the gradient to the first of
        the smallest (NaN, if any of them is NaN).

        Raises:
            ValueError: ``values`` is empty.

        Example:
            >>> from microgradnet import Value
            >>> Value.min([Value(1.0), 3, Value(-2.0)]).data
            -2.0
        """
        inputs = _lift_all(values, "Value.min")
        if not inputs:
            raise ValueError("Value.min: needs at least one value, got none")
        return _record(ops.MIN, ops.MIN.evaluate([v.data for v in inputs]), inputs, None)

    @classmethod
    def arctan2(cls, y: Any, x: Any) -> Self:
        """The angle of the point (x, y) from the positive x axis, in (-pi, pi]; note the
        order, y first, as NumPy's and PyTorch's ``arctan2``.

        Example:
            >>> from microgradnet import Value
            >>> round(Value.arctan2(Value(1.0), -1).data, 4)
            2.3562
        """
        y, x = _lift_all((y, x), "Value.arctan2")
        return _record(ops.ARCTAN2, ops.ARCTAN2.forward(y.data, x.data), y, x)

    @classmethod
    def hypot(cls, x: Any, y: Any) -> Self:
        """sqrt(x ** 2 + y ** 2), with no overflow on the way; no derivative at (0, 0).

        Example:
            >>> from microgradnet import Value
            >>> Value.hypot(Value(3.0), 4).data
            5.0
        """
        x, y = _lift_all((x, y), "Value.hypot")
        return _record(ops.HYPOT, ops.HYPOT.forward(x.data, y.data), x, y)

    @classmethod
    def dot(cls, weights: Sequence[Any], inputs: Sequence[Any], bias: Any = None) -> Self:
        """A neuron's weighted sum ``w·x + b`` as one node (the bias is optional).

        Raises:
            ValueError: ``weights`` and ``inputs`` differ in length.
            TypeError: an entry is neither a ``Value`` nor a real number.

        Example:
            >>> from microgradnet import Value
            >>> Value.dot([Value(2.0), 3], [Value(1.0), Value(-1.0)], 0.5).data
            -0.5
        """
        return _weighted_sums([weights], inputs, [bias], "Value.dot")[0]

    @classmethod
    def matvec(
        cls,
        weights: Sequence[Sequence[Any]],
        inputs: Sequence[Any],
        biases: Sequence[Any] | None = None,
    ) -> list[Self]:
        """``w·x + b`` for each row ``w`` of ``weights`` (and bias ``b``): a layer's weighted sums,
        one dot node per row, all sharing one tuple of inputs.

        Raises:
            ValueError: a row and the inputs differ in length, or the biases and the rows.
            TypeError: an entry is neither a ``Value`` nor a real number.

        Example:
            >>> from microgradnet import Value
            >>> x = [Value(1.0), Value(2.0)]
            >>> [v.data for v in Value.matvec([[1, 0], [Value(0.5), 3]], x, [0, 1])]
            [1.0, 7.5]
        """
        if biases is not None and len(biases) != len(weights):
            raise ValueError(f"Value.matvec: {len(weights)} rows but {len(biases)} biases")
        return _weighted_sums(weights, inputs, biases or [None] * len(weights), "Value.matvec")


def _bounded(op: Op, x: Any, low: Any, high: Any) -> Any:
    # clamp and hardtanh keep their bounds as inputs: a number becomes a constant leaf.
    inputs = _lift_all((x, low, high), op.name)
    return _record(op, op.evaluate([v.data for v in inputs]), inputs, None)


def _weighted_sums(
    weights: Sequence[Sequence[Any]], inputs: Sequence[Any], biases: Sequence[Any], who: str
) -> list[Any]:
    # A dot node keeps its weights (then its bias, if any) and its inputs as two tuples, so
    # the rows of a layer share one tuple of inputs.
    one_row = who == "Value.dot"
    x = _lift_all(inputs, f"{who} inputs")
    x_data = [v.data for v in x]
    sums = []
    for i, (w, bias) in enumerate(zip(weights, biases, strict=True)):
        row = _lift_all(w, f"{who} weights" if one_row else f"{who} weights[{i}]")
        if len(row) != len(x):
            sizes = f"row {i} has {len(row)} weights but there are {len(x)} inputs"
            if one_row:
                sizes = f"{len(row)} weights but {len(x)} inputs"
            raise ValueError(f"{who}: {sizes} (they must match)")
        # ops.DOT's forward, its very expression (a convolution makes a dot node per pixel)
        data = sum(map(operator.mul, [v.data for v in row], x_data), 0.0)
        if bias is not None:
            row = (*row, *_lift_all([bias], f"{who} bias" if one_row else f"{who} biases[{i}]"))
            data += row[-1].data
        sums.append(_record(ops.DOT, data, row, x))
    return sums
