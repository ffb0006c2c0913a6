"""Compiled mode against the dynamic engine: every op, user ops, an MLP, fit, and the refusals."""

from __future__ import annotations

import dataclasses
import gc
import math
import random
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import make_moons

from microgradnet import Value, compile, define_op, grad, losses, ops
from microgradnet.compiled import TraceError, _kernels, _program
from microgradnet.compiled._kernels import ELEMENTWISE, VECTORISED
from microgradnet.engine import apply
from microgradnet.nn import MLP
from microgradnet.optim import SGD

RTOL = ATOL = 1e-12
N = 12


def close(a: Any, b: Any) -> None:
    np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)


# ----- the reference: the dynamic engine, one sample at a time -----
def reference(
    fn: Callable[..., Any], batch: list[np.ndarray], parameters: list[Value]
) -> tuple[np.ndarray, np.ndarray]:
    """Outputs per sample and the parameters' gradients of the summed first output."""
    outputs, grads = [], np.zeros(len(parameters))
    for i in range(len(batch[0])):
        args = [_values(a[i]) for a in batch]
        out = fn(*args)
        out = out if isinstance(out, list) else [out]
        for p in parameters:
            p.grad = 0.0
        out[0].backward()
        grads += [p.grad for p in parameters]
        outputs.append([v.data for v in out])
    for p in parameters:
        p.grad = 0.0
    return np.array(outputs), grads


def _values(a: np.ndarray) -> Any:
    return Value(float(a)) if a.ndim == 0 else [Value(float(v)) for v in a]


def compiled_result(
    fn: Callable[..., Any], batch: list[np.ndarray], parameters: list[Value]
) -> tuple[np.ndarray, np.ndarray, dict[ops.Op, str]]:
    """Outputs, gradients as in ``reference``, and how each op ran (``kernel_kinds``)."""
    f = compile(fn, tuple(a[0] for a in batch), parameters=parameters)
    outputs = f(*batch)
    scalar_fn = (lambda *xs: fn(*xs)[0]) if f.output_shape else fn
    g = compile(scalar_fn, tuple(a[0] for a in batch), parameters=parameters)
    for p in parameters:
        p.grad = 0.0
    g.backward(*batch, reduction="sum")
    grads = np.array([p.grad for p in parameters])
    for p in parameters:
        p.grad = 0.0
    return outputs.reshape(len(batch[0]), -1), grads, {**f.kernel_kinds, **g.kernel_kinds}


def assert_matches(
    fn: Callable[..., Any], batch: list[np.ndarray], parameters: list[Value]
) -> dict[ops.Op, str]:
    """Compiled outputs and gradients equal the dynamic engine's; returns the kernel kinds."""
    expected_out, expected_grad = reference(fn, batch, parameters)
    out, grad, kinds = compiled_result(fn, batch, parameters)
    close(out, expected_out)
    close(grad, expected_grad)
    return kinds


# ----- every op of the table -----
def op_function(op: ops.Op, w: Value, v: Value) -> Callable[..., list[Value]]:
    """A per-sample function using a unary ``op`` on inputs and parameters."""
    return lambda x: [apply(op, x[0] * w) * v, apply(op, w) + x[1], apply(op, x[1])]


def _inside(where: Any) -> tuple[float, float]:
    """Where to draw an input from a row's range: well inside it, away from its ends."""
    if where is None:
        return -2.0, 2.0
    if where == ops.MODERATE:
        return -0.9, 0.9
    low, high = where
    if math.isinf(high):
        return low + 0.5, low + 2.5
    if math.isinf(low):
        return high - 2.5, high - 0.5
    return low + 0.2 * (high - low), high - 0.2 * (high - low)


