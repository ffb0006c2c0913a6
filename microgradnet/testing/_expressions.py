"""``expressions()``: random expression trees over the op table's rows, and a point for each.

A tree is drawn in two steps. Hypothesis draws a *shape* (which op where, over which leaves,
with which constant argument), so that a failure shrinks to a small tree; the shape is then
realized at the drawn point with every op's inputs kept where its derivative exists
(:func:`~microgradnet.testing._tree.in_domain`). Both steps read only the fields of an op's row,
so an op made by ``define_op`` is drawn, placed and evaluated exactly as a built-in one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

from hypothesis import reject
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from .. import ops as op_table
from ..ops import VARIADIC, Op
from ._arguments import check_bounds, check_int
from ._expression import Expression
from ._tree import Node, apply_op, bounded, constant, in_domain
from ._values import values

__all__ = ["MAX_INPUT", "expressions"]

# Input bounds of expressions(); beyond them, central differences in float64 lose their meaning.
MAX_INPUT = 100.0

_CONSTANTS = (2.0, 0.5, -1.5, 3.0)


# ----- shapes: what Hypothesis draws and shrinks -----
# A shape is a tuple: ("var", index), ("const", number), or (op, children, extra) with the op's
# inputs as shapes (for a fused w·x + b node: (pairs of weight and input, bias or None)) and
# extra as _extras draws it. Plain tuples, drawn the same way since the first version of this
# module, so that a seed draws the same expressions as it always did.
Shape: TypeAlias = tuple[Any, ...]


def _is_weighted_sum(op: Op) -> bool:
    return op.bilinear and op.arity == VARIADIC


def _extras(op: Op) -> st.SearchStrategy[Any]:
    """The op's constant argument (from ``arg_examples``) and, if it has kinks, which way to
    move an argument off one: ``(arg, up)``, ``arg``, ``up`` or ``None``."""
    if not op.const:
        return st.booleans() if op.kinks else st.none()
    args = st.sampled_from(op.arg_examples or (op.arg_default,))
    return st.tuples(args, st.booleans()) if op.kinks else args


def _split_extra(op: Op, extra: Any) -> tuple[float | None, bool]:
    """``(arg, shift_up)`` from what :func:`_extras` drew."""
    if op.const:
        return extra if op.kinks else (extra, True)
    return (None, extra) if op.kinks else (None, True)


def _shapes_of(op: Op, children: st.SearchStrategy[Shape]) -> st.SearchStrategy[Shape]:
    """Shapes ``(op, children, extra)`` of one op over subtrees drawn from ``children``."""
    if _is_weighted_sum(op):
        pairs = st.lists(st.tuples(children, children), min_size=1, max_size=2)
        return st.tuples(st.just(op), st.tuples(pairs, st.none() | children), st.none())
    arguments: st.SearchStrategy[Any]
    if op.arity == VARIADIC:
        arguments = st.lists(children, min_size=1, max_size=3).map(tuple)
    else:
        arguments = st.tuples(*[children] * op.arity)
    return st.tuples(st.just(op), arguments, _extras(op))


def _input_shapes(op: Op, children: Any) -> list[Shape]:
    """The shapes of the op's inputs in order (weights, inputs, then the bias of a w·x + b)."""
    if not _is_weighted_sum(op):
        return list(children)
    pairs, bias = children
    return [w for w, _ in pairs] + [x for _, x in pairs] + ([] if bias is None else [bias])


def _leaves(shape: Any) -> list[Shape]:
    if isinstance(shape, tuple) and shape and shape[0] in ("var", "const"):
        return [shape]
    if isinstance(shape, tuple | list):
        return [leaf for part in shape for leaf in _leaves(part)]
    return []


def _with_a_variable(shape: Shape) -> Shape:
    """``shape``, or (when every leaf is a constant) the same with its first leaf made ``x0``."""
    leaves = _leaves(shape)
    if any(kind == "var" for kind, _ in leaves):
        return shape
    first = leaves[0]

    def replace(part: Any) -> Any:
        if part is first:
            return ("var", 0)
        if isinstance(part, tuple | list) and not (part and part[0] == "const"):
            return type(part)(replace(p) for p in part)
        return part

    result: Shape = replace(shape)
    return result


# ----- realizing a shape at the drawn point -----
def _realize(shape: Shape, inputs: tuple[float, ...]) -> Node:
    """The tree of ``shape``, in-domain and bounded at ``inputs``."""
    kind = shape[0]
    if kind == "var":
        return Node("var", inputs[shape[1]], index=shape[1])
    if kind == "const":
        return constant(shape[1])
    op, children, extra = shape
    arg, shift_up = _split_extra(op, extra)
    realized = [_realize(child, inputs) for child in _input_shapes(op, children)]
    placed = in_domain(op, realized, arg, shift_up)
    # The rows' fields keep every built-in op defined by construction; a define_op op whose
    # hints say less may still fail at this point: that draw is rejected.
    try:
        node = apply_op(op, placed, arg)
    except (ArithmeticError, ValueError):
        reject()
    if not math.isfinite(node.value):
        reject()
    return bounded(node)


