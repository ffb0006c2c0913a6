"""Forward mode: tangents carried through a graph from its inputs to its outputs.

Reverse mode starts at an output and, in one backward pass, finds the derivative of that output
with respect to every node: one row of the Jacobian per pass. Forward mode starts at the inputs
with a direction, a tangent for each input, and in one forward pass finds the derivative of every
node along that direction: one Jacobian-vector product, a column of the Jacobian when the
direction is one input's axis. Each node's tangent is the chain rule read the other way round,

    tangent(node) = Σ local_i · tangent(input_i),

with the same local derivatives, from the same rows of the op table (``op.local_derivatives``),
that backward uses, so an op added to the table works in forward mode with no extra code. A pass
takes the nodes in the order they were built, each after its inputs: the graph is the record of
the function's own forward pass, and the tangents follow it.

Tangents of exactly 0 are not carried (an input outside the direction, a constant): a node whose
inputs carry none has none, and its local derivatives are never computed. A local derivative
that does not exist (``ops.UndefinedGradient``) makes the tangent it joins undefined, which
raises only if it reaches an output.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ._backward import gradient_error
from ._graph import topological_order
from .ops import UndefinedGradient

__all__ = ["forward_order", "tangents"]


def forward_order(outputs: Iterable[Any]) -> list[Any]:
    """The nodes ``outputs`` were computed from, each after its inputs: the order of a forward
    pass."""
    return topological_order(outputs)


def tangents(order: list[Any], seeds: Mapping[Any, Any], create_graph: bool) -> dict[Any, Any]:
    """One forward pass over ``order``: the tangent of every node that gets one.

    Args:
        order: nodes, each after its inputs (:func:`forward_order`).
        seeds: the tangent of each input of the direction (floats, or ``Value``s).
        create_graph: compute local derivatives on ``Value``s, so that the tangents are graphs
            that can be differentiated again; otherwise on floats.

    Returns:
        A dict from node to tangent; a node missing from it has a tangent of 0.
    """
    tangent: dict[Any, Any] = {x: t for x, t in seeds.items() if not _is_zero(t)}
    for node in order:
        op = node.op_record
        if op is None or node in seeds:
            continue
        parents = node.parents
        carried = [(i, tangent[p]) for i, p in enumerate(parents) if p in tangent]
        if not carried:
            continue  # no input of this node moves along the direction
        try:
            if create_graph:
                local = op.local_derivatives(parents, node, node.op_arg)
            else:
                local = op.local_derivatives([p.data for p in parents], node.data, node.op_arg)
        except (ArithmeticError, ValueError) as error:
            raise gradient_error(node, error) from error
        terms = [(local[i], t) for i, t in carried if not _is_zero(local[i])]
        if terms:
            tangent[node] = _sum_of_products(terms, create_graph, node)
    return tangent


def _is_zero(x: object) -> bool:
    return type(x) is float and x == 0.0


def _sum_of_products(terms: list[tuple[Any, Any]], create_graph: bool, node: Any) -> Any:
    """Σ local · tangent: a float, or (``create_graph``) one node, as backward builds it."""
    for local, t in terms:
        if type(local) is UndefinedGradient:
            return local
        if type(t) is UndefinedGradient:
            return t
    if not create_graph:
        total = 0.0
        for local, t in terms:
            total += local * t
        return total
    if len(terms) == 1:
        local, t = terms[0]
        return t if type(local) is float and local == 1.0 else local * t
    return type(node).dot([local for local, _ in terms], [t for _, t in terms])
