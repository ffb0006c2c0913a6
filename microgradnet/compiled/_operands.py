"""Where an instruction reads its operands and adds their gradients: slots of the two stores.

Values live in two stores (see :mod:`microgradnet.compiled._plan`): ``S``, one float per slot,
and ``B``, one row of ``N`` floats per slot. An :class:`Operand` is one input of ``k`` grouped
nodes; a :class:`Matrix` is the shared side of a layer's dot products (its weights), a
:class:`Windows` the batch side (the rows a dense layer reads, or the unfolded windows of a
convolution). Each reads with a view of the store where the slots allow it (a run of
consecutive slots, one slot repeated, a strided block) and gathers a copy otherwise; gradients
go back the same way, with ``np.add.at`` only where one slot is read twice in one operand.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .._slices import as_index

__all__ = ["Matrix", "Operand", "Windows", "as_index"]


def _unique(idx: np.ndarray) -> bool:
    return idx.size < 2 or np.unique(idx).size == idx.size


def _add(store: np.ndarray, index: Any, values: Any, unique: bool) -> None:
    if unique or isinstance(index, slice):
        store[index] += values
    else:
        np.add.at(store, index, values)


class Operand:
    """Slots of one operand of ``k`` grouped nodes (shape ``(k,)``, or ``(k, m)`` for a variadic
    op), each in the shared or the batch store; ``out_batch``: the output is in the batch."""

    def __init__(self, slots: np.ndarray, batch: np.ndarray, out_batch: bool) -> None:
        self.slots = slots
        self.shape = slots.shape
        self.out_batch = out_batch
        self.repeated = False
        self.assign = False  # Note [assigned gradients]
        self.index: Any
        if slots.shape == (1,):  # one node of a deep chain: no NumPy call needed
            s = int(slots[0])
            self.all_batch = bool(batch[0])
            self.no_batch = not self.all_batch
            self.index, self.unique = slice(s, s + 1), True
            return
        self.all_batch = bool(batch.size) and bool(batch.all())  # none: a dot of a bias alone
        self.no_batch = not batch.any()
        # one slot read by every node (the shift of a softmax, a constant): a broadcast view
        self.repeated = slots.ndim == 1 and slots.size > 1 and bool((slots == slots[0]).all())
        if self.repeated:
            self.index = slice(int(slots[0]), int(slots[0]) + 1)
            self.unique = True
        elif self.all_batch or self.no_batch:
            self.index = as_index(slots)
            self.unique = isinstance(self.index, slice) or _unique(slots)
        else:
            self.batch_mask = batch
            self.batch_part = slots[batch]
            self.shared_slots = slots[~batch]
            self.unique = _unique(self.batch_part) and _unique(self.shared_slots)

    @classmethod
    def single(cls, slot: int, batch: bool, out_batch: bool) -> Operand:
        """The operand of one node (a step of a deep chain), made without a NumPy call."""
        operand = cls.__new__(cls)
        operand.slots = np.array([slot])
        operand.shape, operand.out_batch, operand.repeated = (1,), out_batch, False
        operand.assign = False
        operand.all_batch, operand.no_batch = batch, not batch
        operand.index, operand.unique = slice(slot, slot + 1), True
        return operand

    @property
    def can_assign(self) -> bool:
        """Whether :meth:`scatter` writes every slot once, into a block (a view) of ``GB``."""
        return (
            self.all_batch and self.unique and not self.repeated and isinstance(self.index, slice)
        )

    def batch_slots(self) -> np.ndarray:
        """The slots of ``B`` whose gradients :meth:`scatter` writes, one per read."""
        if self.all_batch:
            return self.slots if self.slots.ndim == 1 else self.slots.ravel()
        if self.no_batch:
            return self.slots[:0].ravel()
        found: np.ndarray = self.batch_part
        return found

    def gather(self, S: np.ndarray, B: np.ndarray) -> np.ndarray:
        """Values shaped ``shape + (N,)`` (batch), ``+ (1,)`` (shared, batch output) or ``shape``
        (shared output); a repeated slot gives a first axis of 1, which broadcasts."""
        if self.all_batch:
            rows: np.ndarray = B[self.index]
            return rows
        if self.no_batch:
            values: np.ndarray = S[self.index]
            return values[..., None] if self.out_batch else values
        full = np.empty((*self.shape, B.shape[1]))
        full[self.batch_mask] = B[self.batch_part]
        full[~self.batch_mask] = S[self.shared_slots][:, None]
        return full

    def scatter(self, GS: np.ndarray, GB: np.ndarray, contribution: Any) -> None:
        """Add ``contribution`` (shaped like the output's gradient) into the gradient stores."""
        c = contribution
        if self.all_batch and self.unique and not self.repeated:  # rows of GB, c broadcasts
            if self.assign:
                GB[self.index] = c
            else:
                GB[self.index] += c
            return
        target = (*self.shape, GB.shape[1]) if self.out_batch else self.shape
        if type(c) is not np.ndarray or c.shape != target:
            c = np.broadcast_to(c, target)
        if self.repeated:
            c = c.sum(axis=0, keepdims=True)
        if self.all_batch:
            _add(GB, self.index, c, self.unique)
        elif self.no_batch:
            _add(GS, self.index, c.sum(axis=-1) if self.out_batch else c, self.unique)
        else:
            _add(GB, self.batch_part, c[self.batch_mask], self.unique)
            _add(GS, self.shared_slots, c[~self.batch_mask].sum(axis=-1), self.unique)


def _strided(store: np.ndarray, slots: np.ndarray) -> np.ndarray | None:
    """A view of ``store`` whose element ``[i, j]`` is ``store[slots[i, j]]``, if the slots are
    an affine grid ``base + i * rows + j * columns`` with positive steps (a layer's weights in
    the order the model lists them); else ``None``."""
    f, m = slots.shape
    base = int(slots[0, 0])
    column = int(slots[0, 1] - base) if m > 1 else 1
    row = int(slots[1, 0] - base) if f > 1 else column * m
    if column < 1 or row < 1:
        return None
    grid = base + row * np.arange(f)[:, None] + column * np.arange(m)[None, :]
    if not np.array_equal(grid, slots):
        return None
    itemsize = store.itemsize
    return as_strided(store[base:], shape=(f, m), strides=(row * itemsize, column * itemsize))


class Matrix:
    """The shared side of ``F`` rows of ``m`` dot products: values ``(F, m)`` from ``S`` and
    their gradients into ``GS``, through strided views when the slots allow it."""

    def __init__(self, slots: np.ndarray, S: np.ndarray, GS: np.ndarray) -> None:
        self.slots = slots
        self.unique = _unique(slots)
        self.view = _strided(S, slots)
        self.grad_view = _strided(GS, slots) if self.unique and self.view is not None else None

    def value(self, S: np.ndarray) -> np.ndarray:
        return self.view if self.view is not None else S[self.slots]

    def add_grad(self, GS: np.ndarray, g: np.ndarray) -> None:
        if self.grad_view is not None:
            self.grad_view += g
        else:
            _add(GS, self.slots, g, self.unique)


class Windows:
    """The batch side of a layer's dot products: ``P`` rows of ``m`` batch slots (one for a dense
    layer; a convolution's unfolded windows), read as ``(m, P * N)``."""

    def __init__(self, slots: np.ndarray) -> None:
        self.P, self.m = slots.shape
        self.columns = slots.T.copy()  # (m, P): row j holds the j-th input of every window
        self.index = as_index(slots[0]) if self.P == 1 else None
        self.unique = _unique(slots[0]) if self.P == 1 else False
        # each row of a convolution's columns reads P distinct pixels: plain adds, row by row
        self.rows_unique = all(_unique(row) for row in self.columns)
        self.assign = False  # Note [assigned gradients]
        self.can_assign = self.unique and isinstance(self.index, slice)

    def batch_slots(self) -> np.ndarray:
        """The slots of ``B`` whose gradients :meth:`scatter` writes, one per read."""
        return self.columns.ravel()

    def gather(self, B: np.ndarray) -> np.ndarray:
        if self.index is not None:
            rows: np.ndarray = B[self.index]
            return rows
        unfolded: np.ndarray = B[self.columns]
        return unfolded.reshape(self.m, -1)

    def scatter(self, GB: np.ndarray, g: np.ndarray) -> None:
        if self.assign:
            GB[self.index] = g
            return
        if self.index is not None:
            _add(GB, self.index, g, self.unique)
            return
        g = g.reshape(self.m, self.P, -1)
        if self.rows_unique:
            for j in range(self.m):
                GB[self.columns[j]] += g[j]
        else:
            np.add.at(GB, self.columns, g)
