"""A trace grouped into instructions over two stores, and run with NumPy.

The program groups a trace's op nodes into instructions: nodes of the same op (and constant
argument) whose inputs are all computed at an earlier depth, so that one NumPy call evaluates a
whole layer of neurons for a whole batch. Values live in two stores:

* ``S``, the *shared* store, one float per slot: parameters, constants and every node computed
  from them alone (an L2 penalty, say), evaluated once per call;
* ``B``, the *batch* store, one row of ``N`` floats per slot: the inputs and every node that
  depends on them.

Which instruction runs a group is read from the op's row (its ``arity`` and ``bilinear``
fields), and the kernel it runs is derived from the row's rules
(:mod:`microgradnet.compiled._kernels`): nothing here knows any op by name.

Note [slots in reading order]
The nodes of a group get consecutive slots, so that the group's output is one block of a store.
In which order matters for speed: a consumer reading the block in the order of its slots (the
next layer reading this layer's outputs) gets a plain view, while a reversed view makes the
next matrix product or ufunc about 1.4x slower (16 neurons, a batch of 100). The nodes come
from :func:`microgradnet._graph.topological_order`, which expands the last parent of a node
first, so the nodes a consumer reads in order come out last-first; slots are given in the
reverse of that. Nodes of one group never depend on one another (they share a level), so any
order among them is a valid one.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..engine import Value
from ..ops import VARIADIC, Op
from ._instructions import Dot, Elementwise, Instruction, KernelInstruction, Operand, Variadic
from ._kernels import POINTS_PER_OP, Point, kernel_for, spread
from ._trace import Node, Trace

__all__ = ["Program"]


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
        of_op: dict[Op, list[int]] = {}  # each op's nodes: its kernel is tried on them
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
            of_op.setdefault(node.op, []).append(i)

        self.instructions: list[Instruction] = []
        for key in sorted(groups, key=lambda k: (k[0], groups[k][0])):
            members = groups[key][::-1]  # see Note [slots in reading order]
            out_batch = bool(batch[members[0]])
            if out_batch:
                start, n_batch = n_batch, n_batch + len(members)
            else:
                start, n_shared = n_shared, n_shared + len(members)
            slot[members] = np.arange(start, start + len(members))
            out = slice(start, start + len(members))
            layout = _Layout(nodes, members, batch, slot, needs, out, out_batch)
            self.instructions.append(layout.instruction(of_op))

        self.n_shared, self.n_batch = n_shared, n_batch
        self.shared_template = np.zeros(n_shared)
        first_constant = len(parameters)
        self.shared_template[first_constant : first_constant + len(constants)] = constants
        self.output_slots = [(int(slot[i]), bool(batch[i])) for i in trace.outputs]
        self.aux_slots = [(int(slot[i]), bool(batch[i])) for i in trace.aux]

    def kernel_kinds(self) -> dict[Op, str]:
        """How each op of the program runs: ``"vectorised"``, ``"element-wise"`` or
        ``"bilinear"`` (see :class:`~microgradnet.compiled._kernels.Kernel`)."""
        return {instruction.op: instruction.kind for instruction in self.instructions}

    def kernel_instructions(self) -> list[KernelInstruction]:
        """The instructions that run an op's kernel (every one but the dot products)."""
        return [i for i in self.instructions if isinstance(i, KernelInstruction)]

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
        """Run every instruction, in order, filling the stores."""
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


def _point(node: Node, nodes: list[Node]) -> Point:
    return tuple(nodes[p].value.data for p in node.parents), node.value.data, node.arg


class _Layout:
    """Where the inputs of a group of nodes (same op, argument and layout) live, and the
    instruction that runs them."""

    def __init__(
        self,
        nodes: list[Node],
        members: list[int],
        batch: np.ndarray,
        slot: np.ndarray,
        needs: np.ndarray,
        out: slice,
        out_batch: bool,
    ) -> None:
        first = nodes[members[0]]
        assert first.op is not None
        self.op, self.arg, self.out, self.out_batch = first.op, first.arg, out, out_batch
        self.parents = np.array([nodes[i].parents for i in members], dtype=int)  # (k, n_inputs)
        self.slots, self.kinds = slot[self.parents], batch[self.parents]
        self.needs = needs
        self.nodes = nodes

    def operand(self, columns: Any, into_batch: bool | None = None) -> Operand:
        out_batch = self.out_batch if into_batch is None else into_batch
        return Operand(self.slots[:, columns], self.kinds[:, columns], out_batch)

    def needed(self, columns: Any) -> bool:
        return bool(self.needs[self.parents[:, columns]].any())

    def points(self, indices: list[int]) -> list[Point]:
        """The traced nodes ``indices`` as points to try a kernel on."""
        return [_point(self.nodes[i], self.nodes) for i in indices]

    def instruction(self, of_op: dict[Op, list[int]]) -> Instruction:
        op, arg, out, out_batch = self.op, self.arg, self.out, self.out_batch
        n_inputs = self.parents.shape[1]
        if op.bilinear and op.arity == VARIADIC:
            return self.dot()
        kernel = kernel_for(op, lambda: self.points(spread(of_op[op], POINTS_PER_OP)))
        needs_grad = [self.needed(j) for j in range(n_inputs)]
        if op.arity == VARIADIC:
            everything = self.operand(slice(None))
            return Variadic(op, arg, kernel, everything, out, out_batch, needs_grad)
        operands = [self.operand(j) for j in range(n_inputs)]
        return Elementwise(op, arg, kernel, operands, out, out_batch, needs_grad)

    def dot(self) -> Dot:
        """``w·x + b`` over the group: ``(w..., x..., b)`` with an optional bias last."""
        n_inputs = self.parents.shape[1]
        m = n_inputs // 2
        ws, xs = slice(0, m), slice(m, 2 * m)
        rows, kinds = self.slots[:, xs], self.kinds
        dense = bool(
            self.out_batch
            and not kinds[:, ws].any()
            and kinds[:, xs].all()
            and (rows == rows[0]).all()
        )
        if dense:
            w = self.operand(ws, into_batch=False)
            x = Operand(rows[0], kinds[0, xs], True)
        else:
            w, x = self.operand(ws), self.operand(xs)
        has_bias = n_inputs % 2 == 1
        b = self.operand(-1) if has_bias else None
        needs_grad = [self.needed(ws), self.needed(xs), has_bias and self.needed(-1)]
        return Dot(self.op, w, x, b, dense, self.out, self.out_batch, needs_grad)


def _arg_key(arg: Any) -> Any:
    if isinstance(arg, float) and math.isnan(arg):
        return "nan"
    return arg
