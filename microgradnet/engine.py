"""The autograd engine: `Value`, reverse-mode `backward` and `grad`, `no_grad`, `define_op`.

No derivative formula lives here: every rule is a row of :mod:`microgradnet.ops`, and this module
only walks graphs and multiplies local derivatives by upstream gradients.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import operator
import threading
from collections.abc import Callable, Collection, Iterable, Sequence
from contextlib import ContextDecorator
from typing import Any, TypeAlias, TypeVar

from . import ops
from .ops import VARIADIC, Op

__all__ = ["Value", "apply", "backward_order", "define_op", "grad", "is_grad_enabled", "no_grad"]

Number: TypeAlias = int | float
Operand: TypeAlias = "Value | int | float"
F = TypeVar("F", bound=Callable[..., Any])

# Note [allocation]
# Nodes are made with object.__new__, skipping Value.__init__'s checks. Called as
# _new(*_VALUE), with the argument tuple built once, it costs about 270 machine instructions less
# per node than _new(Value), which builds a fresh 1-tuple each time: CPython passes the tuple of
# a *-call to a C function taking an argument tuple as it is.
_new = object.__new__
_ADD, _MUL = ops.ADD, ops.MUL  # read once per node on the hottest path
_mul = operator.mul


# ----- grad mode -----
class _GradMode(threading.local):
    enabled = True


_grad_mode = _GradMode()
# How many no_grad blocks are open in all threads, and whether any is. While none is (nearly
# always), recording a node skips the thread-local lookup, which costs more than the rest of the
# check. Nodes test the bool, not the count: a jump on True or False is decided inline, a jump on
# an int calls its __bool__.
_open_no_grad_blocks = 0
_any_no_grad_open = False
_no_grad_lock = threading.Lock()


class no_grad(ContextDecorator):
    """Context manager (and decorator) under which operations record no graph.

    Results computed inside have no parents, so nothing is kept alive for a backward pass.
    This context manager is thread local; it does not affect computation in other threads.
    It also works as a decorator, with or without parentheses.

    Example:
        >>> x = Value(2.0)
        >>> with no_grad():
        ...     y = x * x
        >>> y.parents
        ()
    """

    def __new__(cls, func: F | None = None) -> Any:
        self = super().__new__(cls)
        if func is None:
            return self
        return self(func)

    def __init__(self, func: Callable[..., Any] | None = None) -> None:
        self._previous: list[bool] = []

    def _recreate_cm(self) -> no_grad:
        return type(self)()

    def __enter__(self) -> None:
        global _open_no_grad_blocks, _any_no_grad_open
        self._previous.append(_grad_mode.enabled)
        _grad_mode.enabled = False
        with _no_grad_lock:
            _open_no_grad_blocks += 1
            _any_no_grad_open = True

    def __exit__(self, *exc_info: object) -> None:
        global _open_no_grad_blocks, _any_no_grad_open
        with _no_grad_lock:
            _open_no_grad_blocks -= 1
            _any_no_grad_open = _open_no_grad_blocks > 0
        _grad_mode.enabled = self._previous.pop()


def is_grad_enabled() -> bool:
    """Whether operations in this thread currently record a graph."""
    return _grad_mode.enabled


# ----- input checks -----
def _real_or_none(x: object) -> float | None:
    """``float(x)`` for a real number (int, float, bool, NumPy scalar), else ``None``."""
    if type(x) is float:
        return x
    if isinstance(x, numbers.Real) or _is_numpy_bool(x):
        return float(x)  # type: ignore[arg-type]
    return None


def _is_numpy_bool(x: object) -> bool:
    kind = type(x)
    return kind.__module__ == "numpy" and kind.__name__ in ("bool", "bool_")


def _to_float(x: object, what: str) -> float:
    value = _real_or_none(x)
    if value is None:
        raise TypeError(
            f"{what} must be a real number (int, float, bool or NumPy scalar), "
            f"got {type(x).__name__}"
        )
    return value


# ----- nodes -----
def _node(op: Op, data: float, x: Any, y: Any) -> Value:
    """A new result node. Its parents are kept only while grad mode is on."""
    out = _new(*_VALUE)
    out.data = data
    out.grad = 0.0
    if _any_no_grad_open and not _grad_mode.enabled:
        out._op = out._x = out._y = None
    else:
        out._op = op
        out._x = x
        out._y = y
    return out


def _leaf(data: float) -> Value:
    out = _new(*_VALUE)
    out.data = data
    out.grad = 0.0
    out._op = out._x = out._y = None
    return out


def _lift(x: object) -> Value | None:
    """A constant leaf for a real number; ``None`` for anything else."""
    if type(x) is Value:
        return x  # type: ignore[return-value]
    data = _real_or_none(x)
    return None if data is None else _leaf(data)


def _reflected_operand(x: object, symbol: str) -> Value:
    # A reflected method runs only after the left operand declined; raising here (rather than
    # returning NotImplemented) keeps Python from trying sequence repetition ("ab" * x) and
    # gives a message that names the offending type.
    lifted = _lift(x)
    if lifted is None:
        raise TypeError(
            f"unsupported operand type(s) for {symbol}: '{type(x).__name__}' and 'Value'"
        )
    return lifted


def _parents(node: Value) -> tuple[Value, ...]:
    op = node._op
    if op is None:
        return ()
    if op.arity == 2:
        return (node._x, node._y)
    if op.arity == 1:
        return (node._x,)
    if op.bilinear:
        return _dot_parents(node._x, node._y)
    return node._x


def _dot_parents(weights: tuple[Value, ...], inputs: tuple[Value, ...]) -> tuple[Value, ...]:
    # A dot node keeps (w..., b) and (x...): its inputs in op order are (w..., x..., b).
    if len(weights) == len(inputs):
        return weights + inputs
    return (*weights[:-1], *inputs, weights[-1])


class Value:
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
    """

    # Parents live in two slots rather than a tuple: one GC-tracked object per node.
    # _x, _y: the two inputs of a binary op; the input and its constant argument (or None) of a
    # unary op; the tuple of inputs and None for a variadic op; for a dot node, the weights
    # (then the bias, if any) and the inputs as two tuples, so a layer's neurons share one.
    # _label stays unset on a node nobody named, one store less per node.
    __slots__ = ("_label", "_op", "_x", "_y", "data", "grad")

    data: float
    grad: float

    def __init__(self, data: Number, label: str = "") -> None:
        if not isinstance(label, str):
            raise TypeError(f"label must be a str, got {type(label).__name__}")
        self.data = _to_float(data, "Value data")
        self.grad = 0.0
        self._label = label
        self._op: Op | None = None
        self._x: Any = None
        self._y: Any = None

    @property
    def label(self) -> str:
        """A name shown in drawings and in ``repr`` (``""`` if none was given)."""
        try:
            return self._label
        except AttributeError:
            return ""

    @label.setter
    def label(self, label: str) -> None:
        if not isinstance(label, str):
            raise TypeError(f"label must be a str, got {type(label).__name__}")
        self._label = label

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
        op = self._op
        return self._y if op is not None and op.const else None

    @property
    def parents(self) -> tuple[Value, ...]:
        """The inputs of the op that made this value, in order, duplicates kept (``x*x``)."""
        return _parents(self)

    # ----- arithmetic -----
    def __add__(self, other: Operand) -> Value:
        if type(other) is not Value and (other := _lift(other)) is None:
            return NotImplemented
        # _node inlined: this is the hottest path of a forward pass
        out = _new(*_VALUE)
        out.data = self.data + other.data
        out.grad = 0.0
        if _any_no_grad_open and not _grad_mode.enabled:
            out._op = out._x = out._y = None
        else:
            out._op = _ADD
            out._x = self
            out._y = other
        return out

    def __radd__(self, other: Operand) -> Value:  # other + self
        other = _reflected_operand(other, "+")
        return _node(ops.ADD, other.data + self.data, other, self)

    def __sub__(self, other: Operand) -> Value:
        if type(other) is not Value and (other := _lift(other)) is None:
            return NotImplemented
        return _node(ops.SUB, self.data - other.data, self, other)

    def __rsub__(self, other: Operand) -> Value:  # other - self
        other = _reflected_operand(other, "-")
        return _node(ops.SUB, other.data - self.data, other, self)

    def __mul__(self, other: Operand) -> Value:
        if type(other) is not Value and (other := _lift(other)) is None:
            return NotImplemented
        # _node inlined: this is the hottest path of a forward pass
        out = _new(*_VALUE)
        out.data = self.data * other.data
        out.grad = 0.0
        if _any_no_grad_open and not _grad_mode.enabled:
            out._op = out._x = out._y = None
        else:
            out._op = _MUL
            out._x = self
            out._y = other
        return out

    def __rmul__(self, other: Operand) -> Value:  # other * self
        other = _reflected_operand(other, "*")
        return _node(ops.MUL, other.data * self.data, other, self)

    def __truediv__(self, other: Operand) -> Value:
        if type(other) is not Value and (other := _lift(other)) is None:
            return NotImplemented
        return _node(ops.DIV, ops.DIV.forward(self.data, other.data), self, other)

    def __rtruediv__(self, other: Operand) -> Value:  # other / self
        other = _reflected_operand(other, "/")
        return _node(ops.DIV, ops.DIV.forward(other.data, self.data), other, self)

    def __pow__(self, other: Operand, modulo: None = None) -> Value:
        if modulo is not None:
            return NotImplemented
        if type(other) is Value:
            return _node(ops.POW, ops.POW.forward(self.data, other.data), self, other)
        exponent = _real_or_none(other)
        if exponent is None:
            return NotImplemented
        return _node(ops.POW_CONST, ops.POW_CONST.forward(self.data, exponent), self, exponent)

    def __rpow__(self, other: Operand) -> Value:  # other ** self
        base = _real_or_none(other)
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

    # ----- functions -----
    def exp(self) -> Value:
        """e ** self."""
        return _node(ops.EXP, ops.EXP.forward(self.data), self, None)

    def log(self) -> Value:
        """Natural logarithm; ``ValueError`` for a non-positive value."""
        return _node(ops.LOG, ops.LOG.forward(self.data), self, None)

    def sqrt(self) -> Value:
        """Square root; ``ValueError`` for a negative value."""
        return _node(ops.SQRT, ops.SQRT.forward(self.data), self, None)

    def sin(self) -> Value:
        """Sine (radians)."""
        return _node(ops.SIN, ops.SIN.forward(self.data), self, None)

    def cos(self) -> Value:
        """Cosine (radians)."""
        return _node(ops.COS, ops.COS.forward(self.data), self, None)

    def tanh(self) -> Value:
        """Hyperbolic tangent (stable for any finite input)."""
        return _node(ops.TANH, ops.TANH.forward(self.data), self, None)

    def sigmoid(self) -> Value:
        """Logistic sigmoid 1 / (1 + e**-x) (stable for any finite input)."""
        return _node(ops.SIGMOID, ops.SIGMOID.forward(self.data), self, None)

    def softplus(self) -> Value:
        """log(1 + e**x), a smooth relu (stable for any finite input); its derivative is sigmoid."""
        return _node(ops.SOFTPLUS, ops.SOFTPLUS.forward(self.data), self, None)

    def relu(self) -> Value:
        """max(0, x); its derivative at 0 is taken as 0."""
        return _node(ops.RELU, ops.RELU.forward(self.data), self, None)

    def leaky_relu(self, negative_slope: float = 0.01) -> Value:
        """x for x > 0, else ``negative_slope * x``."""
        slope = _to_float(negative_slope, "negative_slope")
        return _node(ops.LEAKY_RELU, ops.LEAKY_RELU.forward(self.data, slope), self, slope)

    @staticmethod
    def sum(values: Iterable[Operand]) -> Value:
        """The sum of ``values`` as one node (``Σ``), however many there are.

        Example:
            >>> Value.sum([Value(1.0), 2, Value(3.0)]).data
            6.0
        """
        inputs = _lift_all(values, "Value.sum")
        if not inputs:
            return _leaf(0.0)
        return _node(ops.SUM, ops.SUM.forward(*[v.data for v in inputs]), inputs, None)

    @staticmethod
    def max(values: Iterable[Operand]) -> Value:
        """The largest of ``values`` as one node; backward sends the gradient to the first of the
        largest (a max-pooling window, say).

        Raises:
            ValueError: ``values`` is empty.

        Example:
            >>> Value.max([Value(1.0), 3, Value(2.0)]).data
            3.0
        """
        inputs = _lift_all(values, "Value.max")
        if not inputs:
            raise ValueError("Value.max: needs at least one value, got none")
        return _node(ops.MAX, ops.MAX.forward(*[v.data for v in inputs]), inputs, None)

    @staticmethod
    def dot(
        weights: Sequence[Operand], inputs: Sequence[Operand], bias: Operand | None = None
    ) -> Value:
        """A neuron's weighted sum ``w·x + b`` as one node.

        Args:
            weights: the weights ``w``.
            inputs: the inputs ``x``, as many as the weights.
            bias: optional bias ``b``.

        Raises:
            ValueError: ``weights`` and ``inputs`` differ in length.
            TypeError: an entry is neither a ``Value`` nor a real number.

        Example:
            >>> Value.dot([Value(2.0), 3], [Value(1.0), Value(-1.0)], 0.5).data
            -0.5
        """
        x = _lift_all(inputs, "Value.dot inputs")
        row = _lift_all(weights, "Value.dot weights")
        if len(row) != len(x):
            raise ValueError(f"Value.dot: {len(row)} weights but {len(x)} inputs (they must match)")
        if bias is not None:
            row = (*row, bias if type(bias) is Value else _lift_all([bias], "Value.dot bias")[0])
        return dots_over_batch((row,), (x,))[0][0]

    @staticmethod
    def matvec(
        weights: Sequence[Sequence[Operand]],
        inputs: Sequence[Operand],
        biases: Sequence[Operand] | None = None,
    ) -> list[Value]:
        """``w·x + b`` for each row ``w`` of ``weights``: a layer's weighted sums.

        The same as ``[Value.dot(w, inputs, b) for w, b in zip(weights, biases)]``, one dot node
        per row, but the rows share one tuple of inputs, checked and read once.

        Args:
            weights: one sequence of weights per output, each as long as ``inputs``.
            inputs: the inputs ``x`` every row reads.
            biases: optional, one bias (or ``None``) per row.

        Raises:
            ValueError: a row and the inputs differ in length, or the biases and the rows.
            TypeError: an entry is neither a ``Value`` nor a real number.

        Example:
            >>> x = [Value(1.0), Value(2.0)]
            >>> [v.data for v in Value.matvec([[1, 0], [Value(0.5), 3]], x, [0, 1])]
            [1.0, 7.5]
        """
        x = _lift_all(inputs, "Value.matvec inputs")
        weights = list(weights)
        if biases is not None and len(biases) != len(weights):
            raise ValueError(f"Value.matvec: {len(weights)} rows but {len(biases)} biases")
        rows = []
        for i, w in enumerate(weights):
            row = _lift_all(w, f"Value.matvec weights[{i}]")
            if len(row) != len(x):
                raise ValueError(
                    f"Value.matvec: row {i} has {len(row)} weights but there are {len(x)} "
                    "inputs (they must match)"
                )
            if biases is not None and biases[i] is not None:
                row = (*row, *_lift_all([biases[i]], f"Value.matvec biases[{i}]"))
            rows.append(row)
        return dots_over_batch(rows, (x,))[0]

    # ----- gradients -----
    def backward(self, gradient: Number = 1.0) -> None:
        """Reverse-mode differentiation over the whole graph below this value.

        Every node's ``.grad`` gains d(self)/d(node) * ``gradient``. The gradients are computed
        from the data alone and added at the end, so calling ``backward()`` twice gives exactly
        twice the gradient, and a backward that raises changes no ``.grad``. Works on graphs of
        any depth (no recursion). What lies only behind an exact-zero local derivative (an
        inactive relu, the smaller inputs of a max) is not walked: its gradient is 0.
        """
        seed = _to_float(gradient, "gradient")
        grads = _backprop(self, seed, create_graph=False)
        # Summing floats runs in C, and an UndefinedGradient anywhere spreads into the sum.
        if type(sum(grads.values(), 0.0)) is not float:
            _check_defined(grads.values())
        self.grad += grads.pop(self)  # the seed, which may be -0.0
        for node, g in grads.items():
            # Every other gradient is a sum started at 0.0, so never -0.0, and 0.0 + g is then
            # exactly g: where .grad is 0 (nearly always), storing g itself allocates no float.
            if node.grad:
                node.grad += g
            else:
                node.grad = g

    def detach(self) -> Value:
        """A new leaf with the same data (and label), cut from this graph."""
        return Value(self.data, self.label)

    # ----- Python protocols -----
    def __float__(self) -> float:
        return self.data

    def __lt__(self, other: Operand) -> bool:
        return self.data < float(other)

    def __le__(self, other: Operand) -> bool:
        return self.data <= float(other)

    def __gt__(self, other: Operand) -> bool:
        return self.data > float(other)

    def __ge__(self, other: Operand) -> bool:
        return self.data >= float(other)

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={_short(self.data)}, grad={_short(self.grad)}{label})"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        # Jupyter shows a small graph as a drawing; anything going wrong falls back to text.
        try:
            from .viz import value_mimebundle

            return value_mimebundle(self)
        except Exception:
            return {"text/plain": repr(self)}


