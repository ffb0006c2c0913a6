"""The playground's Python side, without a page: what it sends the page, checked against PyTorch.

The widget is built directly (``Playground``), as a script can; ``viz.playground()`` itself
refuses to run outside a notebook. The page is driven in a real browser in
``test_widgets_browser.py``.
"""

from __future__ import annotations

import inspect
import json
import math
import threading
import time
from typing import Any

import numpy as np
import pytest
import traitlets
from conftest import require_module

require_module("anywidget")  # the jupyter extra: needed here, and in CI never skipped

from microgradnet import viz  # noqa: E402
from microgradnet.losses import binary_cross_entropy_with_logits  # noqa: E402
from microgradnet.nn import MLP  # noqa: E402
from microgradnet.optim import SGD, Adam  # noqa: E402
from microgradnet.viz import _notebook, _playground  # noqa: E402
from microgradnet.viz._playground import Playground  # noqa: E402
from microgradnet.viz._playground_core import BOUNDARY_PIXELS, NEURON_PIXELS, on_arrays  # noqa: E402
from microgradnet.viz._playground_data import DATASETS, DOMAIN, make_dataset  # noqa: E402

torch = require_module("torch")

TORCH_ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}


def _torch_layers(model: MLP) -> list[tuple[Any, Any]]:
    return [
        (
            torch.tensor([[w.data for w in n.w] for n in layer.neurons], dtype=torch.float64),
            torch.tensor([n.b.data for n in layer.neurons], dtype=torch.float64),
        )
        for layer in model.layers
    ]


def _torch_outputs(layers: list[tuple[Any, Any]], X: Any, activation: str) -> list[Any]:
    """Every layer's outputs, computed by PyTorch: hidden layers through ``activation``, the
    last one a logit."""
    outputs = [torch.as_tensor(np.asarray(X, dtype=float))]
    for k, (W, b) in enumerate(layers):
        z = outputs[-1] @ W.T + b
        outputs.append(z if k == len(layers) - 1 else TORCH_ACTIVATIONS[activation](z))
    return outputs


def _torch_loss(pg: Playground, X: Any, y: Any) -> float:
    logit = _torch_outputs(_torch_layers(pg.model), X, pg.activation)[-1][:, 0]
    target = torch.tensor(y, dtype=torch.float64)
    return float(torch.nn.functional.binary_cross_entropy_with_logits(logit, target))


