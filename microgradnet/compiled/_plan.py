"""A trace grouped for NumPy: which nodes run together, and where every value lives.

The plan groups a trace's op nodes: nodes of the same op (and constant argument and layout)
whose inputs are all computed at an earlier depth, so that one NumPy call evaluates a whole
layer of neurons for a whole batch. Values live in two stores:

* ``S``, the *shared* store, one float per slot: parameters, constants and every node computed
  from them alone (an L2 penalty, say), evaluated once per call;
* ``B``, the *batch* store, one row of ``N`` floats per slot: the inputs and every node that
  depends on them.

Planning takes one pass over the nodes and one over the groups, each node costing a few list
lookups, so it is linear in the size of the graph (Note [linear planning]).

Note [slots in reading order]
The nodes of a group get consecutive slots, so that the group's output is one block of a store,
and they are ordered by the slots of their inputs. Then the nodes that read a layer in order
(the next layer, its activations) read one block in slot order: a view of the store rather
than a gathered copy. A group of dot nodes is ordered by (weights, inputs): for a dense layer
that is neuron order, for a convolution (output channel, position), the order ``Flatten``
reads. Nodes of one group never depend on one another (they share a level), so any order among
them is a valid one.

Note [linear planning]
Everything per node is a Python list indexed by node (levels, batch flags, slots), never a NumPy
array indexed one node at a time, which costs microseconds per call; the per-group work (slot
matrices, factorising a layer) is NumPy over the whole group. Constants are kept once per
distinct value (the weights ``1/4`` of every average-pooling window share one slot).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..engine import Value
from ..ops import VARIADIC, Op
from ._trace import Trace

__all__ = ["Group", "Plan", "plan"]


class Group:
    """Nodes of one op run by one instruction: their indices in slot order and their block
    ``out`` of the batch store (``out_batch``) or the shared store."""

    __slots__ = ("arg", "members", "op", "out", "out_batch")

    def __init__(self, op: Op, arg: Any, members: list[int], start: int, out_batch: bool) -> None:
        self.op, self.arg, self.members, self.out_batch = op, arg, members, out_batch
        self.out = slice(start, start + len(members))


@dataclass
class Plan:
    """Where every node's value lives and the groups, in the order they run.

    Attributes:
        slot, batch, needs: per node, its slot, whether that is in the batch store, and whether
            a wanted gradient lies behind it.
        groups: the op groups, in execution order.
        n_shared, n_batch: the sizes of the two stores.
        constants: the values of the constant slots, which follow the parameters'.
    """

    slot: list[int]
    batch: list[bool]
    needs: list[bool]
    groups: list[Group]
    n_shared: int
    n_batch: int
    constants: list[float]


def _constant_key(x: float) -> str:
    return "nan" if math.isnan(x) else x.hex()  # -0.0 and 0.0 stay apart


def plan(
    trace: Trace,
    n_inputs: int,
    parameters: Sequence[Value],
    wants_grad: Sequence[bool],
    inputs_want_grad: bool = False,
) -> Plan:
    """Group ``trace`` and give every node a slot (see the module docstring).

    Args:
        trace: the recorded graph.
        n_inputs: scalar inputs per sample (the batch store's first slots).
        parameters: persistent leaves, read live at every call, in slot order.
        wants_grad: for each parameter, whether its gradient is wanted.
        inputs_want_grad: whether the inputs' gradients are wanted (saliency).
    """
    ops, parents, position = trace.ops, trace.parents, trace.position
    n = len(ops)
    param_slot = {id(p): i for i, p in enumerate(parameters)}
    slot, batch = [-1] * n, [False] * n
    level, needs = [0] * n, [False] * n
    constants: dict[str, int] = {}
    constant_values: list[float] = []
    groups: dict[tuple[Any, ...], list[int]] = {}
    by_level: list[list[list[int]]] = [[]]  # each level's groups, in order of their first node
    for i, op in enumerate(ops):
        if op is None:
            if position[i] >= 0:
                slot[i], batch[i], needs[i] = position[i], True, inputs_want_grad
                continue
            value = trace.values[i]
            p = param_slot.get(id(value))
            if p is not None:
                slot[i], needs[i] = p, wants_grad[p]
                continue
            name = _constant_key(value.data)
            s = constants.get(name)
            if s is None:
                s = constants[name] = len(parameters) + len(constant_values)
                constant_values.append(value.data)
            slot[i] = s
            continue
        ps = parents[i]
        pattern = tuple(map(batch.__getitem__, ps))
        out_batch = batch[i] = any(pattern)
        needs[i] = any(map(needs.__getitem__, ps))
        depth = level[i] = 1 + max(map(level.__getitem__, ps), default=0)
        arg = trace.args[i]
        key = (depth, op, pattern, out_batch, "nan" if arg != arg else arg)
        members = groups.get(key)
        if members is None:
            members = groups[key] = []
            if depth == len(by_level):
                by_level.append([])
            by_level[depth].append(members)
        members.append(i)

    n_shared = len(parameters) + len(constant_values)
    n_batch = n_inputs
    ordered: list[Group] = []
    for level_groups in by_level:
        for members in level_groups:
            op = ops[members[0]]
            assert op is not None
            if len(members) > 1:
                members = _in_reading_order(members, op, parents, slot, batch)
            out_batch = batch[members[0]]
            if out_batch:
                start, n_batch = n_batch, n_batch + len(members)
            else:
                start, n_shared = n_shared, n_shared + len(members)
            for offset, i in enumerate(members, start):
                slot[i] = offset
            ordered.append(Group(op, trace.args[members[0]], members, start, out_batch))
    return Plan(slot, batch, needs, ordered, n_shared, n_batch, constant_values)


def _in_reading_order(
    members: list[int], op: Op, parents: list[tuple[int, ...]], slot: list[int], batch: list[bool]
) -> list[int]:
    """The members ordered by their inputs' slots (Note [slots in reading order])."""
    if len(members) == 1:
        return members
    if op.bilinear and op.arity == VARIADIC:
        first = parents[members[0]]
        m = len(first) // 2
        if batch[first[0]] and not batch[first[m]]:  # dot(x, w): the shared side first anyway
            return sorted(members, key=lambda i: _slots(parents[i][m : 2 * m] + parents[i], slot))
    return sorted(members, key=lambda i: _slots(parents[i], slot))


def _slots(nodes: tuple[int, ...], slot: list[int]) -> tuple[int, ...]:
    return tuple(map(slot.__getitem__, nodes))
