"""A planned trace made into instructions, and run with NumPy over two stores.

:func:`~microgradnet.compiled._plan.plan` groups the nodes and gives every value a slot; the
program makes one instruction per group, reading from the op's row which kind (its ``arity`` and
``bilinear`` fields; for a dot group, whether its nodes form a layer), with the kernel derived
from the row's rules (:mod:`microgradnet.compiled._kernels`): nothing here knows any op by name.

The shared store ``S`` and its gradients ``GS`` live as long as the program, so an instruction
can keep views of them (a layer's weights as a matrix). The parameters are its first slots: a
caller either writes them from the ``Value``s before each run (:meth:`load`) or keeps them there
itself, as compiled training does, updating them in place.

Note [assigned gradients]
A backward pass adds each contribution into its rows of ``GB``, so ``GB`` starts as zeros. But
most rows of a network's store get exactly one contribution (a layer's output is read once, by
its activation; the activation's, once, by the next layer), and the instruction that gives it
writes a whole block of rows at once. For those, the program lets that instruction write the
rows (``assign``) rather than add into them, into ``GB`` directly (``np.multiply(..., out=)``,
``np.matmul(..., out=)``): no zeros to write first, no temporary array, no second pass to add
it. The plan knows every site that writes gradients and the slots it writes, so this is decided
once: a site assigns if it writes a block of the store (a view) in one go and every slot it
writes is written by nobody else (nor seeded as an output); only the rows no site assigns are
zeroed before each backward pass. Reverse order runs every reader of a value before the
instruction that computed it, so a row is always written before it is read.

Note [finite in bulk]
On arrays, an op out of its domain gives NaN or an infinity where the engine raises, and a
later relu or tanh can squash that into a finite output. Every value a run computes stays in its
store, so one look at the stores after the run finds any of them: the sum of the stores' sums is
finite exactly when every element is (NaN and infinities survive a sum, and +inf plus -inf is
NaN; an overflow of the sum itself is only a false alarm, cleared by the precise check). That
costs one pass over each store, whatever the number of instructions. The samples it flags go
to the engine (:mod:`microgradnet.compiled._reference`).

Some rows need no look at all. A ``nonexpansive`` op (relu, tanh, max) gives a finite output for
finite inputs, and passes back at most its output's gradient in size. So the values such an
instruction computes are finite if its inputs are, and the gradients it alone writes (the rows
it ``assign``s) are finite if its output's gradient is: whichever row holds a sample's first
non-finite value, forward or backward, is written by another op, and is looked at. Half of a
network's store is its activations and their gradients, so the check reads about half as much.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence

import numpy as np

from ..engine import Value
from ..ops import VARIADIC, Op
from ._instructions import (
    Dot,
    Elementwise,
    Instruction,
    KernelInstruction,
    LayerDot,
    Variadic,
)
from ._kernels import POINTS_PER_OP, Kernel, Point, kernel_for, spread
from ._operands import Matrix, Operand, Windows, as_index
from ._plan import Group, Plan, plan
from ._trace import Trace

__all__ = ["Program"]

_data = operator.attrgetter("data")


class Program:
    """A trace as instructions over the shared and the batch store.

    Args:
        trace: the recorded graph.
        n_inputs: number of scalar inputs per sample.
        parameters: persistent leaves read live at every call, in slot order.
        wants_grad: for each of ``parameters``, whether its gradient is computed.
        inputs_want_grad: compute the inputs' gradients (saliency) instead.
    """

    def __init__(
        self,
        trace: Trace,
        n_inputs: int,
        parameters: list[Value],
        wants_grad: Sequence[bool],
        inputs_want_grad: bool = False,
    ) -> None:
        self.trace = trace
        self.n_inputs = n_inputs
        self.parameters = parameters
        layout = plan(trace, n_inputs, parameters, wants_grad, inputs_want_grad)
        self.n_shared, self.n_batch = layout.n_shared, layout.n_batch
        self.S = np.zeros(self.n_shared)
        self.GS = np.zeros(self.n_shared)
        first = len(parameters)
        self.S[first : first + len(layout.constants)] = layout.constants
        of_op: dict[Op, list[int]] = {}
        for group in layout.groups:
            of_op.setdefault(group.op, []).extend(group.members)
        maker = _Maker(trace, layout, self.S, self.GS, of_op)
        self.instructions: list[Instruction] = [maker.instruction(g) for g in layout.groups]
        self.output_slots = [(layout.slot[i], layout.batch[i]) for i in trace.outputs]
        seeded = [s for s, is_batch in self.output_slots if is_batch]
        self.zeroed = _assign_gradients(self.instructions, self.n_batch, seeded)
        self.checked_values, self.checked_grads = _rows_to_check(self.instructions, self.n_batch)
        self.aux_slots = [(layout.slot[i], layout.batch[i]) for i in trace.aux]
        self._output_rows = _batch_rows(self.output_slots)
        self._aux_rows = _batch_rows(self.aux_slots)

    def kernel_kinds(self) -> dict[Op, str]:
        """How each op of the program runs: ``"vectorised"``, ``"element-wise"`` or
        ``"bilinear"`` (see :class:`~microgradnet.compiled._kernels.Kernel`)."""
        return {instruction.op: instruction.kind for instruction in self.instructions}

    def kernel_instructions(self) -> list[KernelInstruction]:
        """The instructions that run an op's kernel (every one but the dot products)."""
        return [i for i in self.instructions if isinstance(i, KernelInstruction)]

    # ----- running -----
    def load(self) -> None:
        """Write the parameters' current data into their slots of ``S``."""
        if self.parameters:
            self.S[: len(self.parameters)] = list(map(_data, self.parameters))

    def forward(self, inputs: np.ndarray) -> np.ndarray:
        """Run every instruction on ``inputs`` ``(N, n_inputs)``; returns the batch store."""
        B = np.empty((self.n_batch, inputs.shape[0]))
        B[: self.n_inputs] = inputs.T
        S = self.S
        for instruction in self.instructions:
            instruction.forward(S, B)
        return B

    def outputs(self, B: np.ndarray) -> np.ndarray:
        """The outputs, ``(N, n_outputs)``."""
        return self.read(self.output_slots, B, self._output_rows)

    def aux(self, B: np.ndarray) -> np.ndarray:
        """The aux values, ``(N, n_aux)``."""
        return self.read(self.aux_slots, B, self._aux_rows)

    def read(
        self, slots: list[tuple[int, bool]], B: np.ndarray, rows: np.ndarray | slice | None = None
    ) -> np.ndarray:
        """Values of ``slots`` as ``(N, len(slots))``; ``rows``, where they all are in the batch
        store, reads them at once."""
        if rows is not None:
            found: np.ndarray = B[rows].T
            return found
        out = np.empty((B.shape[1], len(slots)))
        for j, (s, is_batch) in enumerate(slots):
            out[:, j] = B[s] if is_batch else self.S[s]
        return out

    def backward(self, B: np.ndarray, seed: np.ndarray) -> np.ndarray:
        """Gradients of ``Σ seed * output`` (``seed`` is ``(N, n_outputs)``) into ``GS`` (the
        parameters' are its first slots); returns the batch store's gradients ``GB`` (the
        inputs' are its first rows)."""
        GS = self.GS
        GS.fill(0.0)
        GB = np.empty_like(B)  # every other row is written before it is read
        for rows in self.zeroed:
            GB[rows] = 0.0
        for j, (s, is_batch) in enumerate(self.output_slots):
            if is_batch:
                GB[s] += seed[:, j]
            else:
                GS[s] += seed[:, j].sum()
        S = self.S
        for instruction in reversed(self.instructions):
            instruction.backward(S, B, GS, GB)
        return GB

    def finite_samples(
        self, B: np.ndarray, GB: np.ndarray | None = None, parameters: bool = True
    ) -> np.ndarray | None:
        """``None`` if every value (and gradient) is finite, the usual case, checked in bulk
        (Note [finite in bulk]); else, per sample, whether its values are all finite (all
        ``False`` when a shared value is not, since every sample reads it). ``parameters=False``
        takes the parameters' own values as finite (compiled training checks every update)."""
        first = 0 if parameters else len(self.parameters)
        shared = [self.S[first:]] if GB is None else [self.S[first:], self.GS]
        stores = [B[rows] for rows in self.checked_values]
        if GB is not None:
            stores += [GB[rows] for rows in self.checked_grads]
        if math.isfinite(sum(np.add.reduce(a, axis=None) for a in (*stores, *shared))):
            return None
        if not all(np.isfinite(a).all() for a in shared):
            return np.zeros(B.shape[1], bool)
        finite: np.ndarray = np.isfinite(B).all(axis=0)
        if GB is not None:
            finite &= np.isfinite(GB).all(axis=0)
        return None if finite.all() else finite  # a sum that overflowed: all finite after all


