"""Instructions: one op applied to a group of ``k`` nodes at once, over a whole batch.

An instruction is chosen from the op's row:

* :class:`Elementwise`: an op of fixed arity (unary, binary, with a constant argument), its
  kernel on one array per input;
* :class:`Variadic`: an op of any arity (sum, max, a ``define_op`` with ``*xs``), its kernel on
  the list of its input arrays: a max-pooling layer is one reduction over its windows;
* :class:`LayerDot`: a ``bilinear`` variadic op (``w·x + b``) whose nodes form a layer: ``F``
  rows of shared weights against ``P`` rows of batch inputs, every pair once. A dense layer
  (``P = 1``) and a convolution (``P`` unfolded windows) are one matrix product, forward and
  backward, as PyTorch computes them;
* :class:`Dot`: any other group of dot nodes, as a sum of products.

The local derivatives of a dot come from the row's ``bilinear`` flag: for a weight its input,
for an input its weight, for the bias 1.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import numpy as np

from ..ops import Op, UndefinedGradient
from ._kernels import Kernel
from ._operands import Matrix, Operand, Windows

__all__ = [
    "BILINEAR",
    "Dot",
    "Elementwise",
    "Instruction",
    "KernelInstruction",
    "LayerDot",
    "Site",
    "Variadic",
]

BILINEAR = "bilinear"  # the kind of a dot instruction
# where a backward pass writes gradients into GB, and which batch slots it writes
Site: TypeAlias = tuple[Operand | Windows, np.ndarray]


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

    def gradient_sites(self) -> list[Site]:
        """Where :meth:`backward` writes gradients into ``GB``: each operand (or windows) it
        scatters into, with the batch slots it writes (Note [assigned gradients])."""
        return []


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
        self.fixed: tuple[float, ...] | None = op.fixed_derivative  # a linear op's, once

    def local_derivatives(self) -> tuple[Any, ...]:
        """The local derivatives at the last forward's inputs, one per input."""
        if self.fixed is not None:
            return self.fixed
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
            if not needed:
                continue
            if operand.assign and type(local) is np.ndarray:  # straight into its block of GB
                np.multiply(local, g, out=GB[operand.index])
            else:
                operand.scatter(GS, GB, _times(local, g))

    def gradient_sites(self) -> list[Site]:
        needed = zip(self.operands, self.needs_grad, strict=True)
        return [(o, o.batch_slots()) for o, n in needed if n]


class Variadic(KernelInstruction):
    """``k`` nodes of a variadic op with ``m`` inputs each: one ``(m, k)`` operand, input-major,
    so that input ``j`` of every node is one contiguous block ``values[j]`` of ``(k, N)`` and a
    reduction over the inputs runs along the first axis."""

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
        self.values = np.empty(0)
        if op.linear:  # a sum's ones, once for its number of inputs
            self.fixed = op.local_derivatives((0.0,) * operand.shape[0], 0.0, arg)
        # a sum into inputs that all need it: each gets the output's gradient as it is
        self.passes_on = self.fixed == (1.0,) * operand.shape[0] and all(needs_grad)

    def forward(self, S: np.ndarray, B: np.ndarray) -> None:
        values = self.operand.gather(S, B)
        reduce = self.kernel.reduce
        out = reduce(values, axis=0) if reduce else self.kernel.forward(list(values), self.arg)
        (B if self.out_batch else S)[self.out] = out
        self.values = values
        self.saved = ([], out)  # the inputs, listed only if a rule needs them (local_derivatives)

    def local_derivatives(self) -> tuple[Any, ...]:
        if self.fixed is None and not self.saved[0]:
            self.saved = (list(self.values), self.saved[1])
        return super().local_derivatives()

    def backward(self, S: np.ndarray, B: np.ndarray, GS: np.ndarray, GB: np.ndarray) -> None:
        if not self.any_needed:
            return
        g = (GB if self.out_batch else GS)[self.out]
        if self.kernel.first_equal and self.operand.all_batch:
            self._to_the_first_equal(GB, g)
            return
        if self.passes_on:
            self.operand.scatter(GS, GB, g[None])
            return
        passed = [
            _times(local, g) if needed else None
            for local, needed in zip(self.local_derivatives(), self.needs_grad, strict=True)
        ]
        if all(p is g for p in passed):  # every local derivative is 1 (a sum): g for each input
            self.operand.scatter(GS, GB, g[None])
            return
        zero = np.zeros(g.shape)
        columns = [zero if p is None else np.broadcast_to(p, g.shape) for p in passed]
        self.operand.scatter(GS, GB, np.stack(columns))

    def gradient_sites(self) -> list[Site]:
        return [(self.operand, self.operand.batch_slots())] if self.any_needed else []

    def _to_the_first_equal(self, GB: np.ndarray, g: np.ndarray) -> None:
        """A max-pooling layer's backward: each node's gradient to its first input equal to its
        output, found in one pass (``Kernel.first_equal``). A sample holding NaN, where no input
        equals the output, goes to the engine anyway."""
        out = self.saved[1]
        chosen = _first_true(self.values == out)  # (k, N): the first input equal to the output
        k = chosen.shape[0]
        slots = self.operand.slots[chosen, np.arange(k)[:, None]]
        flat = slots * GB.shape[1] + np.arange(GB.shape[1])
        store = GB.reshape(-1)  # a view: GB is contiguous
        if self.operand.unique:
            store[flat] += g
        else:
            np.add.at(store, flat, g)


