"""Compiled mode is as strict as the engine: its errors, never a silent NaN or a wrong finite value.

Every expected error here is the dynamic engine's own, computed in the test (its type and message),
and compiled mode must raise it naming the first sample of the batch that raises it, also where a
later op (relu, tanh, 1/x) squashes the bad value into a finite one.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from microgradnet import Value, compile, grad, losses, ops
from microgradnet.compiled import _kernels
from microgradnet.nn import MLP
from microgradnet.optim import SGD, Adam

W = 1.5


def engine_error(fn: Callable[[Value, Value], Value], x: float, backward: bool) -> Exception:
    w = Value(W)
    try:
        out = fn(Value(x), w)
        if backward:
            grad(out, [w])
    except (ArithmeticError, ValueError) as error:
        return error
    raise AssertionError("the engine raised nothing")


SQUASHED: dict[str, tuple[Callable[[Value, Value], Value], float]] = {
    # the issue's example: sqrt(-1.5) is NaN on arrays, and relu(NaN) is 0
    "sqrt then relu": (lambda x, w: (x * w).sqrt().relu(), -1.0),
    "log then tanh": (lambda x, w: (x * w).log().tanh(), -2.0),
    "division by zero then 1/x": (lambda x, w: 1.0 / (w / x), 0.0),
    "exp overflow then 1/x": (lambda x, w: 1.0 / (x * w).exp(), 1000.0),
    "a non-integer power of a negative number then relu": (
        lambda x, w: -(((x * w) ** 0.5).relu()),
        -1.0,
    ),
    "pow overflow then tanh": (lambda x, w: ((x * w) ** 300).tanh(), 1e3),
}


@pytest.mark.parametrize("case", SQUASHED, ids=str)
def test_a_squashed_domain_error_is_the_engines_naming_the_sample(case: str) -> None:
    fn, bad = SQUASHED[case]
    w = Value(W)
    f = compile(lambda x: fn(x, w), (2.0,))
    expected = engine_error(fn, bad, backward=False)
    batch = np.array([2.0, 3.0, bad, bad, 1.0])
    for run in (lambda: f(batch), lambda: f.backward(batch), lambda: f.input_gradients(batch)):
        with pytest.raises(type(expected)) as info:
            run()
        assert str(info.value) == f"{expected} (sample 2 of the batch)"
    assert w.grad == 0.0  # a backward that raises changes no .grad


def test_the_finite_check_reads_past_what_nonexpansive_ops_write() -> None:
    # Note [finite in bulk]: a relu's values and the gradients only it writes cannot hold a
    # sample's first non-finite value (the cases above still raise with those rows unread)
    model = MLP(2, [4, 4, 1], seed=0)
    f = compile(lambda x: model(x).tanh(), ([0.1, 0.2],), parameters=model.parameters())
    program = f._program
    skipped = [i for i in program.instructions if i.op.name in ("relu", "tanh")]
    values, grads = np.zeros(program.n_batch, bool), np.zeros(program.n_batch, bool)
    for rows in program.checked_values:
        values[rows] = True
    for rows in program.checked_grads:
        grads[rows] = True
    assert len(skipped) == 3 and not any(values[i.out].any() for i in skipped)
    layers = [i.out for i in program.instructions if i.op.name == "dot"]
    # the layers' gradients written by their relus alone; the head's one row is added, not assigned
    assert [grads[rows].any() for rows in layers] == [False, False, True]
    assert values[: program.n_inputs].all() and all(values[rows].all() for rows in layers)


def test_the_issues_example_raises_the_engines_message() -> None:
    w = Value(1.5)
    f = compile(lambda x: (x * w).sqrt().relu(), (0.5,))
    with pytest.raises(ValueError, match=r"^sqrt: undefined for negative value -1\.5 \(sample 0"):
        f(np.array([-1.0]))


def test_an_undefined_gradient_is_the_engines_and_a_gated_one_is_no_error() -> None:
    def sqrt_of(x: Value, w: Value) -> Value:
        return (x * w).sqrt()

    w = Value(W)
    f = compile(lambda x: sqrt_of(x, w), (2.0,))
    f(np.array([0.0]))  # sqrt(0) = 0: the forward is fine
    expected = engine_error(sqrt_of, 0.0, backward=True)  # d sqrt(u)/du = 0.5 / 0
    with pytest.raises(type(expected)) as info:
        f.backward(np.array([1.0, 0.0]))
    assert str(info.value) == f"{expected} (sample 1 of the batch)"

    # Behind a relu that is off, the engine passes nothing on (0 times anything is 0): no error,
    # and the gradient is the engine's, not NaN.
    def gated(x: Value, w: Value) -> Value:
        return (-(x * w).sqrt()).relu() + x * w

    g = compile(lambda x: gated(x, w), (2.0,))
    w.grad = 0.0
    g.backward(np.array([0.0, 2.0]), reduction="sum")
    reference = Value(W)
    expected = sum(grad(gated(Value(x), reference), [reference])[0].data for x in (0.0, 2.0))
    assert w.grad == pytest.approx(expected) and np.isfinite(w.grad)


@pytest.mark.parametrize("decided_before", [False, True])
def test_an_infinite_slope_in_the_base_is_an_error_only_where_that_gradient_is_needed(
    decided_before: bool,
) -> None:
    # d/dw of w ** x at w = 0, x = 0.5 is infinite (PyTorch: inf); d/dx is 0 (PyTorch: 0)
    w, x = Value(0.0), Value(0.5)
    assert grad(w**x, [x])[0].data == 0.0
    with pytest.raises(ValueError, match=r"^pow: .* infinite at 0\.0 \*\* 0\.5$"):
        grad(w**x, [w])
    # compiled mode gives the same answers whichever compile decided pow's kernel first
    _kernels._DECIDED.pop(ops.POW, None)
    if decided_before:
        v = Value(2.0)
        compile(lambda x: v ** x[0], (np.array([3.0]),), parameters=[v])
    f = compile(lambda x: w ** x[0], (np.array([0.5]),), parameters=[w])
    assert f.input_gradients(np.array([[0.5], [2.0]])).tolist() == [[0.0], [0.0]]
    with pytest.raises(ValueError, match=r"infinite at 0\.0 \*\* 0\.5 \(sample 1 of the batch\)"):
        f.backward(np.array([[2.0], [0.5]]))  # at 0 ** 2 the slope is 0


def test_values_near_the_largest_float_raise_no_numpy_warnings() -> None:
    w = Value(1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning from NumPy would fail here
        f = compile(lambda x: (x * w).relu(), (np.array(1.7e308),))
        total = f.backward(np.array([1.7e308, 1.7e308]), reduction="sum")
    assert total == math.inf and w.grad == math.inf  # each sample's 1.7e308, summed


def test_nan_and_infinite_data_give_the_engines_values_and_gradients() -> None:
    w = Value(0.7)

    def fn(x: list[Value]) -> Value:
        return (x[0] * w).tanh() + (x[1] * w).relu() * x[0]

    X = np.array([[0.5, 1.0], [np.nan, 2.0], [np.inf, -1.0], [1.0, -np.inf], [0.3, 0.2]])
    f = compile(fn, (X[0],))
    expected, grads = [], []
    for x in X.tolist():
        out = fn([Value(v) for v in x])
        expected.append(out.data)
        grads.append(grad(out, [w])[0].data)
    np.testing.assert_allclose(f(X), expected, rtol=1e-12, equal_nan=True)
    w.grad = 0.0
    f.backward(X[[0, 2, 4]], reduction="sum")  # inf * relu-gated 0: the engine passes nothing
    assert w.grad == pytest.approx(sum(grads[i] for i in (0, 2, 4)))
    w.grad = 0.0
    f.backward(X, reduction="sum")
    assert np.isnan(w.grad) and np.isnan(sum(grads))


def _moons(n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 2))
    return X, np.where(X[:, 0] * X[:, 1] > 0, 1, -1)


@pytest.mark.parametrize("optimizer", [SGD, Adam])
@pytest.mark.parametrize("compiled", [True, False])
def test_fit_never_writes_a_nan_into_a_parameter(optimizer: Any, compiled: bool) -> None:
    X, y = _moons()
    X[40, 1] = np.nan  # in the third minibatch of 16
    model = MLP(2, [8, 1], seed=0)
    opt = optimizer(model.parameters(), lr=0.1)
    with pytest.raises(FloatingPointError, match=r"gradient is not finite .*samples \[40\]"):
        model.fit(X, y, loss="hinge", optimizer=opt, epochs=1, batch_size=16, shuffle=False,
                  progress=False, compiled=compiled)  # fmt: skip
    assert all(np.isfinite(p.data) for p in model.parameters())
    # the two minibatches before were taken, exactly as the dynamic fit takes them
    reference = MLP(2, [8, 1], seed=0)
    reference.fit(X[:32], y[:32], loss="hinge", optimizer=optimizer(reference.parameters(), lr=0.1),
                  epochs=1, batch_size=16, shuffle=False, progress=False)  # fmt: skip
    np.testing.assert_allclose(
        [p.data for p in model.parameters()], [p.data for p in reference.parameters()], rtol=1e-9
    )


@pytest.mark.parametrize("compiled", [True, False])
def test_fit_refuses_an_update_that_overflows_from_a_finite_gradient(compiled: bool) -> None:
    X, y = _moons()
    model = MLP(2, [8, 1], seed=0)
    before = [p.data for p in model.parameters()]
    grads = [g.data for g in grad(losses.mse(model.map(X[:64].tolist()), y[:64].tolist()),
                                  model.parameters())]  # fmt: skip
    assert all(np.isfinite(grads)) and max(map(abs, grads)) * 1e308 == math.inf
    with pytest.raises(FloatingPointError, match=r"update of parameter .* was changed"):
        model.fit(X, y, loss="mse", optimizer=SGD(model.parameters(), lr=1e308), epochs=1,
                  batch_size=64, shuffle=False, progress=False, compiled=compiled)  # fmt: skip
    assert [p.data for p in model.parameters()] == before


@pytest.mark.parametrize("compiled", [True, False])
def test_fit_refuses_a_diverging_step(compiled: bool) -> None:
    X, y = _moons()
    model = MLP(2, [8, 1], seed=0)
    before = [p.data for p in model.parameters()]
    with pytest.raises(FloatingPointError, match="no parameter was changed"):
        model.fit(X * 1e300, y, loss="mse", optimizer=SGD(model.parameters(), lr=1e300),
                  epochs=1, batch_size=64, progress=False, compiled=compiled)  # fmt: skip
    assert [p.data for p in model.parameters()] == before
