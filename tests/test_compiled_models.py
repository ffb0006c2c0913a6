"""Compiled mode against the dynamic engine on generated models and data: every model and loss of
the library, their values, their parameter gradients and their input gradients (saliency).

The reference is the dynamic engine run one sample at a time, itself checked against PyTorch and
central differences elsewhere in the suite.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from microgradnet import Value, compile, grad, losses
from microgradnet.compiled._instructions import LayerDot
from microgradnet.nn import (
    MLP,
    AvgPool2d,
    Conv2d,
    Flatten,
    Layer,
    MaxPool2d,
    Module,
    Neuron,
    ReLU,
    Sequential,
    Tanh,
)

RTOL, ATOL = 1e-9, 1e-12
ACTIVATIONS = ("relu", "tanh", "sigmoid", "leaky_relu", "linear")


def _as_values(a: np.ndarray) -> Any:
    if a.ndim == 0:
        return Value(float(a))
    return [_as_values(row) for row in a]


def engine_reference(
    fn: Callable[..., Value], batch: list[np.ndarray], parameters: list[Value]
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Per-sample outputs, the parameters' summed gradients and each sample's input gradients,
    from the dynamic engine one sample at a time."""
    outputs, grads, input_grads = [], np.zeros(len(parameters)), [[] for _ in batch]
    for i in range(len(batch[0])):
        args = [_as_values(a[i]) for a in batch]
        out = fn(*args)
        outputs.append(out.data)
        grads += [g.data for g in grad(out, parameters)]
        for j, arg in enumerate(args):
            leaves = list(_leaves(arg))
            found = grad(out, leaves)
            input_grads[j].append(np.reshape([g.data for g in found], batch[j].shape[1:]))
    return np.array(outputs), grads, [np.array(g) for g in input_grads]


def _leaves(x: Any) -> Any:
    if isinstance(x, Value):
        yield x
    else:
        for v in x:
            yield from _leaves(v)


def assert_compiled_like_engine(
    fn: Callable[..., Value], batch: list[np.ndarray], parameters: list[Value]
) -> Any:
    """Values, gradients (through ``backward`` and ``gradients``) and input gradients agree."""
    first, second = (tuple(a[i] for a in batch) for i in (0, 1))
    f = compile(fn, first, parameters=parameters, check_inputs=[second])
    outputs, grads, input_grads = engine_reference(fn, batch, parameters)
    np.testing.assert_allclose(f(*batch), outputs, rtol=RTOL, atol=ATOL)
    for p in parameters:
        p.grad = 0.0
    loss = f.backward(*batch, reduction="sum")
    np.testing.assert_allclose(loss, outputs.sum(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose([p.grad for p in parameters], grads, rtol=RTOL, atol=ATOL)
    total, as_array = f.gradients(*batch, reduction="sum")
    np.testing.assert_allclose(total, outputs.sum(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(as_array, grads, rtol=RTOL, atol=ATOL)
    saliency = f.input_gradients(*batch)
    saliency = saliency if isinstance(saliency, tuple) else (saliency,)
    for found, expected in zip(saliency, input_grads, strict=True):
        np.testing.assert_allclose(found, expected, rtol=RTOL, atol=ATOL)
    return f


# ----- generated models -----
@st.composite
def mlps(draw: st.DrawFn) -> tuple[Module, int]:
    nin = draw(st.integers(1, 4))
    nouts = draw(st.lists(st.integers(1, 6), min_size=1, max_size=3))
    model = MLP(
        nin,
        nouts,
        activation=draw(st.sampled_from(ACTIVATIONS)),
        output_activation=draw(st.sampled_from(ACTIVATIONS)),
        seed=draw(st.integers(0, 10**6)),
    )
    return model, nin


@st.composite
def cnns(draw: st.DrawFn) -> tuple[Module, tuple[int, int, int]]:
    channels = draw(st.integers(1, 2))
    size = draw(st.integers(4, 7))
    kernel = draw(st.integers(1, 3))
    stride = draw(st.integers(1, 2))
    padding = draw(st.integers(0, 1))
    filters = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 10**6))
    conv = Conv2d(channels, filters, kernel, stride, padding, seed=seed)
    _, height, width = conv.output_shape(size, size)
    pool_size = draw(st.integers(1, min(2, height, width)))
    pool = draw(st.sampled_from([MaxPool2d, AvgPool2d]))(pool_size)
    pooled = (height - pool_size) // pool_size + 1
    features = filters * pooled * pooled
    outputs = draw(st.integers(1, 3))
    activation = draw(st.sampled_from([ReLU, Tanh]))
    model = Sequential(
        conv, activation(), pool, Flatten(), Layer(features, outputs, "linear", seed=seed + 1)
    )
    return model, (channels, size, size)


def _data(seed: int, shape: tuple[int, ...], n: int = 5) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, *shape))


@given(mlps(), st.integers(0, 2**32 - 1))
def test_mlp_outputs_and_gradients_match_the_engine(case: tuple[Module, int], seed: int) -> None:
    model, nin = case
    X = _data(seed, (nin,))
    parameters = model.parameters()

    def fn(x: list[Value]) -> Value:
        out = model(x)
        return Value.sum(out) if isinstance(out, list) else out

    assert_compiled_like_engine(fn, [X], parameters)


