"""Convolution and pooling: forward and every gradient vs PyTorch (float64), the rot180 rule
checked with numpy and scipy, max-pool routing, node counts, shape errors, a CNN that trains."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
from conftest import require_module
from scipy import signal

from microgradnet import Value, data, losses
from microgradnet.engine import backward_order
from microgradnet.nn import (
    MLP,
    AvgPool2d,
    Conv2d,
    Flatten,
    Layer,
    MaxPool2d,
    ReLU,
    Sequential,
    Tanh,
)
from microgradnet.optim import Adam
from microgradnet.train import evaluate, fit

TOL = 1e-10


# ----- helpers -----
@pytest.fixture
def torch() -> Any:
    module = require_module("torch")
    module.set_default_dtype(module.float64)
    return module


def _values(array: np.ndarray) -> Any:
    """A numpy array as nested lists of fresh leaves."""
    if array.ndim == 0:
        return Value(float(array))
    return [_values(a) for a in array]


def _array(nested: Any, attribute: str = "data") -> np.ndarray:
    if isinstance(nested, Value):
        return np.array(getattr(nested, attribute))
    return np.array([_array(v, attribute) for v in nested])


def _leaves(nested: Any) -> list[Value]:
    return Flatten()(nested) if isinstance(nested, list) else [nested]


def _backward_with(outputs: Any, upstream: np.ndarray) -> Value:
    """Backpropagate ``upstream`` (shaped like ``outputs``) through every output, as
    ``torch.Tensor.backward(upstream)`` does: the loss ``Σ upstream * outputs``."""
    loss = Value.dot(upstream.ravel().tolist(), _leaves(outputs))
    loss.backward()
    return loss


def _conv_with(weight: np.ndarray, bias: np.ndarray | None, **kwargs: Any) -> Conv2d:
    """A Conv2d whose parameters are set from numpy arrays (independent of its init)."""
    out_channels, in_channels, kh, kw = weight.shape
    conv = Conv2d(in_channels, out_channels, (kh, kw), bias=bias is not None, seed=0, **kwargs)
    for p, w in zip(_leaves(conv.weight), weight.ravel(), strict=True):
        p.data = float(w)
    if bias is not None:
        for p, b in zip(conv.bias, bias, strict=True):
            p.data = float(b)
    return conv


# ----- Conv2d vs torch.nn.functional.conv2d -----
CONV_CASES = [
    # in, out, kernel, stride, padding, height, width, bias
    (1, 1, 3, 1, 0, 5, 5, True),
    (1, 3, 3, 1, 1, 4, 6, True),
    (2, 2, 2, 2, 0, 6, 5, True),
    (3, 2, (3, 2), (2, 1), (1, 2), 5, 6, True),
    (2, 4, 1, 1, 0, 3, 4, False),
    (3, 1, 3, 2, 2, 4, 4, True),
    (1, 2, 4, 3, 3, 3, 3, True),  # padding large enough for windows lying wholly in padding
]


@pytest.mark.parametrize(
    ("cin", "cout", "kernel", "stride", "padding", "h", "w", "bias"), CONV_CASES
)
def test_conv2d_forward_and_gradients_match_torch(
    torch: Any,
    cin: int,
    cout: int,
    kernel: Any,
    stride: Any,
    padding: Any,
    h: int,
    w: int,
    bias: bool,
) -> None:
    rng = np.random.default_rng(cin * 100 + cout * 10 + h)
    kh, kw = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    x = rng.normal(size=(cin, h, w))
    weight = rng.normal(size=(cout, cin, kh, kw))
    b = rng.normal(size=cout) if bias else None
    conv = _conv_with(weight, b, stride=stride, padding=padding)
    xs = _values(x)
    out = conv(xs)

    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(weight, requires_grad=True)
    tb = torch.tensor(b, requires_grad=True) if bias else None
    ref = torch.nn.functional.conv2d(tx[None], tw, tb, stride=stride, padding=padding)[0]
    assert _array(out).shape == tuple(ref.shape)
    np.testing.assert_allclose(_array(out), ref.detach().numpy(), rtol=TOL, atol=TOL)

    upstream = rng.normal(size=tuple(ref.shape))
    _backward_with(out, upstream)
    ref.backward(torch.tensor(upstream))
    np.testing.assert_allclose(_array(xs, "grad"), tx.grad.numpy(), rtol=TOL, atol=TOL)
    np.testing.assert_allclose(_array(conv.weight, "grad"), tw.grad.numpy(), rtol=TOL, atol=TOL)
    if bias:
        np.testing.assert_allclose(_array(conv.bias, "grad"), tb.grad.numpy(), rtol=TOL, atol=TOL)


def test_conv2d_accepts_plain_numbers_and_matches_values() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 4, 4))
    conv = Conv2d(2, 3, 3, padding=1, seed=0)
    from_numbers = _array(conv(x.tolist()))
    from_values = _array(conv(_values(x)))
    np.testing.assert_array_equal(from_numbers, from_values)


# ----- the rot180 rule -----
def _rot180_input_gradient(upstream: np.ndarray, weight: np.ndarray, padding: int) -> np.ndarray:
    """dL/dx of a stride-1 convolution: for each input channel, the sum over output channels of
    the full cross-correlation of the output gradient with the kernel rotated by 180°, with the
    padding cropped away. Written with numpy loops, independently of the library."""
    cout, cin, kh, kw = weight.shape
    _, oh, ow = upstream.shape
    grad_padded = np.zeros((cin, oh + kh - 1, ow + kw - 1))
    for o in range(cout):
        g = np.pad(upstream[o], ((kh - 1, kh - 1), (kw - 1, kw - 1)))
        for c in range(cin):
            k = np.rot90(weight[o, c], 2)
            for i in range(grad_padded.shape[1]):
                for j in range(grad_padded.shape[2]):
                    grad_padded[c, i, j] += np.sum(g[i : i + kh, j : j + kw] * k)
    h, w = grad_padded.shape[1] - 2 * padding, grad_padded.shape[2] - 2 * padding
    return grad_padded[:, padding : padding + h, padding : padding + w]


@pytest.mark.parametrize("case", range(6))
@pytest.mark.parametrize("padding", [0, 1, 2])
def test_input_gradient_is_full_convolution_with_rotated_kernel(case: int, padding: int) -> None:
    rng = np.random.default_rng(1000 + 10 * case + padding)
    cin, cout = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    kh, kw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    h, w = int(rng.integers(kh, 7)), int(rng.integers(kw, 7))
    x = rng.normal(size=(cin, h, w))
    weight = rng.normal(size=(cout, cin, kh, kw))
    conv = _conv_with(weight, rng.normal(size=cout), padding=padding)
    xs = _values(x)
    out = conv(xs)
    upstream = rng.normal(size=_array(out).shape)
    _backward_with(out, upstream)

    expected = _rot180_input_gradient(upstream, weight, padding)
    np.testing.assert_allclose(_array(xs, "grad"), expected, rtol=1e-10, atol=1e-10)
    # the same rule in signal-processing terms: a true convolution (scipy flips the kernel)
    for c in range(cin):
        full = sum(signal.convolve2d(upstream[o], weight[o, c], mode="full") for o in range(cout))
        cropped = full[padding : full.shape[0] - padding, padding : full.shape[1] - padding]
        np.testing.assert_allclose(_array(xs, "grad")[c], cropped, rtol=1e-10, atol=1e-10)


# ----- pooling vs torch -----
POOL_CASES = [
    # channels, kernel, stride, height, width
    (1, 2, None, 4, 4),
    (2, 2, None, 5, 7),
    (3, 3, 1, 5, 5),
    (2, (2, 3), (1, 2), 4, 7),
    (1, 3, 2, 7, 6),
    (2, 1, None, 3, 3),
]


@pytest.mark.parametrize(("channels", "kernel", "stride", "h", "w"), POOL_CASES)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling_forward_and_gradient_match_torch(
    torch: Any, kind: str, channels: int, kernel: Any, stride: Any, h: int, w: int
) -> None:
    rng = np.random.default_rng(channels * 100 + h * 10 + w)
    x = rng.normal(size=(channels, h, w))  # continuous values: no ties
    pool = MaxPool2d(kernel, stride) if kind == "max" else AvgPool2d(kernel, stride)
    xs = _values(x)
    out = pool(xs)

    tx = torch.tensor(x, requires_grad=True)
    reference = torch.nn.functional.max_pool2d if kind == "max" else torch.nn.functional.avg_pool2d
    ref = reference(tx[None], kernel, stride)[0]
    assert _array(out).shape == tuple(ref.shape)
    np.testing.assert_allclose(_array(out), ref.detach().numpy(), rtol=TOL, atol=TOL)

    upstream = rng.normal(size=tuple(ref.shape))
    _backward_with(out, upstream)
    ref.backward(torch.tensor(upstream))
    np.testing.assert_allclose(_array(xs, "grad"), tx.grad.numpy(), rtol=TOL, atol=TOL)


def test_max_pool_routes_the_gradient_to_the_first_maximum_on_ties() -> None:
    xs = _values(np.array([[[1.0, 3.0, 3.0, 0.0], [3.0, 2.0, 0.0, 3.0]]]))
    (out,) = MaxPool2d(2)(xs)
    assert [v.data for v in out[0]] == [3.0, 3.0]
    _backward_with([out], np.array([[[10.0, 20.0]]]))
    assert _array(xs, "grad").tolist() == [[[0.0, 10.0, 20.0, 0.0], [0.0, 0.0, 0.0, 0.0]]]


def test_overlapping_max_windows_add_their_gradients() -> None:
    xs = _values(np.array([[[0.0, 0.0, 0.0], [0.0, 5.0, 0.0], [0.0, 0.0, 0.0]]]))
    out = MaxPool2d(2, stride=1)(xs)
    _backward_with(out, np.ones((1, 2, 2)))
    assert xs[0][1][1].grad == 4.0
    assert sum(v.grad for v in _leaves(xs)) == 4.0


# ----- one node per output -----
def test_each_output_is_one_node_and_padding_adds_none() -> None:
    conv = Conv2d(2, 3, 3, padding=1, seed=0)
    xs = _values(np.ones((2, 4, 4)))
    out = conv(xs)
    for o, channel in enumerate(out):
        for i, row in enumerate(channel):
            for j, v in enumerate(row):
                assert v.op == "dot"
                rows = sum(0 <= i + a - 1 < 4 for a in range(3))
                cols = sum(0 <= j + b - 1 < 4 for b in range(3))
                # weights and inputs of the in-bounds positions only, then the bias
                assert len(v.parents) == 2 * 2 * rows * cols + 1
                assert v.parents[-1] is conv.bias[o]
    total = Value.sum(_leaves(out))
    # the graph: the sum, 48 dots, 32 inputs, 54 weights, 3 biases, nothing for the padding
    assert len(backward_order(total)) == 1 + 48 + 32 + 54 + 3

    pooled = MaxPool2d(2)(out)
    for v in _leaves(pooled):
        assert v.op == "max" and len(v.parents) == 4  # the whole 2x2 window
        assert v.data == max(p.data for p in v.parents)
    averaged = AvgPool2d(2)(out)
    for v in _leaves(averaged):
        assert v.op == "dot" and len(v.parents) == 2 * 4


# ----- module behaviour -----
def test_conv2d_parameters_are_named_and_counted() -> None:
    conv = Conv2d(2, 3, (3, 2), seed=0)
    assert conv.num_parameters() == 3 * 2 * 3 * 2 + 3
    names = [name for name, _ in conv.named_parameters()]
    assert names[0] == "weight.0.0.0.0" and names[-4] == "weight.2.1.2.1"
    assert names[-3:] == ["bias.0", "bias.1", "bias.2"]
    assert Conv2d(2, 3, 3, bias=False, seed=0).num_parameters() == 54
    assert all(b.data == 0.0 for b in conv.bias)
    assert (
        _array(Conv2d(2, 3, 3, seed=7).weight).tolist()
        == _array(Conv2d(2, 3, 3, seed=7).weight).tolist()
    )
    bound = np.sqrt(6.0 / (2 * 3 * 2))  # He uniform, fan_in = in_channels * kernel area
    assert np.abs(_array(conv.weight)).max() <= bound
    assert "Conv2d(2, 3, kernel_size=(3, 2)" in repr(conv)
    assert conv.output_shape(5, 5) == (3, 3, 4)


def test_cnn_state_dict_round_trip(tmp_path: Any) -> None:
    def build(seed: int) -> Sequential:
        return Sequential(
            Conv2d(1, 2, 3, seed=seed),
            ReLU(),
            AvgPool2d(2),
            Flatten(),
            Layer(2 * 3 * 3, 3, activation="linear", seed=seed),
        )

    a, b = build(0), build(1)
    path = tmp_path / "cnn.json"
    a.save(path)
    b.load(path)
    assert a.state_dict() == b.state_dict()
    assert "layers.0.weight.1.0.2.2" in a.state_dict()
    image = np.random.default_rng(0).random((1, 8, 8)).tolist()
    assert [v.data for v in a(image)] == [v.data for v in b(image)]


def test_activations_apply_elementwise_to_nested_lists() -> None:
    nested = [[[1.0, -2.0], [-3.0, 4.0]], [[0.5, -0.5], [2.0, -1.0]]]
    out = ReLU()(nested)
    assert _array(out).tolist() == [[[1.0, 0.0], [0.0, 4.0]], [[0.5, 0.0], [2.0, 0.0]]]
    np.testing.assert_allclose(_array(Tanh()(nested)), np.tanh(np.array(nested)))
    # flat lists and single values behave as before
    assert [v.data for v in ReLU()([1.0, -1.0])] == [1.0, 0.0]
    assert ReLU()(Value(-2.0)).data == 0.0
    with pytest.raises(TypeError, match="str"):
        ReLU()([["a"]])


def test_flatten_is_row_major_like_torch_flatten() -> None:
    x = np.arange(24.0).reshape(2, 3, 4)
    assert Flatten()(x.tolist()) == x.ravel().tolist()
    assert Flatten()([1.0, 2.0]) == [1.0, 2.0]


# ----- errors -----
@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: Conv2d(0, 1, 3), ValueError, "in_channels must be at least 1, got 0"),
        (lambda: Conv2d(1, -2, 3), ValueError, "out_channels must be at least 1, got -2"),
        (lambda: Conv2d(1, 1, 0), ValueError, "kernel_size must be >= 1, got 0"),
        (lambda: Conv2d(1, 1, (3, 0)), ValueError, r"kernel_size must be >= 1, got \(3, 0\)"),
        (lambda: Conv2d(1, 1, 3, stride=0), ValueError, "stride must be >= 1, got 0"),
        (lambda: Conv2d(1, 1, 3, padding=-1), ValueError, "padding must be >= 0, got -1"),
        (lambda: Conv2d(1, 1, 2.5), TypeError, "kernel_size must be an int or a pair"),
        (lambda: Conv2d(1, 1, (1, 2, 3)), TypeError, "kernel_size must be an int or a pair"),
        (lambda: Conv2d(True, 1, 3), TypeError, "in_channels must be an int, got bool"),
        (lambda: Conv2d(1, 1, 3, init="bogus"), ValueError, "unknown init scheme"),
        (lambda: MaxPool2d(0), ValueError, "MaxPool2d: kernel_size must be >= 1, got 0"),
        (lambda: AvgPool2d(2, stride=0), ValueError, "AvgPool2d: stride must be >= 1, got 0"),
    ],
)
def test_bad_hyperparameters_are_rejected(make: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        make()


@pytest.mark.parametrize(
    ("module", "x", "message"),
    [
        (
            Conv2d(2, 1, 3),
            np.zeros((1, 5, 5)).tolist(),
            r"expected .*\[2\]\[height\]\[width\], got \[1\]\[5\]\[5\]",
        ),
        (Conv2d(1, 1, 3), [0.0] * 64, r"expected .*\[1\]\[height\]\[width\], got \[64\]"),
        (Conv2d(1, 1, 3), 1.0, r"expected .*\[1\]\[height\]\[width\], got a scalar"),
        (Conv2d(1, 1, 3), "image", r"got a str"),
        (Conv2d(1, 1, 3), [[[0.0, 1.0], [2.0]]], r"row \[0\]\[1\] is \[1\]"),
        (
            Conv2d(2, 1, 1),
            [[[0.0]], [[0.0], [1.0]]],
            r"channel 0 has 1 rows but channel 1 is \[2\]\[1\]",
        ),
        (
            Conv2d(1, 1, 3),
            np.zeros((1, 2, 5)).tolist(),
            r"kernel 3x3 is larger than the padded input 2x5",
        ),
        (
            Conv2d(1, 1, 4, padding=1),
            np.zeros((1, 1, 4)).tolist(),
            r"kernel 4x4 is larger than the padded input 3x6 \(input 1x4, padding 1x1\)",
        ),
        (
            MaxPool2d(3),
            np.zeros((2, 2, 4)).tolist(),
            r"MaxPool2d: kernel 3x3 is larger than the input 2x4",
        ),
        (
            AvgPool2d(2),
            [0.0, 1.0],
            r"AvgPool2d: expected .*\[channels\]\[height\]\[width\], got \[2\]",
        ),
        (Flatten(), 3.0, "Flatten: expected a nested list, got a scalar"),
    ],
)
def test_bad_inputs_name_the_expected_and_received_shape(module: Any, x: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        module(x)


def test_non_numeric_elements_are_named() -> None:
    with pytest.raises(
        TypeError, match=r"element \[0\]\[1\]\[0\] must be a Value or a real number, got str"
    ):
        Conv2d(1, 1, 1)([[[0.0], ["x"]]])
    with pytest.raises(TypeError, match="got NoneType"):
        MaxPool2d(1)([[[None]]])


# ----- training -----
def test_a_tiny_cnn_in_sequential_trains() -> None:
    X, y = data.load_digits(images=True, n_class=3)
    X, y = X[:60], y[:60]
    model = Sequential(
        Conv2d(1, 3, 3, seed=0),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Layer(3 * 3 * 3, 3, activation="linear", seed=0),
    )
    before = evaluate(model, X, y, losses.cross_entropy)["loss"]
    history = fit(
        model,
        X,
        y,
        loss=losses.cross_entropy,
        optimizer=Adam(model.parameters(), lr=0.02),
        epochs=6,
        batch_size=10,
        seed=0,
        progress=False,
    )
    after = evaluate(model, X, y, losses.cross_entropy)
    assert history["loss"][-1] < history["loss"][0]
    assert after["loss"] < 0.5 * before
    assert after["accuracy"] >= 0.9


def test_cnn_feeds_an_mlp() -> None:
    random.seed(0)
    model = Sequential(Conv2d(1, 2, 2, stride=2, seed=0), Tanh(), Flatten(), MLP(8, [4, 2], seed=0))
    out = model(np.ones((1, 4, 4)).tolist())
    assert len(out) == 2 and all(isinstance(v, Value) for v in out)
