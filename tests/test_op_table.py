"""Every row of the op table has every backend, and what its fields claim is true.

Adding a built-in op means adding its row (and, if wanted, a ``Value`` method): this file fails
until the row works on NumPy arrays (compiled mode, vectorised), on sympy expressions (whose own
derivative of the row's forward must equal the row's derivative rule), in the test generators,
in drawings and, for a row with a ``function`` name, in the expression grammar; and until its
flags (``linear``, ``bilinear``, ``gates``, ``selects``, ``nonexpansive``, ``numpy_reduction``)
say the truth about its rule.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import sympy as sp
from hypothesis import find, settings

from microgradnet import Value, compile, ops
from microgradnet.expression import FUNCTIONS
from microgradnet.ops import BUILTIN_OPS, MODERATE, VARIADIC, Op
from microgradnet.testing import expressions

ROWS = pytest.mark.parametrize("op", BUILTIN_OPS, ids=lambda op: op.name)


def _n_inputs(op: Op) -> int:
    if op.arity != VARIADIC:
        return op.arity
    return 5 if op.bilinear else 3  # dot: two weights, two inputs and a bias


def _point(op: Op, shift: float = 0.0) -> tuple[list[float], Any]:
    """Inputs inside the op's ranges, off its kinks and ties, and a constant argument."""
    arg = op.arg_examples[0] if op.const else None
    xs = []
    for i, where in enumerate(op.ranges(arg, _n_inputs(op))):
        base = 0.3 + 0.4 * i + shift
        if where is None:
            xs.append(base - 0.9 if i % 2 else base)  # both signs
        elif where == MODERATE:
            xs.append(base / 2)
        else:
            low, high = where
            xs.append(low + 0.5 + abs(base) if high == math.inf else (low + high) / 2 + base / 10)
    return xs, arg


# ----- NumPy: compiled mode -----
@ROWS
def test_the_rules_run_on_arrays_as_on_floats(op: Op) -> None:
    points = [_point(op, shift) for shift in (0.0, 0.05, 0.11)]
    arg = points[0][1]
    columns = [np.array(column) for column in zip(*(xs for xs, _ in points), strict=True)]
    with np.errstate(all="raise"):
        out = op.evaluate(columns, arg)
        local = op.local_derivatives(columns, out, arg)
    for j, (xs, _) in enumerate(points):
        expected_out = op.evaluate(xs, arg)
        expected_local = op.local_derivatives(xs, expected_out, arg)
        assert out[j] == pytest.approx(expected_out, rel=1e-12)
        for d, e in zip(local, expected_local, strict=True):
            assert np.broadcast_to(d, out.shape)[j] == pytest.approx(e, rel=1e-12, abs=1e-15)


@ROWS
def test_compiled_mode_runs_the_row_vectorised(op: Op) -> None:
    xs, arg = _point(op)
    w = Value(0.9)

    def f(x: list[Value]) -> Value:
        inputs = [v * w for v in x]  # through a parameter, so that gradients are needed
        return ops_node(op, inputs, arg)

    compiled = compile(f, (xs,))
    assert compiled.kernel_kinds[op] in ("vectorised", "bilinear")
    batch = np.array([xs, [x + 0.01 for x in xs]])
    assert compiled(batch)[0] == pytest.approx(f([Value(x) for x in xs]).data, rel=1e-12)


def ops_node(op: Op, inputs: list[Value], arg: Any) -> Value:
    from microgradnet.engine import apply

    return apply(op, *inputs, arg=arg)


# ----- sympy: reference forms -----
@ROWS
def test_sympy_differentiates_the_forward_to_the_rule(op: Op) -> None:
    xs, arg = _point(op)
    symbols = sp.symbols(f"x0:{len(xs)}", real=True)
    constant = None if arg is None else sp.Rational(arg)
    expression = op.evaluate(list(symbols), constant)
    at = dict(zip(symbols, xs, strict=True))
    out = op.evaluate(xs, arg)
    assert float(expression.subs(at)) == pytest.approx(out, rel=1e-12)
    for symbol, local in zip(symbols, op.local_derivatives(xs, out, arg), strict=True):
        assert float(sp.diff(expression, symbol).subs(at)) == pytest.approx(local, rel=1e-10)


# ----- the other backends -----
@ROWS
def test_test_generators_draw_the_row(op: Op) -> None:
    found = find(
        expressions(ops=[op], n_inputs=2),
        lambda e: op.name in str(e) or (op.symbol or op.name) in str(e),
        settings=settings(max_examples=200, database=None),
    )
    assert found.fn(*[Value(x) for x in found.inputs]).data == pytest.approx(
        found.fn(*found.inputs)
    )


@ROWS
def test_drawings_and_the_grammar_name_the_row(op: Op) -> None:
    label = op.label(op.arg_examples[0] if op.const else None)
    assert isinstance(label, str) and label.strip()
    if op.function is not None:
        assert FUNCTIONS[op.function].op is op


# ----- the flags tell the truth -----
SAMPLES = [-2.5, -0.7, 0.0, 0.4, 1.9]