@given(cnns(), st.integers(0, 2**32 - 1))
def test_cnn_outputs_and_gradients_match_the_engine(case: tuple[Module, Any], seed: int) -> None:
    model, shape = case
    X = _data(seed, shape, n=3)
    parameters = model.parameters()

    def fn(x: Any) -> Value:
        out = model(x)
        return Value.sum(out) if isinstance(out, list) else out

    assert_compiled_like_engine(fn, [X], parameters)


LOSSES: dict[str, tuple[int, Callable[[np.random.Generator, int], np.ndarray]]] = {
    # name: (model outputs, targets for n samples)
    "mse": (2, lambda rng, n: rng.normal(size=(n, 2))),
    "hinge": (1, lambda rng, n: rng.choice([-1.0, 1.0], size=n)),
    "binary_cross_entropy": (1, lambda rng, n: rng.choice([0.0, 0.3, 1.0], size=n)),
    "binary_cross_entropy_with_logits": (1, lambda rng, n: rng.choice([0.0, 0.6, 1.0], size=n)),
    "cross_entropy": (4, lambda rng, n: rng.integers(0, 4, size=n).astype(float)),
}


@pytest.mark.parametrize("name", LOSSES)
@given(st.integers(0, 2**32 - 1), st.sampled_from([1.0, 30.0]))
def test_every_loss_matches_the_engine_with_the_target_as_data(
    name: str, seed: int, scale: float
) -> None:
    outputs, make_targets = LOSSES[name]
    rng = np.random.default_rng(seed)
    last = "sigmoid" if name == "binary_cross_entropy" else "linear"
    model = MLP(3, [5, outputs], activation="tanh", output_activation=last, seed=seed % 1000)
    X = scale * rng.normal(size=(6, 3))  # large inputs: saturated sigmoids, large logits
    T = make_targets(rng, 6)
    loss = getattr(losses, name)
    parameters = model.parameters()

    def per_sample(x: list[Value], t: Any) -> Value:
        if name == "cross_entropy":  # a class index traced as data
            return loss([model(x)], [t]) + losses.l2_penalty(parameters, 1e-3)
        return loss([model(x)], [t])

    assert_compiled_like_engine(per_sample, [X, T], parameters)


def test_dense_and_convolution_layers_run_as_matrix_products() -> None:
    model = Sequential(
        Conv2d(2, 3, 3, seed=0), ReLU(), MaxPool2d(2), Flatten(), Layer(3 * 2 * 2, 4, seed=1)
    )
    f = model.compile(np.zeros((2, 6, 6)))
    layers = [i for i in f._program.instructions if isinstance(i, LayerDot)]
    assert [(i.F, i.windows.P, i.windows.m) for i in layers] == [(3, 16, 18), (4, 1, 12)]
    assert all(i.weights.view is not None for i in layers)  # weights read in place
    neuron = Neuron(3, seed=0)
    assert neuron.compile(np.zeros(3))(np.ones((4, 3))).shape == (4,)


def test_saliency_of_a_chosen_output_matches_the_engine() -> None:
    model = MLP(3, [4, 3], activation="tanh", seed=2)
    X = np.random.default_rng(4).normal(size=(4, 3))
    f = model.compile(X[0])
    for k in range(3):
        expected = []
        for x in X:
            xs = [Value(float(v)) for v in x]
            expected.append([g.data for g in grad(model(xs)[k], xs)])
        np.testing.assert_allclose(f.input_gradients(X, output=k), expected, rtol=RTOL)
    with pytest.raises(ValueError, match="3 outputs per sample"):
        f.input_gradients(X)
    with pytest.raises(ValueError, match=r"output must be in \[0, 3\)"):
        f.input_gradients(X, output=3)


def test_a_layer_read_twice_gets_both_gradients_as_in_pytorch() -> None:
    # h feeds the next layer, a skip connection and a square: its rows of the gradient store
    # get three contributions, where a layer read once has its gradient written, not added
    import torch

    first = Layer(3, 4, activation="relu", seed=0)
    second = Layer(4, 4, activation="tanh", seed=1)

    def fn(x: list[Value]) -> Value:
        h = first(x)
        y = second(h)
        return Value.sum([a * b + b * b for a, b in zip(y, h, strict=True)])

    X = np.random.default_rng(5).normal(size=(6, 3))
    parameters = first.parameters() + second.parameters()
    f = compile(fn, (X[0],), parameters=parameters)
    _, grads = f.gradients(X, reduction="sum")
    saliency = f.input_gradients(X)

    def weights(layer: Layer) -> list[torch.Tensor]:
        w = torch.tensor([[v.data for v in n.w] for n in layer.neurons], dtype=torch.float64)
        b = torch.tensor([n.b.data for n in layer.neurons], dtype=torch.float64)
        return [w.requires_grad_(), b.requires_grad_()]

    w1, b1, w2, b2 = weights(first) + weights(second)
    x = torch.tensor(X, requires_grad=True)
    h = torch.relu(x @ w1.T + b1)
    y = torch.tanh(h @ w2.T + b2)
    (y * h + h * h).sum().backward()
    expected = [
        g
        for w, b in ((w1, b1), (w2, b2))
        for row, bias in zip(w.grad.numpy(), b.grad.numpy(), strict=True)
        for g in (*row, bias)
    ]  # model.parameters() order: each neuron's weights, then its bias
    np.testing.assert_allclose(grads, expected, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(saliency, x.grad.numpy(), rtol=RTOL, atol=ATOL)
    # x is read once (its gradient written), h three times (added)
    assert f._saliency is not None
    layers = [i for i in f._saliency.instructions if isinstance(i, LayerDot)]
    assert [i.windows.assign for i in layers] == [True, False]