def row_function(op: ops.Op) -> tuple[Callable[..., list[Value]], np.ndarray, list[Value]]:
    """A per-sample function applying ``op`` to inputs and parameters in every combination,
    each argument drawn from the row's own ranges; its batch and its parameters."""
    if op.name == "dot":
        w, v = Value(1.3), Value(-0.6)
        X = np.random.default_rng(0).uniform(-2, 2, size=(N, 2))
        return (
            lambda x: [
                Value.dot([w, v], x, w * v) + Value.dot(x, x),
                Value.dot([w, x[1]], [x[0], v]),
                Value.dot([w], [v], 1.5),
            ],
            X,
            [w, v],
        )
    arg = op.arg_default if op.arg_default is not None else next(iter(op.arg_examples), None)
    n = op.arity or 3
    bounds = [_inside(r) for r in op.ranges(arg, n)]
    rng = np.random.default_rng(0)
    X = np.stack([rng.uniform(low, high, N) for low, high in bounds], axis=1)
    shifts = [Value(0.0) for _ in range(n)]  # x + 0: inside the range, and a gradient
    fixed = [Value((low + high) / 2 + 0.01 * j) for j, (low, high) in enumerate(bounds)]
    scale = Value(0.7)

    def fn(x: list[Value]) -> list[Value]:
        inputs = [xj + s for xj, s in zip(x, shifts, strict=True)]
        return [
            apply(op, *inputs, arg=arg) * scale,
            apply(op, *fixed, arg=arg) + x[0],
            apply(op, fixed[0], *inputs[1:], arg=arg),
            apply(op, inputs[0], *fixed[1:], arg=arg) * scale,
        ]

    return fn, X, [*shifts, *fixed, scale]


@pytest.mark.parametrize("op", ops.BUILTIN_OPS, ids=lambda op: op.name)
def test_every_op_matches_the_dynamic_engine(op: ops.Op) -> None:
    fn, X, parameters = row_function(op)
    kinds = assert_matches(fn, [X], parameters)
    # Every row runs on whole arrays: a row whose rules have no NumPy form (math.* on an input)
    # would still match above, element by element, and fail here.
    assert op in kinds
    assert set(kinds.values()) <= {VECTORISED, "bilinear"}, kinds


def test_a_wrong_kernel_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    # The kernel derived for tanh, its derivative replaced by a wrong one.
    derive = _program.kernel_for

    def wrong_for_tanh(op: ops.Op, points: Any) -> _kernels.Kernel:
        kernel = derive(op, points)
        if op is not ops.TANH:
            return kernel
        return dataclasses.replace(kernel, derivative=lambda xs, out, arg: (1.0 - out,))

    monkeypatch.setattr(_program, "kernel_for", wrong_for_tanh)
    w, v = Value(1.3), Value(0.4)
    X = np.random.default_rng(1).uniform(-2, 2, size=(N, 2))
    with pytest.raises(AssertionError):
        assert_matches(op_function(ops.TANH, w, v), [X], [w, v])


def test_a_row_without_numpy_rules_runs_element_by_element() -> None:
    # A row written with math.erf: the dynamic engine runs it, arrays do not.
    erf = ops.Op("erf", math.erf, lambda x, out: 2.0 / math.sqrt(math.pi) * math.exp(-x * x), "erf")
    w, v = Value(0.9), Value(-0.4)
    X = np.random.default_rng(5).uniform(-2, 2, size=(N, 2))
    kinds = assert_matches(op_function(erf, w, v), [X], [w, v])
    assert kinds[erf] == ELEMENTWISE


# ----- user ops -----
@define_op(derivative=lambda x, y, out: (ops.sin(y), x * ops.cos(y)))
def x_sin_y(x, y):
    return x * math.sin(y)


@define_op(derivative=lambda x, out: 3 * x * x)
def cube(x):
    return x**3


@define_op(derivative=lambda *xs_and_out: tuple(2 * x for x in xs_and_out[:-1]))
def sum_of_squares(*xs):
    return sum(x * x for x in xs)


def test_user_ops_match_the_dynamic_engine() -> None:
    w, v = Value(0.8), Value(-1.1)
    X = np.random.default_rng(2).uniform(-2, 2, size=(N, 2))

    def fn(x: list[Value]) -> list[Value]:
        return [
            x_sin_y(x[0] * w, v) + cube(x[1]) * w,
            x_sin_y(w, x[1]),
            sum_of_squares(x[0], w, x[1]) * v,
            sum_of_squares(w, v),
        ]

    kinds = assert_matches(fn, [X], [w, v])
    assert kinds[cube.op] == kinds[sum_of_squares.op] == VECTORISED
    assert kinds[x_sin_y.op] == "element-wise forward, vectorised derivative"  # math.sin


