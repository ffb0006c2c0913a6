"""Expression trees with their values at the drawn inputs, and how each op's inputs are kept
where its derivative exists.

Every decision reads the op's row (see :class:`~microgradnet.ops.Op`), never its name, so a
``define_op`` op is placed exactly as a built-in one:

* ``op.ranges(arg)``: an input with an interval is mapped into it (``a ** 2 + 1`` for
  ``(0, inf)``, ``m + h * tanh(a)`` for a finite one), an input marked ``ops.MODERATE`` is
  squashed with ``tanh`` (``exp(tanh(a))``, ``2 ** tanh(a)``), for every input;
* ``op.kinks``: at the drawn inputs, the argument stays ``KINK_MARGIN`` away from each kink
  (shifted by 1, up or down, otherwise);
* ``op.ties_are_kinks``: at the drawn inputs, each input allowed anywhere is clear of every
  other input, and the largest is clear of the runner-up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from .. import ops
from ..ops import Op

__all__ = ["KINK_MARGIN", "LIMIT", "Node", "apply_op", "bounded", "constant", "in_domain"]

# Every generated subexpression stays within +-LIMIT at the drawn inputs: a larger one is scaled
# by a power of ten, so that central differences are not drowned in rounding noise.
LIMIT = 100.0
# Arguments of an op with kinks (abs, relu, leaky_relu) stay at least this far from each kink,
# and the largest input of a max at least this far above the others.
KINK_MARGIN = 0.1


@dataclass(frozen=True, slots=True, eq=False)
class Node:
    """A node of a generated expression and its value at the drawn inputs.

    ``kind`` is "var" (``index`` is the input's position), "const" (``arg`` is the number) or
    "op" (``op`` applied to ``children``; ``arg`` is the op's constant argument, or ``None``).
    """

    kind: Literal["var", "const", "op"]
    value: float
    op: Op | None = None
    children: tuple[Node, ...] = ()
    arg: float | None = None
    index: int = -1


def constant(c: float) -> Node:
    """A constant leaf."""
    return Node("const", c, arg=c)


def apply_op(op: Op, children: Sequence[Node], arg: float | None = None) -> Node:
    """``op`` over ``children``, evaluated on their values through the op's calling contract."""
    value = op.evaluate([child.value for child in children], arg)
    return Node("op", value, op, tuple(children), arg)


def bounded(node: Node) -> Node:
    """``node`` itself, or ``10**-k * node`` when its value exceeds ``LIMIT``."""
    if abs(node.value) <= LIMIT:
        return node
    scale = 10.0 ** -math.ceil(math.log10(abs(node.value) / LIMIT))
    return apply_op(ops.MUL, [constant(scale), node])


def in_domain(op: Op, children: Sequence[Node], arg: float | None, shift_up: bool) -> list[Node]:
    """``children`` rewritten so that ``op`` is defined and differentiable over them.

    Args:
        op: the op about to be applied.
        children: its inputs, in order.
        arg: its constant argument (``None`` if it takes none).
        shift_up: which way to move an argument that lies too close to a kink.
    """
    ranges = op.ranges(arg, len(children))
    placed = [
        _into_range(child, ranges[i] if i < len(ranges) else None, op)
        for i, child in enumerate(children)
    ]
    if op.kinks and len(placed) == 1:
        placed = [_away_from_kinks(placed[0], op.kinks, shift_up)]
    if op.ties_are_kinks and len(placed) > 1:
        placed = _clear_of_ties(_free_inputs_apart(placed, ranges, shift_up))
    return placed


def _into_range(a: Node, input_range: ops.InputRange, op: Op) -> Node:
    """An expression of ``a`` that lies inside ``input_range`` for every input."""
    if input_range is None:
        return a
    if input_range == ops.MODERATE:
        return apply_op(ops.TANH, [a])
    if isinstance(input_range, str):
        raise ValueError(f"op {op.name!r}: unknown input range {input_range!r}")
    low, high = input_range
    if low == -math.inf and high == math.inf:
        return a
    if high == math.inf:
        return _squared_plus(a, low + 1.0)
    if low == -math.inf:
        return apply_op(ops.SUB, [constant(high - 1.0), _squared(a)])
    # tanh is within (-1, 1): the result keeps 5% of the width from either edge.
    middle, half = (low + high) / 2.0, 0.45 * (high - low)
    spread = apply_op(ops.MUL, [constant(half), apply_op(ops.TANH, [a])])
    return spread if middle == 0.0 else apply_op(ops.ADD, [constant(middle), spread])


def _squared(a: Node) -> Node:
    return apply_op(ops.POW_CONST, [a], 2.0)


def _squared_plus(a: Node, c: float) -> Node:
    """``a ** 2 + c``: at least ``c`` everywhere."""
    return apply_op(ops.ADD, [_squared(a), constant(c)])


def _away_from_kinks(a: Node, kinks: Sequence[float], shift_up: bool) -> Node:
    """``a``, or ``a + n`` (``a - n``) with the fewest whole ``n`` that clear every kink.

    Each kink can stop the shift at most once (the shift moves 1 per step, the margin is less
    than half of that), so the loop ends."""
    n = 0
    while any(abs(a.value + (n if shift_up else -n) - kink) < KINK_MARGIN for kink in kinks):
        n += 1
    if n == 0:
        return a
    return apply_op(ops.ADD if shift_up else ops.SUB, [a, constant(float(n))])


def _free_inputs_apart(
    children: list[Node], ranges: Sequence[ops.InputRange], shift_up: bool
) -> list[Node]:
    """Each input allowed anywhere moved ``KINK_MARGIN`` clear of every other input: whichever
    two inputs tie (clamp's ``x`` and a bound, two of max's), that is a kink."""
    apart = list(children)
    for i, child in enumerate(children):
        if i < len(ranges) and ranges[i] is not None:
            continue
        others = [other.value for j, other in enumerate(apart) if j != i]
        apart[i] = _away_from_kinks(child, others, shift_up)
    return apart


def _clear_of_ties(children: list[Node]) -> list[Node]:
    """Keep the largest input ``KINK_MARGIN`` above the runner-up: a tie is a kink."""
    ranked = sorted(range(len(children)), key=lambda i: children[i].value, reverse=True)
    first, second = ranked[0], ranked[1]
    if children[first].value - children[second].value >= KINK_MARGIN:
        return children
    lifted = list(children)
    lifted[first] = apply_op(ops.ADD, [children[first], constant(1.0)])
    return lifted
