"""nn: parameter discovery, names, sharing, construction, calling, init schemes, display."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from microgradnet import Value
from microgradnet.engine import backward_order
from microgradnet.nn import (
    MLP,
    Activation,
    Identity,
    Layer,
    LeakyReLU,
    Module,
    Neuron,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
)


def test_mlp_parameter_count_matches_micrograd() -> None:
    assert MLP(2, [16, 16, 1]).num_parameters() == 337
    assert len(MLP(2, [16, 16, 1]).parameters()) == 337
    # (nin + 1) * nout per layer, computed independently
    assert MLP(3, [4, 5]).num_parameters() == (3 + 1) * 4 + (4 + 1) * 5


def test_parameter_names_are_dotted_paths_in_definition_order() -> None:
    model = MLP(2, [3, 1], seed=0)
    names = [name for name, _ in model.named_parameters()]
    assert names[:4] == [
        "layers.0.neurons.0.w.0",
        "layers.0.neurons.0.w.1",
        "layers.0.neurons.0.b",
        "layers.0.neurons.1.w.0",
    ]
    assert names[-1] == "layers.1.neurons.0.b"
    assert len(set(names)) == len(names)
    # the names lead to the very objects
    assert model.named_parameters()[3][1] is model.layers[0].neurons[1].w[0]
    assert model.parameters()[-1] is model.layers[1].neurons[0].b


class Tied(Module):
    def __init__(self) -> None:
        self.encoder = Layer(2, 2, seed=0)
        self.decoder = Layer(2, 2, seed=1)
        self.decoder.neurons[0].w[0] = self.encoder.neurons[0].w[0]  # a shared weight
        self.again = self.encoder  # a shared module
        self.extras = {"scale": Value(2.0), "offsets": (Value(0.1), Value(0.2))}
        self.count = 3  # not a parameter
        self._cache = [Value(9.0)]  # private: never walked
        self.me = [self]  # a cycle must not loop forever

    def __call__(self, x):
        return self.decoder(self.encoder(x))


def test_shared_parameters_and_modules_are_listed_once() -> None:
    model = Tied()
    named = model.named_parameters()
    ids = [id(p) for _, p in named]
    assert len(ids) == len(set(ids))
    assert len(named) == 6 + 5 + 3  # encoder, decoder minus the tied weight, extras
    names = [n for n, _ in named]
    assert "encoder.neurons.0.w.0" in names
    assert "decoder.neurons.0.w.0" not in names
    assert not any(n.startswith("again") for n in names)
    assert names[-3:] == ["extras.scale", "extras.offsets.0", "extras.offsets.1"]


def test_zero_grad_clears_every_parameter_and_gradients_reach_all() -> None:
    model = MLP(3, [4, 4, 2], activation="tanh", seed=3)
    out = model([0.1, -0.2, 0.3])
    Value.sum(out).backward()
    assert all(p.grad != 0.0 for p in model.layers[0].neurons[0].w)
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_call_returns_value_for_one_output_else_list() -> None:
    model = MLP(2, [3, 1], seed=0)
    assert isinstance(model([1.0, 2.0]), Value)
    out = MLP(2, [3, 2], seed=0)([1.0, Value(2.0)])
    assert isinstance(out, list) and len(out) == 2 and all(isinstance(v, Value) for v in out)
    assert isinstance(MLP(1, [2, 1], seed=0)(0.5), Value)  # one input may be a bare number


def test_forward_matches_an_independent_float_computation() -> None:
    model = MLP(3, [4, 2], activation="tanh", output_activation="sigmoid", seed=7)
    x = [0.3, -1.1, 2.0]
    h = x
    for layer, fn in zip(model.layers, (math.tanh, lambda z: 1 / (1 + math.exp(-z))), strict=True):
        h = [
            fn(sum(w.data * xi for w, xi in zip(n.w, h, strict=True)) + n.b.data)
            for n in layer.neurons
        ]
    assert [v.data for v in model(x)] == pytest.approx(h, rel=1e-12)


def test_neuron_weighted_sum_is_one_fused_node() -> None:
    neuron = Neuron(16, "relu", seed=0)
    out = neuron([Value(0.1 * i) for i in range(16)])
    assert out.op == "relu"
    (weighted,) = out.parents
    assert weighted.op == "dot"
    assert len(weighted.parents) == 16 + 16 + 1
    # micrograd builds a mul and an add per input; here each neuron is a dot (+ activation)
    model = MLP(2, [16, 16, 1], seed=0)
    op_nodes = sum(1 for v in backward_order(model([0.5, -0.5])) if v.op)
    assert op_nodes == 16 + 16 + 16 + 16 + 1  # a dot and a relu per hidden neuron, one dot


@pytest.mark.parametrize(
    ("activation", "expected"),
    [
        ("relu", lambda z: max(z, 0.0)),
        ("tanh", math.tanh),
        ("sigmoid", lambda z: 1 / (1 + math.exp(-z))),
        ("leaky_relu", lambda z: z if z > 0 else 0.01 * z),
        ("linear", lambda z: z),
    ],
)
def test_activations_by_name(activation, expected) -> None:
    neuron = Neuron(2, activation, seed=0)
    neuron.w[0].data, neuron.w[1].data, neuron.b.data = 0.5, -1.5, 0.25
    for x in ([1.0, 2.0], [-2.0, -1.0]):
        z = 0.5 * x[0] - 1.5 * x[1] + 0.25
        assert neuron(x).data == pytest.approx(expected(z), rel=1e-12)


def test_activation_modules_in_sequential() -> None:
    seq = Sequential(Layer(2, 3, "linear", seed=0), Tanh(), Layer(3, 1, "linear", seed=1))
    x = [0.4, -0.7]
    hidden = [math.tanh(v.data) for v in seq[0](x)]
    last = seq[2].neurons[0]
    expected = sum(w.data * h for w, h in zip(last.w, hidden, strict=True)) + last.b.data
    assert seq(x).data == pytest.approx(expected, rel=1e-12)
    assert len(seq) == 3 and seq.num_parameters() == 9 + 4
    for module, z, want in [
        (ReLU(), -1.0, 0.0),
        (Sigmoid(), 0.0, 0.5),
        (LeakyReLU(), -2.0, -0.02),
        (Identity(), 3.0, 3.0),
        (Activation("tanh"), 0.0, 0.0),
    ]:
        assert module(Value(z)).data == pytest.approx(want)
        assert [v.data for v in module([z, z])] == pytest.approx([want, want])


def test_unknown_activation_lists_the_valid_names() -> None:
    for make in (
        lambda: Neuron(2, "selu"),
        lambda: Layer(2, 2, "selu"),
        lambda: MLP(2, [2], activation="selu"),
        lambda: MLP(2, [2], output_activation="selu"),
        lambda: Activation("selu"),
    ):
        with pytest.raises(ValueError) as info:
            make()
        for name in ("selu", "relu", "tanh", "gelu", "hardtanh", "linear"):
            assert name in str(info.value)


def test_input_length_mismatch_names_both_lengths() -> None:
    with pytest.raises(ValueError, match="expects 2 inputs, got 3"):
        MLP(2, [3, 1], seed=0)([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="expects 3 inputs, got 1"):
        Layer(3, 2, seed=0)([1.0])
    with pytest.raises(ValueError, match="expects 2 inputs, got 0"):
        Neuron(2, seed=0)([])
    with pytest.raises(TypeError, match="str"):
        MLP(2, [1], seed=0)("ab")


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: MLP(0, [1]), ValueError),
        (lambda: MLP(2, []), ValueError),
        (lambda: MLP(2, 3), TypeError),
        (lambda: MLP(2, [2, 0]), ValueError),
        (lambda: MLP(2.0, [1]), TypeError),
        (lambda: Layer(2, True), TypeError),
        (lambda: Neuron(2, init="glorot"), ValueError),
        (lambda: Neuron(2, seed="0"), TypeError),
        (lambda: Neuron(2, seed=1.5), TypeError),
        (lambda: Sequential(Layer(1, 1), print), TypeError),
    ],
)
def test_bad_constructor_arguments(make, error) -> None:
    with pytest.raises(error):
        make()


def test_seed_makes_initialisation_reproducible() -> None:
    assert MLP(2, [4, 1], seed=5).state_dict() == MLP(2, [4, 1], seed=5).state_dict()
    assert MLP(2, [4, 1], seed=5).state_dict() != MLP(2, [4, 1], seed=6).state_dict()
    shared = random.Random(1)
    a, b = MLP(2, [3], seed=shared), MLP(2, [3], seed=shared)
    assert a.state_dict() != b.state_dict()  # one stream, consumed in turn
    random.seed(42)
    c = MLP(2, [3])
    random.seed(42)
    assert MLP(2, [3]).state_dict() == c.state_dict()  # seed=None: Python's global generator


def test_uniform_init_reproduces_micrograds_weights() -> None:
    rng = random.Random(1337)
    expected = [rng.uniform(-1, 1) for _ in range(2)]
    neuron = Neuron(2, init="uniform", seed=1337)
    assert [w.data for w in neuron.w] == expected
    assert neuron.b.data == 0.0


@pytest.mark.parametrize(
    ("init", "activation", "bound"),
    [
        ("he", "tanh", math.sqrt(6 / 50)),
        ("xavier", "relu", math.sqrt(6 / (50 + 40))),
        ("lecun", "relu", math.sqrt(3 / 50)),
        ("uniform", "relu", 1.0),
        ("auto", "relu", math.sqrt(6 / 50)),
        ("auto", "tanh", math.sqrt(6 / (50 + 40))),
    ],
)
def test_init_schemes_draw_uniform_weights_within_the_bound(init, activation, bound) -> None:
    layer = Layer(50, 40, activation, init=init, seed=0)
    weights = [w.data for n in layer.neurons for w in n.w]
    assert max(abs(w) for w in weights) <= bound
    assert max(abs(w) for w in weights) > 0.98 * bound  # 2000 draws reach the edge
    # U(-a, a) has variance a**2 / 3
    assert statistics.pvariance(weights) == pytest.approx(bound**2 / 3, rel=0.1)
    assert all(n.b.data == 0.0 for n in layer.neurons)


def test_micrograd_public_attributes() -> None:
    model = MLP(2, [16, 16, 1], seed=0)
    assert len(model.layers) == 3
    assert len(model.layers[1].neurons) == 16
    neuron = model.layers[1].neurons[0]
    assert isinstance(neuron.w, list) and len(neuron.w) == 16 and isinstance(neuron.b, Value)
    assert model.nin == 2 and model.nouts == [16, 16, 1]
    assert [layer.activation for layer in model.layers] == ["relu", "relu", "linear"]


def test_train_and_eval_flags_reach_submodules() -> None:
    model = Sequential(Layer(2, 2), ReLU())
    model.eval()
    names = [name for name, _ in model.named_modules()]
    assert names == ["", "layers.0", "layers.0.neurons.0", "layers.0.neurons.1", "layers.1"]
    assert not any(m.training for _, m in model.named_modules())
    model.train()
    assert all(m.training for _, m in model.named_modules())


def test_repr_is_readable() -> None:
    text = repr(MLP(2, [16, 1], activation="tanh"))
    assert text.splitlines() == [
        "MLP(",
        "  (layers.0): Layer(2, 16, activation='tanh')",
        "  (layers.1): Layer(16, 1, activation='linear')",
        ")",
    ]
    assert repr(Neuron(3, "sigmoid")) == "Neuron(3, activation='sigmoid')"
    assert "(layers.1): ReLU()" in repr(Sequential(Layer(1, 1), ReLU()))


def test_html_display_summarises_layers_and_count() -> None:
    page = MLP(2, [16, 16, 1], seed=0)._repr_html_()
    assert "337 parameters" in page
    assert "Layer(2, 16, activation=&#x27;relu&#x27;)" in page
    assert ">272<" in page  # the middle layer's count


def test_html_display_never_raises() -> None:
    class Broken(Module):
        def __init__(self) -> None:
            self.layer = Layer(1, 1)

        def extra_repr(self) -> str:
            raise RuntimeError("boom")

    page = Broken()._repr_html_()
    assert isinstance(page, str) and "Broken" in page


def test_fit_delegates_to_train_fit(monkeypatch) -> None:
    import sys
    import types

    calls = []
    fake = types.ModuleType("microgradnet.train")
    fake.fit = lambda model, X, y, **kwargs: calls.append((model, X, y, kwargs)) or "history"
    monkeypatch.setitem(sys.modules, "microgradnet.train", fake)
    model = MLP(2, [1], seed=0)
    assert model.fit([[0.0, 1.0]], [1], epochs=3) == "history"
    assert calls == [(model, [[0.0, 1.0]], [1], {"epochs": 3})]
