"""Fused weighted sums: Value.dot, Value.matvec, a layer's shared inputs and Module.map, against
torch."""

from __future__ import annotations

import random

import pytest
from conftest import require_module

from microgradnet import Value, losses, no_grad
from microgradnet._batched import dots_over_batch
from microgradnet.nn import MLP, Layer, Module, Neuron, Sequential, Tanh

TOL = 1e-12


def _random_matvec(rng: random.Random, rows: int, cols: int) -> tuple[list, list, list]:
    W = [[rng.uniform(-2, 2) for _ in range(cols)] for _ in range(rows)]
    x = [rng.uniform(-2, 2) for _ in range(cols)]
    b = [rng.uniform(-1, 1) for _ in range(rows)]
    return W, x, b


@pytest.mark.parametrize(("rows", "cols"), [(1, 1), (3, 2), (4, 16)])
def test_matvec_values_and_gradients_match_torch(rows: int, cols: int) -> None:
    torch = require_module("torch")
    W, x, b = _random_matvec(random.Random(rows * 31 + cols), rows, cols)
    w_values = [[Value(v) for v in row] for row in W]
    x_values = [Value(v) for v in x]
    b_values = [Value(v) for v in b]
    outputs = Value.matvec(w_values, x_values, b_values)
    # a loss that weighs each output differently, so every gradient differs
    loss = Value.sum([(k + 1) * out.tanh() for k, out in enumerate(outputs)])
    loss.backward()

    tw = torch.tensor(W, dtype=torch.float64, requires_grad=True)
    tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    t_out = tw @ tx + tb
    t_loss = (torch.arange(1, rows + 1, dtype=torch.float64) * t_out.tanh()).sum()
    t_loss.backward()

    assert [o.data for o in outputs] == pytest.approx(t_out.tolist(), rel=TOL, abs=TOL)
    assert [[w.grad for w in row] for row in w_values] == [
        pytest.approx(row, rel=TOL, abs=TOL) for row in tw.grad.tolist()
    ]
    assert [v.grad for v in x_values] == pytest.approx(tx.grad.tolist(), rel=TOL, abs=TOL)
    assert [v.grad for v in b_values] == pytest.approx(tb.grad.tolist(), rel=TOL, abs=TOL)


def test_matvec_rows_are_dot_nodes_sharing_one_input_tuple() -> None:
    x = [Value(1.0), Value(2.0)]
    first, second = Value.matvec([[Value(1.0), Value(3.0)], [Value(-1.0), 4]], x, [0.5, None])
    assert first.op == second.op == "dot"
    assert first.data == 7.5 and second.data == 7.0
    # parents in op order: weights, inputs, then the bias if there is one
    assert first.parents[2:4] == tuple(x) and len(first.parents) == 5
    assert second.parents[2:] == tuple(x) and second.parents[1].data == 4.0
    assert first._y is second._y  # one tuple of inputs for the whole layer


def test_matvec_without_biases_and_numbers_as_inputs() -> None:
    (out,) = Value.matvec([[Value(2.0), Value(3.0)]], [1, 2])
    assert out.data == 8.0 and len(out.parents) == 4


@pytest.mark.parametrize(
    ("weights", "inputs", "biases", "error", "match"),
    [
        ([[1.0, 2.0]], [1.0], None, ValueError, "row 0 has 2 weights but there are 1 inputs"),
        ([[1.0], [2.0]], [1.0], [0.0], ValueError, "2 rows but 1 biases"),
        ([["w"]], [1.0], None, TypeError, r"weights\[0\].*str"),
        ([[1.0]], [None], None, TypeError, "inputs.*NoneType"),
        ([[1.0]], [1.0], [[0.0]], TypeError, r"biases\[0\].*list"),
    ],
)
def test_matvec_rejects_bad_input_naming_it(weights, inputs, biases, error, match) -> None:
    with pytest.raises(error, match=match):
        Value.matvec(weights, inputs, biases)


def test_dot_rejects_mismatched_lengths_and_non_real_entries() -> None:
    with pytest.raises(ValueError, match="2 weights but 1 inputs"):
        Value.dot([1.0, 2.0], [Value(1.0)])
    with pytest.raises(TypeError, match=r"Value\.dot bias.*str"):
        Value.dot([1.0], [Value(1.0)], "b")  # type: ignore[arg-type]


def test_dots_over_batch_sum_exactly_like_the_op_row() -> None:
    from microgradnet import ops

    rng = random.Random(3)
    w = tuple(Value(rng.uniform(-1e3, 1e3)) for _ in range(9))
    x = tuple(Value(rng.uniform(-1e-3, 1e-3)) for _ in range(8))
    ((out,),) = dots_over_batch([w], [x])
    assert out.data == ops.DOT.forward(*[v.data for v in (*w[:8], *x, w[8])])


