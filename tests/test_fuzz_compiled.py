"""Fuzzing compiled mode against the dynamic engine: same values, same gradients, same errors.

Expressions are drawn from every row of the op table, with nothing keeping an op inside its
domain, over inputs that are data and parameters; the data holds NaN, infinities, huge and tiny
numbers and signed zeros as well as ordinary values. For every batch the compiled function must
give what the engine gives sample by sample: the values (NaN where it gives NaN), the gradients
with respect to the parameters and to the inputs, or the engine's error, its type and message,
naming the first sample that raises it. ``HYPOTHESIS_PROFILE=fuzz`` runs it long.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from microgradnet import Value, compile, grad, ops
from microgradnet.engine import apply

ROWS = [op for op in ops.BUILTIN_OPS]
SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, 710.0, -745.5, 1e300, -1e300, 1e-320, math.inf, -math.inf]
SPECIAL += [math.nan]
numbers = st.one_of(
    st.floats(-4.0, 4.0, allow_nan=False), st.sampled_from(SPECIAL), st.floats(allow_nan=True)
)
parameter_values = st.one_of(st.floats(-3.0, 3.0), st.sampled_from(SPECIAL))
parameter_values = st.one_of(st.floats(-3.0, 3.0), st.sampled_from(SPECIAL))
Tree = Any  # ("x", i) | ("w", i) | ("c", value) | (op, arg, children)


def _leaf(n_inputs: int, n_params: int) -> st.SearchStrategy[Tree]:
    return st.one_of(
        st.tuples(st.just("x"), st.integers(0, n_inputs - 1)),
        st.tuples(st.just("w"), st.integers(0, n_params - 1)),
        st.tuples(st.just("c"), st.sampled_from([0.0, 1.0, -2.0, 0.5, 1e-300, 1e300])),
    )


@st.composite
def _node(draw: st.DrawFn, children: st.SearchStrategy[Tree]) -> Tree:
    op = draw(st.sampled_from(ROWS))
    if op.bilinear and op.arity == ops.VARIADIC:  # dot: weights, inputs, maybe a bias
        m = draw(st.integers(1, 2))
        count = 2 * m + draw(st.integers(0, 1))
    elif op.arity == ops.VARIADIC:
        count = draw(st.integers(1, 3))
    else:
        count = op.arity
    arg = None
    if op.const:
        arg = (
            op.arg_default if op.arg_default is not None else draw(st.sampled_from(op.arg_examples))
        )
        arg = draw(st.sampled_from([arg, *op.arg_examples]))
    return op, arg, tuple(draw(children) for _ in range(count))


def trees(n_inputs: int, n_params: int) -> st.SearchStrategy[Tree]:
    leaves = _leaf(n_inputs, n_params)
    return _node(st.recursive(leaves, lambda inner: _node(inner), max_leaves=8))


def build(tree: Tree, xs: list[Value], ws: list[Value]) -> Value:
    kind = tree[0]
    if kind == "x":
        return xs[tree[1]]
    if kind == "w":
        return ws[tree[1]]
    if kind == "c":
        return Value(tree[1])
    op, arg, children = tree
    return apply(op, *(build(c, xs, ws) for c in children), arg=arg)


Outcome = tuple[str, Any]  # ("ok", value or gradients) or ("error", the exception)


def on_engine(tree: Tree, row: np.ndarray, ws: list[Value]) -> list[Outcome]:
    """One sample on the engine: its forward, its gradients with respect to the parameters and
    with respect to the inputs, each what it gives or the error it raises (the error of the
    forward, if that raises)."""
    xs = [Value(float(v)) for v in row]
    try:
        out = build(tree, xs, ws)
    except (ArithmeticError, ValueError) as error:
        return [("error", error)] * 3
    outcomes: list[Outcome] = [("ok", out.data)]
    for wrt in (ws, xs):
        try:
            outcomes.append(("ok", [g.data for g in grad(out, wrt)]))
        except (ArithmeticError, ValueError) as error:
            outcomes.append(("error", error))
    return outcomes


def expect_error(call: Callable[[], Any], outcomes: list[Outcome]) -> bool:
    """If a sample's outcome is an error, ``call`` raises the first one, naming its sample."""
    for index, (kind, error) in enumerate(outcomes):
        if kind == "error":
            with pytest.raises((ArithmeticError, ValueError)) as info:
                call()
            assert type(info.value) is type(error), (info.value, error)
            assert str(info.value) == f"{error} (sample {index} of the batch)"
            return True
    return False


