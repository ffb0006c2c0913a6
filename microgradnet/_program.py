"""The machinery of compiled mode: tracing a scalar graph, grouping it, replaying it with NumPy.

A trace is the graph that one call of the user's function built, flattened in topological order.
The program groups its op nodes into instructions: nodes of the same op (and constant argument)
whose inputs are all computed at an earlier depth, so that one NumPy call evaluates a whole
layer of neurons for a whole batch. Values live in two stores:

* ``S``, the *shared* store, one float per slot: parameters, constants and every node computed
  from them alone (an L2 penalty, say), evaluated once per call;
* ``B``, the *batch* store, one row of ``N`` floats per slot: the inputs and every node that
  depends on them.

The NumPy kernels of the built-in ops are written from the same formulas as the rows of
:mod:`microgradnet.ops`; any other op (``define_op``, a row added later) runs its own float rules
element by element.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import ops
from .engine import Value
from .ops import VARIADIC, Op

__all__ = ["Kernel", "Program", "Trace", "TraceError", "kernel_for", "trace"]


class TraceError(RuntimeError):
    """A traced program would not compute what the function computes (its graph depends on the
    data), or the function cannot be traced."""


# ----- the per-op NumPy kernels -----
@dataclass(frozen=True)
class Kernel:
    """Vectorised rules of one op: ``forward(*xs, arg)`` and ``derivative(*xs, out, arg)``.

    ``derivative`` returns one local derivative per input (arrays or plain floats).
    """

    forward: Callable[..., Any]
    derivative: Callable[..., tuple[Any, ...]]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # The two branches of ops._sigmoid: exp only ever sees -|x|.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _step(x: np.ndarray, below: float) -> np.ndarray:
    return np.where(x > 0.0, 1.0, below)


_KERNELS: dict[str, Kernel] = {
    "add": Kernel(lambda x, y, a: x + y, lambda x, y, out, a: (1.0, 1.0)),
    "sub": Kernel(lambda x, y, a: x - y, lambda x, y, out, a: (1.0, -1.0)),
    "mul": Kernel(lambda x, y, a: x * y, lambda x, y, out, a: (y, x)),
    "div": Kernel(lambda x, y, a: x / y, lambda x, y, out, a: (1.0 / y, -out / y)),
    "pow": Kernel(
        lambda x, y, a: np.power(x, y),
        lambda x, y, out, a: (y * np.power(x, y - 1.0), out * np.log(x)),
    ),
    "neg": Kernel(lambda x, a: -x, lambda x, out, a: (-1.0,)),
    "pow_const": Kernel(lambda x, c: np.power(x, c), lambda x, out, c: (c * np.power(x, c - 1.0),)),
    "rpow": Kernel(
        lambda x, c: np.power(c, x),
        lambda x, out, c: (out * math.log(c) if c > 0.0 else out * math.nan,),
    ),
    "exp": Kernel(lambda x, a: np.exp(x), lambda x, out, a: (out,)),
    "log": Kernel(lambda x, a: np.log(x), lambda x, out, a: (1.0 / x,)),
    "sqrt": Kernel(lambda x, a: np.sqrt(x), lambda x, out, a: (0.5 / out,)),
    "sin": Kernel(lambda x, a: np.sin(x), lambda x, out, a: (np.cos(x),)),
    "cos": Kernel(lambda x, a: np.cos(x), lambda x, out, a: (-np.sin(x),)),
    "abs": Kernel(lambda x, a: np.abs(x), lambda x, out, a: (np.sign(x),)),
    "tanh": Kernel(lambda x, a: np.tanh(x), lambda x, out, a: (1.0 - out * out,)),
    "sigmoid": Kernel(lambda x, a: _sigmoid(x), lambda x, out, a: (out * (1.0 - out),)),
    "relu": Kernel(lambda x, a: np.where(x > 0.0, x, 0.0), lambda x, out, a: (_step(x, 0.0),)),
    "leaky_relu": Kernel(
        lambda x, s: np.where(x > 0.0, x, s * x), lambda x, out, s: (_step(x, s),)
    ),
    "softplus": Kernel(lambda x, a: _softplus(x), lambda x, out, a: (_sigmoid(x),)),
}


def _known_rows() -> dict[Op, Kernel]:
    # Keyed by the row itself, so a user op that happens to be called "exp" never gets these.
    return {op: _KERNELS[op.name] for op in ops.BUILTIN_OPS if op.name in _KERNELS}


_ROWS = _known_rows()


def _elementwise(op: Op, arity: int) -> Kernel:
    """A kernel running the row's own float rules on every element (user ops, new rows)."""
    n_locals = arity

    def to_float(x: Any) -> float:
        return float(x)  # an ops.UndefinedGradient raises its own message here

    as_floats = np.frompyfunc(to_float, 1, 1)

    def forward(*args: Any) -> np.ndarray:
        *xs, arg = args
        rule = op.forward if not op.const else (lambda x: op.forward(x, arg))
        ufunc = np.frompyfunc(rule, len(xs), 1)
        return np.asarray(ufunc(*xs), dtype=object).astype(float)

    def derivative(*args: Any) -> tuple[Any, ...]:
        *xs, out, arg = args
        if op.const:
            rule: Callable[..., Any] = lambda x, o: op.derivative(x, o, arg)
        else:
            rule = op.derivative
        ufunc = np.frompyfunc(rule, len(xs) + 1, 1)
        raw = np.asarray(ufunc(*xs, out), dtype=object)
        if n_locals == 1:
            return (as_floats(raw).astype(float),)
        return tuple(
            np.asarray(np.frompyfunc(lambda t, i=i: float(t[i]), 1, 1)(raw), dtype=float)
            for i in range(n_locals)
        )

    return Kernel(forward, derivative)


