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

from microgradnet import Value, detect_anomaly, grad
from microgradnet._backward import order_and_grads
from microgradnet._graph import topological_order
from microgradnet.engine import backward_order, backward_reference
from microgradnet.nn import MLP, Layer
from microgradnet.ops import VARIADIC, UndefinedGradient
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


def _fused_may_reorder(root: Value) -> bool:
    """Whether the gradient graph's terms may be summed in another order than the reference's
    (Note [the order of terms] in _backward_graph.py): a node with terms from a dot node's tuple
    and from anything else."""
    kinds: dict[Value, set[object]] = {}
    for node in topological_order([root]):
        op = node.op_record
        if op is None:
            continue
        fused = op.bilinear and op.arity == VARIADIC
        for parent in set(node.parents):
            if not fused:
                kinds.setdefault(parent, set()).add("other nodes")
                continue
            for role, elements in (("w", node._x), ("x", node._y)):
                if parent in elements:
                    kinds.setdefault(parent, set()).add((id(elements), role))
    return _may_reorder(root) or any(
        len(k) > 1 and any(kind != "other nodes" for kind in k) for k in kinds.values()
    )


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
    """``grad()``, without and with create_graph, against the reference on floats (the fused
    gradient graph adds its terms in the reference's order: Note [fused gradients])."""
    reference = backward_reference(root, inputs=inputs)
    exact = not _may_reorder(root)
    for x, g in zip(inputs, grad(root, inputs), strict=True):
        _assert_same(g.data, reference.get(x, 0.0), exact, "grad()")
    exact = not _fused_may_reorder(root)
    for x, g in zip(inputs, grad(root, inputs, create_graph=True), strict=True):
        _assert_same(g.data, reference.get(x, 0.0), exact, "grad(create_graph=True)")


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


# ----- the gradient's graph stays fused -----
@pytest.mark.parametrize("width", [4, 16])
def test_the_gradient_of_a_network_is_a_graph_of_fused_nodes(width: int) -> None:
    model = MLP(2, [width, width, 1], activation="tanh", seed=0)
    batch = [[0.5, -1.0], [1.5, 0.2], [-0.3, 0.8]]
    loss = Value.sum([out * out for out in model.map(batch)])
    parameters = model.parameters()
    gradients = grad(loss, parameters, create_graph=True)
    forward = set(topological_order([loss]))
    added = [n for n in topological_order(gradients) if n not in forward]
    # One node per parameter (a dot over the batch), one per activation and sample (a dot over
    # its consumers), and a few per tanh: never one per edge, as a product and a sum per edge
    # would make it (more than 4 per weight and sample).
    activations = len(batch) * (2 * width + 1)
    assert len(added) <= len(parameters) + 5 * activations + 10, len(added)
    dots = [n for n in added if n.op == "dot"]
    assert len(dots) >= len(parameters) - 2 * width - 1  # the weights' gradients
    for g in gradients:
        if g.op == "dot":
            assert len(g.parents) == 2 * len(batch)  # Σ over the batch of input · upstream


# ----- the walks that watch: hooks, frozen leaves, anomaly detection -----
@pytest.mark.parametrize("build", STRUCTURES, ids=lambda f: f.__name__.strip("_"))
def test_hooks_that_change_nothing_change_nothing(build: Any) -> None:
    root = build()
    nodes = topological_order([root])
    seen: list[float] = []
    handles = [n.register_hook(lambda g: seen.append(g)) for n in nodes[::3]]
    check_backward(root)
    check_grad(root, [n for n in nodes if not n.parents])
    assert seen
    for handle in handles:
        handle.remove()


@pytest.mark.parametrize("build", STRUCTURES, ids=lambda f: f.__name__.strip("_"))
def test_freezing_changes_only_the_frozen_and_what_leads_only_to_them(build: Any) -> None:
    root = build()
    nodes = topological_order([root])
    leaves = [n for n in nodes if not n.parents]
    frozen = set(leaves[::2])
    reference = backward_reference(root)
    for leaf in frozen:
        leaf.requires_grad = False
    try:
        for node in nodes:
            node.grad = 0.0
        root.backward()
        for node in nodes:
            behind = topological_order([node])
            requires = any(not n.parents and n not in frozen for n in behind)
            want = reference.get(node, 0.0) if requires else 0.0
            _assert_same(node.grad, want, False, f"{node.op or 'leaf'}")
    finally:
        for leaf in frozen:
            leaf.requires_grad = True


@settings(max_examples=60)
@given(expressions(n_inputs=3, max_leaves=12))
def test_anomaly_detection_walks_as_the_reference(e: Any) -> None:
    xs = [Value(x) for x in e.inputs]
    with detect_anomaly():
        out = e.fn(*xs)
        check_backward(out)
        check_grad(out, xs)


@pytest.mark.parametrize("build", STRUCTURES, ids=lambda f: f.__name__.strip("_"))
def test_anomaly_detection_on_the_structures(build: Any) -> None:
    with detect_anomaly():
        root = build()
        leaves = [n for n in topological_order([root]) if not n.parents]
        check_backward(root)
        check_grad(root, leaves)
