"""The structure checks of :func:`~microgradnet.testing.check_engine`: the graphs where hand-made
engines go wrong whatever their derivative rules.

A value used twice (``x + x``: ``=`` instead of ``+=`` halves it), a subexpression shared by two
parents, leaves the output does not depend on, two outputs of one graph backpropagated one after
the other, a deep chain (a recursive topological sort dies near Python's recursion limit), and
what a second ``backward()`` does (reported, not judged: engines differ on purpose).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from .. import ops
from ..engine import Value, grad
from ..ops import Op
from ._bindings import Binding
from ._engine import Engine
from ._judge import EPS, Outcome, judge
from ._report import EngineCheck, Status
from ._tree import Node, apply_op, constant

__all__ = ["DEPTHS", "STRUCTURE_CHECKS"]

DEPTHS = (10, 100, 1_000, 10_000, 100_000, 1_000_000)

Bindings = Mapping[Op, Binding]


def _var(i: int, inputs: Sequence[float]) -> Node:
    return Node("var", inputs[i], index=i)


def _missing(bindings: Bindings, *needed: Op) -> EngineCheck | None:
    absent = [op.name for op in needed if op not in bindings]
    return None if not absent else EngineCheck("", "property", "not supported", f"needs {absent}")


def _named(check: EngineCheck, name: str) -> EngineCheck:
    return replace(check, name=name)


def _from_outcome(name: str, outcome: Outcome, detail: str = "") -> EngineCheck:
    status: Status = "fail" if outcome.problem else "pass"
    return EngineCheck.found(name, "property", status, detail, outcome, 1)


def _first_failure(
    name: str,
    engine: Engine,
    bindings: Bindings,
    cases: Sequence[tuple[Node, tuple[float, ...], str]],
) -> EngineCheck:
    """Judge each case in turn; the first failing one, or a pass listing them all."""
    for root, inputs, shown in cases:
        outcome = judge(engine, bindings, root, inputs, expression=shown or None)
        if outcome.problem:
            return _from_outcome(name, outcome)
    listed = ", ".join(shown or "?" for _, _, shown in cases)
    return EngineCheck(name, "property", "pass", listed, examples=len(cases))


# ----- the checks -----
def value_used_twice(engine: Engine, bindings: Bindings) -> EngineCheck:
    """``x + x``, ``x * x``, ``x - x``, ``x / x`` and a node used twice, ``t + t``."""
    name = "value used twice"
    point = (1.5, -2.0)
    x0 = _var(0, point)
    cases = []
    for op in (ops.ADD, ops.MUL, ops.SUB, ops.DIV):
        if op in bindings:
            cases.append((apply_op(op, [x0, x0]), point, f"x0 {op.symbol} x0"))
    if ops.ADD in bindings and ops.MUL in bindings:
        t = apply_op(ops.MUL, [x0, _var(1, point)])
        cases.append((apply_op(ops.ADD, [t, t]), point, "t + t where t = x0 * x1"))
    if not cases:
        return _named(_missing(bindings, ops.ADD) or EngineCheck("", "property", "pass"), name)
    return _first_failure(name, engine, bindings, cases)


def shared_subexpression(engine: Engine, bindings: Bindings) -> EngineCheck:
    """A node read by two parents: ``(s + x0) * s`` with ``s = x0 * x1``, and a diamond."""
    name = "shared subexpression"
    if (missing := _missing(bindings, ops.ADD, ops.MUL)) is not None:
        return _named(missing, name)
    point = (1.5, -2.0)
    x0, x1 = _var(0, point), _var(1, point)
    s = apply_op(ops.MUL, [x0, x1])
    first = apply_op(ops.MUL, [apply_op(ops.ADD, [s, x0]), s])
    a = apply_op(ops.MUL, [x0, constant(2.0)])
    diamond = apply_op(ops.MUL, [apply_op(ops.ADD, [a, x1]), apply_op(ops.MUL, [a, x1])])
    cases = [
        (first, point, "(s + x0) * s where s = x0 * x1"),
        (diamond, point, "(a + x1) * (a * x1) where a = x0 * 2"),
    ]
    return _first_failure(name, engine, bindings, cases)


def unused_leaves(engine: Engine, bindings: Bindings) -> EngineCheck:
    """Leaves the output does not depend on keep a gradient of 0, even one that feeds a second
    graph built from the same leaves."""
    name = "leaves not in the output"
    if (missing := _missing(bindings, ops.ADD, ops.MUL)) is not None:
        return _named(missing, name)
    point = (1.5, -2.0, 0.5)
    x0 = _var(0, point)
    other = apply_op(ops.MUL, [x0, _var(2, point)])
    out = apply_op(ops.ADD, [apply_op(ops.MUL, [x0, constant(3.0)]), constant(1.0)])
    shown = "x0 * 3 + 1 (x1 unused; x2 only in u = x0 * x2, built first)"
    outcome = judge(engine, bindings, out, point, also=[other], expression=shown)
    return _from_outcome(name, outcome, "" if outcome.problem else shown)


def _floats(fn: Callable[..., float], point: Sequence[float]) -> tuple[float, ...]:
    result = []
    for i in range(len(point)):
        up, down = list(point), list(point)
        up[i] += EPS
        down[i] -= EPS
        result.append((fn(*up) - fn(*down)) / (2 * EPS))
    return tuple(result)


def two_outputs(engine: Engine, bindings: Bindings) -> EngineCheck:
    """``y1.backward()`` then ``y2.backward()`` on one graph: each leaf holds the sum of both
    gradients, as with PyTorch's ``retain_graph=True``."""
    name = "two outputs, one graph"
    if (missing := _missing(bindings, ops.ADD, ops.MUL)) is not None:
        return _named(missing, name)
    add, mul = bindings[ops.ADD], bindings[ops.MUL]
    point = (1.5, -2.0)
    shown = "y1 = s * 3, y2 = s + x0 where s = x0 * x1; y1.backward(); y2.backward()"
    try:
        x0, x1 = (engine.leaf(x) for x in point)
        s = mul.apply(engine, [x0, x1])
        y1, y2 = mul.apply(engine, [s, 3.0]), add.apply(engine, [s, x0])
        engine.backward(y1)
    except Exception as error:
        return EngineCheck(name, "property", "fail", shown, problem=f"raises {error!r}")
    try:
        engine.backward(y2)
    except Exception as error:
        detail = f"a second backward() on one graph raises {type(error).__name__}: {error}"
        return EngineCheck(name, "property", "not supported", detail)
    got = (engine.gradient(x0), engine.gradient(x1))
    numeric = _floats(lambda a, b: a * b * 3.0 + (a * b + a), point)
    ours_x = [Value(x) for x in point]
    ours_s = ours_x[0] * ours_x[1]
    ours = tuple(g.data for g in grad(ours_s * 3.0 + (ours_s + ours_x[0]), ours_x))
    outcome = Outcome(shown, point, got, numeric, ours, "", 0)
    if any(not math.isclose(g, o, rel_tol=1e-9) for g, o in zip(got, ours, strict=True)):
        problem = "the leaves do not hold the sum of both outputs' gradients"
        outcome = Outcome(shown, point, got, numeric, ours, problem, 0)
        detail = "likely: the second backward() passed on again what the first left on s"
        return _from_outcome(name, outcome, detail)
    return _from_outcome(name, outcome, shown)