_VALUE = (Value,)  # Note [allocation]


def _short(x: float) -> str:
    """Six significant digits, still reading as a float (``2.0``, not ``2``)."""
    text = f"{x:.6g}"
    return text if any(c in text for c in ".einn") else text + ".0"


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


def dots_over_batch(
    rows: Sequence[tuple[Value, ...]], batch: Iterable[tuple[Value, ...]]
) -> list[list[Value]]:
    """For each tuple of inputs in ``batch``, one dot node per row: a layer's weighted sums.

    The inner loop of ``Value.dot``, ``Value.matvec`` and ``nn.Layer``. Nothing is checked here:
    every entry must already be a ``Value`` and every input tuple as long as the first. A row one
    longer than the inputs ends with its bias. The rows' data are read once for the whole batch,
    and rows and input tuples are kept as given, so nodes built from the same ones share them.
    """
    batch = list(batch)
    if not batch:
        return []
    n = len(batch[0])
    # Each row's data, its bias last (if any): map() stops with the inputs, so the bias is left
    # out of the products and added after them, as in ops.DOT.forward.
    row_data = [[w.data for w in row] for row in rows]
    with_bias = [len(row) != n for row in rows]
    dot = ops.DOT
    recording = not (_any_no_grad_open and not _grad_mode.enabled)
    out = []
    for inputs in batch:
        input_data = [x.data for x in inputs]
        sums = []
        for row, data_of_row, biased in zip(rows, row_data, with_bias, strict=True):
            # The same expression as ops.DOT.forward, to the last bit.
            data = sum(map(_mul, data_of_row, input_data), 0.0)
            if biased:
                data += data_of_row[-1]
            node = _new(*_VALUE)  # _node inlined, as in __add__
            node.data = data
            node.grad = 0.0
            if recording:
                node._op = dot
                node._x = row
                node._y = inputs
            else:
                node._op = node._x = node._y = None
            sums.append(node)
        out.append(sums)
    return out