def test_layer_output_follows_a_changed_weight_list_and_bias() -> None:
    layer = Layer(2, 2, activation="linear", seed=0)
    neuron = layer.neurons[0]
    x = [1.0, 2.0]
    before = layer(x)[0]
    old_weight = neuron.w[0]
    neuron.w[0] = Value(10.0)  # in place: the cached row must notice
    assert layer(x)[0].data == pytest.approx(10.0 + 2.0 * neuron.w[1].data + neuron.b.data)
    neuron.b = Value(-5.0)
    assert layer(x)[0].data == pytest.approx(10.0 + 2.0 * neuron.w[1].data - 5.0)
    # a graph built earlier keeps the weights it was built from
    before.backward()
    assert old_weight.grad == 1.0 and neuron.w[0].grad == 0.0


def test_layer_with_a_number_among_the_weights_treats_it_as_a_constant() -> None:
    layer = Layer(2, 1, activation="linear", seed=0)
    layer.neurons[0].w[1] = 3.0  # type: ignore[call-overload]
    out = layer([1.0, 2.0])
    assert out.data == pytest.approx(layer.neurons[0].w[0].data + 6.0)
    out.backward()
    assert layer.neurons[0].w[0].grad == 1.0


def test_layer_rejects_a_weight_that_is_not_a_number() -> None:
    layer = Layer(2, 1, seed=0)
    layer.neurons[0].w[0] = "w"  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="str"):
        layer([1.0, 2.0])


def test_layer_with_a_neuron_of_another_size_names_the_row() -> None:
    layer = Layer(2, 3, seed=0)
    layer([1.0, 2.0])  # rows cached
    layer.neurons[2].w.append(Value(1.0))
    with pytest.raises(ValueError, match="row 2 has 3 weights but there are 2 inputs"):
        layer([1.0, 2.0])


def test_neuron_and_layer_agree_with_value_dot() -> None:
    neuron = Neuron(3, "tanh", seed=2)
    x = [0.5, -1.0, 2.0]
    expected = Value.dot(neuron.w, [Value(v) for v in x], neuron.b).tanh().data
    assert neuron(x).data == expected
    layer = Layer(3, 1, "tanh", seed=2)
    assert layer(x).data == expected


def test_batch_of_dot_nodes_trains_like_separate_graphs() -> None:
    # the same loss built sample by sample and in one batch gives the same gradients
    layer = Layer(2, 3, activation="tanh", seed=4)
    X = [[0.1, 0.2], [-0.3, 0.4], [0.5, -0.6]]
    separate = []
    for x in X:
        layer_loss = losses.mse(layer(x), [0.0, 0.0, 0.0])
        layer_loss.backward()
        separate.append([p.grad for p in layer.parameters()])
        layer.zero_grad()
    summed = [sum(column) for column in zip(*separate, strict=True)]
    batch = Value.sum([losses.mse(layer(x), [0.0, 0.0, 0.0]) for x in X])
    batch.backward()
    assert [p.grad for p in layer.parameters()] == pytest.approx(summed, rel=1e-12)


# ----- a whole batch at once: Module.map -----
def _moons_like(rng: random.Random, n: int) -> list[list[float]]:
    return [[rng.uniform(-2, 2), rng.uniform(-2, 2)] for _ in range(n)]


def test_mlp_map_matches_torch_on_a_batch_in_values_and_gradients() -> None:
    torch = require_module("torch")
    from microgradnet.interop import to_torch

    rng = random.Random(5)
    X = _moons_like(rng, 7)
    model = MLP(2, [8, 8, 1], seed=5)
    scores = model.map(X)
    loss = Value.sum([(k + 1) * s.tanh() for k, s in enumerate(scores)])
    loss.backward()

    reference = to_torch(model)
    t_scores = reference(torch.tensor(X, dtype=torch.float64)).squeeze(1)
    (torch.arange(1, len(X) + 1, dtype=torch.float64) * t_scores.tanh()).sum().backward()
    assert [s.data for s in scores] == pytest.approx(t_scores.tolist(), rel=TOL, abs=TOL)
    t_grads = [g for p in reference.parameters() for g in p.grad.flatten().tolist()]
    # torch keeps each layer's weight matrix then its bias vector; ours goes neuron by neuron
    ours = []
    for layer in model.layers:
        ours += [w.grad for n in layer.neurons for w in n.w] + [n.b.grad for n in layer.neurons]
    assert ours == pytest.approx(t_grads, rel=TOL, abs=TOL)


def test_map_builds_the_same_nodes_as_calling_sample_by_sample() -> None:
    rng = random.Random(6)
    X = _moons_like(rng, 5)
    for model in (MLP(2, [4, 3], seed=6), Layer(2, 3, "tanh", seed=6), Neuron(2, seed=6)):
        one_by_one = [model(x) for x in X]
        batched = model.map(X)
        assert _shape(batched) == _shape(one_by_one)
        assert _datas(batched) == _datas(one_by_one)  # exactly: the same sums in the same order
        assert _ops(batched) == _ops(one_by_one)


def _flat(outputs: list) -> list[Value]:
    return [v for out in outputs for v in (out if isinstance(out, list) else [out])]


