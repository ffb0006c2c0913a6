"""The backward walk against independent references: what mutants of ``_backward.py`` must
fail (``benchmarks/mutation/mutate_rules.py``).

First, fast checks with no PyTorch (the mutation script's first stage runs them as a plain
script): on small graphs that take every path of the tuned walk (a node used twice, shared
subexpressions, constant and variadic ops, a relu at 0, a max's losers, dot nodes sharing their
tuples as a layer's do over a batch, a deep chain), ``backward()``, ``grad()`` and
``create_graph=True`` give the central differences of the forward, in plain walks and in watched
ones (a hook, a frozen leaf, anomaly detection). Then hooks against PyTorch: a hook runs once per
walk with the node's whole gradient; a hook of a leaf that ``grad()`` does not need is not run; a
number a hook returns without ``create_graph`` stays a number.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from microgradnet import Value, detect_anomaly, grad
from microgradnet._backward import gradient_error
from microgradnet._batched import dots_over_batch

EPS = 1e-6
Graph = Callable[..., Value]


def _layer_over_a_batch(w1: Value, w2: Value, b: Value, v1: Value, v2: Value, x: Value) -> Value:
    # Two rows (one with a bias) over two samples: dot nodes sharing their weight and input
    # tuples, as a layer's do.
    rows = [(w1, w2, b), (w2, w1)]
    dots = dots_over_batch(rows, [(x, v1), (v2, x)])
    return Value.sum([d * d for sample in dots for d in sample]) + dots[0][1] * w1


def _deep_chain(x: Value) -> Value:
    y = x
    for i in range(3000):  # far past the recursion limit
        y = y * 0.999 + 0.001 * (i % 3)
    return y * x


GRAPHS: list[tuple[str, Graph, list[float]]] = [
    ("a + a", lambda a: a + a, [1.3]),
    ("x * x", lambda x: x * x, [-0.7]),
    ("shared", lambda x, y: (x * y) * (x * y) + (x * y).exp() - (x * y) / y, [0.4, 1.2]),
    (
        "one node read four times",
        lambda x, y: (h := x * y + x) * h + h.exp() - h / y + h.tanh() ** 2,
        [0.4, 1.2],
    ),
    ("constants", lambda x: (x**3).tanh().leaky_relu(0.1) * 2.0 - x.sigmoid() - 1.5**x, [0.3]),
    ("neg and sub", lambda x, y: -(x - y) - (y - x * 0.5) + (-x) * y, [0.6, -1.4]),
    ("pow and div", lambda x, y: x**y + x / y - y / x, [1.3, 0.7]),
    (
        "a relu at 0",
        lambda x, y: (x - x).relu() * y + (x * y).relu() + (x * -1.0).relu(),
        [0.8, 1.1],
    ),
    (
        "a relu at 0 and its input used elsewhere",
        lambda x, y: (h := x * y - 2.0).relu() * x + h * h,
        [0.8, 1.1],
    ),
    (
        "max and min with losers",
        lambda x, y, z: Value.max([x * y, z, x]) + Value.min([y, z, x * z]) * x,
        [0.9, 1.7, -0.4],
    ),
    ("sum", lambda x, y, z: Value.sum([x * x, y, z * x, y]) * x, [0.9, 1.7, -0.4]),
    (
        "dot with and without a bias",
        lambda w1, w2, x1, x2, b: Value.dot([w1, w2], [x1, x2], b) * Value.dot([w1, x1], [x2, w1]),
        [0.5, -1.2, 0.8, 1.9, 0.3],
    ),
    ("a layer over a batch", _layer_over_a_batch, [0.5, -1.2, 0.3, 0.8, 1.9, -0.6]),
    ("zero gradients on the way", lambda x, y: (x * y) * 0.0 + (x * 0.0).exp() * y, [0.5, 2.0]),
    ("clamp", lambda x, y: (x * y).clamp(-0.5, y) + x.hardtanh(-1.0, y), [0.3, 1.1]),
    ("a deep chain", _deep_chain, [0.7]),
]
GRAPH_IDS = [name for name, _, _ in GRAPHS]


def _leaves(point: list[float]) -> list[Value]:
    return [Value(x) for x in point]


def _central_differences(f: Graph, point: list[float]) -> list[float]:
    result = []
    for i in range(len(point)):
        up, down = list(point), list(point)
        up[i] += EPS
        down[i] -= EPS
        result.append((f(*_leaves(up)).data - f(*_leaves(down)).data) / (2 * EPS))
    return result


def _close(found: list[Any], expected: list[float], what: str) -> None:
    found = [float(g) for g in found]
    for i, (g, e) in enumerate(zip(found, expected, strict=True)):
        assert abs(g - e) <= 1e-5 * (1.0 + abs(e)), f"{what}: input {i}: {g}, not {e}"


@contextlib.contextmanager
def _watched(kind: str, leaves: list[Value]) -> Iterator[None]:
    """The walk ``kind`` takes: plain, with hooks (which change nothing), with a frozen leaf
    that is not among ``leaves`` or under anomaly detection."""
    if kind == "hooks":
        for x in leaves:
            x.register_hook(lambda g: None)
    if kind == "frozen":
        spare = Value(2.0)
        spare.requires_grad = False
        leaves[0] = leaves[0] + spare * 0.0  # the frozen leaf lies behind the graph
    if kind == "anomaly":
        with detect_anomaly():
            yield
        return
    yield


WALKS = ["plain", "hooks", "frozen", "anomaly"]


@pytest.mark.parametrize("walk", WALKS)
@pytest.mark.parametrize(("name", "f", "point"), GRAPHS, ids=GRAPH_IDS)
def test_backward_gives_central_differences(
    name: str, f: Graph, point: list[float], walk: str
) -> None:
    expected = _central_differences(f, point)
    xs = _leaves(point)
    inputs = list(xs)
    with _watched(walk, inputs):
        f(*inputs).backward()
    _close([x.grad for x in xs], expected, f"{name}, {walk} walk: backward")
    with _watched(walk, list(xs)):  # a second backward adds as much again, with a seed
        f(*xs).backward(-2.5)
    _close([x.grad for x in xs], [-1.5 * e for e in expected], f"{name}, {walk}: twice")


@pytest.mark.parametrize("walk", WALKS)
@pytest.mark.parametrize(("name", "f", "point"), GRAPHS, ids=GRAPH_IDS)
def test_grad_gives_central_differences(name: str, f: Graph, point: list[float], walk: str) -> None:
    expected = _central_differences(f, point)
    xs = _leaves(point)
    with _watched(walk, list(xs)):
        out = f(*xs)
        every = grad(out, xs)
        last = grad(out, xs[-1:])  # only the paths to one input
    _close(every, expected, f"{name}, {walk} walk: grad")
    _close(last, expected[-1:], f"{name}, {walk} walk: grad of the last input")
    assert all(x.grad == 0.0 for x in xs), f"{name}: grad() wrote a .grad"


@pytest.mark.parametrize("walk", WALKS)
@pytest.mark.parametrize(("name", "f", "point"), GRAPHS[:12], ids=GRAPH_IDS[:12])
def test_create_graph_gives_central_differences_of_the_gradient(
    name: str, f: Graph, point: list[float], walk: str
) -> None:
    def first(*xs: Value) -> Value:  # d f / d x0 as a value, from plain walks
        return Value(float(grad(f(*xs), [xs[0]])[0].data))

    expected = _central_differences(first, point)
    xs = _leaves(point)
    with _watched(walk, list(xs)):
        (g,) = grad(f(*xs), [xs[0]], create_graph=True)
        _close([g.data], [first(*_leaves(point)).data], f"{name}, {walk}: the gradient's value")
        second = grad(g, xs)
    _close([s.data for s in second], expected, f"{name}, {walk} walk: second derivatives")


def test_an_undefined_gradient_is_reported_only_where_it_arrives() -> None:
    # d/dy of x ** y does not exist at x < 0; d/dx does (an integer power of a negative base)
    x, y = Value(-2.0), Value(2.0)
    (gx,) = grad(x**y, [x])
    _close([gx.data], _central_differences(lambda a: a**2.0, [-2.0]), "d/dx of x ** y")
    with pytest.raises(ValueError, match="pow"):
        grad(x**y, [y])
    with pytest.raises(ValueError, match="pow"):
        (x**y).backward()
    with pytest.raises(ValueError, match="pow"):  # it spreads through the sum
        ((x**y) * 3.0 + y).backward()


def test_an_error_in_a_rule_is_named_once_by_its_op() -> None:
    x = Value(0.0)
    with pytest.raises(ZeroDivisionError) as caught:  # d sqrt(x)/dx = 0.5 / sqrt(x)
        (x.sqrt() * 2.0).backward()
    assert str(caught.value).startswith("sqrt: gradient undefined at input 0.0:"), caught.value
    assert str(caught.value).count("sqrt") == 1, caught.value
    # with no node (the walk failed before its first) or a leaf, the error is left as it is
    error = ValueError("boom")
    assert gradient_error(None, error) is error
    assert gradient_error(Value(1.0), error) is error
    named = ValueError("mul: already named")
    assert gradient_error(Value(1.0) * 2.0, named) is named


def test_a_row_whose_rule_gives_too_few_local_derivatives_is_refused() -> None:
    # The calling contract: one local derivative per input; PyTorch refuses a Function whose
    # backward returns too few gradients. Refused wherever the walk calls the rule: a selecting
    # row's is called while ordering (to find the chosen input), even if no gradient arrives.
    from microgradnet.engine import apply
    from microgradnet.ops import VARIADIC, Op, maximum

    short_sum = Op("short_sum", lambda *xs: sum(xs), lambda *xs_out: (1.0,), arity=VARIADIC)
    short_max = Op("short_max", maximum, lambda *xs_out: (1.0,), arity=VARIADIC, selects=True)
    for op, scale in ((short_sum, 1.0), (short_max, 1.0), (short_max, 0.0)):
        x, y = Value(0.5), Value(2.0)
        with pytest.raises(ValueError):
            (apply(op, x, y) * scale + x * y).backward()


def test_a_dot_wider_than_the_cached_small_integers_gets_its_gradients() -> None:
    # 300 weights and inputs, no bias: lengths past 256 are distinct int objects in CPython, so
    # comparing them by identity instead of value would find a bias that is not there
    n = 300
    ws, xs = [0.01 * (i % 7) - 0.02 for i in range(n)], [0.5 - 0.003 * i for i in range(n)]

    def f(w_last: Value, x_last: Value, w_first: Value) -> Value:
        weights = [w_first, *[Value(w) for w in ws[1:-1]], w_last]
        return Value.dot(weights, [*[Value(x) for x in xs[:-1]], x_last]) * 2.0

    point = [ws[-1], xs[-1], ws[0]]
    leaves = _leaves(point)
    f(*leaves).backward()
    _close([x.grad for x in leaves], _central_differences(f, point), "a dot of 300")


def _frozen(*data: float) -> list[Value]:
    leaves = [Value(x) for x in data]
    for x in leaves:
        x.requires_grad = False
    return leaves


# Values made only from frozen leaves, through each kind of node (every input of a selecting
# node also reached another way): a backward() from one is refused, as PyTorch refuses it.
FROZEN_ONLY: list[tuple[str, Callable[[Value, Value, Value], Value]]] = [
    ("mul", lambda a, b, c: a * b),
    ("exp", lambda a, b, c: a.exp()),
    ("dot", lambda a, b, c: Value.dot([a, b], [b, c], a)),
    ("clamp", lambda a, b, c: a.clamp(b, c) + b * c),
    ("max", lambda a, b, c: Value.max([a, b, c]) + a * b * c),
    ("sum", lambda a, b, c: Value.sum([a, b, c])),
]


@pytest.mark.parametrize(("name", "f"), FROZEN_ONLY, ids=[name for name, _ in FROZEN_ONLY])
def test_backward_from_a_value_made_only_from_frozen_leaves_is_refused(
    name: str, f: Callable[[Value, Value, Value], Value]
) -> None:
    leaves = _frozen(0.5, -1.0, 1.0)
    with pytest.raises(RuntimeError, match="does not require a gradient"):
        f(*leaves).backward()
    # used in a graph with a trainable leaf: that leaf's gradient is the central difference,
    # the frozen leaves get none
    x, point = Value(0.7), [0.7]
    (f(*leaves) * x).backward()
    _close([x.grad], _central_differences(lambda v: f(*_frozen(0.5, -1.0, 1.0)) * v, point), name)
    assert [leaf.grad for leaf in leaves] == [0.0, 0.0, 0.0], name


def test_pytorch_refuses_a_backward_from_tensors_that_need_no_gradient() -> None:
    import torch

    a, b, c = (torch.tensor(v, dtype=torch.float64) for v in (0.5, -1.0, 1.0))
    for out in (a * b, torch.clamp(a, b, c) + b * c, torch.stack([a, b, c]).max() + a * b * c):
        with pytest.raises(RuntimeError, match="does not require grad"):
            out.backward()


# ----- hooks against PyTorch -----
def _tensor(x: float) -> Any:
    import torch  # here, so that the checks above run (and fail) without loading it

    return torch.tensor(x, dtype=torch.float64, requires_grad=True)


def test_a_hook_on_an_inner_node_runs_once_with_its_whole_gradient() -> None:

    x, calls = Value(1.5), []
    h = x * 2.0
    h.register_hook(lambda g: calls.append(g))
    (h * 3.0 + h).backward()

    tx, torch_calls = _tensor(1.5), []
    th = tx * 2.0
    th.register_hook(lambda g: torch_calls.append(g.item()))
    (th * 3.0 + th).backward()
    assert calls == torch_calls == [4.0]
    assert x.grad == tx.grad.item() == 8.0


def test_grad_runs_no_hook_of_a_leaf_it_does_not_need() -> None:
    import torch

    x, z, calls = Value(1.5), Value(-2.0), []
    z.register_hook(lambda g: calls.append(g))
    (gx,) = grad(x * z + z, [x])

    tx, tz, torch_calls = _tensor(1.5), _tensor(-2.0), []
    tz.register_hook(lambda g: torch_calls.append(g.item()))
    (tgx,) = torch.autograd.grad(tx * tz + tz, [tx])
    assert calls == torch_calls == []
    assert gx.data == tgx.item() == -2.0


def test_a_number_returned_by_a_hook_stays_a_number_without_create_graph() -> None:
    import torch

    x, z = Value(1.5), Value(-2.0)
    h = x * z
    h.register_hook(lambda g: 2.0 * float(g))
    (gx,) = grad(h * h + z, [x])
    y = x * x
    y.register_hook(lambda g: 2.0 * float(g))
    y.backward()

    tx, tz = _tensor(1.5), _tensor(-2.0)
    th = tx * tz
    th.register_hook(lambda g: 2.0 * g)
    (tgx,) = torch.autograd.grad(th * th + tz, [tx])
    assert gx.data == pytest.approx(tgx.item()) and gx.op == "" and gx.parents == ()
    assert type(x.grad) is float and x.grad == 6.0  # 2 * d(x*x)/dx


def test_a_hook_on_a_leaf_runs_once_and_its_number_is_the_gradient() -> None:

    x, calls = Value(1.5), []
    x.register_hook(lambda g: calls.append(g) or 2.0 * g)
    (x * x + x).backward()

    tx, torch_calls = _tensor(1.5), []
    tx.register_hook(lambda g: torch_calls.append(g.item()) or 2.0 * g)
    (tx * tx + tx).backward()
    assert calls == torch_calls == [4.0]
    assert x.grad == tx.grad.item() == 8.0


def main() -> None:
    """Every check above without pytest, stopping at the first failure: the mutation script's
    first stage for the walk's mutants."""
    for walk in WALKS:
        for graph in GRAPHS:
            test_backward_gives_central_differences(*graph, walk)
            test_grad_gives_central_differences(*graph, walk)
        for graph in GRAPHS[:12]:
            test_create_graph_gives_central_differences_of_the_gradient(*graph, walk)
    test_an_undefined_gradient_is_reported_only_where_it_arrives()
    test_an_error_in_a_rule_is_named_once_by_its_op()
    test_a_row_whose_rule_gives_too_few_local_derivatives_is_refused()
    test_a_dot_wider_than_the_cached_small_integers_gets_its_gradients()
    for name, f in FROZEN_ONLY:
        test_backward_from_a_value_made_only_from_frozen_leaves_is_refused(name, f)
    test_pytorch_refuses_a_backward_from_tensors_that_need_no_gradient()
    test_a_hook_on_an_inner_node_runs_once_with_its_whole_gradient()
    test_grad_runs_no_hook_of_a_leaf_it_does_not_need()
    test_a_number_returned_by_a_hook_stays_a_number_without_create_graph()
    test_a_hook_on_a_leaf_runs_once_and_its_number_is_the_gradient()


if __name__ == "__main__":
    main()