# ----- applying any op -----
def apply(op: Op, *args: Operand) -> Value:
    """Apply ``op`` (a built-in row or a ``define_op`` op) to ``Value``s or real numbers."""
    if op.const:
        raise TypeError(f"{op.name}: ops with a constant argument are applied through Value")
    if op.arity != VARIADIC and len(args) != op.arity:
        raise TypeError(f"{op.name}: takes {op.arity} input(s), got {len(args)}")
    if op.bilinear:
        n = len(args) // 2
        return Value.dot(args[:n], args[n : 2 * n], args[2 * n] if len(args) % 2 else None)
    inputs = _lift_all(args, op.name)
    data = op.forward(*[v.data for v in inputs])
    if op.arity == 2:
        return _node(op, data, inputs[0], inputs[1])
    if op.arity == 1:
        return _node(op, data, inputs[0], None)
    return _node(op, data, inputs, None)


# ----- the backward walk -----
# Note [iterative walk]
# Graphs can be a million nodes deep, far past Python's recursion limit, so the topological sort
# uses an explicit stack: a node is pushed back under an _EMIT marker before its parents, and is
# emitted when the marker resurfaces, i.e. after all its parents (post-order). The last parent
# that would be pushed, and at once popped, is expanded straight away instead: the same order,
# one push and pop fewer per node. The walk then visits nodes in reverse, each after all its
# consumers. Gradients are gathered in a dict; an undefined
# local derivative (ops.UndefinedGradient) spreads through sums and products and is reported only
# if it reaches a gradient that is actually returned. A local derivative of exactly 0 passes
# nothing on: the walk skips nodes no gradient reaches, and for gating ops (relu, max) the sort
# does not even descend there. Such nodes keep a gradient of 0 (or get no entry). Leaves are left
# out of the backward order altogether: they pass nothing on, and their gradients are read from
# the dict.
_EMIT = object()

