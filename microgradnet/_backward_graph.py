"""The backward walk that builds each gradient as a graph (``grad(..., create_graph=True)``), of
fused nodes, so that differentiating it again costs a few backward passes.

Note [fused gradients]
The chain rule makes a node's gradient a sum over its consumers, Σ local·upstream. Built one
product and one addition at a time, the gradient of a neuron's w·x + b (one dot node of 2n
inputs) would add 4n nodes, and a Hessian-vector product through a network of width 64 would
walk 30 times the nodes of its gradient. Instead, the terms a node receives are collected while
the walk passes its consumers, and when the walk reaches the node (all its consumers done) they
become one node: the upstream gradient itself for a single term whose local derivative is 1, a
product for any other single term, and otherwise one dot node Σ localᵢ·upstreamᵢ, the locals as
its weights. The local derivatives of a dot or a product are its other factors, nodes that
already exist, so the gradient of a network is again a graph of dot nodes, one per parameter
and one per activation, with as many edges as the network has.

Note [shared tuples]
A layer's dot nodes share their tuples (each neuron's weights over the batch, each sample's
inputs over the neurons), and so do their gradients. What a dot node passes to the elements of
its weights is noted once per node, as (its inputs, its gradient), under the weights tuple; and
likewise under its inputs tuple. When the walk reaches an element of a tuple, every consumer of
the tuple is done, and the tuple's notes become terms for all its elements at once: for weight
j, the column (x¹ⱼ, x²ⱼ, ...) of the inputs against the gradients (g¹, g², ...); for input j,
the column of the weights against the neurons' gradients. The columns come from ``zip`` (in C),
the same column is reused by every row that has the same inputs, and the tuple of gradients is
shared by a row's weights: the gradient's graph shares its tuples as the network's does, which
the next backward walk looks through once each (Note [fused nodes] in _backward.py).

Note [the order of terms]
A dot node sums its products from 0.0, left to right, in the order its terms arrived, which is
the order in which the reference adds them: so a gradient's data is the reference's to the last
bit (but for the sign of a zero) wherever a node's terms all come from one tuple's consumers,
or all from other nodes. A node that gets terms both ways, or from two tuples, or that appears
twice in one tuple, gets the other nodes' terms first and then each tuple's: the same sum in
another order.

Note [undefined terms]
A local derivative that does not exist (``ops.UndefinedGradient``) makes its term, and so the
gradient it joins, undefined; an undefined gradient makes every term it sends on undefined. They
are kept aside rather than in a dot node, and reported only if one reaches a gradient that is
returned, as the float walk does.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection, Sequence
from typing import Any

from .ops import DOT, Op, UndefinedGradient

__all__ = ["use_node_maker", "walk_building_graph"]

# The engine's node maker, record(op, data, x, y), handed over by the engine when it is imported
# (this module is below it): a gradient's dot node is built directly from nodes.
_record: Callable[[Op, float, Any, Any], Any] | None = None
_mul = operator.mul
_data = operator.attrgetter("data")


def use_node_maker(record: Callable[[Op, float, Any, Any], Any]) -> None:
    """Build nodes with ``record(op, data, x, y)`` (the engine's, as ``Value`` stores them)."""
    global _record
    _record = record


def walk_building_graph(
    order: Sequence[Any],
    root: Any,
    seed: Any,
    inputs: Collection[Any],
    hooks: Callable[[Any, Any], Any] | None = None,
) -> dict[Any, Any]:
    """The gradients of ``inputs``, as graphs, from ``seed`` at ``root`` through ``order`` (the
    nodes to walk, each after its parents).

    ``hooks(node, gradient)``, if given, is called with each node's complete gradient and
    returns the gradient to use. Inputs no gradient reaches are missing from the result."""
    wanted = set(inputs)
    if not order or order[-1] is not root:  # a leaf, or a root leading to no input
        if root not in wanted:
            return {}
        return {root: seed if hooks is None else hooks(root, seed)}
    sums = _Sums(type(seed))
    results: dict[Any, Any] = {}
    for node in reversed(order):  # consumers first
        g = seed if node is root else sums.gradient(node)
        if g is None:
            continue  # no gradient reaches the node
        if hooks is not None and type(g) is not UndefinedGradient:
            g = hooks(node, g)
        if node in wanted:
            results[node] = g
        sums.pass_on(node, g)
    for x in wanted - results.keys():  # leaves: their gradients are complete only now
        g = sums.gradient(x)
        if g is not None:
            results[x] = g if hooks is None or type(g) is UndefinedGradient else hooks(x, g)
    return results


class _Sums:
    """The terms each node has received, and the gradient they make."""

    def __init__(self, node_class: Any) -> None:
        self.node_class = node_class
        self.one = node_class(1.0)  # the local derivative of a term passed on as it is
        self.constants: dict[float, Any] = {1.0: self.one}
        self.terms: dict[Any, list[Any]] = {}  # node: [local, upstream, local, upstream, ...]
        self.undefined: dict[Any, UndefinedGradient] = {}  # Note [undefined terms]
        # Note [shared tuples]: (id(tuple), role, n) -> [tuple, role, n, [(other, g), ...]],
        # the tuples each node is an element of, and the columns made so far.
        self.notes: dict[tuple[int, str, int], list[Any]] = {}
        self.tuples_of: dict[Any, list[list[Any]]] = {}
        self.columns: dict[tuple[int, ...], list[tuple[Any, ...]]] = {}
        self.bulk: dict[Any, list[tuple[tuple[Any, ...], tuple[Any, ...]]]] = {}

    # ----- receiving -----
    def add(self, parent: Any, local: Any, g: Any) -> None:
        kind = type(local)
        if kind is float:
            if local == 0.0:
                return  # 0 times anything, even an undefined gradient, is 0
            constants = self.constants
            local = constants.get(local) or constants.setdefault(local, self.node_class(local))
        elif kind is not self.node_class:
            self.undefined.setdefault(parent, local)
            return
        t = self.terms.get(parent)
        if t is None:
            self.terms[parent] = [local, g]
        else:
            t.append(local)
            t.append(g)

    def note(self, elements: tuple[Any, ...], role: str, n: int, other: Any, g: Any) -> None:
        """A dot node passes ``g`` times ``other``'s entries to ``elements`` (its weights or its
        inputs, of which the first ``n`` are multiplied): Note [shared tuples]."""
        key = (id(elements), role, n)
        notes = self.notes.get(key)
        if notes is None:
            notes = self.notes[key] = [elements, role, n, []]
            tuples_of = self.tuples_of
            for element in elements:
                found = tuples_of.get(element)
                if found is None:
                    tuples_of[element] = [notes]
                else:
                    found.append(notes)
        notes[3].append((other, g))

    def pass_on(self, node: Any, g: Any) -> None:
        """The terms ``node`` (its gradient ``g`` complete) sends to each of its inputs."""
        if type(g) is not self.node_class:  # undefined: so is every nonzero term it sends on
            parents = node.parents
            for parent, local in zip(parents, _locals(node), strict=True):
                if not (type(local) is float and local == 0.0):
                    self.undefined.setdefault(parent, g)
            return
        op = node._op
        arity = op.arity
        if arity == 2:
            x = node._x
            y = node._y
            if op.bilinear:  # x * y: each factor's local derivative is the other
                self.add(x, y, g)
                self.add(y, x, g)
            else:
                dx, dy = op.fixed_derivative or op.local_derivatives((x, y), node)
                self.add(x, dx, g)
                self.add(y, dy, g)
        elif arity == 1:
            if op.gates and not node.data:
                return  # a relu at 0 passes nothing on
            (dx,) = op.local_derivatives((node._x,), node, node._y)
            self.add(node._x, dx, g)
        elif op.bilinear:  # w·x + b: Note [shared tuples]
            weights = node._x
            inputs = node._y
            n = len(inputs)
            self.note(weights, "weights", n, inputs, g)
            self.note(inputs, "inputs", n, weights, g)
        else:
            parents = node.parents
            for parent, local in zip(parents, op.local_derivatives(parents, node), strict=True):
                self.add(parent, local, g)

    # ----- the gradient -----
    def gradient(self, node: Any) -> Any:
        """Σ local·upstream over every term ``node`` received (``None`` if none): one node."""
        if node in self.undefined:
            return self.undefined.pop(node)
        for notes in self.tuples_of.pop(node, ()):
            if notes[3]:
                self._spread(notes)
        t = self.terms.pop(node, None)
        bulk = self.bulk.pop(node, None)
        if bulk is None:
            if t is None:
                return None
            if len(t) == 2:
                local, upstream = t
                return upstream if local is self.one else local * upstream
            return _dot(tuple(t[0::2]), tuple(t[1::2]))
        if t is None and len(bulk) == 1:
            locals_, upstreams = bulk[0]
            if len(upstreams) == 1:
                return upstreams[0] if locals_[0] is self.one else locals_[0] * upstreams[0]
            return _dot(locals_, upstreams)
        locals_, upstreams = (tuple(t[0::2]), tuple(t[1::2])) if t else ((), ())
        for more_locals, more_upstreams in bulk:
            locals_ += more_locals
            upstreams += more_upstreams
        return _dot(locals_, upstreams)

    def _spread(self, notes: list[Any]) -> None:
        """Turn a tuple's notes into terms for each of its elements: Note [shared tuples]."""
        elements, role, n, received = notes
        others = [other for other, _ in received]
        upstreams = tuple(g for _, g in received)
        notes[3] = []
        key = tuple(map(id, others))
        columns = self.columns.get(key)
        if columns is None:  # column j: entry j of every other tuple, in the order noted
            columns = self.columns[key] = list(zip(*others, strict=False))
        bulk = self.bulk
        for element, column in zip(elements, columns[:n], strict=False):
            entry = (column, upstreams)
            found = bulk.get(element)
            if found is None:
                bulk[element] = [entry]
            else:
                found.append(entry)
        if role == "weights" and len(elements) > n:  # the bias: each gradient as it is
            entry = ((self.one,) * len(upstreams), upstreams)
            bulk.setdefault(elements[-1], []).append(entry)


def _dot(locals_: tuple[Any, ...], upstreams: tuple[Any, ...]) -> Any:
    """One dot node Σ localᵢ·upstreamᵢ, its data ops.DOT's very expression (as Value.dot's):
    the sum from 0.0, left to right."""
    assert _record is not None, "the engine hands over its node maker when it is imported"
    data = sum(map(_mul, map(_data, locals_), map(_data, upstreams)), 0.0)
    return _record(DOT, data, locals_, upstreams)


def _locals(node: Any) -> tuple[Any, ...]:
    """The node's local derivatives on ``Value``s, for spreading an undefined gradient (rare)."""
    parents = node.parents
    return node._op.local_derivatives(parents, node, node.op_arg)  # type: ignore[no-any-return]
