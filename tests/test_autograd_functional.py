"""The functional API (jvp, vjp, jacobian, hessian, hvp) against torch.autograd.functional and
sympy, on random expressions and on networks; forward mode runs no backward pass."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from conftest import require_module
from hypothesis import given, settings
from hypothesis import strategies as st

from microgradnet import Value, grad, hessian, hvp, jacobian, jvp, no_grad, vjp
from microgradnet import _backward as backward_walks
from microgradnet._graph import topological_order
from microgradnet.nn import MLP
from microgradnet.ops import BUILTIN_OPS
from microgradnet.testing import Expression, expressions

torch = require_module("torch")
sp = require_module("sympy")

REL, ABS = 1e-9, 1e-10
# Every row: its forward runs on tensors as it is (the dual helpers call the tensor's method of
# the same name), but softplus (torch.nn.functional's) and sign (torch.sign).
TORCH_OPS = [op.name for op in BUILTIN_OPS]


def _close(got: Any, want: Any, rel: float = REL) -> bool:
    if isinstance(want, list):
        return len(got) == len(want) and all(
            _close(g, w, rel) for g, w in zip(got, want, strict=True)
        )
    return math.isclose(got, want, rel_tol=rel, abs_tol=ABS)


def _floats(t: Any) -> Any:
    """torch's results (tensors, tuples of them) as floats and nested lists."""
    if isinstance(t, tuple | list):
        return [_floats(x) for x in t]
    return t.item()


# ----- the same function on tensors: an expression's graph replayed with torch -----
def _on_tensors(e: Expression) -> Callable[..., Any]:
    """``e`` as a function of float64 tensors: the graph it builds on Values, each node's row
    evaluated on tensors, differentiated by torch's own autograd."""
    xs = [Value(x) for x in e.inputs]
    out = e.fn(*xs)
    order = topological_order([out])

    def fn(*tensors: Any) -> Any:
        value: dict[Value, Any] = dict(zip(xs, tensors, strict=True))
        for node in order:
            if node in value:
                continue
            op = node.op_record
            if op is None:  # a constant
                value[node] = torch.tensor(node.data, dtype=torch.float64)
            elif op.name == "softplus":
                value[node] = torch.nn.functional.softplus(value[node.parents[0]])
            elif op.name == "sign":  # a tensor (the row's forward gives a step's float)
                value[node] = torch.sign(value[node.parents[0]])
            elif op.name == "pow":  # the base is positive here (the generator keeps it so)
                # torch.pow's gradient in the base is masked to 0 where the exponent is exactly
                # 0, which loses its derivative in the exponent: an asymmetric Hessian at
                # (x1 ** 2 + 1) ** tanh(x0), x0 = 0. exp(y log x) has none of that.
                base, exponent = (value[p] for p in node.parents)
                value[node] = torch.exp(exponent * torch.log(base))
            else:
                value[node] = op.evaluate([value[p] for p in node.parents], node.op_arg)
        return value[out]

    return fn


def _tensors(xs: Sequence[float]) -> tuple[Any, ...]:
    return tuple(torch.tensor(x, dtype=torch.float64) for x in xs)


# A row that gives a limit at ±inf (gelu, silu) reads its input's number to tell, which torch
# warns about on a tensor that requires a gradient; the value and graph are the tensor's.
@pytest.mark.filterwarnings("ignore:Converting a tensor with requires_grad")
@settings(max_examples=40)
@given(
    expressions(n_inputs=3, max_leaves=10, ops=TORCH_OPS),
    st.lists(st.floats(-2, 2), min_size=3, max_size=3),
)
def test_random_expressions_match_torch_functional(e: Expression, v: list[float]) -> None:
    theirs = _on_tensors(e)
    point, direction = _tensors(e.inputs), _tensors(v)
    functional = torch.autograd.functional
    out, product = jvp(e.fn, e.inputs, v)
    want_out, want = functional.jvp(theirs, point, direction)
    assert _close(out, want_out.item()) and _close(product, want.item()), str(e)
    out, product = vjp(e.fn, e.inputs, 0.75)
    assert _close(product, _floats(functional.vjp(theirs, point, torch.tensor(0.75))[1])), str(e)
    want_jacobian = _floats(functional.jacobian(theirs, point))
    for strategy in ("forward-mode", "reverse-mode"):
        assert _close(jacobian(e.fn, e.inputs, strategy=strategy), want_jacobian), str(e)
    want_hessian = _floats(functional.hessian(theirs, point))
    assert _close(hessian(e.fn, e.inputs), want_hessian, rel=1e-8), str(e)
    out, product = hvp(e.fn, e.inputs, v)
    assert _close(product, _floats(functional.hvp(theirs, point, direction)[1]), rel=1e-8), str(e)


