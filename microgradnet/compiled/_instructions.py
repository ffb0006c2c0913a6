"""Instructions: one op applied to a group of ``k`` nodes at once, over a whole batch.

Values live in two stores (see :mod:`microgradnet.compiled._program`): ``S``, one float per slot
(parameters, constants, what depends on them alone), and ``B``, one row of ``N`` floats per slot
(inputs and what depends on them). An :class:`Operand` reads one input of the grouped nodes from
either store and adds gradients back. An instruction is chosen from the op's row:

* :class:`Elementwise`: an op of fixed arity (unary, binary, with a constant argument), its
  kernel on one array per input;
* :class:`Variadic`: an op of any arity (sum, max, a ``define_op`` with ``*xs``), its kernel on
  the list of its input arrays;
* :class:`Dot`: a bilinear variadic op (``w·x + b``), whose local derivatives the row's
  ``bilinear`` flag states: a dense layer is one matrix product.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ops import Op, UndefinedGradient
from ._kernels import Kernel

__all__ = ["Dot", "Elementwise", "Instruction", "KernelInstruction", "Operand", "Variadic"]

BILINEAR = "bilinear"  # the kind of a Dot instruction


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
            rows: np.ndarray = B[self.index]
            return rows
        if self.no_batch:
            values: np.ndarray = S[self.index]
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


class Instruction:
    """One op applied to ``k`` nodes at once, writing slots ``out`` of one store.

    ``needs_grad`` says, per input (per column for a variadic op; weights, inputs and bias for
    a dot), whether any gradient the program returns lies behind it."""

    op: Op
    out: slice
    out_batch: bool
    needs_grad: list[bool]
    kind: str

    def forward(self, S: np.ndarray, B: np.ndarray) -> None:
        raise NotImplementedError

    def backward(self, S: np.ndarray, B: np.ndarray, GS: np.ndarray, GB: np.ndarray) -> None:
        raise NotImplementedError


class KernelInstruction(Instruction):
    """An instruction running an op's kernel: its forward on the inputs' arrays, then its local
    derivatives times the output's gradient, added into each input's gradient."""

    def __init__(
        self, op: Op, arg: Any, kernel: Kernel, out: slice, out_batch: bool, needs_grad: list[bool]
    ) -> None:
        self.op, self.arg, self.kernel, self.out, self.out_batch = op, arg, kernel, out, out_batch
        self.kind = kernel.kind
        self.needs_grad = needs_grad
        self.any_needed = any(needs_grad)
        self.saved: tuple[list[Any], Any] = ([], None)  # the inputs and output of the last run

    def local_derivatives(self) -> tuple[Any, ...]:
        """The local derivatives at the last forward's inputs, one per input."""
        xs, out = self.saved
        return self.kernel.derivative(xs, out, self.arg)


def _times(local: Any, g: np.ndarray) -> Any:
    """``local * g``, the gradient a local derivative passes on; a needed undefined one raises
    the engine's error."""
    if type(local) is float:
        if local == 1.0:
            return g
        if local == -1.0:
            return -g
    elif isinstance(local, UndefinedGradient):
        raise ValueError(local.message)
    return local * g


class Elementwise(KernelInstruction):
    """An op of fixed arity (a constant argument included) over ``k`` nodes: one operand per
    input."""

    def __init__(
        self,
        op: Op,
        arg: Any,
        kernel: Kernel,
        operands: list[Operand],
        out: slice,
        out_batch: bool,
        needs_grad: list[bool],
    ) -> None:
        super().__init__(op, arg, kernel, out, out_batch, needs_grad)
        self.operands = operands

    def forward(self, S: np.ndarray, B: np.ndarray) -> None:
        xs = [o.gather(S, B) for o in self.operands]
        out = self.kernel.forward(xs, self.arg)
        (B if self.out_batch else S)[self.out] = out
        self.saved = (xs, out)

    def backward(self, S: np.ndarray, B: np.ndarray, GS: np.ndarray, GB: np.ndarray) -> None:
        if not self.any_needed:
            return
        g = (GB if self.out_batch else GS)[self.out]
        for operand, local, needed in zip(
            self.operands, self.local_derivatives(), self.needs_grad, strict=True
        ):
            if needed:
                operand.scatter(GS, GB, _times(local, g))


class Variadic(KernelInstruction):
    """``k`` nodes of a variadic op with ``m`` inputs each: one ``(k, m)`` operand, whose columns
    are the op's inputs."""

    def __init__(
        self,
        op: Op,
        arg: Any,
        kernel: Kernel,
        operand: Operand,
        out: slice,
        out_batch: bool,
        needs_grad: list[bool],
    ) -> None:
        super().__init__(op, arg, kernel, out, out_batch, needs_grad)
        self.operand = operand

    def forward(self, S: np.ndarray, B: np.ndarray) -> None:
        values = self.operand.gather(S, B)
        xs = [values[:, j] for j in range(values.shape[1])]
        out = self.kernel.forward(xs, self.arg)
        (B if self.out_batch else S)[self.out] = out
        self.saved = (xs, out)

    def backward(self, S: np.ndarray, B: np.ndarray, GS: np.ndarray, GB: np.ndarray) -> None:
        if not self.any_needed:
            return
        g = (GB if self.out_batch else GS)[self.out]
        passed = [
            _times(local, g) if needed else None
            for local, needed in zip(self.local_derivatives(), self.needs_grad, strict=True)
        ]
        if all(p is g for p in passed):  # every local derivative is 1 (a sum): g for each input
            self.operand.scatter(GS, GB, np.expand_dims(g, 1))
            return
        zero = np.zeros(g.shape)
        columns = [zero if p is None else np.broadcast_to(p, g.shape) for p in passed]
        self.operand.scatter(GS, GB, np.stack(columns, axis=1))


class Dot(Instruction):
    """``k`` weighted sums ``w·x + b`` (a layer of neurons), from the ``bilinear`` row: the local
    derivative for a weight is its input, for an input its weight, for the bias 1. When every
    node reads the same batch slots with shared weights (a dense layer), one matrix product does
    them all."""

    kind = BILINEAR

    def __init__(
        self,
        op: Op,
        w: Operand,
        x: Operand,
        b: Operand | None,
        dense: bool,
        out: slice,
        out_batch: bool,
        needs_grad: list[bool],
    ) -> None:
        self.op, self.w, self.x, self.b, self.out, self.out_batch = op, w, x, b, out, out_batch
        # dense: w gathers as (k, m) from the shared store, x as (m, N) (one row of slots)
        self.dense = dense
        self.needs_grad = needs_grad  # weights, inputs, bias
        self.saved: tuple[Any, ...] = ()

    def forward(self, S: np.ndarray, B: np.ndarray) -> None:
        wv = self.w.gather(S, B)
        xv = self.x.gather(S, B)
        out = wv @ xv if self.dense else (wv * xv).sum(axis=1)
        if self.b is not None:
            out = out + self.b.gather(S, B)
        (B if self.out_batch else S)[self.out] = out
        self.saved = (wv, xv)

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