_FIRST_BIT: dict[int, tuple[np.ndarray, np.ndarray]] = {}
_ARGMAX_BELOW = 1024  # elements: below this, argmax's smaller fixed cost wins


def _first_true(found: np.ndarray) -> np.ndarray:
    """For each ``[:, i, n]`` of an ``(m, k, N)`` bool array, the index of its first ``True``.

    ``argmax`` along the first axis costs about as much per element as a Python loop would;
    reading the ``m`` bools as the bits of a number and looking its first bit up in a table of
    ``2**m`` entries is several times faster, for ``m`` up to 16 (a pooling window), once the
    array is large enough to pay for the extra calls."""
    m = found.shape[0]
    if m > 16 or found.size < _ARGMAX_BELOW:
        chosen: np.ndarray = found.argmax(axis=0)
        return chosen
    if m not in _FIRST_BIT:
        weights = (1 << np.arange(m - 1, -1, -1)).astype(np.uint16)[:, None, None]
        table = np.array([m - code.bit_length() for code in range(1 << m)]) % m
        _FIRST_BIT[m] = (weights, table)
    weights, table = _FIRST_BIT[m]
    code = (found.view(np.uint8) * weights).sum(axis=0, dtype=np.uint16)
    first: np.ndarray = table[code]
    return first


class LayerDot(Instruction):
    """``F x P`` dot nodes ``W[f]·X[p] + b[f]``, node ``f * P + p`` of the group: one matrix
    product ``(F, m) @ (m, P * N)`` forward, two backward (see the module docstring)."""

    kind = BILINEAR

    def __init__(
        self,
        op: Op,
        weights: Matrix,
        windows: Windows,
        bias: Matrix | None,
        out: slice,
        needs_grad: list[bool],
    ) -> None:
        self.op, self.weights, self.windows, self.bias, self.out = op, weights, windows, bias, out
        self.out_batch = True
        self.needs_grad = needs_grad  # weights, inputs, bias
        self.F = weights.slots.shape[0]
        self.saved: tuple[Any, ...] = ()

    def forward(self, S: np.ndarray, B: np.ndarray) -> None:
        w = self.weights.value(S)
        x = self.windows.gather(B)
        out = B[self.out].reshape(self.F, -1)  # a view: the group's block of the store
        _matmul(w, x, out=out)
        if self.bias is not None:
            out += self.bias.value(S)  # (F, 1)
        self.saved = (w, x)

    def backward(self, S: np.ndarray, B: np.ndarray, GS: np.ndarray, GB: np.ndarray) -> None:
        w, x = self.saved
        need_w, need_x, need_b = self.needs_grad
        g = GB[self.out].reshape(self.F, -1)
        if need_w:
            self.weights.add_grad(GS, _matmul(g, x.T))
        if need_x and self.windows.assign:  # straight into its block of GB
            _matmul(w.T, g, out=GB[self.windows.index])
        elif need_x:
            self.windows.scatter(GB, _matmul(w.T, g))
        if need_b and self.bias is not None:
            self.bias.add_grad(GS, g.sum(axis=1, keepdims=True))

    def gradient_sites(self) -> list[Site]:
        return [(self.windows, self.windows.batch_slots())] if self.needs_grad[1] else []


# Note [outer products]
# A product over one term is an outer product: a layer's one output (w.T @ g for a hinge or a
# regression head), one input (w @ x), or a batch of one (g @ x.T, a weight gradient). The BLAS
# runs it as a general matrix product at about twice the time of NumPy's broadcast
# multiplication, which computes the same products (a @ b adds each to 0.0; the only difference
# is -0.0 for 0.0, which is equal).
def _matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``a @ b``, an outer product as a multiplication (Note [outer products])."""
    outer = a.shape[1] == 1
    product: np.ndarray = np.multiply(a, b, out=out) if outer else np.matmul(a, b, out=out)
    return product


class Dot(Instruction):
    """``k`` weighted sums ``w·x + b`` that do not form a layer (weights read from the batch,
    say): a sum of products over each node's inputs."""

    kind = BILINEAR

    def __init__(
        self,
        op: Op,
        w: Operand,
        x: Operand,
        b: Operand | None,
        out: slice,
        out_batch: bool,
        needs_grad: list[bool],
    ) -> None:
        self.op, self.w, self.x, self.b, self.out, self.out_batch = op, w, x, b, out, out_batch
        self.needs_grad = needs_grad  # weights, inputs, bias
        self.saved: tuple[Any, ...] = ()

    def forward(self, S: np.ndarray, B: np.ndarray) -> None:
        wv = self.w.gather(S, B)
        xv = self.x.gather(S, B)
        out = (wv * xv).sum(axis=1)
        if self.b is not None:
            out = out + self.b.gather(S, B)
        (B if self.out_batch else S)[self.out] = out
        self.saved = (wv, xv)

    def backward(self, S: np.ndarray, B: np.ndarray, GS: np.ndarray, GB: np.ndarray) -> None:
        g = (GB if self.out_batch else GS)[self.out]
        wv, xv = self.saved
        need_w, need_x, need_b = self.needs_grad
        gm = g[:, None]
        if need_w:
            self.w.scatter(GS, GB, xv * gm)
        if need_x:
            self.x.scatter(GS, GB, wv * gm)
        if need_b and self.b is not None:
            self.b.scatter(GS, GB, g)

    def gradient_sites(self) -> list[Site]:
        sides = (self.w, self.x, self.b)
        needed = zip(sides, self.needs_grad, strict=True)
        return [(o, o.batch_slots()) for o, n in needed if n and o is not None]
