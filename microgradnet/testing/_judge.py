"""Judging one expression on another engine: its value, and its gradients against central
differences of its own forward and against microgradnet's ``backward()``.

A gradient is wrong only when it disagrees with both references: central differences can be
noisy and microgradnet could itself be wrong, but not both in the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..engine import Value, apply, grad
from ..ops import Op
from ._bindings import Binding
from ._engine import Engine
from ._text import text
from ._tree import Node

__all__ = ["EPS", "Mismatch", "Outcome", "judge", "size"]

EPS = 1e-6  # central-difference step, as gradcheck's
ATOL, RTOL = 1e-5, 1e-3  # agreement with central differences, as gradcheck's
CLOSE = 1e-6  # relative agreement with microgradnet's gradient and value


@dataclass(frozen=True)
class Outcome:
    """What an engine gave for one expression, and the references.

    Attributes:
        expression: the expression as Python text over ``x0, x1, ...``.
        inputs: the point.
        gradient: the engine's gradient for each input (``None``: it raised).
        numeric: central differences of the engine's own forward.
        ours: microgradnet's gradient (``None``: not computed).
        problem: what is wrong, in words (``""`` if nothing).
        size: the number of nodes of the expression's tree (leaves counted where they occur).
    """

    expression: str
    inputs: tuple[float, ...]
    gradient: tuple[float, ...] | None
    numeric: tuple[float, ...] | None
    ours: tuple[float, ...] | None
    problem: str = ""
    size: int = 0


class Mismatch(AssertionError):
    """Raised inside a Hypothesis test when the engine is wrong, so that Hypothesis shrinks."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(f"{outcome.expression}: {outcome.problem}")
        self.outcome = outcome


def size(node: Node) -> int:
    """The tree's number of nodes, every occurrence of a leaf counted."""
    return 1 + sum(size(child) for child in node.children)


Apply = Callable[[Op, Sequence[Any], Any], Any]


def evaluate(node: Node, leaves: Sequence[Any], apply_op: Apply, memo: dict[int, Any]) -> Any:
    """The expression on ``leaves``; a node shared by two parents is computed once (``memo``),
    and a subtree without a variable is a plain float."""
    found = memo.get(id(node))
    if found is not None:
        return found
    if node.kind == "var":
        result: Any = leaves[node.index]
    elif node.kind == "const":
        result = node.arg
    else:
        assert node.op is not None
        xs = [evaluate(child, leaves, apply_op, memo) for child in node.children]
        if all(isinstance(x, float) for x in xs):
            result = node.op.evaluate(xs, node.arg)
        else:
            result = apply_op(node.op, xs, node.arg)
    memo[id(node)] = result
    return result


def engine_apply(engine: Engine, bindings: Mapping[Op, Binding]) -> Apply:
    """How the engine computes an op node."""
    return lambda op, xs, arg: bindings[op].apply(engine, xs, arg)


def _our_apply(op: Op, xs: Sequence[Any], arg: Any) -> Any:
    return apply(op, *xs, arg=arg)


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=CLOSE, abs_tol=CLOSE * 1e-3)


def _agrees(g: float, numeric: float | None, ours: float | None) -> bool:
    if ours is not None and _close(g, ours):
        return True
    return numeric is not None and abs(g - numeric) <= ATOL + RTOL * abs(numeric)


def _forward(engine: Engine, root: Node, point: Sequence[float], on: Apply) -> float:
    leaves = [engine.leaf(x) for x in point]
    out = evaluate(root, leaves, on, {})
    return engine.number(out) if engine.is_value(out) else float(out)


def central_differences(engine: Engine, root: Node, inputs: Sequence[float], on: Apply) -> Any:
    """d(root)/d(input) for each input, from the engine's forward at ``input ± EPS``."""
    result = []
    for i in range(len(inputs)):
        up, down = list(inputs), list(inputs)
        up[i] += EPS
        down[i] -= EPS
        f_up, f_down = _forward(engine, root, up, on), _forward(engine, root, down, on)
        result.append((f_up - f_down) / (2 * EPS))
    return tuple(result)


def _ours(root: Node, inputs: Sequence[float], also: Sequence[Node]) -> tuple[float, ...] | None:
    leaves = [Value(x) for x in inputs]
    memo: dict[int, Any] = {}
    for other in also:
        evaluate(other, leaves, _our_apply, memo)
    out = evaluate(root, leaves, _our_apply, memo)
    if not isinstance(out, Value):
        return (0.0,) * len(inputs)
    try:
        return tuple(g.data for g in grad(out, leaves))
    except (ArithmeticError, ValueError):
        return None


def judge(
    engine: Engine,
    bindings: Mapping[Op, Binding],
    root: Node,
    inputs: Sequence[float],
    *,
    also: Sequence[Node] = (),
    expression: str | None = None,
) -> Outcome:
    """Run the expression on the engine, backpropagate, and compare with the references.

    Args:
        engine: the engine under test.
        bindings: how it computes each op of the expression.
        root: the expression (a tree, or a graph whose shared nodes are the same object).
        inputs: the point; one leaf per input, ``x0, x1, ...``.
        also: expressions built on the same leaves before ``backward()`` but not
            differentiated (a second graph sharing the leaves).
        expression: the text to show (default: the tree written out).

    Returns:
        The outcome; its ``problem`` is ``""`` when the engine is right.
    """
    shown = expression or text(root)
    point = tuple(inputs)
    on = engine_apply(engine, bindings)
    ours = _ours(root, point, also)

    def outcome(problem: str, gradient: Any = None, numeric: Any = None) -> Outcome:
        return Outcome(shown, point, gradient, numeric, ours, problem, size(root))

    try:
        leaves = [engine.leaf(x) for x in point]
        memo: dict[int, Any] = {}
        for other in also:
            evaluate(other, leaves, on, memo)
        out = evaluate(root, leaves, on, memo)
        value = engine.number(out)
        engine.backward(out)
        gradient = tuple(engine.gradient(leaf) for leaf in leaves)
    except Exception as error:  # any error of the engine's is a finding, never a crash
        return outcome(f"raises {type(error).__name__}: {error}")
    if not _close(value, root.value):
        return outcome(f"value {value!r}, expected {root.value!r}", gradient)
    try:
        numeric = central_differences(engine, root, point, on)
    except Exception as error:
        return outcome(f"forward raises {type(error).__name__} near the point: {error}", gradient)
    for i, g in enumerate(gradient):
        if not _agrees(g, numeric[i], None if ours is None else ours[i]):
            return outcome(f"wrong gradient for x{i}", gradient, numeric)
    return outcome("", gradient, numeric)