# Note [warm loops]
# CPython 3.11 specializes a function's bytecode (attribute loads on slots, dict lookups, ...)
# once a warm-up counter fed by calls and by JUMP_BACKWARD runs out, but a `while cond:` loop
# jumps back with POP_JUMP_BACKWARD_IF_TRUE, which does not feed it. A walk called once on a big
# graph would then run entirely unspecialized, about 1.5x slower. `while True:` with an explicit
# break jumps back with JUMP_BACKWARD, so the walk is specialized within its first iterations.


def _toposort(root: Value) -> list[Value]:
    """Every node below ``root``, leaves included, each after all its parents."""
    order: list[Value] = []
    visited: set[Value] = set()
    stack: list[Any] = [root]
    push, pop, emit = stack.append, stack.pop, order.append
    while stack:
        node = pop()
        if node is _EMIT:
            emit(pop())
        elif node not in visited:
            visited.add(node)
            push(node)
            push(_EMIT)
            stack.extend(x for x in _parents(node) if x not in visited)
    return order


def _backward_order(
    root: Value, skip: Iterable[Value] = ()
) -> tuple[list[Value], dict[Value, Any]]:
    """The nodes a backward walk from ``root`` visits, each after all its parents, and a dict
    holding a gradient of 0.0 for each of them and for every input they pass a gradient to.

    Left out of the order: leaves (they pass nothing on), ``skip`` and what lies only below it,
    and whatever lies only behind a local derivative of exactly 0 through a gating op (relu,
    max). The hot half of backward()."""
    order: list[Value] = []
    # The walk adds into these entries in place: every input it reaches already has one.
    grads: dict[Value, Any] = dict.fromkeys(skip, 0.0)
    tuples_seen: set[int] = set()
    stack: list[Any] = [root] if root._op is not None else []
    push, pop, emit = stack.append, stack.pop, order.append
    while True:  # Note [warm loops]
        try:  # cheaper than testing `if stack:` on every pass; a try costs nothing in 3.11
            node = pop()
        except IndexError:
            break
        if node is _EMIT:
            emit(pop())
            continue
        if node in grads:
            continue
        while True:  # expand node, then go straight on to its last parent still to expand
            grads[node] = 0.0
            op = node._op
            push(node)
            push(_EMIT)
            arity = op.arity
            if arity == 2:
                x = node._x
                if x not in grads:
                    if x._op is None:
                        grads[x] = 0.0
                    else:
                        push(x)
                x = node._y
            elif arity == 1:
                x = node._x
                if op.gates and x not in grads and not op.derivative(x.data, node.data):
                    break  # a dead relu passes nothing on
            else:
                _push_variadic_inputs(node, op, grads, tuples_seen, push)
                break
            # x: the parent a push and a pop would have made the next node to expand
            if x in grads:
                break
            if x._op is None:
                grads[x] = 0.0
                break
            node = x
    grads[root] = 0.0
    return order, grads


