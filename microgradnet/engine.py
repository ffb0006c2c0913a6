"""The autograd engine: ``Value`` and reverse-mode differentiation of the graphs it records.

How backpropagation works here, in three steps:

1. Every operation on ``Value``s records a node: its ``data``, the op that made it (a row of
   :mod:`microgradnet.ops`) and its inputs, the node's ``parents``.
2. A topological order lists every node below the output after all of its parents.
3. Walking that order backwards visits each node after every node that reads it, so its
   gradient is complete when it is reached. The chain rule then passes it on: each input gains
   the gradient times the op's local derivative with respect to that input.

:func:`backward_reference` is exactly that, the textbook algorithm, and the specification.
``Value.backward()`` and :func:`grad` run the same algorithm tuned for speed
(:mod:`microgradnet._backward`), and the test suite proves the two give the same gradients.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeAlias

from . import _backward, ops
from ._backward_graph import use_node_maker
from ._functions import ValueFunctions
from ._grad_mode import enable_grad, is_grad_enabled, no_grad, watch_blocks, watch_node
from ._graph import leading_to, topological_order
from ._numbers import real_or_none, short, to_float
from ._value_extras import ValueExtras
from .ops import Op

__all__ = [
    "Value",
    "apply",
    "backward_order",
    "backward_reference",
    "grad",
    "is_grad_enabled",
    "no_grad",
]

Operand: TypeAlias = "Value | int | float"


# ----- the algorithm -----
def backward_reference(
    root: Value,
    seed: Any = 1.0,
    *,
    create_graph: bool = False,
    inputs: Iterable[Value] | None = None,
) -> dict[Value, Any]:
    """d(root)/d(node) times ``seed`` for every node below ``root``: the textbook algorithm.

    Local derivatives are evaluated on floats, or on ``Value``s with ``create_graph`` (then
    ``seed`` is a ``Value`` and every gradient is itself a graph). With ``inputs``, only the
    nodes from which one of them can be reached are walked. Nodes no gradient reaches may be
    missing from the result.
    """
    order = topological_order([root])  # each node after its parents
    if inputs is not None:
        wanted = leading_to(order, inputs)
        order = [node for node in order if node in wanted]
    grads: dict[Value, Any] = {root: seed}
    for node in reversed(order):  # each node after every node that reads it
        g = grads.get(node, 0.0)
        op = node.op_record
        if op is None or _is_zero(g):  # a leaf, or no gradient reaches the node
            continue
        xs: Sequence[Any]
        out: Any
        if create_graph:  # local derivatives on Values: each gradient is itself a graph
            xs, out = node.parents, node
        else:
            xs, out = [p.data for p in node.parents], node.data
        local_derivatives = op.local_derivatives(xs, out, node.op_arg)
        for parent, local in zip(node.parents, local_derivatives, strict=True):
            if not _is_zero(local):  # 0 times anything, even an undefined gradient, is 0
                grads[parent] = grads.get(parent, 0.0) + local * g
    return grads


def _is_zero(x: object) -> bool:
    """An exact 0 passes nothing on. A ``Value`` never counts as zero: its graph is kept."""
    return type(x) is float and x == 0.0


def grad(output: Value, inputs: Sequence[Value], create_graph: bool = False) -> list[Value]:
    """The gradients of ``output`` with respect to each of ``inputs``; no ``.grad`` is touched.

    Args:
        output: the value to differentiate.
        inputs: the values to differentiate with respect to.
        create_graph: build the gradients as graphs, so they can be differentiated again.

    Returns:
        One ``Value`` per input; ``Value(0.0)`` for an input ``output`` does not depend on.
        Without ``create_graph`` the results are new leaves.

    Example:
        >>> x = Value(2.0)
        >>> (g,) = grad(x ** 3, [x], create_graph=True)   # 3 x**2 = 12
        >>> grad(g, [x])[0].data                           # 6 x = 12
        12.0
    """
    if type(output) is not Value:
        raise TypeError(f"grad: output must be a Value, got {type(output).__name__}")
    if isinstance(inputs, Value):
        raise TypeError("grad: inputs must be a sequence of Values, e.g. [x]")
    inputs = list(inputs)
    for i, x in enumerate(inputs):
        if type(x) is not Value:
            raise TypeError(f"grad: inputs[{i}] must be a Value, got {type(x).__name__}")
    if create_graph and not is_grad_enabled():  # the gradients' graph is built, as asked
        with enable_grad():
            return grad(output, inputs, create_graph)
    seed: Any = _leaf(1.0) if create_graph else 1.0
    grads = _backward.gradients(output, seed, inputs, create_graph)
    return [g if type(g) is Value else _leaf(0.0 if g is None else g) for g in grads]


def backward_order(root: Value) -> list[Value]:
    """Every node below ``root``, ``root`` first, each before the nodes it reads: the order in
    which backpropagation takes them (``backward()`` skips leaves and the nodes no gradient
    reaches, as they pass nothing on)."""
    if type(root) is not Value:
        raise TypeError(f"backward_order: expected a Value, got {type(root).__name__}")
    return topological_order([root])[::-1]


# ----- recording nodes -----
_new = object.__new__  # nodes skip Value.__init__'s checks: their data is already a float
_watching = False  # a no_grad or detect_anomaly block is open: Note [watched nodes] in _grad_mode


def _note_watched_blocks(any_open: bool) -> None:
    global _watching
    _watching = any_open


watch_blocks(_note_watched_blocks)


def _node(op: Op, data: float, x: Any, y: Any) -> Value:
    """A new result node; its op and inputs are kept only while grad mode is on."""
    out = _new(*_VALUE)
    out.data = data
    out.grad = 0.0
    out._op = op
    out._x = x
    out._y = y
    if _watching:
        watch_node(out)
    return out


use_node_maker(_node)


def _leaf(data: float) -> Value:
    out = _new(*_VALUE)
    out.data = data
    out.grad = 0.0
    out._op = out._x = out._y = None
    return out


def _lift(x: object) -> Value | None:
    """``x`` itself if a ``Value``, a constant leaf for a real number, else ``None``."""
    if type(x) is Value:
        return x
    data = real_or_none(x)
    return None if data is None else _leaf(data)


def _lift_all(values: Iterable[Operand], what: str) -> tuple[Value, ...]:
    items = tuple(values)
    for v in items:
        if type(v) is not Value:
            break
    else:  # all Values already: the common case inside a network
        return items  # type: ignore[return-value]
    lifted = []
    for v in items:
        node = _lift(v)
        if node is None:
            raise TypeError(f"{what}: expected Values or real numbers, got {type(v).__name__}")
        lifted.append(node)
    return tuple(lifted)


def _reflected(x: object, symbol: str) -> Value:
    # A reflected method runs only after the left operand declined; raising here (rather than
    # returning NotImplemented) keeps Python from trying sequence repetition ("ab" * x).
    lifted = _lift(x)
    if lifted is None:
        raise TypeError(
            f"unsupported operand type(s) for {symbol}: '{type(x).__name__}' and 'Value'"
        )
    return lifted


def apply(op: Op, *args: Operand, arg: Any = None) -> Value:
    """Apply ``op`` (a built-in row or a ``define_op`` op) to ``Value``s or real numbers.

    ``arg`` is the constant argument of an op that takes one (an exponent, a slope)."""
    if op.arity and len(args) != op.arity:
        raise TypeError(f"{op.name}: takes {op.arity} input(s), got {len(args)}")
    if op.const and real_or_none(arg) is None:
        raise TypeError(f"{op.name}: needs a real constant argument, got {arg!r}")
    inputs = _lift_all(args, op.name)
    if op.bilinear and op.arity == ops.VARIADIC:
        n = len(inputs) // 2
        return Value.dot(inputs[:n], inputs[n : 2 * n], inputs[2 * n] if len(inputs) % 2 else None)
    data = op.evaluate([v.data for v in inputs], arg)
    if op.arity == 1:
        return _node(op, data, inputs[0], arg)
    if op.arity == 2:
        return _node(op, data, inputs[0], inputs[1])
    return _node(op, data, inputs, None)  # any other number of inputs: one tuple


class Value(ValueFunctions, ValueExtras, record=_node, lift_all=_lift_all):
    """One scalar in a computation graph: its ``data``, its ``grad`` and how it was made.

    Args:
        data: a real number (int, float, bool, NumPy scalar); stored as a ``float``.
        label: a name shown in drawings and in ``repr``.

    Raises:
        TypeError: ``data`` is not a real number (a str, complex, None, list or array).

    Example:
        >>> x = Value(2.0, label="x")
        >>> y = x * x + x.exp()
        >>> y.backward()
        >>> round(x.grad, 4)      # 2x + e**x at x = 2
        11.3891

    Its label, ``requires_grad``, ``register_hook`` and comparisons come from
    :class:`~microgradnet._value_extras.ValueExtras`; its functions (``exp``, ``tanh``, ...)
    and fused nodes (``Value.sum``, ``Value.dot``) from
    :class:`~microgradnet._functions.ValueFunctions`.
    """

    # How a node keeps its inputs, in two slots (one object per node for the garbage collector):
    # a binary op's two inputs in _x and _y; a unary op's input in _x and its constant argument
    # (or None) in _y; a variadic op's tuple of inputs in _x; a dot node's weights (then its
    # bias, if any) in _x and its inputs in _y, two tuples that a layer's neurons share.
    # _label stays unset on a node nobody named (Note [notes in the label slot], _value_extras).
    __slots__ = ("_label", "_op", "_x", "_y", "data", "grad")

    data: float
    grad: float

    def __init__(self, data: float, label: str = "") -> None:
        if not isinstance(label, str):
            raise TypeError(f"label must be a str, got {type(label).__name__}")
        self._label = label
        self.data = to_float(data, "Value data")
        self.grad = 0.0
        self._op: Op | None = None
        self._x: Any = None
        self._y: Any = None

    # ----- graph structure -----
    @property
    def op(self) -> str:
        """Name of the op that made this value (``"mul"``, ``"tanh"``); ``""`` for a leaf."""
        return "" if self._op is None else self._op.name

    @property
    def op_record(self) -> Op | None:
        """The :class:`~microgradnet.ops.Op` that made this value, ``None`` for a leaf."""
        return self._op

    @property
    def op_arg(self) -> float | None:
        """The constant argument of the op (an exponent, a slope), if it has one."""
        return self._y if self._op is not None and self._op.const else None

    @property
    def parents(self) -> tuple[Value, ...]:
        """The inputs of the op that made this value, in order, duplicates kept (``x*x``)."""
        op = self._op
        if op is None:
            return ()
        if op.arity == 2:
            return (self._x, self._y)
        if op.arity == 1:
            return (self._x,)
        if op.bilinear:  # a dot node: (w..., x..., b)
            weights, inputs = self._x, self._y
            if len(weights) == len(inputs):
                return weights + inputs  # type: ignore[no-any-return]
            return (*weights[:-1], *inputs, weights[-1])
        return self._x  # type: ignore[no-any-return]

    # ----- arithmetic -----
    def __add__(self, other: Operand) -> Value:
        if type(other) is not Value:
            lifted = _lift(other)
            if lifted is None:
                return NotImplemented
            other = lifted
        # _node written out: + and * make most of the nodes of any graph
        out = _new(*_VALUE)
        out.data = self.data + other.data
        out.grad = 0.0
        out._op = _ADD
        out._x = self
        out._y = other
        if _watching:
            watch_node(out)
        return out

    def __radd__(self, other: Operand) -> Value:  # other + self
        other = _reflected(other, "+")
        return _node(ops.ADD, other.data + self.data, other, self)

    def __sub__(self, other: Operand) -> Value:
        if (rhs := _lift(other)) is None:
            return NotImplemented
        return _node(ops.SUB, self.data - rhs.data, self, rhs)

    def __rsub__(self, other: Operand) -> Value:  # other - self
        other = _reflected(other, "-")
        return _node(ops.SUB, other.data - self.data, other, self)

    def __mul__(self, other: Operand) -> Value:
        if type(other) is not Value:
            lifted = _lift(other)
            if lifted is None:
                return NotImplemented
            other = lifted
        out = _new(*_VALUE)  # _node written out, as in __add__
        out.data = self.data * other.data
        out.grad = 0.0
        out._op = _MUL
        out._x = self
        out._y = other
        if _watching:
            watch_node(out)
        return out

    def __rmul__(self, other: Operand) -> Value:  # other * self
        other = _reflected(other, "*")
        return _node(ops.MUL, other.data * self.data, other, self)

    def __truediv__(self, other: Operand) -> Value:
        if (rhs := _lift(other)) is None:
            return NotImplemented
        return _node(ops.DIV, ops.DIV.forward(self.data, rhs.data), self, rhs)

    def __rtruediv__(self, other: Operand) -> Value:  # other / self
        other = _reflected(other, "/")
        return _node(ops.DIV, ops.DIV.forward(other.data, self.data), other, self)

    def __pow__(self, other: Operand, modulo: None = None) -> Value:
        if modulo is not None:
            return NotImplemented
        if type(other) is Value:
            return _node(ops.POW, ops.POW.forward(self.data, other.data), self, other)
        exponent = real_or_none(other)  # a plain number is a constant: x ** 2 for negative x
        if exponent is None:
            return NotImplemented
        return _node(ops.POW_CONST, ops.POW_CONST.forward(self.data, exponent), self, exponent)

    def __rpow__(self, other: Operand) -> Value:  # other ** self
        base = real_or_none(other)
        if base is None:
            raise TypeError(
                f"unsupported operand type(s) for **: '{type(other).__name__}' and 'Value'"
            )
        return _node(ops.RPOW, ops.RPOW.forward(self.data, base), self, base)

    def __neg__(self) -> Value:
        return _node(ops.NEG, -self.data, self, None)

    def __pos__(self) -> Value:
        return self

    def __abs__(self) -> Value:
        return _node(ops.ABS, abs(self.data), self, None)

    # ----- gradients -----
    def backward(self, gradient: float = 1.0) -> None:
        """Reverse-mode differentiation over the whole graph below this value.

        Every node's ``.grad`` gains d(self)/d(node) * ``gradient``. The gradients are computed
        from the data alone and added at the end, so calling ``backward()`` twice gives exactly
        twice the gradient, and a backward that raises changes no ``.grad``. Works on graphs of
        any depth (no recursion).
        """
        _backward.accumulate(self, to_float(gradient, "gradient"))

    def detach(self) -> Value:
        """A new leaf with the same data (and label), cut from this graph."""
        return Value(self.data, self.label)

    # ----- Python protocols -----
    def __float__(self) -> float:
        return self.data

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={short(self.data)}, grad={short(self.grad)}{label})"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        # Jupyter shows a small graph as a drawing; anything going wrong falls back to text.
        try:
            if display_hook is not None:
                return display_hook(self)
        except Exception:
            pass
        return {"text/plain": repr(self)}


_VALUE = (Value,)  # object.__new__(*_VALUE) builds no argument tuple per node
_ADD, _MUL = ops.ADD, ops.MUL
# Draws a Value for Jupyter; set by the package's __init__ (viz draws, the engine does not).
display_hook: Callable[[Value], dict[str, Any]] | None = None