@define_op(derivative=lambda x, out: ops.exp(-x * x) * (ops.cos(x) - 2.0 * x * ops.sin(x)))
def bump(x):
    """Written with operators and the ops helpers: runs on whole arrays."""
    return ops.exp(-x * x) * ops.sin(x)


@define_op(derivative=lambda x, out: 1.0 - math.tanh(x) ** 2)
def math_tanh(x):
    """Written with math.tanh: raises on an array, so it runs element by element."""
    return math.tanh(x)


@define_op(derivative=lambda *xs_and_out: tuple(math.cos(x) for x in xs_and_out[:-1]))
def sum_of_sines(*xs):
    return math.fsum(math.sin(x) for x in xs)


def test_a_user_op_with_ops_helpers_compiles_vectorised() -> None:
    w, v = Value(0.6), Value(-0.9)
    X = np.random.default_rng(6).uniform(-2, 2, size=(N, 2))
    kinds = assert_matches(op_function(bump.op, w, v), [X], [w, v])
    assert kinds[bump.op] == VECTORISED


def test_a_user_op_with_math_functions_falls_back_and_matches() -> None:
    w, v = Value(0.6), Value(-0.9)
    X = np.random.default_rng(7).uniform(-2, 2, size=(N, 2))
    kinds = assert_matches(op_function(math_tanh.op, w, v), [X], [w, v])
    assert kinds[math_tanh.op] == ELEMENTWISE

    def fn(x: list[Value]) -> list[Value]:
        return [sum_of_sines(x[0] * w, v, x[1]) * w, sum_of_sines(w, v)]

    kinds = assert_matches(fn, [X], [w, v])
    assert kinds[sum_of_sines.op] == ELEMENTWISE


def _compiled_with_a_new_op() -> tuple[weakref.ref[ops.Op], Any]:
    @define_op(derivative=lambda x, out: 2.0 * x)
    def square(x):
        return x * x

    w = Value(0.5)
    f = compile(lambda x: square(x * w), (1.0,))
    assert f.kernel_kinds[square.op] == VECTORISED
    assert square.op in _kernels._DECIDED
    return weakref.ref(square.op), f


def test_an_op_is_decided_once_and_not_kept_alive() -> None:
    alive, f = _compiled_with_a_new_op()
    assert alive() is not None
    del f
    gc.collect()
    assert alive() is None  # the decision does not keep a user op alive


def test_rules_that_disagree_on_arrays_are_not_trusted() -> None:
    # Each runs on arrays but computes something else there than on floats: the float rules run.
    @define_op(derivative=lambda x, out: 2.0 * x)
    def wrong_on_arrays(x):
        return x * x if type(x) is float else x * x + 1.0

    @define_op(derivative=lambda x, out: 2.0 * x if type(x) is float else 3.0 * x)
    def wrong_derivative_on_arrays(x):
        return x * x

    @define_op(derivative=lambda x, out: 2.0)
    def doubled_in_place(x):
        x *= 2.0  # rebinds a float, but changes an array in place
        return x

    w, v = Value(0.6), Value(-0.9)
    X = np.random.default_rng(8).uniform(-2, 2, size=(N, 2))
    expected = {
        wrong_on_arrays.op: "element-wise forward, vectorised derivative",
        wrong_derivative_on_arrays.op: "vectorised forward, element-wise derivative",
        doubled_in_place.op: "element-wise forward, vectorised derivative",
    }
    for op, kind in expected.items():
        kinds = assert_matches(op_function(op, w, v), [X], [w, v])
        assert kinds[op] == kind, op


