"""The tuned walk (``backward()``, ``grad()``) against the textbook one (``backward_reference``).

The reference in engine.py is the specification: a topological order, then the chain rule over
it with each row's local derivatives. The tuned walk in _backward.py must give the same
gradients: bit for bit where it does the same arithmetic in the same order, and within 1e-12
(relative) where it may add the same terms in another order (a dot node whose weights and
inputs share a value, or a node reached only through an inactive relu in one order).
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microgradnet import Value, grad
from microgradnet._backward import order_and_grads
from microgradnet._graph import topological_order
from microgradnet.engine import backward_order, backward_reference
from microgradnet.nn import MLP, Layer
from microgradnet.ops import UndefinedGradient
from microgradnet.testing import expressions, mlps

REL = 1e-12


def _may_reorder(root: Value) -> bool:
    """Whether the tuned walk may add a node's terms in another order than the reference."""
    for node in topological_order([root]):
        op = node.op_record
        if op is None:
            continue
        if op.gates or op.selects:
            return True
        parents = node.parents
        if len(set(parents)) != len(parents) and len(parents) > 2:
            return True  # a value twice among a fused node's inputs
    return False


def _assert_same(tuned: float, reference: Any, exact: bool, where: str) -> None:
    assert type(reference) is not UndefinedGradient, where
    if exact:
        assert tuned == reference, f"{where}: tuned {tuned!r}, reference {reference!r}"
    else:
        assert math.isclose(tuned, reference, rel_tol=REL, abs_tol=1e-300), (
            f"{where}: tuned {tuned!r}, reference {reference!r}"
        )


def check_backward(root: Value) -> None:
    """``root.backward()`` sets every node's .grad to the reference's gradient."""
    reference = backward_reference(root)
    for node in backward_order(root):
        node.grad = 0.0
    root.backward()
    exact = not _may_reorder(root)
    for i, node in enumerate(backward_order(root)):
        _assert_same(node.grad, reference.get(node, 0.0), exact, f"node {i} ({node.op or 'leaf'})")


def check_grad(root: Value, inputs: list[Value]) -> None:
    """``grad()``, without and with create_graph, against the reference on floats."""
    reference = backward_reference(root, inputs=inputs)
    exact = not _may_reorder(root)
    for x, g in zip(inputs, grad(root, inputs), strict=True):
        _assert_same(g.data, reference.get(x, 0.0), exact, "grad()")
    for x, g in zip(inputs, grad(root, inputs, create_graph=True), strict=True):
        _assert_same(g.data, reference.get(x, 0.0), False, "grad(create_graph=True)")


def check_second_order(root: Value, inputs: list[Value]) -> None:
    """A gradient built with create_graph, differentiated by both walks."""
    first = grad(root, inputs, create_graph=True)
    for g in first:
        if not g.parents:
            continue
        reference = backward_reference(g, inputs=inputs)
        for x, h in zip(inputs, grad(g, inputs), strict=True):
            _assert_same(h.data, reference.get(x, 0.0), False, "second order")


# ----- random expressions and networks -----
@settings(max_examples=150)
@given(expressions(n_inputs=3, max_leaves=12))
def test_random_expressions(e: Any) -> None:
    xs = [Value(x) for x in e.inputs]
    out = e.fn(*xs)
    check_backward(out)
    check_grad(out, xs)


@settings(max_examples=40)
@given(expressions(n_inputs=2, max_leaves=6))
def test_random_expressions_second_order(e: Any) -> None:
    xs = [Value(x) for x in e.inputs]
    check_second_order(e.fn(*xs), xs)


@settings(max_examples=60)
@given(mlps(max_inputs=3, max_hidden=5, max_layers=3, max_outputs=3), st.booleans())
def test_random_networks(example: Any, batched: bool) -> None:
    model, inputs, _ = example
    if batched:  # a batch shares each neuron's weight row and each sample's input tuple
        outputs = model.map([inputs, [2 * v for v in inputs]])
        flat = [v for out in outputs for v in (out if isinstance(out, list) else [out])]
    else:
        out = model(inputs)
        flat = out if isinstance(out, list) else [out]
    loss = Value.sum([v * v for v in flat])
    check_backward(loss)
    check_grad(loss, model.parameters())


