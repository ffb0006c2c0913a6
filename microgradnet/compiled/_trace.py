"""Tracing: the graph one call of the user's function builds, flattened in topological order.

:func:`trace` calls the function once on fresh leaf ``Value``s and records every node it
reached, each after its parents (the package's one traversal,
:func:`microgradnet._graph.topological_order`), as flat lists: a trace of 10^5 nodes is a few
lists, not 10^5 objects. While the function runs, data-dependent Python raises
:class:`TraceError` (:mod:`microgradnet.compiled._guard`). :func:`compare_traces` checks that a
second trace, on other data, built the same graph: the condition for replaying one program on
every sample (see Note [the structure rule] in :mod:`microgradnet.compiled`).
"""

from __future__ import annotations

import contextlib
import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._graph import topological_order
from ..engine import Value, is_grad_enabled
from ..ops import Op
from ._guard import TraceError, guarding

__all__ = ["Trace", "TraceError", "compare_traces", "trace"]


@dataclass
class Trace:
    """The graph one call built, node ``i`` of each list being the ``i``-th in topological order.

    Attributes:
        values: the nodes themselves.
        ops: each node's op, ``None`` for a leaf.
        args: each node's constant argument (``None`` if it has none).
        parents: each node's inputs, as indices into the lists.
        position: for each input leaf, its position among the flattened inputs (others: -1).
        outputs / aux: where the outputs (and the aux outputs) are; their shapes.
    """

    values: list[Value]
    ops: list[Op | None]
    args: list[Any]
    parents: list[tuple[int, ...]]
    position: list[int]
    outputs: list[int]
    aux: list[int]
    output_shape: tuple[int, ...]
    aux_shape: tuple[int, ...]

    def describe(self, i: int) -> str:
        """Node ``i`` in words, for error messages."""
        op = self.ops[i]
        if op is not None:
            return f"{op.name} of nodes {list(self.parents[i])}"
        if self.position[i] >= 0:
            return f"input {self.position[i]}"
        return f"leaf {self.values[i].data!r}"


def trace(
    fn: Callable[..., Any], args: Sequence[np.ndarray], has_aux: bool, guard: bool = True
) -> Trace:
    """Call ``fn`` once on fresh leaf Values holding ``args`` and record the graph it built;
    with ``guard``, data-dependent Python in ``fn`` raises :class:`TraceError`."""
    if not is_grad_enabled():
        raise TraceError("cannot trace inside no_grad(): no graph would be recorded")
    leaves: list[Value] = []
    structured = []
    for arg in args:
        flat = [Value(v) for v in arg.ravel().tolist()]
        leaves.extend(flat)
        structured.append(_nest(flat, arg.shape))
    with guarding(leaves) if guard else contextlib.nullcontext():
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
    inputs = {v: i for i, v in enumerate(leaves)}
    order = topological_order([*outputs, *aux_values], stop=inputs.keys())
    index = {v: i for i, v in enumerate(order)}
    at = index.__getitem__
    ops: list[Op | None] = [v.op_record for v in order]
    # leaves (nearly every node of a network: its weights) cost one look-up each
    parents = [
        () if op is None else tuple(map(at, v.parents)) for v, op in zip(order, ops, strict=True)
    ]
    args_ = [
        v.op_arg if op is not None and op.const else None for v, op in zip(order, ops, strict=True)
    ]
    position = [inputs.get(v, -1) for v in order] if inputs else [-1] * len(order)
    return Trace(
        order,
        ops,
        args_,
        parents,
        position,
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
    n = len(first.values)
    if len(second.values) != n:
        raise TraceError(
            f"the graph's structure depends on the data: {n} nodes for the example but "
            f"{len(second.values)} for {where}. {_STRUCTURE_ADVICE}"
        )
    same = (
        first.parents == second.parents
        and first.position == second.position
        and all(map(operator.is_, first.ops, second.ops))
        and all(map(_same_arg, first.args, second.args))
    )
    if not same:
        i = next(i for i in range(n) if not _same_node(first, second, i))
        raise TraceError(
            f"the graph's structure depends on the data: node {i} is {first.describe(i)} for "
            f"the example but {second.describe(i)} for {where}. {_STRUCTURE_ADVICE}"
        )
    persistent = set()
    for i, (op, position) in enumerate(zip(first.ops, first.position, strict=True)):
        if op is not None or position >= 0:
            continue
        a, b = first.values[i], second.values[i]
        if a is b:
            persistent.add(i)
        elif not _same_number(a.data, b.data):
            raise TraceError(
                f"a constant in the graph depends on the data: node {i} is {a.data!r} for the "
                f"example but {b.data!r} for {where}. Its value was read through .data or "
                "float() of an input, so the compiled program would freeze it; compute it with "
                "Value ops, or use the dynamic engine"
            )
    if (first.outputs, first.aux, first.output_shape, first.aux_shape) != (
        second.outputs,
        second.aux,
        second.output_shape,
        second.aux_shape,
    ):
        raise TraceError(f"the function's outputs differ in structure for {where}")
    return persistent


def _same_node(first: Trace, second: Trace, i: int) -> bool:
    return (
        first.ops[i] is second.ops[i]
        and first.parents[i] == second.parents[i]
        and first.position[i] == second.position[i]
        and _same_arg(first.args[i], second.args[i])
    )


def _same_number(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def _same_arg(a: Any, b: Any) -> bool:
    return bool(a is b or a == b or (a != a and b != b))  # NaN arguments are the same