def kernel_for(op: Op) -> Kernel:
    """The NumPy kernel of ``op``: vectorised for the built-in rows, element-wise otherwise."""
    kernel = _ROWS.get(op)
    if kernel is not None:
        return kernel
    if op.arity == VARIADIC:
        raise TypeError(f"{op.name}: variadic ops have no element-wise kernel")
    return _elementwise(op, op.arity)


# ----- tracing -----
@dataclass
class Node:
    """One node of a trace: a leaf (``input`` position, or a ``leaf`` Value) or an op."""

    kind: str  # "input", "leaf", "op"
    value: Value
    position: int = -1  # input position
    op: Op | None = None
    arg: Any = None
    parents: tuple[int, ...] = ()


@dataclass
class Trace:
    """The graph one call built: nodes in topological order and where the outputs are."""

    nodes: list[Node]
    outputs: list[int]
    aux: list[int] = field(default_factory=list)
    output_shape: tuple[int, ...] = ()
    aux_shape: tuple[int, ...] = ()

    def describe(self, i: int) -> str:
        node = self.nodes[i]
        if node.kind == "input":
            return f"input {node.position}"
        if node.kind == "leaf":
            return f"leaf {node.value.data!r}"
        assert node.op is not None
        return f"{node.op.name} of nodes {list(node.parents)}"


def _flatten_outputs(result: Any, what: str) -> tuple[list[Value], tuple[int, ...]]:
    """The Values of a (nested) output and its shape; numbers become constant leaves."""
    if isinstance(result, Value):
        return [result], ()
    if isinstance(result, int | float) and not isinstance(result, bool):
        return [Value(result)], ()
    if isinstance(result, str | bytes) or not isinstance(result, Sequence):
        raise TraceError(
            f"{what} must be a Value or a (nested) list of Values, got {type(result).__name__}"
        )
    parts = [_flatten_outputs(r, what) for r in result]
    if not parts:
        raise TraceError(f"{what} is an empty list: there is nothing to compile")
    shapes = {shape for _, shape in parts}
    if len(shapes) != 1:
        raise TraceError(f"{what} is a ragged nested list; every row needs the same length")
    return [v for values, _ in parts for v in values], (len(parts), *parts[0][1])


