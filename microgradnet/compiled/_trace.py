"""Tracing: the graph one call of the user's function builds, flattened in topological order.

:func:`trace` calls the function once on fresh leaf ``Value``s and records every node it
reached, each after its parents (the package's one traversal,
:func:`microgradnet._graph.topological_order`). :func:`compare_traces` checks that a second trace,
on other data, built the same graph: the condition for replaying one program on every sample
(see Note [the structure rule] in :mod:`microgradnet.compiled`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._graph import topological_order
from ..engine import Value, is_grad_enabled
from ..ops import Op

__all__ = ["Node", "Trace", "TraceError", "compare_traces", "trace"]


class TraceError(RuntimeError):
    """A traced program would not compute what the function computes (its graph depends on the
    data), or the function cannot be traced."""


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
        """Node ``i`` in words, for error messages."""
        node = self.nodes[i]
        if node.kind == "input":
            return f"input {node.position}"
        if node.kind == "leaf":
            return f"leaf {node.value.data!r}"
        assert node.op is not None
        return f"{node.op.name} of nodes {list(node.parents)}"


def trace(fn: Callable[..., Any], args: Sequence[np.ndarray], has_aux: bool) -> Trace:
    """Call ``fn`` once on fresh leaf Values holding ``args`` and record the graph it built."""
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
    position = {v: i for i, v in enumerate(leaves)}
    order = topological_order([*outputs, *aux_values], stop=position.keys())
    index = {v: i for i, v in enumerate(order)}
    nodes = []
    for v in order:
        record = v.op_record
        if v in position:
            nodes.append(Node("input", v, position=position[v]))
        elif record is None:
            nodes.append(Node("leaf", v))
        else:
            parents = tuple(index[p] for p in v.parents)
            nodes.append(Node("op", v, op=record, arg=v.op_arg, parents=parents))
    return Trace(
        nodes,
        [index[v] for v in outputs],
        [index[v] for v in aux_values],
        output_shape,
        aux_shape,
    )


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


def _nest(flat: list[Value], shape: tuple[int, ...]) -> Any:
    if not shape:
        return flat[0]
    if len(shape) == 1:
        return flat
    step = len(flat) // shape[0]
    return [_nest(flat[i * step : (i + 1) * step], shape[1:]) for i in range(shape[0])]


_STRUCTURE_ADVICE = (
    "A compiled function must build the same graph for every sample (no Python `if` on .data, "
    "no max() by value); write branches as ops such as relu, or use the dynamic engine"
)


def compare_traces(first: Trace, second: Trace, where: str) -> set[int]:
    """Raise ``TraceError`` unless both traces built the same graph; return the indices of the
    leaves that are the same ``Value`` in both (persistent: parameters)."""
    if len(first.nodes) != len(second.nodes):
        raise TraceError(
            f"the graph's structure depends on the data: {len(first.nodes)} nodes for the example "
            f"but {len(second.nodes)} for {where}. {_STRUCTURE_ADVICE}"
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
                f"{_STRUCTURE_ADVICE}"
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
    return bool(a is b or a == b)
