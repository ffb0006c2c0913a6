"""Property-based tests of the engine: random expression graphs against sympy's derivatives,
linearity of gradients, and backward-twice doubling."""

from __future__ import annotations

import math

import pytest
from conftest import require_module, sympy_number
from hypothesis import given
from hypothesis import strategies as st

from microgradnet import Value, grad
from microgradnet.ops import BUILTIN_OPS
from microgradnet.testing import Expression, expressions

sp = require_module("sympy")

REL, ABS = 1e-7, 1e-9
# Built-in ops only: user ops that other test modules define are written with math, so their
# forwards give no sympy form.
OPS = list(BUILTIN_OPS)


def _close(a: float, b: float, rel: float = REL) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=ABS)


def _sympy_gradients(e: Expression, order: int) -> list:
    """Derivatives of ``e`` from sympy, evaluated at ``e.inputs`` as floats."""
    expression, symbols = e.sympy()
    point = dict(zip(symbols, e.inputs, strict=True))
    first = [sp.diff(expression, s) for s in symbols]
    if order == 1:
        return [sympy_number(d, point) for d in first]
    return [[sympy_number(sp.diff(d, s), point) for s in symbols] for d in first]


@given(expressions(n_inputs=3, max_leaves=8, ops=OPS))
def test_first_derivatives_match_sympy(e: Expression) -> None:
    xs = [Value(x) for x in e.inputs]
    out = e.fn(*xs)
    expected = _sympy_gradients(e, order=1)
    out.backward()
    for x, want in zip(xs, expected, strict=True):
        assert _close(x.grad, want), (str(e), x.grad, want)


@given(expressions(n_inputs=2, max_leaves=6, ops=OPS))
def test_second_derivatives_match_sympy(e: Expression) -> None:
    xs = [Value(x) for x in e.inputs]
    first = grad(e.fn(*xs), xs, create_graph=True)
    expected = _sympy_gradients(e, order=2)
    for i, g in enumerate(first):
        for j, second in enumerate(grad(g, xs)):
            assert _close(second.data, expected[i][j], rel=1e-6), (str(e), i, j)


@given(
    expressions(n_inputs=2, max_leaves=6, ops=OPS),
    expressions(n_inputs=2, max_leaves=6, ops=OPS),
    st.floats(-3, 3),
    st.floats(-3, 3),
)
def test_gradients_are_linear(f: Expression, g: Expression, a: float, b: float) -> None:
    xs = [Value(x) for x in f.inputs]
    # g is evaluated at f's point: its domain wrappers make it defined everywhere.
    combined = grad(a * f.fn(*xs) + b * g.fn(*xs), xs)
    separate_f = grad(f.fn(*xs), xs)
    separate_g = grad(g.fn(*xs), xs)
    for c, df, dg in zip(combined, separate_f, separate_g, strict=True):
        assert _close(c.data, a * df.data + b * dg.data, rel=1e-9)


@given(expressions(n_inputs=3, max_leaves=10, ops=OPS), st.floats(-4, 4))
def test_backward_twice_doubles_exactly_and_seed_scales(e: Expression, seed: float) -> None:
    xs = [Value(x) for x in e.inputs]
    out = e.fn(*xs)
    out.backward(seed)
    once = [x.grad for x in xs]
    out.backward(seed)
    assert [x.grad for x in xs] == [2 * g for g in once]
    ys = [Value(x) for x in e.inputs]
    e.fn(*ys).backward()
    for g, unit in zip(once, (y.grad for y in ys), strict=True):
        # Not bit-exact: a sum that cancels rounds differently once every term is scaled.
        assert g == pytest.approx(seed * unit, rel=1e-9, abs=1e-12)
