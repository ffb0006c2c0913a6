"""Expressions for another engine: :func:`expressions`' shapes, realized with only the ops the
engine has shown it computes right.

:func:`~microgradnet.testing.expressions` keeps each op inside its domain by wrapping its inputs
(``log(x ** 2 + 1)``, ``exp(tanh(x))``). For another engine a wrapper may only use ops the engine
has and that already passed their own check; otherwise a failure of the wrapper would be blamed
on the op inside it. Where a wrapper would need any other op, the draw goes without it and is
rejected unless the op's input already lies where the row's fields keep it.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from hypothesis import reject
from hypothesis import strategies as st

from .. import ops
from ..ops import Op
from ._expressions import Shape, _input_shapes, _split_extra, shapes_and_points
from ._expressions import _with_a_variable as with_a_variable
from ._tree import KINK_MARGIN, LIMIT, Node, apply_op, bounded, constant, in_domain

__all__ = ["WRAPPER_OPS", "Sample", "samples"]

# The rows in_domain and bounded write wrappers with: check these first, so that they are
# trusted by the time other ops need them.
WRAPPER_OPS = (ops.ADD, ops.SUB, ops.MUL, ops.POW_CONST, ops.TANH)
_EDGE = 0.05  # without a wrapper, an input stays this far inside a half-open or open interval


@dataclass(frozen=True)
class Sample:
    """A drawn expression and its point."""

    root: Node
    inputs: tuple[float, ...]


def _uses_only(node: Node, inner: Collection[int], usable: Collection[Op]) -> bool:
    """Whether every op between ``node`` and the subtrees ``inner`` (by id) is usable."""
    if id(node) in inner or node.kind != "op":
        return True
    return node.op in usable and all(_uses_only(c, inner, usable) for c in node.children)


def _inside(value: float, input_range: ops.InputRange) -> bool:
    if input_range is None:
        return True
    if input_range == ops.MODERATE:
        return abs(value) <= 1.0
    if isinstance(input_range, str):
        return False
    low, high = input_range
    return low + _EDGE < value < high - _EDGE


def _fits(op: Op, children: Sequence[Node], arg: float | None) -> bool:
    """Whether ``op`` is defined and differentiable over ``children`` as they are."""
    ranges = op.ranges(arg, len(children))
    for i, child in enumerate(children):
        if not _inside(child.value, ranges[i] if i < len(ranges) else None):
            return False
    near_a_kink = (abs(children[0].value - kink) < KINK_MARGIN for kink in op.kinks)
    if op.kinks and len(children) == 1 and any(near_a_kink):
        return False
    if op.ties_are_kinks and len(children) > 1:
        first, second = sorted((c.value for c in children), reverse=True)[:2]
        if first - second < KINK_MARGIN:
            return False
    return True


def realize(shape: Shape, inputs: Sequence[float], usable: Collection[Op]) -> Node:
    """The tree of ``shape`` at ``inputs``, every wrapper written with ``usable`` ops only."""
    kind = shape[0]
    if kind == "var":
        return Node("var", inputs[shape[1]], index=shape[1])
    if kind == "const":
        return constant(shape[1])
    op, children, extra = shape
    arg, shift_up = _split_extra(op, extra)
    realized = [realize(child, inputs, usable) for child in _input_shapes(op, children)]
    placed = in_domain(op, realized, arg, shift_up)
    inner = {id(child) for child in realized}
    if not all(_uses_only(node, inner, usable) for node in placed):
        placed = realized
        if not _fits(op, placed, arg):
            reject()
    try:
        node = apply_op(op, placed, arg)
    except (ArithmeticError, ValueError):
        reject()
    if not math.isfinite(node.value):
        reject()
    if abs(node.value) > LIMIT and ops.MUL not in usable:
        reject()
    return bounded(node)


def samples(
    op_list: Sequence[Op],
    usable: Collection[Op],
    *,
    n_inputs: int = 2,
    max_leaves: int = 4,
    low: float = -3.0,
    high: float = 3.0,
) -> st.SearchStrategy[Sample]:
    """Expressions over ``op_list`` (the root is one of them) with a point each.

    Args:
        op_list: the ops to draw.
        usable: the ops wrappers may use.
        n_inputs: number of variables.
        max_leaves: largest number of leaves before wrappers.
        low: smallest input.
        high: largest input.
    """
    shapes, points = shapes_and_points(op_list, n_inputs, max_leaves, low, high)

    @st.composite
    def draw_sample(draw: st.DrawFn) -> Sample:
        inputs = draw(points)
        return Sample(realize(with_a_variable(draw(shapes)), inputs, usable), inputs)

    return draw_sample()