def _chain_fails(engine: Engine, add: Binding, depth: int) -> str:
    """Why a chain ``x + 1 + 1 ...`` of ``depth`` additions fails (``""``: it passes)."""
    try:
        x = engine.leaf(0.5)
        v = x
        for _ in range(depth):
            v = add.apply(engine, [v, 1.0])
        engine.backward(v)
        g = engine.gradient(x)
    except RecursionError:
        return "RecursionError (a recursive topological sort or backward)"
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return "" if g == 1.0 else f"gradient {g!r}, expected 1.0"


def deep_chain(engine: Engine, bindings: Bindings, max_depth: int) -> EngineCheck:
    """Chains of additions ten times deeper each time, up to ``max_depth``; on a failure, the
    depth where it starts, by bisection."""
    name = "deep chain"
    if (missing := _missing(bindings, ops.ADD)) is not None:
        return _named(missing, name)
    add = bindings[ops.ADD]
    passed = 0
    for depth in [d for d in DEPTHS if d < max_depth] + [max_depth]:
        problem = _chain_fails(engine, add, depth)
        if not problem:
            passed = depth
            continue
        low, high = passed, depth  # passes at low, fails at high
        while high - low > 1:
            middle = (low + high) // 2
            if _chain_fails(engine, add, middle):
                high = middle
            else:
                low = middle
        problem = _chain_fails(engine, add, high) or problem
        limit = sys.getrecursionlimit()
        return EngineCheck(
            name,
            "property",
            "fail",
            f"passes at depth {low:,}; Python's recursion limit is {limit:,}",
            f"x0 + 1 + 1 + ... ({high:,} additions)",
            (0.5,),
            problem=f"fails from depth {high:,}: {problem}",
            size=high + 1,
        )
    return EngineCheck(name, "property", "pass", f"x0 + 1 + 1 + ... up to depth {passed:,}")


def second_backward(engine: Engine, bindings: Bindings) -> EngineCheck:
    """What a second ``backward()`` on the same output does to the leaves' gradients."""
    name = "second backward()"
    if (missing := _missing(bindings, ops.ADD, ops.MUL)) is not None:
        return _named(missing, name)
    add, mul = bindings[ops.ADD], bindings[ops.MUL]
    try:
        x0, x1 = engine.leaf(1.5), engine.leaf(2.0)
        out = mul.apply(engine, [add.apply(engine, [mul.apply(engine, [x0, x1]), x0]), x1])
        engine.backward(out)
        first = (engine.gradient(x0), engine.gradient(x1))
    except Exception as error:
        return EngineCheck(
            name, "property", "fail", problem=f"the first backward() raises {error!r}"
        )
    try:
        engine.backward(out)
    except Exception as error:
        what = f"raises {type(error).__name__}: {error} (PyTorch too, without retain_graph)"
        return EngineCheck(name, "property", "property", what)
    ratios = [engine.gradient(x) / g for x, g in zip((x0, x1), first, strict=True)]
    shown = "out = (x0 * x1 + x0) * x1; out.backward(); out.backward()"
    if all(math.isclose(r, 2.0, rel_tol=1e-9) for r in ratios):
        what = "adds the gradients again: leaves hold 2x (as microgradnet, PyTorch)"
    elif all(math.isclose(r, 1.0, rel_tol=1e-9) for r in ratios):
        what = "leaves keep the same gradients (recomputed, not added)"
    else:
        held = " and ".join(f"{r:.4g}x" for r in ratios)
        what = f"leaves hold {held} the gradient: neither recomputed (1x) nor added again (2x)"
        if max(ratios) > 2.0:
            what += "; the second call passed on again what the first left on inner nodes"
    return EngineCheck(name, "property", "property", f"{what}; {shown}")


STRUCTURE_CHECKS: tuple[Callable[[Engine, Bindings], EngineCheck], ...] = (
    value_used_twice,
    shared_subexpression,
    unused_leaves,
    two_outputs,
)