def close(found: float, expected: float, scale: float = 0.0) -> bool:
    """Equal where not finite; else to 1e-6 relative (1e-9 absolute near 0): NumPy's functions
    and ``math``'s may differ in the last place, and a chain of ops can magnify that."""
    if math.isnan(expected) or math.isinf(expected):
        return found == expected or (math.isnan(found) and math.isnan(expected))
    return abs(found - expected) <= 1e-6 * max(abs(expected), scale) + 1e-9


def summed(values: list[float]) -> tuple[float, float] | None:
    """What a sum of ``values`` is whatever its order (NaN, an infinity, or a finite number with
    the scale of its rounding), or ``None`` if the order decides (an overflow part way)."""
    if any(math.isnan(v) for v in values) or (math.inf in values and -math.inf in values):
        return math.nan, 0.0
    if math.inf in values or -math.inf in values:
        return (math.inf if math.inf in values else -math.inf), 0.0
    try:
        scale = math.fsum(abs(v) for v in values)
    except OverflowError:  # fsum raises where the exact sum is beyond the floats
        return None
    return (math.fsum(values), scale) if math.isfinite(scale) else None


@given(
    st.integers(1, 2).flatmap(
        lambda n: st.tuples(
            st.just(n),
            trees(n, 2),
            st.lists(st.lists(numbers, min_size=n, max_size=n), min_size=1, max_size=4),
            st.lists(parameter_values, min_size=2, max_size=2),
        )
    )
)
def test_compiled_mode_gives_what_the_engine_gives(case: tuple[int, Tree, list, list]) -> None:
    n, tree, rows, params = case
    ws = [Value(p) for p in params]
    X = np.array(rows, dtype=float).reshape(len(rows), n)
    forward, by_params, by_inputs = zip(*(on_engine(tree, x, ws) for x in X), strict=True)

    def fn(x: list[Value]) -> Value:
        return build(tree, x, ws)

    try:
        f = compile(fn, (X[0],), parameters=ws)
    except (ArithmeticError, ValueError) as error:  # the example itself raises: the engine's
        assert forward[0][0] == "error" and type(error) is type(forward[0][1])
        assert str(error) == str(forward[0][1])
        return
    if not expect_error(lambda: f(X), list(forward)):
        for value, (_, expected) in zip(f(X).tolist(), forward, strict=True):
            assert close(value, expected), (value, expected)
    if not expect_error(lambda: f.gradients(X, reduction="sum"), list(by_params)):
        _, grads = f.gradients(X, reduction="sum")
        for j, found in enumerate(grads.tolist()):
            expected = summed([outcome[1][j] for outcome in by_params])
            assume(expected is not None)  # an overflow part way through the sum
            assert expected is not None and close(found, *expected), (j, found, expected)
    if not expect_error(lambda: f.input_gradients(X), list(by_inputs)):
        for found_row, (_, expected_row) in zip(
            f.input_gradients(X).tolist(), by_inputs, strict=True
        ):
            for value, expected in zip(found_row, expected_row, strict=True):
                assert close(value, expected), (found_row, expected_row)


def test_the_fuzzer_sees_a_squashed_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # relu(sqrt(-1)) is 0 on arrays: only the check in bulk (Program.finite_samples) notices
    from microgradnet.compiled import _program

    tree = (ops.RELU, None, ((ops.SQRT, None, (("x", 0),)),))
    ws = [Value(1.0)]
    X = np.array([[4.0], [-1.0]])
    forward = [on_engine(tree, x, ws)[0] for x in X]
    f = compile(lambda x: build(tree, x, ws), (X[0],), parameters=ws)
    assert expect_error(lambda: f(X), forward)
    monkeypatch.setattr(
        _program.Program, "finite_samples", lambda self, B, GB=None, parameters=True: None
    )
    with pytest.raises(pytest.fail.Exception):
        expect_error(lambda: f(X), forward)