# ----- every row, against sympy (a row added to the table takes part with no extra code) -----
def _sympy_derivatives(e: Expression) -> tuple[list[float], list[list[float]]]:
    expression, symbols = e.sympy()
    point = dict(zip(symbols, e.inputs, strict=True))
    first = [sp.diff(expression, s) for s in symbols]
    second = [[float(sp.diff(d, s).evalf(subs=point)) for s in symbols] for d in first]
    return [float(d.evalf(subs=point)) for d in first], second


@settings(max_examples=40)
@given(expressions(n_inputs=2, max_leaves=6, ops=list(BUILTIN_OPS)), st.floats(-2, 2))
def test_every_row_in_forward_mode_and_second_order_matches_sympy(e: Expression, a: float) -> None:
    gradient, hessian_ = _sympy_derivatives(e)
    direction = [a, 1.0]
    _, product = jvp(e.fn, e.inputs, direction)
    assert _close(product, gradient[0] * a + gradient[1], rel=1e-7), str(e)
    assert _close(jacobian(e.fn, e.inputs, strategy="forward-mode"), gradient, rel=1e-7), str(e)
    assert _close(hessian(e.fn, e.inputs), hessian_, rel=1e-6), str(e)
    want = [row[0] * a + row[1] for row in hessian_]
    assert _close(hvp(e.fn, e.inputs, direction)[1], want, rel=1e-6), str(e)
    # forward mode over a graph of the gradient: forward-over-reverse gives H·v too
    _, over = jvp(lambda *xs: grad(e.fn(*xs), list(xs), create_graph=True), e.inputs, direction)
    assert _close(over, want, rel=1e-6), str(e)


# ----- a network: outputs against inputs, and the loss against every parameter -----
def _net_on_tensors(model: MLP) -> Callable[..., Any]:
    layers = [[([w.data for w in n.w], n.b.data) for n in layer.neurons] for layer in model.layers]

    def fn(*xs: Any) -> Any:
        h = list(xs)
        for depth, layer in enumerate(layers):
            h = [
                sum((w * x for w, x in zip(ws, h, strict=True)), torch.tensor(b)) for ws, b in layer
            ]
            if depth < len(layers) - 1:
                h = [x.tanh() for x in h]
        return tuple(h)

    return fn


def test_network_jacobian_and_hessian_match_torch() -> None:
    model = MLP(3, [5, 4, 4], activation="tanh", seed=2)
    point = [0.3, -0.8, 1.1]

    def ours(*xs: Value) -> Any:
        return model(list(xs))

    theirs = _net_on_tensors(model)
    want = _floats(torch.autograd.functional.jacobian(theirs, _tensors(point)))
    for strategy in ("auto", "forward-mode", "reverse-mode"):
        assert _close(jacobian(ours, point, strategy=strategy), want)
    want_hessian = _floats(
        torch.autograd.functional.hessian(lambda *xs: theirs(*xs)[2], _tensors(point))
    )
    assert _close(hessian(lambda *xs: ours(*xs)[2], point), want_hessian)
    v = [0.5, -1.0, 0.25]
    _, product = jvp(ours, point, v)
    assert _close(
        product, _floats(torch.autograd.functional.jvp(theirs, _tensors(point), _tensors(v))[1])
    )


def _loss_of_parameters(model: MLP, batch: list[list[float]]) -> Callable[..., Value]:
    """The model's squared outputs summed over ``batch``, as a function of its parameters."""
    slots = [(n, i) for layer in model.layers for n in layer.neurons for i in range(len(n.w) + 1)]

    def loss(*parameters: Value) -> Value:
        for (neuron, i), p in zip(slots, parameters, strict=True):
            if i < len(neuron.w):
                neuron.w[i] = p
            else:
                neuron.b = p
        return Value.sum([out * out for out in model.map(batch)])

    return loss