def _push_variadic_inputs(
    node: Value, op: Op, grads: dict[Value, Any], tuples_seen: set[int], push: Callable[..., None]
) -> None:
    """_backward_order for a node of any number of inputs (sum, max, dot)."""
    if op.gates:
        inputs: Iterable[Value] = [
            x for x, d in zip(node._x, _local_floats(node, op), strict=True) if d
        ]
    elif op.bilinear:
        # A dot node's two tuples are often shared (a layer's rows read one input tuple, a
        # batch reuses each neuron's row): each tuple is looked through once.
        inputs = []
        for part in (node._x, node._y):
            if id(part) not in tuples_seen:
                tuples_seen.add(id(part))
                inputs += part
    else:
        inputs = node._x
    for x in inputs:
        if x not in grads:
            if x._op is None:
                grads[x] = 0.0
            else:
                push(x)


def _local_floats(node: Value, op: Op) -> tuple[Any, ...]:
    """The local derivatives of ``node`` on floats, one per parent."""
    if op.arity == 1:
        x = node._x.data
        return (op.derivative(x, node.data, node._y) if op.const else op.derivative(x, node.data),)
    return tuple(op.derivative(*[p.data for p in _parents(node)], node.data))


def backward_order(root: Value) -> list[Value]:
    """Every node below ``root``, each after all its consumers (``root`` first): the order in
    which ``backward()`` processes them (it skips those no gradient reaches)."""
    if type(root) is not Value:
        raise TypeError(f"backward_order: expected a Value, got {type(root).__name__}")
    return _toposort(root)[::-1]