def _assign_gradients(
    instructions: list[Instruction], n_batch: int, seeded: list[int]
) -> list[slice]:
    """Let every gradient site that alone writes its rows of ``GB`` write them instead of
    adding into them; returns the blocks of ``GB`` to zero before a backward pass, the rest
    (Note [assigned gradients])."""
    sites = [site for instruction in instructions for site in instruction.gradient_sites()]
    reads = [slots for _, slots in sites]
    every = np.concatenate([*reads, np.array(seeded, dtype=np.int64)])
    once = np.bincount(every, minlength=n_batch) == 1
    written = np.zeros(n_batch, dtype=bool)
    for target, slots in sites:
        # a one-row site (a step of a deep chain) gains nothing: left to add, cheaply decided
        if slots.size > 1 and target.can_assign and once[slots].all():
            target.assign = True
            written[slots] = True
    return _runs(~written)


def _rows_to_check(instructions: list[Instruction], n_batch: int) -> tuple[list[slice], ...]:
    """The blocks of ``B`` and of ``GB`` that the finite check reads: all but the values that
    nonexpansive ops compute and the gradients they alone write (Note [finite in bulk])."""
    values = np.ones(n_batch, dtype=bool)
    grads = np.ones(n_batch, dtype=bool)
    for instruction in instructions:
        if not instruction.op.nonexpansive:
            continue
        if instruction.out_batch:
            values[instruction.out] = False
        for target, slots in instruction.gradient_sites():
            if target.assign:
                grads[slots] = False
    return _runs(values), _runs(grads)