def test_hessian_vector_product_over_every_parameter_matches_torch() -> None:
    model = MLP(2, [6, 5, 1], activation="tanh", seed=4)
    batch = [[0.5, -1.0], [1.5, 0.25], [-0.3, 0.8]]
    start = [p.data for p in model.parameters()]
    loss = _loss_of_parameters(model, batch)
    layer_sizes = [(2, 6), (6, 5), (5, 1)]

    def torch_loss(*ps: Any) -> Any:
        ps, total = list(ps), torch.tensor(0.0, dtype=torch.float64)
        for x in batch:
            h, k = [torch.tensor(v, dtype=torch.float64) for v in x], 0
            for depth, (nin, nout) in enumerate(layer_sizes):
                rows = []
                for _ in range(nout):
                    rows.append(
                        sum((w * v for w, v in zip(ps[k : k + nin], h, strict=True)), ps[k + nin])
                    )
                    k += nin + 1
                h = [r.tanh() for r in rows] if depth < 2 else rows
            total = total + h[0] * h[0]
        return total

    v = [math.sin(i) for i in range(len(start))]
    out, product = hvp(loss, start, v)
    want_out, want = torch.autograd.functional.hvp(torch_loss, _tensors(start), _tensors(v))
    assert _close(out, want_out.item())
    assert _close(product, _floats(want), rel=1e-8)
    _, gradient = vjp(loss, start)
    assert _close(gradient, _floats(torch.autograd.functional.vjp(torch_loss, _tensors(start))[1]))


# ----- how the results come back -----
def test_shapes_follow_torch() -> None:
    f = lambda x, y: x * y
    g = lambda x, y: [x * y, x - y]
    assert jacobian(f, [2.0, 3.0]) == [3.0, 2.0]  # one output: a flat row
    assert jacobian(g, [2.0, 3.0]) == [[3.0, 2.0], [1.0, -1.0]]
    assert jacobian(lambda x: [x], [2.0]) == [[1.0]]  # a sequence of one: one row
    assert jvp(f, [2.0, 3.0], [1.0, 0.0]) == (6.0, 3.0)
    assert jvp(g, [2.0, 3.0], [1.0, 0.0]) == ([6.0, -1.0], [3.0, 1.0])
    assert jvp(lambda x: x * x, [3.0]) == (9.0, 6.0)  # v may be omitted for one input
    assert vjp(f, [2.0, 3.0]) == (6.0, [3.0, 2.0])  # ... and for one output
    assert vjp(g, [2.0, 3.0], [1.0, 2.0]) == ([6.0, -1.0], [5.0, 0.0])
    assert hessian(f, [2.0, 3.0]) == [[0.0, 1.0], [1.0, 0.0]]
    assert hvp(f, [2.0, 3.0], [1.0, 0.0]) == (6.0, [0.0, 1.0])
    assert jacobian(lambda x, y: [x, 2.0], [1.0, 5.0]) == [[1.0, 0.0], [0.0, 0.0]]  # a constant
    assert hessian(lambda x, y: x + y, [1.0, 2.0]) == [[0.0, 0.0], [0.0, 0.0]]  # linear


def test_create_graph_results_can_be_differentiated_again() -> None:
    x = Value(1.5)
    # d/dx of the Hessian of x³y at (x, 2): [[6xy, 3x²], [3x², 0]] -> [[6y, 6x], [6x, 0]]
    h = hessian(lambda a, b: a**3 * b, [x, 2.0], create_graph=True)
    assert [[v.data for v in row] for row in h] == [[18.0, 6.75], [6.75, 0.0]]
    assert [grad(v, [x])[0].data for row in h for v in row] == [12.0, 9.0, 9.0, 0.0]
    _, d = jvp(lambda a: a.sin(), [x], [1.0], create_graph=True)
    assert grad(d, [x])[0].data == pytest.approx(-math.sin(1.5))
    _, (p,) = hvp(lambda a: a**4, [x], [1.0], create_graph=True)
    assert grad(p, [x])[0].data == pytest.approx(24 * 1.5)
    out, (g,) = vjp(lambda a: a.exp(), [x], create_graph=True)
    assert grad(g, [x])[0].data == pytest.approx(math.exp(1.5)) and isinstance(out, Value)
    rows = jacobian(lambda a: [a * a, a.sin()], [x], create_graph=True, strategy="forward-mode")
    assert [grad(row[0], [x])[0].data for row in rows] == pytest.approx([2.0, -math.sin(1.5)])