def test_a_needed_undefined_local_derivative_raises_like_the_engine() -> None:
    @define_op(
        derivative=lambda x, step, out: (ops.cos(x), ops.UndefinedGradient("snap: no step grad"))
    )
    def snap(x, step):
        return ops.sin(x) + step * 0.0

    w, step = Value(0.5), Value(0.1)
    X = np.random.default_rng(9).uniform(-2, 2, size=(N, 1))
    # the step is a constant here: only w's gradient is asked for, as with grad(y, [w])
    f = compile(lambda x: snap(x[0] * w, 0.1), (X[0],))
    f.backward(X, reduction="sum")
    expected = sum(grad(snap(Value(x) * w, 0.1), [w])[0].data for x in X[:, 0].tolist())
    close(w.grad, expected)
    w.grad = 0.0
    with pytest.raises(ValueError, match="snap: no step grad"):
        snap(Value(0.3) * w, step).backward()
    f = compile(lambda x: snap(x[0] * w, step), (X[0],))
    assert f.kernel_kinds[snap.op] == VECTORISED
    with pytest.raises(ValueError, match="snap: no step grad"):
        f.backward(X)


def test_backward_scales_by_gradient_like_value_backward() -> None:
    w = Value(1.5)
    f = compile(lambda x: (w * x).tanh(), (0.5,))
    X = np.array([0.2, -0.4, 1.0])
    loss = f.backward(X, reduction="sum")
    once = w.grad
    w.grad = 0.0
    assert f.backward(X, reduction="sum", gradient=-0.25) == loss  # the loss is not scaled
    close(w.grad, -0.25 * once)
    with pytest.raises(TypeError, match="gradient"):
        f.backward(X, gradient="1")


# ----- a whole model -----
def test_mlp_hinge_l2_over_a_batch_matches_summed_dynamic_gradients() -> None:
    X, y = make_moons(40, noise=0.1, random_state=0)
    y = 2.0 * y - 1.0
    model = MLP(2, [8, 8, 1], seed=0)
    parameters = model.parameters()

    def sample_loss(x: list[Value], t: Value) -> Value:
        return (1 - t * model(x)).relu() + losses.l2_penalty(parameters, 1e-3)

    step = compile(sample_loss, (X[0], y[0]))
    assert {id(p) for p in step.parameters} == {id(p) for p in parameters}
    assert model.compile(X[0]).grad_parameters == parameters  # in the order given
    model.zero_grad()
    loss = step.backward(X, y)
    compiled_grads = [p.grad for p in parameters]

    model.zero_grad()
    dynamic = losses.hinge([model(x) for x in X.tolist()], y.tolist()) + losses.l2_penalty(
        parameters, 1e-3
    )
    dynamic.backward()
    close(loss, dynamic.data)
    close(compiled_grads, [p.grad for p in parameters])


def test_module_compile_gives_batched_predictions() -> None:
    model = MLP(3, [5, 2], activation="tanh", seed=1)
    X = np.random.default_rng(3).normal(size=(7, 3))
    fast = model.compile(X[0])
    close(fast(X), [[v.data for v in model(x)] for x in X.tolist()])


def test_gradients_accumulate_like_backward() -> None:
    w = Value(2.0)
    f = compile(lambda x: w * x * x, (1.0,))
    f.backward(np.array([1.0, 2.0]))
    f.backward(np.array([1.0, 2.0]))
    assert w.grad == pytest.approx(2 * (1.0 + 4.0) / 2)


# ----- fit(..., compiled=True) -----
@pytest.mark.parametrize("loss", ["hinge", "mse"])
def test_fit_compiled_trains_like_the_dynamic_fit(loss: str) -> None:
    X, y = make_moons(60, noise=0.1, random_state=1)
    y = 2 * y - 1
    histories = []
    for compiled in (False, True):
        model = MLP(2, [8, 8, 1], seed=0)
        history = model.fit(
            X,
            y,
            loss=loss,
            optimizer=SGD(model.parameters(), lr=0.1, momentum=0.9),
            epochs=4,
            batch_size=16,
            seed=3,
            progress=False,
            compiled=compiled,
        )
        histories.append((history.history, model.state_dict()))
    (dynamic, dynamic_state), (fast, fast_state) = histories
    for key in ("loss", "accuracy"):
        np.testing.assert_allclose(fast[key], dynamic[key], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        list(fast_state.values()), list(dynamic_state.values()), rtol=1e-9, atol=1e-12
    )


