"""to_torch / from_torch, and a whole MLP's gradients against torch autograd (float64)."""

from __future__ import annotations

import builtins
import random

import pytest
from conftest import require_module

from microgradnet import Value, losses
from microgradnet.interop import from_torch, to_torch
from microgradnet.nn import MLP, Layer, Sequential, Tanh

TOL = 1e-10


@pytest.mark.parametrize(
    ("activation", "output_activation"),
    [
        ("relu", "linear"),
        ("tanh", "sigmoid"),
        ("leaky_relu", "tanh"),
        ("sigmoid", "relu"),
        ("gelu", "softsign"),
        ("silu", "hardtanh"),
        ("elu", "linear"),
    ],
)
def test_mlp_gradients_match_torch_autograd(activation: str, output_activation: str) -> None:
    torch = require_module("torch")
    model = MLP(3, [5, 4, 2], activation, output_activation, seed=11)
    seq = to_torch(model)
    rng = random.Random(0)
    X = [[rng.uniform(-2, 2) for _ in range(3)] for _ in range(6)]
    targets = [[rng.uniform(-1, 1) for _ in range(2)] for _ in range(6)]

    outputs = [v for x in X for v in model(x)]
    loss = losses.mse(outputs, [t for row in targets for t in row])
    loss.backward()

    t_out = seq(torch.tensor(X, dtype=torch.float64))
    t_loss = torch.nn.functional.mse_loss(t_out, torch.tensor(targets, dtype=torch.float64))
    t_loss.backward()

    assert [v.data for v in outputs] == pytest.approx(t_out.flatten().tolist(), rel=TOL, abs=TOL)
    assert loss.data == pytest.approx(t_loss.item(), rel=TOL)
    linears = [m for m in seq if isinstance(m, torch.nn.Linear)]
    assert len(linears) == 3
    for layer, linear in zip(model.layers, linears, strict=True):
        weight_grad = linear.weight.grad.tolist()
        bias_grad = linear.bias.grad.tolist()
        for j, neuron in enumerate(layer.neurons):
            assert [w.grad for w in neuron.w] == pytest.approx(weight_grad[j], rel=1e-9, abs=TOL)
            assert neuron.b.grad == pytest.approx(bias_grad[j], rel=1e-9, abs=TOL)


def test_input_gradients_match_torch() -> None:
    torch = require_module("torch")
    model = MLP(2, [8, 1], "tanh", seed=4)
    x = [Value(0.3), Value(-0.8)]
    model(x).backward()
    t_x = torch.tensor([0.3, -0.8], dtype=torch.float64, requires_grad=True)
    to_torch(model)(t_x).sum().backward()
    assert [v.grad for v in x] == pytest.approx(t_x.grad.tolist(), rel=1e-9)


def test_to_torch_structure_and_dtype() -> None:
    torch = require_module("torch")
    seq = to_torch(MLP(2, [4, 3, 1], "relu", "sigmoid", seed=0))
    kinds = [type(m).__name__ for m in seq]
    assert kinds == ["Linear", "ReLU", "Linear", "ReLU", "Linear", "Sigmoid"]
    assert all(p.dtype == torch.float64 for p in seq.parameters())
    leaky = to_torch(Sequential(Layer(2, 2, "leaky_relu", seed=0), Tanh()))
    assert isinstance(leaky[1], torch.nn.LeakyReLU) and leaky[1].negative_slope == 0.01
    assert isinstance(leaky[2], torch.nn.Tanh)


def test_round_trip_through_torch_keeps_weights_and_activations() -> None:
    require_module("torch")
    model = MLP(3, [6, 6, 2], "tanh", "sigmoid", seed=9)
    back = from_torch(to_torch(model))
    assert isinstance(back, MLP)
    assert back.state_dict() == model.state_dict()
    assert [layer.activation for layer in back.layers] == ["tanh", "tanh", "sigmoid"]
    x = [0.1, 0.2, -0.3]
    assert [v.data for v in back(x)] == [v.data for v in model(x)]


def test_from_torch_reads_a_torch_built_network() -> None:
    torch = require_module("torch")
    torch.manual_seed(0)
    seq = torch.nn.Sequential(
        torch.nn.Linear(2, 5),
        torch.nn.Tanh(),
        torch.nn.Linear(5, 1, bias=False),
        torch.nn.Identity(),
    )
    model = from_torch(seq)
    x = [0.7, -1.3]
    expected = seq(torch.tensor(x)).double().item()  # torch's float32 default
    assert model(x).data == pytest.approx(expected, rel=1e-5)
    assert model.layers[1].neurons[0].b.data == 0.0


@pytest.mark.parametrize(
    ("build", "words"),
    [
        (lambda nn: nn.Sequential(nn.Linear(2, 3), nn.Softplus()), ["Softplus", "not supported"]),
        (lambda nn: nn.Sequential(nn.ReLU(), nn.Linear(2, 3)), ["module 0", "follow a Linear"]),
        (lambda nn: nn.Sequential(nn.Linear(2, 3), nn.Linear(4, 1)), ["4 inputs", "gives 3"]),
        (
            lambda nn: nn.Sequential(
                nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 3), nn.Tanh(), nn.Linear(3, 1)
            ),
            ["relu", "tanh"],
        ),
        (lambda nn: nn.Sequential(nn.Linear(2, 3), nn.LeakyReLU(0.2)), ["0.2"]),
        (lambda nn: nn.Sequential(), ["no Linear"]),
    ],
)
def test_from_torch_refuses_what_an_mlp_cannot_express(build, words) -> None:
    torch = require_module("torch")
    with pytest.raises(ValueError) as info:
        from_torch(build(torch.nn))
    for word in words:
        assert word in str(info.value)


def test_wrong_types_are_refused() -> None:
    torch = require_module("torch")
    with pytest.raises(TypeError, match="Sequential"):
        from_torch(torch.nn.Linear(2, 2))
    with pytest.raises(TypeError, match="cannot convert"):
        to_torch(object())


def test_without_torch_the_error_says_how_to_install(monkeypatch) -> None:
    real_import = builtins.__import__

    def no_torch(name, *args, **kwargs):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("No module named 'torch'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_torch)
    for call in (lambda: to_torch(MLP(2, [1], seed=0)), lambda: from_torch(None)):
        with pytest.raises(ImportError, match=r'pip install "microgradnet\[torch\]"'):
            call()


@pytest.mark.parametrize("activation", ["gelu", "silu", "elu", "softsign", "hardtanh"])
def test_round_trip_keeps_the_newer_activations(activation: str) -> None:
    require_module("torch")
    model = MLP(2, [3, 1], activation, seed=0)
    back = from_torch(to_torch(model))
    assert [layer.activation for layer in back.layers] == [activation, "linear"]
    x = [0.7, -1.3]
    assert back(x).data == model(x).data


def test_from_torch_refuses_an_activation_with_other_constants() -> None:
    torch = require_module("torch")
    nn = torch.nn
    for module in (nn.GELU(approximate="tanh"), nn.ELU(alpha=0.5), nn.Hardtanh(-2.0, 2.0)):
        seq = nn.Sequential(nn.Linear(2, 3, dtype=torch.float64), module)
        with pytest.raises(ValueError, match="is not supported"):
            from_torch(seq)