def _backprop(
    root: Value, seed: Any, create_graph: bool, skip: Iterable[Value] = ()
) -> dict[Value, Any]:
    """d(root)/d(node) * seed for every node below ``root``, not walking below ``skip``.

    Nodes no gradient reaches are missing or hold 0.0."""
    order, grads = _backward_order(root, skip)
    if create_graph:
        return _walk_building_graph(order, root, seed)
    grads[root] = seed
    return _walk_floats(order, grads)


def _walk_floats(order: list[Value], grads: dict[Value, Any]) -> dict[Value, Any]:
    # The hot loop of every backward(): local derivatives on floats, one case per arity so that
    # no tuple is built per node, each added in place into the input's entry. A local derivative
    # of exactly 0 (an inactive relu, the losers of a max, a dot weight times an input of 0) or a
    # gradient of exactly 0 passes nothing on, so a subgraph that only such paths reach is never
    # walked: its gradient stays 0.
    node = None
    try:
        for node in reversed(order):  # consumers first
            g = grads[node]
            if not g:
                continue
            op = node._op
            arity = op.arity
            if arity == 2:
                x = node._x
                y = node._y
                if op.bilinear:  # x * y: ops.MUL's derivative, (y, x), without the call
                    dx = y.data
                    dy = x.data
                elif op.passes_gradient_on:  # x + y
                    grads[x] += g
                    grads[y] += g
                    continue
                elif (fixed := op.fixed_derivative) is not None:
                    dx, dy = fixed
                else:
                    dx, dy = op.derivative(x.data, y.data, node.data)
                if dx:
                    grads[x] += dx * g
                if dy:
                    grads[y] += dy * g
            elif arity == 1:
                x = node._x
                if op.const:
                    dx = op.derivative(x.data, node.data, node._y)
                else:
                    dx = op.derivative(x.data, node.data)
                if dx:
                    grads[x] += dx * g
            elif op.bilinear:
                # ops.DOT's derivative on floats, without building its argument list: each
                # weight's local derivative is its input, each input's is its weight.
                weights = node._x
                inputs = node._y
                for w, x in zip(weights, inputs, strict=False):  # the bias, if any, is left out
                    d = x.data
                    if d:
                        grads[w] += d * g
                    d = w.data
                    if d:
                        grads[x] += d * g
                if len(weights) != len(inputs):
                    grads[weights[-1]] += g
            else:
                parents = node._x
                local = op.derivative(*[p.data for p in parents], node.data)
                for x, dx in zip(parents, local, strict=True):
                    if dx:
                        grads[x] += dx * g
    except (ArithmeticError, ValueError) as error:
        raise _gradient_error(node, error) from error
    return grads