def _runs(mask: np.ndarray) -> list[slice]:
    """The runs of ``True`` in ``mask``, as slices."""
    edges = np.flatnonzero(np.diff(np.concatenate([[False], mask, [False]]).astype(np.int8)))
    return [slice(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _batch_rows(slots: list[tuple[int, bool]]) -> np.ndarray | slice | None:
    """The rows of ``slots`` in the batch store, if they all are there."""
    if not slots or not all(is_batch for _, is_batch in slots):
        return None
    return as_index(np.array([s for s, _ in slots], dtype=np.int64))


def _point(trace: Trace, i: int) -> Point:
    values = trace.values
    return tuple(values[p].data for p in trace.parents[i]), values[i].data, trace.args[i]


class _Maker:
    """Makes the instruction of each group of a plan."""

    def __init__(
        self,
        trace: Trace,
        layout: Plan,
        S: np.ndarray,
        GS: np.ndarray,
        of_op: dict[Op, list[int]],
    ) -> None:
        self.trace, self.layout, self.S, self.GS, self.of_op = trace, layout, S, GS, of_op
        # per node, once: a group reads its inputs' rows with one fancy index
        self.slot = np.array(layout.slot, dtype=np.int64)
        self.batch = np.array(layout.batch, dtype=bool)
        self.needs = np.array(layout.needs, dtype=bool)
        self.kernels: dict[Op, Kernel] = {}

    def kernel(self, op: Op) -> Kernel:
        kernel = self.kernels.get(op)
        if kernel is None:
            points: Callable[[], list[Point]] = lambda: [
                _point(self.trace, i) for i in spread(self.of_op[op], POINTS_PER_OP)
            ]
            kernel = self.kernels[op] = kernel_for(op, points)
        return kernel

    def instruction(self, group: Group) -> Instruction:
        parents = self.trace.parents
        op = group.op
        if len(group.members) == 1 and op.arity != VARIADIC:
            return self.single(group)
        rows = [parents[i] for i in group.members]
        nodes = np.array(rows, dtype=np.int64).reshape(len(rows), -1)  # (k, n_inputs)
        slots, kinds, needs = self.slot[nodes], self.batch[nodes], self.needs[nodes]
        op, arg, out, out_batch = group.op, group.arg, group.out, group.out_batch
        if op.bilinear and op.arity == VARIADIC:
            return self.dot(op, slots, kinds, needs, out, out_batch)
        kernel = self.kernel(op)
        n_inputs = slots.shape[1]
        needs_grad = [bool(b) for b in np.atleast_1d(needs.any(axis=0))]
        if op.arity == VARIADIC:  # input-major: input j of every node is one block
            operand = Operand(slots.T.copy(), kinds.T.copy(), out_batch)
            return Variadic(op, arg, kernel, operand, out, out_batch, needs_grad)
        operands = [Operand(slots[:, j], kinds[:, j], out_batch) for j in range(n_inputs)]
        return Elementwise(op, arg, kernel, operands, out, out_batch, needs_grad)

    def single(self, group: Group) -> Instruction:
        """One node of an op of fixed arity (a deep chain is all such): no NumPy call."""
        layout, op = self.layout, group.op
        inputs = self.trace.parents[group.members[0]]
        operands = [
            Operand.single(layout.slot[p], layout.batch[p], group.out_batch) for p in inputs
        ]
        needs_grad = [layout.needs[p] for p in inputs]
        kernel = self.kernel(op)
        return Elementwise(op, group.arg, kernel, operands, group.out, group.out_batch, needs_grad)

    def dot(
        self,
        op: Op,
        slots: np.ndarray,
        kinds: np.ndarray,
        needs: np.ndarray,
        out: slice,
        out_batch: bool,
    ) -> Instruction:
        """``w·x + b`` over the group: a layer's matrix product when its nodes form one."""
        m = slots.shape[1] // 2
        ws, xs = slice(0, m), slice(m, 2 * m)
        has_bias = slots.shape[1] % 2 == 1
        needs_grad = [bool(needs[:, ws].any()), bool(needs[:, xs].any())]
        needs_grad.append(has_bias and bool(needs[:, -1].any()))
        shared_w = not kinds[:, ws].any() and bool(kinds[:, xs].all())
        shared_x = not kinds[:, xs].any() and bool(kinds[:, ws].all())
        if out_batch and m and (shared_w or shared_x) and not (has_bias and kinds[:, -1].any()):
            w_side, x_side = (ws, xs) if shared_w else (xs, ws)
            layer = self.layer(op, slots, w_side, x_side, has_bias, out, needs_grad, shared_w)
            if layer is not None:
                return layer
        w = Operand(slots[:, ws], kinds[:, ws], out_batch)
        x = Operand(slots[:, xs], kinds[:, xs], out_batch)
        b = Operand(slots[:, -1], kinds[:, -1], out_batch) if has_bias else None
        return Dot(op, w, x, b, out, out_batch, needs_grad)

    def layer(
        self,
        op: Op,
        slots: np.ndarray,
        w_side: slice,
        x_side: slice,
        has_bias: bool,
        out: slice,
        needs_grad: list[bool],
        in_order: bool,
    ) -> LayerDot | None:
        """The group as ``F`` weight rows against ``P`` input rows, every pair once in the
        group's order, each row's bias the same for all its nodes; else ``None``."""
        k = slots.shape[0]
        w_slots, x_slots = slots[:, w_side], slots[:, x_side]
        f, F = _row_ids(w_slots)
        p, P = _row_ids(x_slots)
        order = np.arange(k)
        # the members come sorted by (weights, inputs): a layer is every (f, p) in that order
        if k != F * P or not (np.array_equal(f, order // P) and np.array_equal(p, order % P)):
            return None
        w_rows, x_rows = w_slots[::P], x_slots[:P]
        bias = None
        if has_bias:
            b = slots[:, -1].reshape(F, P)
            if not (b == b[:, :1]).all():
                return None
            bias = Matrix(b[:, :1].copy(), self.S, self.GS)
        if not in_order:  # dot(x, w): the gradients of the two sides swap places too
            needs_grad = [needs_grad[1], needs_grad[0], needs_grad[2]]
        weights = Matrix(w_rows, self.S, self.GS)
        return LayerDot(op, weights, Windows(x_rows), bias, out, needs_grad)


def _row_ids(rows: np.ndarray) -> tuple[np.ndarray, int]:
    """For each row, the number of the first equal row among the distinct ones (numbered in
    order of appearance), and how many distinct rows there are."""
    ids: dict[bytes, int] = {}
    found = [ids.setdefault(row.tobytes(), len(ids)) for row in rows]
    return np.array(found), len(ids)