def _toposort(roots: Sequence[Value], inputs: dict[int, int]) -> tuple[list[Value], dict]:
    order: list[Value] = []
    index: dict[int, int] = {}
    stack: list[tuple[Value, bool]] = [(r, False) for r in reversed(roots)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            if id(node) not in index:
                index[id(node)] = len(order)
                order.append(node)
            continue
        if id(node) in index:
            continue
        stack.append((node, True))
        if id(node) not in inputs:
            stack.extend((p, False) for p in reversed(node.parents) if id(p) not in index)
    return order, index


def trace(
    fn: Callable[..., Any],
    args: Sequence[np.ndarray],
    has_aux: bool,
) -> Trace:
    """Call ``fn`` once on fresh leaf Values holding ``args`` and record the graph it built."""
    from .engine import is_grad_enabled

    if not is_grad_enabled():
        raise TraceError("cannot trace inside no_grad(): no graph would be recorded")
    leaves: list[Value] = []
    structured = []
    for arg in args:
        flat = [Value(float(v)) for v in arg.ravel().tolist()]
        leaves.extend(flat)
        structured.append(_nest(flat, arg.shape))
    result = fn(*structured)
    if has_aux:
        if not (isinstance(result, tuple | list) and len(result) == 2):
            raise TraceError(
                "with has_aux=True the function must return a pair (loss, aux), "
                f"got {type(result).__name__}"
            )
        main, aux = result
        aux_values, aux_shape = _flatten_outputs(aux, "the aux output")
    else:
        main, aux_values, aux_shape = result, [], ()
    outputs, output_shape = _flatten_outputs(main, "the function's output")
    inputs = {id(v): i for i, v in enumerate(leaves)}
    order, index = _toposort([*outputs, *aux_values], inputs)
    nodes = []
    for v in order:
        record = v.op_record
        if id(v) in inputs:
            nodes.append(Node("input", v, position=inputs[id(v)]))
        elif record is None:
            nodes.append(Node("leaf", v))
        else:
            parents = tuple(index[id(p)] for p in v.parents)
            nodes.append(Node("op", v, op=record, arg=v.op_arg, parents=parents))
    return Trace(
        nodes,
        [index[id(v)] for v in outputs],
        [index[id(v)] for v in aux_values],
        output_shape,
        aux_shape,
    )


def _nest(flat: list[Value], shape: tuple[int, ...]) -> Any:
    if not shape:
        return flat[0]
    if len(shape) == 1:
        return flat
    step = len(flat) // shape[0]
    return [_nest(flat[i * step : (i + 1) * step], shape[1:]) for i in range(shape[0])]


def compare_traces(first: Trace, second: Trace, where: str) -> set[int]:
    """Raise ``TraceError`` unless both traces built the same graph; return the indices of the
    leaves that are the same ``Value`` in both (persistent: parameters)."""
    if len(first.nodes) != len(second.nodes):
        raise TraceError(
            f"the graph's structure depends on the data: {len(first.nodes)} nodes for the example "
            f"but {len(second.nodes)} for {where}. A compiled function must build the same graph "
            "for every sample (no Python `if` on .data, no max() by value); write branches as "
            "ops such as relu, or use the dynamic engine"
        )
    persistent = set()
    for i, (a, b) in enumerate(zip(first.nodes, second.nodes, strict=True)):
        same = a.kind == b.kind
        if same and a.kind == "op":
            same = a.op is b.op and a.parents == b.parents and _same_arg(a.arg, b.arg)
        elif same and a.kind == "input":
            same = a.position == b.position
        elif same and a.kind == "leaf":
            if a.value is b.value:
                persistent.add(i)
            elif a.value.data != b.value.data:
                raise TraceError(
                    f"a constant in the graph depends on the data: node {i} is "
                    f"{a.value.data!r} for the example but {b.value.data!r} for {where}. Its "
                    "value was read through .data or float() of an input, so the compiled "
                    "program would freeze it; compute it with Value ops, or use the dynamic engine"
                )
        if not same:
            raise TraceError(
                f"the graph's structure depends on the data: node {i} is "
                f"{first.describe(i)} for the example but {second.describe(i)} for {where}. "
                "A compiled function must build the same graph for every sample (no Python `if` "
                "on .data, no max() by value); write branches as ops such as relu, or use the "
                "dynamic engine"
            )
    if (first.outputs, first.aux, first.output_shape, first.aux_shape) != (
        second.outputs,
        second.aux,
        second.output_shape,
        second.aux_shape,
    ):
        raise TraceError(f"the function's outputs differ in structure for {where}")
    return persistent


def _same_arg(a: Any, b: Any) -> bool:
    return a is b or a == b


# ----- operand blocks: where the inputs of a group of nodes live -----
def _as_index(idx: np.ndarray) -> np.ndarray | slice:
    """A view-friendly slice when ``idx`` is a run of consecutive slots, else ``idx``."""
    if idx.ndim == 1 and idx.size > 1:
        step = int(idx[1] - idx[0])
        if step in (1, -1) and np.array_equal(np.diff(idx), np.full(idx.size - 1, step)):
            stop = int(idx[-1]) + step
            return slice(int(idx[0]), None if stop < 0 else stop, step)
    if idx.ndim == 1 and idx.size == 1:
        return slice(int(idx[0]), int(idx[0]) + 1)
    return idx


class Operand:
    """Slots of one operand of ``k`` grouped nodes (shape ``(k,)``, or ``(k, m)`` for variadic
    ops), each in the shared or the batch store."""

    def __init__(self, slots: np.ndarray, batch: np.ndarray, out_batch: bool) -> None:
        self.shape = slots.shape
        self.out_batch = out_batch
        self.all_batch = bool(batch.all())
        self.no_batch = not batch.any()
        self.unique = np.unique(slots[batch]).size == int(batch.sum()) and np.unique(
            slots[~batch]
        ).size == int((~batch).sum())
        if self.all_batch or self.no_batch:
            self.index: Any = _as_index(slots)
        else:
            self.batch_mask = batch
            self.batch_slots = slots[batch]
            self.shared_slots = slots[~batch]

    def gather(self, S: np.ndarray, B: np.ndarray) -> np.ndarray:
        """Values with shape ``self.shape + (N,)`` (batch), ``+ (1,)`` (shared, batch output) or
        ``self.shape`` (shared output)."""
        if self.all_batch:
            return B[self.index]
        if self.no_batch:
            values = S[self.index]
            return values[..., None] if self.out_batch else values
        full = np.empty((*self.shape, B.shape[1]))
        full[self.batch_mask] = B[self.batch_slots]
        full[~self.batch_mask] = S[self.shared_slots][:, None]
        return full

    def scatter(self, GS: np.ndarray, GB: np.ndarray, contribution: Any) -> None:
        """Add ``contribution`` (shaped like the output's gradient) into the gradient stores."""
        c = contribution
        target = (*self.shape, GB.shape[1]) if self.out_batch else self.shape
        if type(c) is not np.ndarray or c.shape != target:
            c = np.broadcast_to(c, target)
        if self.all_batch:
            _add(GB, self.index, c, self.unique)
        elif self.no_batch:
            _add(GS, self.index, c.sum(axis=-1) if self.out_batch else c, self.unique)
        else:
            _add(GB, self.batch_slots, c[self.batch_mask], self.unique)
            _add(GS, self.shared_slots, c[~self.batch_mask].sum(axis=-1), self.unique)


def _add(store: np.ndarray, index: Any, values: np.ndarray, unique: bool) -> None:
    if unique or isinstance(index, slice):
        store[index] += values
    else:
        np.add.at(store, index, values)


# ----- instructions -----
class Instruction:
    """One op applied to ``k`` nodes at once, writing slots ``out`` of one store."""

    op: Op
    out: slice
    out_batch: bool
    needs_grad: list[bool]

    def forward(self, S: np.ndarray, B: np.ndarray) -> Any:
        raise NotImplementedError

    def backward(self, S: np.ndarray, B: np.ndarray, GS: np.ndarray, GB: np.ndarray) -> None:
        raise NotImplementedError


class Elementwise(Instruction):
    """A unary or binary op (constant argument included) over ``k`` nodes."""

    def __init__(
        self, op: Op, arg: Any, operands: list[Operand], out: slice, out_batch: bool
    ) -> None:
        self.op, self.arg, self.operands, self.out, self.out_batch = (
            op,
            arg,
            operands,
            out,
            out_batch,
        )
        self.kernel = kernel_for(op)
        self.needs_grad = [False] * len(operands)
        self.saved: tuple[Any, ...] = ()

    def forward(self, S: np.ndarray, B: np.ndarray) -> Any:
        xs = [o.gather(S, B) for o in self.operands]
        out = self.kernel.forward(*xs, self.arg)
        (B if self.out_batch else S)[self.out] = out
        self.saved = (xs, out)
        return out

    def local_derivatives(self) -> tuple[Any, ...]:
        xs, out = self.saved
        return self.kernel.derivative(*xs, out, self.arg)

    def backward(self, S: np.ndarray, B: np.ndarray, GS: np.ndarray, GB: np.ndarray) -> None:
        g = (GB if self.out_batch else GS)[self.out]
        for operand, local, needed in zip(
            self.operands, self.local_derivatives(), self.needs_grad, strict=True
        ):
            if not needed:
                continue
            if type(local) is float and local == 1.0:
                operand.scatter(GS, GB, g)
            elif type(local) is float and local == -1.0:
                operand.scatter(GS, GB, -g)
            else:
                operand.scatter(GS, GB, local * g)


class Sum(Instruction):
    """``k`` sums of ``m`` inputs each."""

    def __init__(self, op: Op, operand: Operand, out: slice, out_batch: bool) -> None:
        self.op, self.operand, self.out, self.out_batch = op, operand, out, out_batch
        self.needs_grad = [False]

    def forward(self, S: np.ndarray, B: np.ndarray) -> Any:
        out = self.operand.gather(S, B).sum(axis=1)
        (B if self.out_batch else S)[self.out] = out
        return out

    def backward(self, S: np.ndarray, B: np.ndarray, GS: np.ndarray, GB: np.ndarray) -> None:
        if self.needs_grad[0]:
            g = (GB if self.out_batch else GS)[self.out]
            self.operand.scatter(GS, GB, g[:, None])


class Max(Instruction):
    """``k`` maxima of ``m`` inputs each; the gradient goes to the first of the largest."""

    def __init__(self, op: Op, operand: Operand, out: slice, out_batch: bool) -> None:
        self.op, self.operand, self.out, self.out_batch = op, operand, out, out_batch
        self.needs_grad = [False]
        self.winners: np.ndarray | None = None

    def forward(self, S: np.ndarray, B: np.ndarray) -> Any:
        values = self.operand.gather(S, B)
        self.winners = values.argmax(axis=1)  # argmax keeps the first of equal maxima
        out = values.max(axis=1)
        (B if self.out_batch else S)[self.out] = out
        return out

    def backward(self, S: np.ndarray, B: np.ndarray, GS: np.ndarray, GB: np.ndarray) -> None:
        if self.needs_grad[0] and self.winners is not None:
            g = (GB if self.out_batch else GS)[self.out]
            winners = np.expand_dims(self.winners, 1)
            m = self.operand.gather(S, B).shape[1]
            positions = np.arange(m).reshape((1, m) + (1,) * (winners.ndim - 2))
            self.operand.scatter(GS, GB, (positions == winners) * g[:, None])


class Dot(Instruction):
    """``k`` weighted sums ``w·x + b`` (a layer of neurons). When every node reads the same batch
    slots with shared weights (a dense layer), one matrix product does them all."""

    def __init__(
        self,
        op: Op,
        w: Operand,
        x: Operand,
        b: Operand | None,
        dense: bool,
        out: slice,
        out_batch: bool,
    ) -> None:
        self.op, self.w, self.x, self.b, self.out, self.out_batch = op, w, x, b, out, out_batch
        # dense: w gathers as (k, m) from the shared store, x as (m, N) (one row of slots)
        self.dense = dense
        self.needs_grad = [False, False, False]
        self.saved: tuple[Any, ...] = ()

    def forward(self, S: np.ndarray, B: np.ndarray) -> Any:
        wv = self.w.gather(S, B)
        xv = self.x.gather(S, B)
        out = wv @ xv if self.dense else (wv * xv).sum(axis=1)
        if self.b is not None:
            out = out + self.b.gather(S, B)
        (B if self.out_batch else S)[self.out] = out
        self.saved = (wv, xv)
        return out

    def backward(self, S: np.ndarray, B: np.ndarray, GS: np.ndarray, GB: np.ndarray) -> None:
        g = (GB if self.out_batch else GS)[self.out]
        wv, xv = self.saved
        need_w, need_x, need_b = self.needs_grad
        if self.dense:
            if need_w:
                self.w.scatter(GS, GB, g @ xv.T)
            if need_x:
                self.x.scatter(GS, GB, wv.T @ g)
        else:
            gm = g[:, None]
            if need_w:
                self.w.scatter(GS, GB, xv * gm)
            if need_x:
                self.x.scatter(GS, GB, wv * gm)
        if need_b and self.b is not None:
            self.b.scatter(GS, GB, g)


class VariadicElementwise(Instruction):
    """A variadic op without a vectorised kernel (a ``define_op`` with ``*xs``), run on floats."""

    def __init__(self, op: Op, operand: Operand, out: slice, out_batch: bool) -> None:
        self.op, self.operand, self.out, self.out_batch = op, operand, out, out_batch
        self.needs_grad = [False]
        self.saved: tuple[Any, ...] = ()

    def forward(self, S: np.ndarray, B: np.ndarray) -> Any:
        xv = self.operand.gather(S, B)
        k, m = xv.shape[:2]
        cols = xv.reshape(k, m, -1)
        width = B.shape[1] if self.out_batch else 1
        cols = np.broadcast_to(cols, (k, m, width))
        out = np.empty((k, width))
        for i in range(k):
            for n in range(width):
                out[i, n] = self.op.forward(*cols[i, :, n].tolist())
        result = out if self.out_batch else out[:, 0]
        (B if self.out_batch else S)[self.out] = result
        self.saved = (cols, out)
        return result

    def backward(self, S: np.ndarray, B: np.ndarray, GS: np.ndarray, GB: np.ndarray) -> None:
        if not self.needs_grad[0]:
            return
        cols, out = self.saved
        k, m, width = cols.shape
        local = np.empty((k, m, width))
        for i in range(k):
            for n in range(width):
                values = self.op.derivative(*cols[i, :, n].tolist(), float(out[i, n]))
                local[i, :, n] = [float(d) for d in values]
        g = (GB if self.out_batch else GS)[self.out]
        g = g if self.out_batch else g[:, None]
        contribution = local * g[:, None, :]
        self.operand.scatter(GS, GB, contribution if self.out_batch else contribution[..., 0])


# ----- the program -----
class Program:
    """A trace grouped into instructions over the shared and batch stores.

    Args:
        trace: the recorded graph.
        n_inputs: number of scalar inputs per sample.
        parameters: persistent leaves read live at every call, in slot order.
        wants_grad: for each of ``parameters``, whether its gradient is written.
    """

    def __init__(
        self, trace: Trace, n_inputs: int, parameters: list[Value], wants_grad: list[bool]
    ) -> None:
        nodes = trace.nodes
        self.trace = trace
        self.n_inputs = n_inputs
        self.parameters = parameters
        param_slot = {id(p): i for i, p in enumerate(parameters)}
        n_nodes = len(nodes)
        batch = np.zeros(n_nodes, bool)
        level = np.zeros(n_nodes, int)
        needs = np.zeros(n_nodes, bool)
        slot = np.full(n_nodes, -1)
        constants: list[float] = []
        n_shared = len(parameters)
        for i, node in enumerate(nodes):
            if node.kind == "input":
                batch[i] = True
                slot[i] = node.position
            elif node.kind == "leaf":
                p = param_slot.get(id(node.value))
                if p is None:
                    slot[i] = n_shared + len(constants)
                    constants.append(node.value.data)
                else:
                    slot[i] = p
                    needs[i] = wants_grad[p]
            else:
                parents = list(node.parents)
                batch[i] = bool(batch[parents].any())
                level[i] = 1 + int(level[parents].max()) if parents else 1
                needs[i] = bool(needs[parents].any())
        n_shared += len(constants)
        n_batch = n_inputs

        groups: dict[tuple[Any, ...], list[int]] = {}
        for i, node in enumerate(nodes):
            if node.kind != "op":
                continue
            assert node.op is not None
            key = (
                int(level[i]),
                id(node.op),
                _arg_key(node.arg),
                len(node.parents),
                tuple(batch[list(node.parents)]),
                bool(batch[i]),
            )
            groups.setdefault(key, []).append(i)

        self.instructions: list[Instruction] = []
        for key in sorted(groups, key=lambda k: (k[0], groups[k][0])):
            members = groups[key]
            out_batch = bool(batch[members[0]])
            if out_batch:
                start, n_batch = n_batch, n_batch + len(members)
            else:
                start, n_shared = n_shared, n_shared + len(members)
            slot[members] = np.arange(start, start + len(members))
            out = slice(start, start + len(members))
            self.instructions.append(
                _instruction(nodes, members, batch, slot, needs, out, out_batch)
            )

        self.n_shared, self.n_batch = n_shared, n_batch
        self.shared_template = np.zeros(n_shared)
        first_constant = len(parameters)
        self.shared_template[first_constant : first_constant + len(constants)] = constants
        self.output_slots = [(int(slot[i]), bool(batch[i])) for i in trace.outputs]
        self.aux_slots = [(int(slot[i]), bool(batch[i])) for i in trace.aux]

    # ----- running -----
    def load(self, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fresh stores for a batch: ``inputs`` is ``(N, n_inputs)``."""
        S = self.shared_template.copy()
        if self.parameters:
            S[: len(self.parameters)] = [p.data for p in self.parameters]
        B = np.empty((self.n_batch, inputs.shape[0]))
        B[: self.n_inputs] = inputs.T
        return S, B

    def forward(self, S: np.ndarray, B: np.ndarray) -> None:
        for instruction in self.instructions:
            instruction.forward(S, B)

    def read(self, slots: list[tuple[int, bool]], S: np.ndarray, B: np.ndarray) -> np.ndarray:
        """Values of ``slots`` as ``(N, len(slots))``."""
        out = np.empty((B.shape[1], len(slots)))
        for j, (s, is_batch) in enumerate(slots):
            out[:, j] = B[s] if is_batch else S[s]
        return out

    def backward(self, S: np.ndarray, B: np.ndarray, seed: np.ndarray) -> np.ndarray:
        """Gradients of ``Σ seed * output`` for the parameters; ``seed`` is ``(N, n_outputs)``."""
        GS = np.zeros(self.n_shared)
        GB = np.zeros_like(B)
        for j, (s, is_batch) in enumerate(self.output_slots):
            if is_batch:
                GB[s] += seed[:, j]
            else:
                GS[s] += seed[:, j].sum()
        for instruction in reversed(self.instructions):
            instruction.backward(S, B, GS, GB)
        return GS[: len(self.parameters)]


def _instruction(
    nodes: list[Node],
    members: list[int],
    batch: np.ndarray,
    slot: np.ndarray,
    needs: np.ndarray,
    out: slice,
    out_batch: bool,
) -> Instruction:
    """One instruction for the grouped nodes ``members`` (same op, argument and layout)."""
    op = nodes[members[0]].op
    arg = nodes[members[0]].arg
    assert op is not None
    parents = np.array([nodes[i].parents for i in members], dtype=int)  # (k, n_parents)
    slots, kinds = slot[parents], batch[parents]

    def operand(columns: Any, into_batch: bool = out_batch) -> Operand:
        return Operand(slots[:, columns], kinds[:, columns], into_batch)

    def needed(columns: Any) -> bool:
        return bool(needs[parents[:, columns]].any())

    instruction: Instruction
    if op.arity != VARIADIC:
        columns = range(parents.shape[1])
        instruction = Elementwise(op, arg, [operand(j) for j in columns], out, out_batch)
        instruction.needs_grad = [needed(j) for j in columns]
        return instruction
    everything = slice(None)
    if op is ops.SUM:
        instruction = Sum(op, operand(everything), out, out_batch)
        instruction.needs_grad = [needed(everything)]
        return instruction
    if op is ops.MAX:
        instruction = Max(op, operand(everything), out, out_batch)
        instruction.needs_grad = [needed(everything)]
        return instruction
    if op is ops.DOT:
        m = parents.shape[1] // 2
        ws, xs = slice(0, m), slice(m, 2 * m)
        rows = slots[:, xs]
        dense = bool(
            out_batch and not kinds[:, ws].any() and kinds[:, xs].all() and (rows == rows[0]).all()
        )
        if dense:
            w = operand(ws, into_batch=False)
            x = Operand(rows[0], kinds[0, xs], True)
        else:
            w, x = operand(ws), operand(xs)
        has_bias = parents.shape[1] % 2 == 1
        b = operand(-1) if has_bias else None
        instruction = Dot(op, w, x, b, dense, out, out_batch)
        instruction.needs_grad = [needed(ws), needed(xs), has_bias and needed(-1)]
        return instruction
    instruction = VariadicElementwise(op, operand(everything), out, out_batch)
    instruction.needs_grad = [needed(everything)]
    return instruction


def _arg_key(arg: Any) -> Any:
    if isinstance(arg, float) and math.isnan(arg):
        return "nan"
    return arg