def test_fit_compiled_refuses_a_loss_that_is_not_a_per_sample_mean() -> None:
    X, y = make_moons(20, noise=0.1, random_state=1)
    model = MLP(2, [4, 1], seed=0)

    def max_loss(predictions: list[Value], targets: list[float]) -> Value:
        return Value.sum([(p - t) ** 2 for p, t in zip(predictions, targets, strict=True)])

    with pytest.raises(TraceError, match="mean of per-sample terms"):
        model.fit(X, y, loss=max_loss, optimizer=SGD(model.parameters(), lr=0.1), epochs=1,
                  batch_size=10, progress=False, compiled=True)  # fmt: skip


# ----- structure changes -----
def test_a_python_branch_on_data_names_the_line() -> None:
    w = Value(1.5)

    def branchy(x: Value) -> Value:
        return w * x if x.data > 0 else (w * x).exp()

    with pytest.raises(
        TraceError, match=r"reading \.data of a traced value .* line \d+: `return w"
    ):
        compile(branchy, (1.0,))


@pytest.mark.parametrize(
    ("fn", "what"),
    [
        (lambda x: x * 2 if float(x) < 100 else x * 0.0, r"float\(\) of"),
        (lambda x: x * 2 if x else x * 0.0, r"bool\(\) of"),
        (lambda x: x * 2 if x < 100 else x * 0.0, r"comparison \(<\)"),
        (lambda x: x * 2 if x <= 100 else x * 0.0, r"comparison \(<=\)"),
        (lambda x: max(x, x * x), r"comparison \(>\)"),
        (lambda x: x - Value(x.data * 2), r"reading \.data"),
        # the engine would go on with 2.0; the program would compute x from the inputs
        (lambda x: (setattr(x, "data", 2.0), x * 3)[1], r"writing \.data"),
        (lambda x: (setattr(x * 3, "data", 2.0), x)[1], r"writing \.data"),
    ],
)
def test_data_dependent_python_raises_while_tracing(fn: Callable[..., Any], what: str) -> None:
    with pytest.raises(TraceError, match=what + r".* a traced value .*test_compiled\.py, line"):
        compile(fn, (0.5,))


def test_reading_a_parameter_or_a_constant_is_not_data_dependent() -> None:
    w = Value(2.0)
    f = compile(lambda x: x * w.data + (x * w if float(w) > 0 and not w < 0 else x), (0.5,))
    close(f(np.array([1.0, 3.0])), [4.0, 12.0])
    # outside a trace, and in other threads meanwhile, Value behaves as always
    assert Value(1.0) < 2.0 and float(Value(3.0)) == 3.0 and bool(Value(0.0))


def test_the_guard_is_removed_after_tracing_even_on_error() -> None:
    data_descriptor = Value.__dict__["data"]
    with pytest.raises(TraceError):
        compile(lambda x: x if x.data > 0 else -x, (1.0,))
    assert Value.__dict__["data"] is data_descriptor
    assert "__bool__" not in Value.__dict__


def test_a_graph_that_differs_between_samples_is_detected() -> None:
    # Library code may read .data (to build nodes); the second trace is the safety net.
    from microgradnet.compiled._trace import compare_traces, trace

    first = trace(lambda x: x.exp() + x, [np.array(1.0)], False, guard=False)
    second = trace(lambda x: x.exp() * x, [np.array(1.0)], False, guard=False)
    with pytest.raises(TraceError, match="structure depends on the data: node 2"):
        compare_traces(first, second, "sample 1")
    third = trace(lambda x: x - Value(x.data), [np.array(1.0)], False, guard=False)
    fourth = trace(lambda x: x - Value(x.data), [np.array(2.0)], False, guard=False)
    with pytest.raises(TraceError, match="constant in the graph depends on the data"):
        compare_traces(third, fourth, "sample 1")


def test_check_re_traces_on_real_samples() -> None:
    # repr() reads .data inside the library, unseen by the guard: only a second trace sees the
    # branch, and check() makes one per chosen sample of a batch
    def by_sign(x: Value) -> Value:
        return x.exp() if "-" in repr(x) else x * 2.0

    f = compile(by_sign, (1.0,), check_inputs=[(2.0,)])
    f.check(np.array([1.0, 3.0]))
    with pytest.raises(TraceError, match="sample 2 of the batch"):
        f.check(np.array([1.0, 3.0, -1.0]))
    with pytest.raises(TraceError, match="structure depends on the data"):
        compile(by_sign, (1.0,))  # the perturbed copy of the example flips its sign