def _shape(outputs: list) -> list:
    return [len(out) if isinstance(out, list) else None for out in outputs]


def _datas(outputs: list) -> list[float]:
    return [v.data for v in _flat(outputs)]


def _ops(outputs: list) -> list[tuple[str, ...]]:
    return [(v.op, *(p.op for p in v.parents)) for v in _flat(outputs)]


def test_sequential_map_chains_each_module_map() -> None:
    model = Sequential(Layer(2, 3, "linear", seed=1), Tanh(), Layer(3, 1, "linear", seed=2))
    X = [[0.5, -1.0], [2.0, 0.25]]
    assert _datas(model.map(X)) == _datas([model(x) for x in X])


def test_map_reads_weights_changed_between_batches() -> None:
    model = MLP(2, [2, 1], seed=0)
    X = [[1.0, 2.0], [3.0, -1.0]]
    before = _datas(model.map(X))
    for p in model.parameters():
        p.data += 0.5
    after = model.map(X)
    assert _datas(after) == _datas([model(x) for x in X]) != before


def test_map_under_no_grad_records_no_graph() -> None:
    model = MLP(2, [3, 1], seed=0)
    with no_grad():
        outputs = model.map([[1.0, 2.0], [0.0, 1.0]])
    assert all(out.parents == () for out in outputs)


def test_map_of_an_empty_batch_is_empty() -> None:
    assert MLP(2, [3, 1], seed=0).map([]) == []
    assert Layer(2, 3, seed=0).map([]) == []


def test_map_names_a_bad_sample() -> None:
    model = MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match="MLP expects 2 inputs, got 3"):
        model.map([[1.0, 2.0], [1.0, 2.0, 3.0]])
    with pytest.raises(TypeError, match="str"):
        Layer(2, 1, seed=0).map([[1.0, "x"]])


def test_map_with_a_number_among_the_weights_matches_calling_one_by_one() -> None:
    layer = Layer(2, 2, activation="linear", seed=0)
    layer.neurons[1].w[0] = 3.0  # type: ignore[call-overload]
    X = [[1.0, 2.0], [-1.0, 0.5]]
    assert _datas(layer.map(X)) == _datas([layer(x) for x in X])


def test_mlp_map_runs_a_module_put_among_its_layers() -> None:
    model = MLP(2, [3, 3, 1], activation="linear", seed=2)
    model.layers.insert(1, Tanh())
    X = [[0.5, -1.0], [2.0, 0.25]]

    def by_hand(x: list[float]) -> Value:
        for layer in model.layers:
            x = layer(x)
        return x

    assert _datas(model.map(X)) == _datas([by_hand(x) for x in X])


def test_map_runs_a_subclass_own_call() -> None:
    class Squashed(MLP):
        def __call__(self, x):  # type: ignore[override]
            return super().__call__(x).tanh()

    class Halved(Layer):
        def __call__(self, x):  # type: ignore[override]
            return [v * 0.5 for v in super().__call__(x)]

    X = [[0.5, -1.0], [2.0, 0.25]]
    squashed = Squashed(2, [3, 1], seed=3)
    assert [out.op for out in squashed.map(X)] == ["tanh", "tanh"]
    assert _datas(squashed.map(X)) == _datas([squashed(x) for x in X])

    model = MLP(2, [3, 1], seed=3)
    model.layers[0] = Halved(2, 3, seed=4)
    assert _datas(model.map(X)) == _datas([model(x) for x in X])
    # the last layer's dot reads (w0, w1, w2, x0, x1, x2, b): the halved outputs are its inputs
    assert [p.op for p in model.map(X)[0].parents[3:6]] == ["mul", "mul", "mul"]


def test_the_batching_hook_is_chosen_once_per_class() -> None:
    class Plain(Layer):
        """Defines neither __call__ nor map: batches as a Layer."""

    class OwnCall(Layer):
        def __call__(self, x):  # type: ignore[override]
            return super().__call__(x)

    class OwnMap(Layer):
        batches = 0

        def map(self, samples):  # type: ignore[override]
            OwnMap.batches += 1
            return super().map(samples)

    assert Plain.map is Layer.map and OwnMap.map is not Module.map
    assert OwnCall.map is Module.map  # one sample at a time, through its own __call__

    X = [[0.5, -1.0], [2.0, 0.25], [1.0, 1.0]]
    model = MLP(2, [3, 1], seed=7)
    model.layers[1] = OwnMap(3, 1, seed=8)  # type: ignore[call-overload]
    one_by_one = _datas([model(x) for x in X])
    OwnMap.batches = 0
    assert _datas(model.map(X)) == one_by_one
    assert OwnMap.batches == 1  # the MLP ran its map once, for the whole batch
    plain = MLP(2, [3, 1], seed=7)
    plain.layers[1] = Plain(3, 1, seed=8)  # type: ignore[call-overload]
    assert _datas(plain.map(X)) == one_by_one