def _wait_until(condition: Any, what: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting ({seconds} s) for {what}")
        time.sleep(0.02)


# ----- where it runs -----
def test_outside_a_notebook_both_widgets_say_where_they_run() -> None:
    with pytest.raises(RuntimeError, match=r"notebook widget: it runs in a Jupyter notebook"):
        viz.playground()
    with pytest.raises(RuntimeError, match=r"microgradnet graph"):
        viz.explore("a * b", a=1, b=2)


def test_every_control_has_a_default_and_bad_values_are_named(monkeypatch: Any) -> None:
    signature = inspect.signature(viz.playground)
    assert all(p.default is not inspect.Parameter.empty for p in signature.parameters.values())
    monkeypatch.setattr(_notebook, "in_notebook", lambda: True)
    pg = viz.playground()
    assert (pg.dataset, pg.hidden, pg.activation, pg.optimizer, pg.lr) == (
        "circles", [4, 2], "tanh", "adam", 0.03,
    )  # fmt: skip
    assert pg.model.nouts == [4, 2, 1] and pg.epoch == 0
    with pytest.raises(ValueError, match=r"activation must be one of .*'relu'.*got 'swish'"):
        viz.playground(activation="swish")
    with pytest.raises(ValueError, match=r"at most 4 hidden layers"):
        viz.playground(hidden=[2] * 5)
    with pytest.raises(ValueError, match=r"hidden\[1\] must be an int from 1 to 8, got 9"):
        viz.playground(hidden=[2, 9])
    with pytest.raises(traitlets.TraitError, match=r"lr must be > 0"):
        pg.lr = 0.0
    with pytest.raises(traitlets.TraitError, match=r"dataset must be one of"):
        pg.dataset = "iris"


# ----- what the page is sent agrees with the model (PyTorch as the reference) -----
@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
def test_losses_and_gradients_sent_are_pytorchs(activation: str) -> None:
    pg = Playground(dataset="moons", hidden=[5, 3], activation=activation, l2=0.01, seed=3)
    pg.step(2)
    assert pg.epoch == 2
    assert pg.train_loss == pytest.approx(_torch_loss(pg, pg.X_train, pg.y_train), rel=1e-12)
    assert pg.test_loss == pytest.approx(_torch_loss(pg, pg.X_test, pg.y_test), rel=1e-12)
    # the gradient drawn: the whole training set's loss plus l2 * Σ w² (weights, not biases)
    layers = [(W.requires_grad_(), b.requires_grad_()) for W, b in _torch_layers(pg.model)]
    logit = _torch_outputs(layers, pg.X_train, activation)[-1][:, 0]
    target = torch.tensor(pg.y_train, dtype=torch.float64)
    objective = torch.nn.functional.binary_cross_entropy_with_logits(logit, target)
    objective = objective + 0.01 * sum((W**2).sum() for W, _ in layers)
    objective.backward()
    for k, (W, b) in enumerate(layers):
        expected = torch.cat([W.grad, b.grad[:, None]], dim=1).numpy()
        np.testing.assert_allclose(pg.grads[k], expected, rtol=1e-9, atol=1e-12)
        weights = torch.cat([W, b[:, None]], dim=1).detach().numpy()
        np.testing.assert_array_equal(pg.weights[k], weights)
    # the model's own .grad is what the page shows
    assert pg.grads[0][0][0] == pg.model.layers[0].neurons[0].w[0].grad


def test_the_pictures_are_the_networks_outputs_over_the_plane() -> None:
    pg = Playground(dataset="xor", hidden=[3, 2], activation="tanh", seed=1)
    pg.step(3)
    lo, hi = DOMAIN

    def centres(pixels: int) -> np.ndarray:
        xs = lo + (hi - lo) / pixels * (np.arange(pixels) + 0.5)
        x0, x1 = np.meshgrid(xs, xs[::-1])  # the top row is the largest x1
        return np.column_stack([x0.ravel(), x1.ravel()])

    def decoded(data: bytes) -> np.ndarray:
        return np.frombuffer(data, dtype=np.uint8) / 127.5 - 1.0

    quantum = 1 / 127.5 + 1e-9
    layers = _torch_layers(pg.model)
    logit = _torch_outputs(layers, centres(BOUNDARY_PIXELS), "tanh")[-1][:, 0]
    probability = torch.sigmoid(logit).numpy()
    np.testing.assert_allclose((decoded(pg.boundary) + 1) / 2, probability, atol=quantum)

    outputs = [o.numpy() for o in _torch_outputs(layers, centres(NEURON_PIXELS), "tanh")]
    pictures = decoded(pg.neurons).reshape(-1, NEURON_PIXELS**2)
    assert len(pictures) == 2 + 3 + 2 + 1
    np.testing.assert_allclose(pictures[:2], outputs[0].T / hi, atol=quantum)
    hidden = np.concatenate(outputs[1:3], axis=1).T
    scale = np.maximum(np.abs(hidden).max(axis=1, keepdims=True), math.tanh(1.0))
    np.testing.assert_allclose(pictures[2:7], hidden / scale, atol=quantum)
    np.testing.assert_allclose(pictures[7], 2 * torch.sigmoid(torch.tensor(outputs[3][:, 0])) - 1,
                               atol=quantum)  # fmt: skip


def test_an_epoch_is_pytorchs_optimiser_step_on_the_same_objective() -> None:
    # batch_size covers the training set: one step per epoch, whatever the shuffle
    pg = Playground(dataset="circles", n_points=60, hidden=[4], batch_size=60, seed=2)
    pg.optimizer, pg.lr = "sgd", 0.3
    layers = [(W.requires_grad_(), b.requires_grad_()) for W, b in _torch_layers(pg.model)]
    optimiser = torch.optim.SGD([p for layer in layers for p in layer], lr=0.3)
    for _ in range(3):
        pg.step()
        optimiser.zero_grad()
        logit = _torch_outputs(layers, pg.X_train, "tanh")[-1][:, 0]
        target = torch.tensor(pg.y_train, dtype=torch.float64)
        torch.nn.functional.binary_cross_entropy_with_logits(logit, target).backward()
        optimiser.step()
    for k, (W, b) in enumerate(layers):
        expected = torch.cat([W, b[:, None]], dim=1).detach().numpy()
        np.testing.assert_allclose(pg.weights[k], expected, rtol=1e-10, atol=1e-12)


def test_training_brings_both_losses_down() -> None:
    pg = Playground(dataset="moons", hidden=[8, 8], seed=0)
    first = (pg.train_loss, pg.test_loss)
    pg.step(50)
    assert pg.train_loss < first[0] / 4 and pg.test_loss < first[1] / 4
    assert [row[0] for row in pg.history] == list(range(51))
    assert pg.loss_chart[-1] == [50, pg.train_loss, pg.test_loss]


# ----- the controls -----
def test_changing_the_network_or_the_data_starts_a_new_model() -> None:
    pg = Playground(seed=0)
    pg.step(2)
    old = pg.model
    pg.activation = "relu"
    assert pg.model is not old and pg.epoch == 0 and pg.layer_sizes == [2, 4, 2, 1]
    assert pg.model.layers[0].activation == "relu" and pg.model.layers[-1].activation == "linear"
    pg.hidden = []
    assert pg.model.nouts == [1] and pg.layer_sizes == [2, 1] and len(pg.weights) == 1
    pg.step()
    points = pg.X_train
    pg.dataset = "spiral"
    assert pg.epoch == 0 and pg.X_train != points
    pg.regenerate()
    assert pg.dataset == "spiral" and pg.X_train != points
    before = pg.model.parameters()[0].data
    pg.reset()
    assert pg.epoch == 0 and pg.model.parameters()[0].data != before


def test_settings_that_apply_from_the_next_epoch_keep_the_model() -> None:
    pg = Playground(seed=0)
    pg.step()
    model = pg.model
    pg.lr = 0.1
    pg.batch_size = 3
    pg.optimizer = "sgd"
    pg.l2 = 0.5
    assert pg.model is model and pg.epoch == 1
    assert pg._trainer.optimizer.lr == 0.1 and isinstance(pg._trainer.optimizer, SGD)
    pg.optimizer = "adam"
    assert isinstance(pg._trainer.optimizer, Adam) and pg._trainer.optimizer.lr == 0.1
    assert pg._trainer.batch_size == 3 and pg._trainer.l2 == 0.5


def test_the_same_seed_gives_the_same_run() -> None:
    runs = []
    for _ in range(2):
        pg = Playground(dataset="blobs", seed=7)
        pg.step(3)
        runs.append((pg.X_train, pg.weights, pg.train_loss))
    assert runs[0] == runs[1]


def test_the_pages_buttons_arrive_as_messages() -> None:
    pg = Playground(seed=0)
    pg._on_message(pg, {"action": "step"}, [])
    assert pg.epoch == 1
    points = pg.X_train
    pg._on_message(pg, {"action": "regenerate"}, [])
    assert pg.epoch == 0 and pg.X_train != points
    pg._on_message(pg, {"action": "step"}, [])
    pg._on_message(pg, {"action": "reset"}, [])
    assert pg.epoch == 0


def test_a_diverged_run_stops_with_a_message_and_json_safe_state() -> None:
    # a deep linear network and a learning rate far too large: the weights overflow at once
    pg = Playground(hidden=[8, 8, 8, 8], activation="linear", optimizer="sgd", lr=100.0)
    with pytest.raises(ArithmeticError, match=r"diverged at epoch 1.*Lower the learning rate"):
        pg.step()
    assert "diverged" in pg.error and not pg.running
    pg.l2 = 0.1  # publishes a frame with weights that are no longer numbers
    state = {k: v for k, v in pg.get_state().items() if not isinstance(v, bytes | memoryview)}
    json.dumps(state, allow_nan=False)  # the page's messages are JSON: no NaN may slip in
    pg.reset()
    assert pg.error == "" and math.isfinite(pg.train_loss)


# ----- playing in the background -----
def test_play_trains_in_the_background_and_pause_leaves_a_consistent_model(
    monkeypatch: Any,
) -> None:
    # gradients only where they must be: on the last frame, the one pause waits for
    monkeypatch.setattr(_playground, "GRADIENT_EVERY", 10**9)
    pg = Playground(dataset="moons", hidden=[8, 8], seed=0)
    pg.play()
    try:
        _wait_until(lambda: pg.epoch >= 3, "three epochs in the background")
        assert pg._thread is not None and pg._thread is not threading.current_thread()
        pg.lr = 0.01  # changing a control while it trains is safe
        _wait_until(lambda: pg.epoch >= 5, "two more epochs")
    finally:
        pg.pause()
    assert not pg.running and pg._thread is not None and not pg._thread.is_alive()
    epoch = pg.epoch
    time.sleep(0.2)
    assert pg.epoch == epoch and pg.history[-1][0] == epoch
    # the last frame is the model as it is: its loss, and its gradients in .grad
    engine_loss = binary_cross_entropy_with_logits(pg.model.map(pg.X_train), pg.y_train)
    assert pg.train_loss == pytest.approx(engine_loss.data, rel=1e-12)
    params = [[[*n.w, n.b] for n in layer.neurons] for layer in pg.model.layers]
    assert pg.grads == [[[v.grad for v in row] for row in layer] for layer in params]
    pg.model.zero_grad()
    engine_loss.backward()
    assert pg.grads[0][0][0] == pytest.approx(pg.model.layers[0].neurons[0].w[0].grad, rel=1e-9)


def test_play_and_pause_from_the_page_and_closing_stops_the_thread() -> None:
    pg = Playground(seed=0)
    pg.set_state({"running": True})  # as the page's play button does
    _wait_until(lambda: pg.epoch >= 2, "two epochs")
    pg.set_state({"running": False})
    thread = pg._thread
    assert thread is not None
    thread.join(timeout=60)
    assert not thread.is_alive()
    pg.play()
    _wait_until(lambda: pg._thread is not thread and pg.epoch >= 1, "training again")
    pg.close()
    assert not pg._thread.is_alive()


# ----- the data sets -----
@pytest.mark.parametrize("name", sorted(DATASETS))
def test_each_data_set_has_both_classes_inside_the_plane(name: str) -> None:
    X, y = make_dataset(name, 200, 0.05, seed=0)
    assert len(X) == len(y) == 200 and set(y) == {0, 1}
    inside = np.abs(np.asarray(X)) <= DOMAIN[1]
    assert inside.all(axis=1).mean() > 0.95
    assert make_dataset(name, 200, 0.05, seed=0) == (X, y)


def test_activations_on_arrays_are_their_rows_forward() -> None:
    z = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_allclose(on_arrays("tanh")(z), np.tanh(z))
    np.testing.assert_allclose(on_arrays("sigmoid")(z), 1 / (1 + np.exp(-z)))
    np.testing.assert_allclose(on_arrays("relu")(z), [0.0, 0.0, 3.0])
    np.testing.assert_allclose(on_arrays("leaky_relu")(z), [-0.02, 0.0, 3.0])
    np.testing.assert_allclose(on_arrays("linear")(z), z)