def test_value_inputs_are_independent_and_work_inside_no_grad() -> None:
    a = Value(2.0)
    b = a * 3.0  # depends on a, but as an input it is a variable of its own
    assert jacobian(lambda x, y: x * y, [a, b]) == [6.0, 2.0]
    with no_grad():
        assert hessian(lambda x: x**3, [2.0]) == [[12.0]]
        assert jvp(lambda x: x.exp(), [0.0]) == (1.0, 1.0)
    assert a.grad == 0.0  # no .grad is touched


def test_undefined_derivatives_raise_only_where_needed() -> None:
    # d/dy of x ** y needs log(x), undefined for x < 0: asked for, it raises; not, it does not
    with pytest.raises(ValueError, match=r"log\(base\)"):
        jacobian(lambda x, y: x**y, [-2.0, 2.0])
    with pytest.raises(ValueError, match=r"log\(base\)"):
        jvp(lambda x, y: x**y, [-2.0, 2.0], [0.0, 1.0])
    assert jvp(lambda x, y: x**y, [-2.0, 2.0], [1.0, 0.0]) == (4.0, -4.0)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: jacobian(lambda x: x, 2.0), TypeError, "inputs must be a sequence"),
        (lambda: jacobian(lambda x: x, ["a"]), TypeError, r"inputs\[0\] must be a number"),
        (lambda: jacobian(lambda x: "y", [1.0]), TypeError, "must return a Value"),
        (lambda: jacobian(lambda x: x, [1.0], strategy="sideways"), ValueError, "strategy"),
        (lambda: jvp(lambda x, y: x, [1.0, 2.0]), TypeError, "v is needed"),
        (lambda: jvp(lambda x, y: x, [1.0, 2.0], [1.0]), ValueError, "1 entries for 2 inputs"),
        (lambda: hessian(lambda x: [x, x], [1.0]), TypeError, "one Value"),
        (lambda: vjp(lambda x: [x, x], [1.0]), TypeError, "v is needed"),
        (lambda: hvp(lambda x: x, [1.0], ["a"]), TypeError, r"v\[0\]"),
    ],
)
def test_bad_arguments_are_named(call: Callable[[], Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        call()


def test_jvp_runs_no_backward_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_reverse_mode(*args: Any) -> Any:
        raise AssertionError("a backward pass ran")

    monkeypatch.setattr(backward_walks, "gradients", no_reverse_mode)
    monkeypatch.setattr(backward_walks, "accumulate", no_reverse_mode)
    f = lambda x, y: [(x * y).tanh(), Value.dot([x, y], [y, x], 1.0).exp()]
    # along (1, -1): tanh'(xy)·(y - x) and exp(2xy + 1)·2(y - x)
    want = [0.3 * (1 - math.tanh(0.18) ** 2), math.exp(1.36) * 0.6]
    assert _close(jvp(f, [0.3, 0.6], [1.0, -1.0])[1], want)
    assert jacobian(f, [0.3, 0.6], strategy="forward-mode")[0][0] == pytest.approx(
        0.6 * (1 - math.tanh(0.18) ** 2)
    )
    with pytest.raises(AssertionError, match="backward pass"):
        jacobian(f, [0.3, 0.6], strategy="reverse-mode")


def test_a_derivative_that_fails_names_its_op_in_forward_mode_as_in_reverse_mode() -> None:
    x = Value(0.0)
    with pytest.raises(ZeroDivisionError, match=r"^sqrt: ") as reverse:
        x.sqrt().backward()
    with pytest.raises(ZeroDivisionError, match=r"^sqrt: ") as forward:
        jvp(lambda a: a.sqrt(), [0.0])
    assert str(forward.value) == str(reverse.value)