# ----- the structures the tuned walk treats specially -----
def _shared_subgraph() -> Value:
    x, y = Value(0.7, label="x"), Value(-1.3, label="y")
    e = x * y
    return e + e * e + e.tanh() + x


def _dead_relu() -> Value:
    x, y = Value(0.5), Value(2.0)
    hidden = x * y - 3.0  # negative: the relu is dead
    return hidden.relu() + hidden.tanh() * x + (hidden * 2.0).relu()


def _max_with_ties() -> Value:
    a, b, c = Value(1.5), Value(1.5), Value(-2.0)
    return Value.max([a, b, c]) * Value.max([c, b * 1.0, a]) + Value.max([a, a])


def _dots() -> Value:
    w = [Value(0.3), Value(-0.8), Value(1.1)]
    x = [Value(0.5), Value(2.0), Value(-1.0)]
    b = Value(0.25)
    with_bias = Value.dot(w, x, b)
    without = Value.dot(w, x)
    aliased = Value.dot([x[0], w[1]], [w[1], x[0]], x[2])  # weights and inputs share values
    return with_bias * without + aliased.tanh()


def _layer_batch() -> Value:
    layer = Layer(3, 4, activation="relu", seed=3)
    batch = layer.map([[0.5, -1.0, 2.0], [1.5, 0.2, -0.3], [-2.0, 1.0, 0.0]])
    return Value.sum([v for sample in batch for v in sample])


def _deep_mlp() -> Value:
    model = MLP(2, [6, 6, 1], activation="leaky_relu", seed=1)
    return Value.sum([model([0.3, -0.7]), model([1.2, 0.4])])


STRUCTURES = [_shared_subgraph, _dead_relu, _max_with_ties, _dots, _layer_batch, _deep_mlp]


@pytest.mark.parametrize("build", STRUCTURES, ids=lambda f: f.__name__.strip("_"))
def test_structures(build: Any) -> None:
    root = build()
    leaves = [n for n in topological_order([root]) if not n.parents]
    check_backward(root)
    check_grad(root, leaves)
    check_second_order(root, leaves)


def test_the_comparison_can_fail() -> None:
    root = _shared_subgraph()
    reference = backward_reference(root)
    x = next(n for n in reference if n.label == "x")
    with pytest.raises(AssertionError):
        _assert_same(reference[x] * (1 + 1e-15), reference[x], True, "x")
    with pytest.raises(AssertionError):
        _assert_same(reference[x] * (1 + 1e-11), reference[x], False, "x")


# ----- the order -----
@settings(max_examples=100)
@given(expressions(n_inputs=3, max_leaves=12, ops=["add", "sub", "mul", "tanh", "exp", "dot"]))
def test_without_gates_the_walk_takes_the_reference_order(e: Any) -> None:
    root = e.fn(*[Value(x) for x in e.inputs])
    order, _ = order_and_grads(root)
    assert order == [n for n in topological_order([root]) if n.parents]


@pytest.mark.parametrize("build", STRUCTURES, ids=lambda f: f.__name__.strip("_"))
def test_the_walk_order_is_topological(build: Any) -> None:
    root = build()
    order, _ = order_and_grads(root)
    position = {node: i for i, node in enumerate(order)}
    assert len(position) == len(order)
    for node in order:
        for parent in node.parents:
            assert position.get(parent, -1) < position[node]
    full = topological_order([root])
    assert set(order) <= {n for n in full if n.parents}


# ----- undefined gradients -----
def test_an_undefined_gradient_is_reported_by_both() -> None:
    x, y = Value(-2.0), Value(2.0)
    out = (x**y).tanh()
    reference = backward_reference(out)
    assert type(reference[y]) is UndefinedGradient
    with pytest.raises(ValueError, match="log"):
        out.backward()
    assert grad(out, [x])[0].data == pytest.approx(reference[x])  # not asked for y: no error