def _walk_building_graph(order: list[Value], root: Value, seed: Value) -> dict[Value, Any]:
    # create_graph=True: local derivatives on Values, so every gradient is itself a graph.
    grads: dict[Value, Any] = {root: seed}
    node = root
    try:
        for node in reversed(order):  # consumers first
            op = node._op
            g = grads[node]
            parents = _parents(node)
            if op.const:
                local: Any = (op.derivative(node._x, node, node._y),)
            elif op.arity == 1:
                local = (op.derivative(node._x, node),)
            else:
                local = op.derivative(*parents, node)
            for x, dx in zip(parents, local, strict=True):
                contribution = g if type(dx) is float and dx == 1.0 else dx * g
                previous = grads.get(x)
                grads[x] = contribution if previous is None else previous + contribution
    except (ArithmeticError, ValueError) as error:
        raise _gradient_error(node, error) from error
    return grads


def _check_defined(gradients: Collection[Any]) -> None:
    if ops.UndefinedGradient in map(type, gradients):  # one pass in C over every gradient
        g = next(g for g in gradients if type(g) is ops.UndefinedGradient)
        raise ValueError(g.message)


def _gradient_error(node: Value, error: Exception) -> Exception:
    """The same error, its message naming the op whose derivative failed and its inputs."""
    if node.op == "" or str(error).startswith(f"{node.op}:"):
        return error
    inputs = ", ".join(repr(p.data) for p in node.parents)
    return type(error)(f"{node.op}: gradient undefined at input {inputs}: {error}")


def _nodes_not_leading_to(root: Value, targets: Iterable[Value]) -> set[Value]:
    """The nodes of ``root``'s graph from which no target can be reached."""
    targets = set(targets)
    leads: dict[Value, bool] = {}
    stack: list[tuple[Value, bool]] = [(root, False)]
    while True:  # Note [warm loops]
        if not stack:
            break
        node, expanded = stack.pop()
        if expanded:
            leads[node] = node in targets or any(leads[p] for p in _parents(node))
        elif node not in leads:
            stack.append((node, True))
            stack.extend((p, False) for p in _parents(node) if p not in leads)
    return {node for node, lead in leads.items() if not lead}


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
    seed: Any = _leaf(1.0) if create_graph else 1.0
    # Only paths that reach an input are walked: a gradient nobody asked for is never computed.
    grads = _backprop(output, seed, create_graph, skip=_nodes_not_leading_to(output, inputs))
    _check_defined([grads.get(x) for x in inputs])
    results = []
    for x in inputs:
        g = grads.get(x)
        if g is None:
            results.append(_leaf(0.0))
        elif type(g) is Value:
            results.append(g)
        else:
            results.append(_leaf(g))
    return results