def test_value_max_compiles_per_sample() -> None:
    f = compile(lambda x: Value.max(x).tanh(), ([1.0, 0.0],))
    f.check(np.array([[1.0, 0.0], [3.0, 1.0], [0.0, 1.0]]))
    close(f(np.array([[1.0, 0.0], [0.0, 2.0]])), np.tanh([1.0, 2.0]))


def test_relu_selection_is_not_a_structure_change() -> None:
    w = Value(1.0)
    f = compile(lambda x: (w * x).relu() + abs(x), (1.0,))
    close(f(np.array([-1.0, 2.0])), [1.0, 4.0])


@pytest.mark.parametrize("n", [40, 700])  # the first input equal to the output found two ways
def test_max_over_windows_with_ties_gives_each_gradient_to_the_first_maximum(n: int) -> None:
    w = [Value(1.0), Value(-1.0)]  # weights of 1 and -1 tie their products with the others

    def pooled(x: list[Value]) -> Value:
        windows = [Value.max([x[i] * w[0], x[i + 1], x[i + 2], x[i + 3] * w[1]]) for i in (0, 4)]
        return windows[0] * w[0] + Value.min(windows) * w[1]

    rng = np.random.default_rng(n)
    X = rng.integers(-1, 2, size=(n, 8)).astype(float)  # many ties, some of all four inputs
    assert_matches(pooled, [X], w)


# ----- bad input -----
def test_bad_inputs_get_clear_errors() -> None:
    w = Value(0.5)
    f = compile(lambda x, t: (w * x[0] + x[1] - t) ** 2, ([0.0, 1.0], 0.0))
    X, t = np.zeros((3, 2)), np.zeros(3)
    with pytest.raises(TypeError, match="takes 2 batch array"):
        f(X)
    with pytest.raises(ValueError, match=r"batch input 0 must have shape \(N, 2\).*\(3, 3\)"):
        f(np.zeros((3, 3)), t)
    with pytest.raises(ValueError, match="input 1 has 4"):
        f(X, np.zeros(4))
    with pytest.raises(ValueError, match="empty"):
        f(np.zeros((0, 2)), np.zeros(0))
    with pytest.raises(TypeError, match="real numbers"):
        f(np.array([["a", "b"]]), np.zeros(1))
    with pytest.raises(ValueError, match="reduction"):
        f.backward(X, t, reduction="max")
    with pytest.raises(TypeError, match="one entry per argument"):
        compile(lambda x: x, 1.0)
    with pytest.raises(TypeError, match="callable"):
        compile(3, (1.0,))
    with pytest.raises(TypeError, match=r"parameters\[0\] must be a Value"):
        compile(lambda x: x, (1.0,), parameters=[1.0])
    with pytest.raises(TraceError, match="must be a Value"):
        compile(lambda x: "text", (1.0,))
    vector = compile(lambda x: [x * w, x], (1.0,))
    with pytest.raises(ValueError, match="one scalar"):
        vector.backward(np.ones(2))


def test_out_of_domain_samples_raise_as_the_dynamic_engine_does() -> None:
    f = compile(lambda x: x.log(), (1.0,))
    with pytest.raises(ValueError, match=r"log: undefined for non-positive value -1\.0"):
        f(np.array([1.0, -1.0]))
    w = Value(2.0)
    g = compile(lambda x: x**w, (1.0,))
    g.backward(np.array([1.0, 2.0]))  # the exponent's gradient needs log(x): fine for x > 0
    with pytest.raises(ValueError, match="pow: the gradient with respect to the exponent"):
        g.backward(np.array([1.0, -2.0]))
    with pytest.raises(ZeroDivisionError, match="div"):
        compile(lambda x: w / x, (1.0,))(np.array([0.0]))


def test_compile_under_no_grad_is_refused() -> None:
    from microgradnet import no_grad

    with no_grad(), pytest.raises(TraceError, match="no_grad"):
        compile(lambda x: x * 2, (1.0,))


@pytest.fixture(autouse=True)
def _seed() -> None:
    random.seed(0)