# ----- the strategy -----
def shapes_and_points(
    op_list: Sequence[Op], n_inputs: int, max_leaves: int, low: float, high: float
) -> tuple[st.SearchStrategy[Shape], st.SearchStrategy[tuple[float, ...]]]:
    """Tree shapes over ``op_list`` (the root always an op: a bare leaf checks nothing) and
    points of ``n_inputs`` inputs in ``[low, high]``, to be realized into expressions."""
    variables = st.tuples(st.just("var"), st.integers(0, n_inputs - 1))
    constants = st.tuples(st.just("const"), st.sampled_from(_CONSTANTS))
    leaves = st.one_of(variables, st.one_of(variables, constants))  # 3 in 4 are variables

    def extend(children: st.SearchStrategy[Shape]) -> st.SearchStrategy[Shape]:
        return st.one_of([_shapes_of(op, children) for op in op_list])

    shapes = extend(st.recursive(leaves, extend, max_leaves=max_leaves))
    points = st.lists(values(low, high), min_size=n_inputs, max_size=n_inputs).map(tuple)
    return shapes, points


def _resolve_ops(chosen: object, include_user_ops: object, who: str) -> list[Op]:
    if not isinstance(include_user_ops, bool):
        raise InvalidArgument(f"{who}: include_user_ops={include_user_ops!r} must be a bool")
    user_ops = op_table.user_ops() if include_user_ops else ()
    if chosen is None:
        return [*op_table.BUILTIN_OPS, *user_ops]
    if isinstance(chosen, str | bytes) or not isinstance(chosen, Sequence | set | frozenset):
        raise InvalidArgument(f"{who}: ops={chosen!r} must be a list of ops or op names")
    # Names a caller may give (a built-in's wins over a user op's of the same name).
    by_name = {op.name: op for op in (*op_table.user_ops(), *op_table.BUILTIN_OPS)}
    resolved = []
    for item in chosen:
        op = item if isinstance(item, Op) else getattr(item, "op", None)
        if isinstance(item, str):
            op = by_name.get(item)
            if op is None:
                known = ", ".join(by_name)
                raise InvalidArgument(f"{who}: unknown op name {item!r}; known ops: {known}")
        if not isinstance(op, Op):
            raise InvalidArgument(
                f"{who}: ops must hold ops.Op records, define_op functions or op names, "
                f"got {item!r}"
            )
        if op.const and not op.arg_examples and op.arg_default is None:
            raise InvalidArgument(
                f"{who}: op {op.name!r} has a constant argument but neither arg_examples nor "
                "arg_default to draw it from"
            )
        resolved.append(op)
    if not resolved:
        raise InvalidArgument(f"{who}: ops is empty; give at least one op (or None for all)")
    return resolved + [op for op in user_ops if op not in resolved]


def expressions(
    *,
    n_inputs: int = 2,
    max_leaves: int = 10,
    ops: Sequence[Op | Callable[..., Any] | str] | None = None,
    include_user_ops: bool = False,
    min_value: float = -3.0,
    max_value: float = 3.0,
) -> st.SearchStrategy[Expression]:
    """Random scalar expressions over ``x0 .. x{n_inputs-1}``, with a point to check them at.

    Trees are built with ``st.recursive``, so a failing example shrinks to a small tree. Each op
    stays inside its domain by construction, for every input, as its row says
    (``op.ranges(arg)``): ``log(a ** 2 + 1)``, ``sqrt(a ** 2 + 1)``, ``a / (b ** 2 + 1)``,
    ``(a ** 2 + 1) ** tanh(b)``, ``exp(tanh(a))``, ``2 ** tanh(a)``; an op made by
    ``define_op`` with a ``domain`` hint gets each input mapped into that interval. At the drawn
    inputs, the argument of an op with kinks (``abs``, ``relu``, ``leaky_relu``) is at least
    ``KINK_MARGIN`` from each kink (shifted by 1 otherwise), the largest input of an op whose
    ties are kinks (``max``) is that far above the others, and a subexpression larger than
    ``LIMIT`` is scaled down by a power of ten, so ``gradcheck(e.fn, e.inputs)`` is well defined.

    Args:
        n_inputs: number of variables (1 to 100).
        max_leaves: largest number of leaves (variables and constants) in the tree before
            domain wrappers are added.
        ops: the ops to use: ``ops.Op`` records, functions made by ``define_op``, or op names
            (``"tanh"``). ``None``: every built-in op.
        include_user_ops: also use every op made by ``define_op`` so far (``ops.user_ops()``,
            looked up when the strategy is first drawn from). Off by default, because every
            imported module's ops would join in, deliberately wrong ones of a test suite too.
        min_value: smallest input (at least -100).
        max_value: largest input (at most 100).

    Returns:
        A strategy of :class:`Expression`.

    Raises:
        InvalidArgument: (when drawn) an argument has the wrong type or is out of range.

    Example:
        >>> e = expressions(ops=["tanh", "mul"]).example()
        >>> from microgradnet.gradcheck import gradcheck
        >>> gradcheck(e.fn, e.inputs)
        True
    """
    chosen_ops = ops

    def build() -> st.SearchStrategy[Expression]:
        who = "expressions"
        n = check_int(n_inputs, "n_inputs", who, 1, 100)
        leaves_max = check_int(max_leaves, "max_leaves", who, 1, 1000)
        low, high = check_bounds(min_value, max_value, who)
        if max(abs(low), abs(high)) > MAX_INPUT:
            raise InvalidArgument(
                f"{who}: min_value={low!r} and max_value={high!r} must be within "
                f"[-{MAX_INPUT:g}, {MAX_INPUT:g}] for central differences to be meaningful"
            )
        op_list = _resolve_ops(chosen_ops, include_user_ops, who)
        shapes, points = shapes_and_points(op_list, n, leaves_max, low, high)

        @st.composite
        def draw_expression(draw: st.DrawFn) -> Expression:
            inputs = draw(points)
            root = _realize(_with_a_variable(draw(shapes)), inputs)
            return Expression(root, inputs, n)

        return draw_expression()

    return st.deferred(build)