@ROWS
def test_the_flags_hold(op: Op) -> None:
    for shift in SAMPLES:
        xs, arg = _point(op, shift)
        out = op.evaluate(xs, arg)
        local = op.local_derivatives(xs, out, arg)
        if op.linear and op.arity == VARIADIC:  # the same constants wherever the inputs are
            assert local == op.local_derivatives([0.0] * len(xs), 0.0, arg)
        elif op.linear:
            assert local == op.fixed_derivative
            assert op.passes_gradient_on == all(d == 1.0 for d in local)
        if op.bilinear and op.arity == 2:
            assert local == (xs[1], xs[0])
        if op.bilinear and op.arity == VARIADIC:
            n = len(xs) // 2
            assert local[:n] == tuple(xs[n : 2 * n]) and local[n : 2 * n] == tuple(xs[:n])
        if op.gates and out == 0.0:
            assert all(d == 0.0 for d in local)
        if op.selects:
            assert sorted(local) == [0.0] * (len(local) - 1) + [1.0]


@pytest.mark.parametrize("op", [op for op in BUILTIN_OPS if op.numpy_reduction], ids=str)
def test_a_named_numpy_reduction_is_the_rows_forward(op: Op) -> None:
    assert op.arity == VARIADIC and op.numpy_reduction is not None
    reduction = getattr(np, op.numpy_reduction).reduce
    rng = np.random.default_rng(0)
    for m, shape in [(1, (5,)), (2, (3, 4)), (4, (72, 1)), (10, (1, 1)), (6, (2, 512))]:
        values = rng.integers(-3, 4, size=(m, *shape)).astype(float)  # ties
        values.ravel()[:6] = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1e308][: values.size]
        expected = op.evaluate(list(values))
        found = reduction(values, axis=0)
        np.testing.assert_array_equal(found, expected)  # NaN where NaN


FINITE = [-1.7e308, -1e10, -3.0, -1.0, -0.5, -5e-324, -0.0, 0.0, 1e-300, 0.5, 1.0, 2.5, 1e10, 1e308]


@pytest.mark.parametrize("op", [op for op in BUILTIN_OPS if op.nonexpansive], ids=str)
def test_a_nonexpansive_row_keeps_finite_values_finite_and_its_slopes_at_most_one(op: Op) -> None:
    n = _n_inputs(op)
    arg = op.arg_examples[0] if op.const else None
    rng = np.random.default_rng(0)
    points = [[x] * n for x in FINITE] + rng.choice(FINITE, size=(300, n)).tolist()
    for xs in points:
        out = op.evaluate(xs, arg)
        local = op.local_derivatives(xs, out, arg)
        assert math.isfinite(out), (op, xs)
        assert all(abs(float(d)) <= 1.0 for d in local), (op, xs, local)
    # on arrays too: compiled mode's finite check relies on the kernels keeping the promise
    columns = list(np.array(points, dtype=float).T)
    with np.errstate(all="ignore"):
        out = op.evaluate(columns, arg)
        local = op.local_derivatives(columns, out, arg)
    assert np.isfinite(out).all(), op
    assert all((np.abs(np.broadcast_to(d, out.shape)) <= 1.0).all() for d in local), op


def test_every_row_that_could_be_nonexpansive_says_so() -> None:
    # the finite check reads less for each row that says it (Note [finite in bulk])
    for op in BUILTIN_OPS:
        if op.nonexpansive or op.const:
            continue
        try:
            test_a_nonexpansive_row_keeps_finite_values_finite_and_its_slopes_at_most_one(op)
        except (AssertionError, ArithmeticError, ValueError):
            continue
        raise AssertionError(f"{op.name} is nonexpansive but not flagged")


def test_gating_rows_are_checked_where_their_output_is_zero() -> None:
    (relu,) = [op for op in BUILTIN_OPS if op.gates]
    assert relu.evaluate([-1.0]) == 0.0 and relu.local_derivatives([-1.0], 0.0) == (0.0,)


def test_every_row_is_in_the_table_once() -> None:
    names = [op.name for op in BUILTIN_OPS]
    assert len(names) == len(set(names))
    assert all(isinstance(getattr(ops, op.name.upper()), Op) for op in BUILTIN_OPS)


# ----- the checks can fail -----
def test_a_row_that_lacks_a_backend_or_lies_fails_these_checks() -> None:
    wrong_rule = Op("wrong_tanh", ops.tanh, lambda x, out: 1.0 - out)
    floats_only = Op("erf", math.erf, lambda x, out: 2.0 / math.sqrt(math.pi) * ops.exp(-x * x))
    false_gate = Op("false_gate", ops.relu, lambda x, out: 1.0, gates=True)
    with pytest.raises(AssertionError):
        test_sympy_differentiates_the_forward_to_the_rule(wrong_rule)
    with pytest.raises(TypeError):
        test_the_rules_run_on_arrays_as_on_floats(floats_only)
    with pytest.raises(AssertionError):
        test_compiled_mode_runs_the_row_vectorised(floats_only)
    with pytest.raises(AssertionError):
        test_the_flags_hold(false_gate)