# ----- user-defined ops -----
def _positional_arity(fn: Callable[..., Any]) -> int:
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        raise TypeError(f"define_op: cannot read the signature of {fn!r}") from None
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters):
        return VARIADIC
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    arity = sum(1 for p in parameters if p.kind in positional and p.default is p.empty)
    if arity == 0:
        raise TypeError(f"define_op: {getattr(fn, '__name__', fn)!r} takes no inputs")
    return arity


def _checked_forward(forward: Callable[..., Any], name: str) -> Callable[..., float]:
    def checked(*xs: float) -> float:
        try:
            result = forward(*xs)
        except (ArithmeticError, ValueError) as error:
            inputs = ", ".join(repr(x) for x in xs)
            raise type(error)(f"{name}: {error} (input {inputs})") from error
        value = _real_or_none(result)
        if value is None:
            raise TypeError(
                f"{name}: forward must return a real number, got {type(result).__name__}"
            )
        if math.isnan(value):
            inputs = ", ".join(repr(x) for x in xs)
            raise ValueError(f"{name}: forward returned NaN for input {inputs}")
        return value

    return checked


def _checked_derivative(
    derivative: Callable[..., Any], name: str, arity: int
) -> Callable[..., Any]:
    def check_local(d: Any) -> Any:
        if type(d) is Value or isinstance(d, ops.UndefinedGradient):
            return d
        value = _real_or_none(d)
        if value is None:
            raise TypeError(
                f"derivative of {name!r} must return real numbers or Values, got {type(d).__name__}"
            )
        if math.isnan(value):
            raise ValueError(f"derivative of {name!r} returned NaN")
        return value

    def checked(*args: Any) -> Any:
        n_inputs = arity or len(args) - 1
        result = derivative(*args)
        if isinstance(result, list | tuple):
            if len(result) != n_inputs:
                raise TypeError(
                    f"derivative of {name!r} returned {len(result)} values for {n_inputs} input(s)"
                )
            locals_ = tuple(check_local(d) for d in result)
            return locals_[0] if arity == 1 else locals_
        if n_inputs != 1:
            raise TypeError(
                f"derivative of {name!r} returned 1 value for {n_inputs} inputs (return a tuple)"
            )
        return check_local(result)

    return checked


def define_op(
    derivative: Callable[..., Any],
    *,
    name: str | None = None,
    symbol: str | None = None,
    domain: tuple[float, float] | None = None,
) -> Callable[[Callable[..., float]], Callable[..., Any]]:
    """Turn a float function into a differentiable op, built on the same record as the built-ins.

    Args:
        derivative: ``derivative(*inputs, out)`` returning d(out)/d(input), a tuple of them for
            several inputs. It is called with floats, or with ``Value``s when a graph of the
            gradient is being built, so write it with operators and the helpers of
            :mod:`microgradnet.ops` (``exp``, ``cos``, ...) to get higher-order gradients.
        name: op name in errors and drawings (default: the function's name).
        symbol: short label for drawings (default: the name).
        domain: open interval where the op is smooth, a hint for test generators.

    Returns:
        A decorator. The decorated function takes ``Value``s or numbers; with at least one
        ``Value`` it returns a ``Value`` node, with plain numbers only a plain float.

    Example:
        >>> @define_op(derivative=lambda x, out: 2 * x)
        ... def square(x):
        ...     return x * x
        >>> y = square(Value(3.0)); y.backward(); y.data
        9.0
    """
    if not callable(derivative):
        raise TypeError(f"define_op: derivative must be callable, got {type(derivative).__name__}")

    def decorate(forward: Callable[..., float]) -> Callable[..., Any]:
        if not callable(forward):
            raise TypeError(f"define_op: expected a function, got {type(forward).__name__}")
        arity = _positional_arity(forward)
        op_name = name or getattr(forward, "__name__", "user_op")
        op = Op(
            op_name,
            _checked_forward(forward, op_name),
            _checked_derivative(derivative, op_name, arity),
            symbol or op_name,
            arity,
            domain=domain,
        )
        ops.register_user_op(op)

        @functools.wraps(forward)
        def call(*args: Operand) -> Any:
            if any(type(a) is Value for a in args):
                return apply(op, *args)
            if arity != VARIADIC and len(args) != arity:
                raise TypeError(f"{op_name}: takes {arity} input(s), got {len(args)}")
            return op.forward(*[_to_float(a, f"{op_name} input") for a in args])

        call.op = op  # type: ignore[attr-defined]
        return call

    return decorate
