"""Training loop: learning the classic problems, minibatches, history, callbacks, early stopping."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

from microgradnet import Value, data, losses
from microgradnet.nn import MLP, Neuron
from microgradnet.optim import SGD, Adam, StepLR
from microgradnet.train import Callback, EarlyStopping, History, evaluate, fit, predict


def _params(model: Any) -> list[float]:
    return [p.data for p in model.parameters()]


class CountingSGD(SGD):
    """SGD that counts its steps."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.steps = 0

    def step(self, closure: Any = None) -> Any:
        self.steps += 1
        return super().step(closure)


# ----- learning the classic problems -----
def test_xor_learned_exactly_by_two_layer_mlp() -> None:
    X, y = data.xor()
    model = MLP(2, [8, 1], seed=0)
    history = fit(
        model,
        X,
        y,
        loss=losses.mse,
        optimizer=Adam(model.parameters(), lr=0.05),
        epochs=150,
        progress=False,
    )
    outputs = predict(model, X)
    assert [int(o > 0.5) for o in outputs] == y
    assert max(abs(o - t) for o, t in zip(outputs, y, strict=True)) < 0.05
    assert history["accuracy"][-1] == 1.0
    assert evaluate(model, X, y, losses.mse)["accuracy"] == 1.0


def test_single_neuron_cannot_learn_xor() -> None:
    """The negative control: a linear separator gets at most 3 of the 4 XOR cases."""
    X, y = data.xor(signed=True)
    neuron = Neuron(2, "linear", seed=0)
    fit(
        neuron,
        X,
        y,
        loss=losses.hinge,
        optimizer=Adam(neuron.parameters(), lr=0.1),
        epochs=100,
        progress=False,
    )
    assert evaluate(neuron, X, y)["accuracy"] <= 0.75


@pytest.mark.parametrize("gate", ["and", "or", "nand", "nor"])
def test_single_neuron_learns_linearly_separable_gates(gate: str) -> None:
    X, y = data.logic_gate(gate, signed=True)
    neuron = Neuron(2, "linear", seed=1)
    fit(
        neuron,
        X,
        y,
        loss=losses.hinge,
        optimizer=SGD(neuron.parameters(), lr=0.5),
        epochs=100,
        progress=False,
    )
    assert [1 if o > 0 else -1 for o in predict(neuron, X)] == y
    assert evaluate(neuron, X, y, "hinge") == {"loss": 0.0, "accuracy": 1.0}


def test_sigmoid_neuron_with_binary_cross_entropy() -> None:
    X, y = data.logic_gate("or")
    neuron = Neuron(2, "sigmoid", seed=0)
    fit(
        neuron,
        X,
        y,
        loss=losses.binary_cross_entropy,
        optimizer=Adam(neuron.parameters(), lr=0.2),
        epochs=100,
        progress=False,
    )
    assert [int(p > 0.5) for p in predict(neuron, X)] == y


def test_two_moons_reaches_97_percent_held_out() -> None:
    X, y = data.make_moons(200, noise=0.1, seed=0, signed=True)
    X_train, X_test, y_train, y_test = data.train_test_split(
        X, y, test_size=0.25, seed=0, stratify=True
    )
    model = MLP(2, [16, 16, 1], seed=0)
    history = model.fit(
        X_train,
        y_train,
        loss=losses.hinge,
        optimizer=Adam(model.parameters(), lr=0.02),
        epochs=25,
        batch_size=16,
        seed=0,
        validation_data=(X_test, y_test),
        progress=False,
    )
    result = evaluate(model, X_test, y_test, losses.hinge)
    assert result["accuracy"] >= 0.97
    assert history["val_accuracy"][-1] == result["accuracy"]
    assert history["val_loss"][-1] == pytest.approx(result["loss"])
    assert history["loss"][-1] < history["loss"][0]


def test_multiclass_blobs_with_cross_entropy_and_one_hot_mse() -> None:
    X, y = data.make_blobs(60, centers=3, cluster_std=0.6, seed=2)
    X, _, _ = data.standardize(X)
    model = MLP(2, [8, 3], seed=0)
    fit(
        model,
        X,
        y,
        loss=losses.cross_entropy,  # per sample; averaged over each batch by fit
        optimizer=Adam(model.parameters(), lr=0.05),
        epochs=20,
        batch_size=10,
        seed=0,
        progress=False,
    )
    outputs = predict(model, X)
    argmax = [max(range(3), key=row.__getitem__) for row in outputs]
    expected = sum(a == t for a, t in zip(argmax, y, strict=True)) / len(y)
    assert evaluate(model, X, y, "cross_entropy")["accuracy"] == expected >= 0.95

    targets = data.one_hot(y, 3)
    model = MLP(2, [8, 3], seed=0)
    history = fit(
        model,
        X,
        targets,
        loss=losses.mse,
        optimizer=Adam(model.parameters(), lr=0.05),
        epochs=20,
        batch_size=10,
        seed=0,
        progress=False,
    )
    assert history["accuracy"][-1] >= 0.9


# ----- minibatches, shuffling, reproducibility -----
def test_minibatch_count_and_full_batch_default() -> None:
    X, y = data.make_moons(10, seed=0)
    model = MLP(2, [4, 1], seed=0)
    opt = CountingSGD(model.parameters(), lr=0.01)
    fit(model, X, y, loss="mse", optimizer=opt, epochs=3, batch_size=4, progress=False)
    assert opt.steps == 3 * 3  # batches of 4, 4, 2
    opt.steps = 0
    fit(model, X, y, loss="mse", optimizer=opt, epochs=3, progress=False)
    assert opt.steps == 3


def _run(seed: int) -> tuple[History, list[float]]:
    X, y = data.make_moons(40, noise=0.2, seed=0, signed=True)
    model = MLP(2, [6, 1], seed=0)
    history = fit(
        model,
        X,
        y,
        loss=losses.hinge,
        optimizer=SGD(model.parameters(), lr=0.05, momentum=0.9),
        epochs=4,
        batch_size=8,
        seed=seed,
        progress=False,
    )
    return history, _params(model)


def test_reproducible_with_a_seed() -> None:
    first, params = _run(seed=5)
    second, params_again = _run(seed=5)
    assert first.history == second.history
    assert params == params_again
    other, other_params = _run(seed=6)
    assert other.history["loss"] != first.history["loss"]
    assert other_params != params


def test_shuffle_false_keeps_order() -> None:
    seen: list[list[float]] = []

    def model(x: list[float]) -> Value:
        seen.append(x)
        return Value(x[0]) * w

    w = Value(1.0)
    model.parameters = lambda: [w]  # type: ignore[attr-defined]
    X = [[float(i)] for i in range(6)]
    fit(model, X, [0.0] * 6, loss="mse", optimizer=SGD([w], lr=0.0), epochs=2, batch_size=4,
        shuffle=False, progress=False)  # fmt: skip
    assert seen == X + X


# ----- history -----
def test_history_contents_against_independent_computation() -> None:
    X = [[-2.0], [-0.5], [0.25], [1.0]]
    y = [-1, 1, 1, 1]
    neuron = Neuron(1, "linear", seed=0)
    w0, b0 = neuron.w[0].data, neuron.b.data
    history = fit(
        neuron,
        X,
        y,
        loss=losses.hinge,
        optimizer=SGD(neuron.parameters(), lr=0.1),
        epochs=3,
        shuffle=False,
        validation_data=([[2.0], [-3.0]], [1, -1]),
        progress=False,
    )
    # epoch 0, full batch: measured on the initial parameters, before the update
    scores = [w0 * x[0] + b0 for x in X]
    hinge = sum(max(0.0, 1.0 - t * s) for s, t in zip(scores, y, strict=True)) / len(y)
    correct = sum((1 if s > 0 else -1) == t for s, t in zip(scores, y, strict=True))
    assert history["loss"][0] == pytest.approx(hinge)
    assert history["accuracy"][0] == correct / len(y)
    assert history.epochs == [0, 1, 2] and len(history) == 3
    assert sorted(history.keys()) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert all(len(v) == 3 for v in history.history.values())
    assert all(type(v) is float for values in history.history.values() for v in values)
    assert "val_loss" in history and "lr" not in history
    with pytest.raises(KeyError, match="'lr' was not recorded"):
        history["lr"]
    assert repr(history).startswith("History(3 epochs: loss=")


def test_regression_targets_get_no_accuracy() -> None:
    X = [[0.0], [1.0], [2.0]]
    y = [0.5, 1.5, 2.5]
    neuron = Neuron(1, "linear", seed=0)
    history = fit(neuron, X, y, loss="mse", optimizer=SGD(neuron.parameters(), lr=0.1),
                  epochs=2, progress=False)  # fmt: skip
    assert history.keys() == ["loss"]


def test_scheduler_is_stepped_and_lr_logged() -> None:
    X, y = data.logic_gate("and", signed=True)
    neuron = Neuron(2, "linear", seed=0)
    opt = SGD(neuron.parameters(), lr=0.4)
    history = fit(neuron, X, y, loss="hinge", optimizer=opt, epochs=4,
                  scheduler=StepLR(opt, step_size=2, gamma=0.5), progress=False)  # fmt: skip
    assert history["lr"] == [0.4, 0.4, 0.2, 0.2]
    assert opt.lr == 0.1


def test_clip_grad_norm_limits_each_update() -> None:
    w = Value(0.0)

    def model(x: list[float]) -> Value:
        return w * x[0]

    model.parameters = lambda: [w]  # type: ignore[attr-defined]
    fit(model, [[100.0]], [1000.0], loss="mse", optimizer=SGD([w], lr=1.0), epochs=1,
        clip_grad_norm=0.5, progress=False)  # fmt: skip
    assert w.data == pytest.approx(0.5, rel=1e-5)


# ----- callbacks and early stopping -----
def test_callback_returning_true_stops_and_all_hooks_run() -> None:
    events: list[Any] = []

    class Recorder(Callback):
        def on_train_begin(self, model: Any) -> None:
            events.append("begin")

        def on_epoch_end(self, epoch: int, logs: Mapping[str, float]) -> bool | None:
            events.append((epoch, sorted(logs)))
            return None

        def on_train_end(self, model: Any) -> None:
            events.append("end")

    def stop_at_two(epoch: int, logs: Mapping[str, float]) -> bool:
        return epoch == 2

    X, y = data.xor()
    model = MLP(2, [4, 1], seed=0)
    history = fit(model, X, y, loss="mse", optimizer=SGD(model.parameters(), lr=0.1),
                  epochs=10, callbacks=[stop_at_two, Recorder()], progress=False)  # fmt: skip
    assert len(history) == 3
    assert events == ["begin"] + [(e, ["accuracy", "loss"]) for e in range(3)] + ["end"]


def test_early_stopping_on_a_plateau() -> None:
    X, y = data.xor()
    model = MLP(2, [4, 1], seed=0)
    stop = EarlyStopping(monitor="loss", patience=2)
    history = fit(model, X, y, loss="mse", optimizer=SGD(model.parameters(), lr=0.0),
                  epochs=20, callbacks=[stop], progress=False)  # fmt: skip
    assert len(history) == 4  # epoch 0 sets the best, epochs 1-3 do not improve
    assert stop.stopped_epoch == 3 and stop.best_epoch == 0


def test_early_stopping_restores_best_parameters() -> None:
    X, y = data.make_moons(30, noise=0.1, seed=0, signed=True)
    X_val, y_val = data.make_moons(20, noise=0.1, seed=1, signed=True)
    model = MLP(2, [4, 1], seed=0)
    snapshots: dict[int, list[float]] = {}

    def snapshot(epoch: int, logs: Mapping[str, float]) -> None:
        snapshots[epoch] = _params(model)

    # gradient ascent: the validation loss only gets worse, so epoch 0 stays the best
    stop = EarlyStopping(monitor="val_loss", patience=1, restore_best=True)
    fit(model, X, y, loss="hinge", optimizer=SGD(model.parameters(), lr=0.05, maximize=True),
        epochs=10, validation_data=(X_val, y_val), callbacks=[snapshot, stop],
        progress=False)  # fmt: skip
    assert stop.best_epoch == 0 and stop.stopped_epoch == 2
    assert snapshots[2] != snapshots[0]
    assert _params(model) == snapshots[0]


def test_early_stopping_max_mode_and_min_delta() -> None:
    stop = EarlyStopping(monitor="val_accuracy", patience=0, min_delta=0.05, restore_best=False)
    assert stop.mode == "max"
    stop.on_train_begin(None)
    assert stop.on_epoch_end(0, {"val_accuracy": 0.5}) is None
    assert stop.on_epoch_end(1, {"val_accuracy": 0.56}) is None
    assert stop.on_epoch_end(2, {"val_accuracy": 0.6}) is True  # +0.04 < min_delta
    assert stop.best == 0.56 and stop.best_epoch == 1


def test_early_stopping_on_unlogged_quantity_is_a_clear_error() -> None:
    X, y = data.xor()
    model = MLP(2, [4, 1], seed=0)
    with pytest.raises(ValueError, match="monitors 'val_loss', which is not logged"):
        fit(model, X, y, loss="mse", optimizer=SGD(model.parameters(), lr=0.1), epochs=3,
            callbacks=[EarlyStopping()], progress=False)  # fmt: skip


# ----- accuracy rules, prediction -----
def _identity(x: list[Any]) -> Any:
    return [Value(v) for v in x] if len(x) > 1 else Value(x[0])


@pytest.mark.parametrize(
    ("outputs", "targets", "loss", "expected"),
    [
        ([[0.3], [-0.2], [0.0]], [1, -1, 1], None, 2 / 3),  # sign; 0 counts as -1
        ([[0.6], [0.4], [0.2]], [1, 1, 0], None, 2 / 3),  # probabilities: > 0.5
        ([[0.3], [-0.2], [0.4]], [1, 0, 0], losses.binary_cross_entropy_with_logits, 2 / 3),
        ([[0.1, 0.9, 0.0], [2.0, 1.0, 3.0]], [1, 0], None, 1 / 2),  # argmax vs index
        ([[0.1, 0.9], [2.0, 1.0]], [[0.0, 1.0], [0.0, 1.0]], None, 1 / 2),  # argmax vs one-hot
    ],
)
def test_accuracy_rules(outputs: Any, targets: Any, loss: Any, expected: float) -> None:
    result = evaluate(_identity, outputs, targets, loss)
    assert result["accuracy"] == pytest.approx(expected)


def test_evaluate_threshold_and_custom_metric() -> None:
    def mean_output(outputs: list[float], targets: list[Any]) -> float:
        return sum(outputs) / len(outputs)

    result = evaluate(_identity, [[0.6], [0.8]], [1, 0], metrics=["accuracy", mean_output],
                      threshold=0.7)  # fmt: skip
    assert result == {"accuracy": 0.0, "mean_output": pytest.approx(0.7)}


def test_predict_returns_floats_without_graph() -> None:
    model = MLP(2, [3, 2], seed=0)
    outputs = predict(model, [[0.5, -0.5]])
    assert len(outputs) == 1 and len(outputs[0]) == 2
    assert all(type(v) is float for v in outputs[0])


# ----- progress bar -----
_SCRIPT = """
from microgradnet import data
from microgradnet.nn import MLP
from microgradnet.optim import SGD
from microgradnet.train import fit
X, y = data.xor()
model = MLP(2, [2, 1], seed=0)
fit(model, X, y, loss="mse", optimizer=SGD(model.parameters(), lr=0.1), epochs=3,
    progress={progress})
"""


@pytest.mark.parametrize(
    ("progress", "disable_env", "shown"),
    [(True, None, True), (False, None, False), (True, "1", False)],
)
def test_progress_bar(progress: bool, disable_env: str | None, shown: bool) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TQDM_DISABLE"}
    if disable_env is not None:
        env["TQDM_DISABLE"] = disable_env
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT.format(progress=progress)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    if shown:
        assert "training: 100%" in result.stderr
        assert "3/3" in result.stderr and "loss=" in result.stderr and "acc=" in result.stderr
    else:
        assert result.stderr == ""


# ----- bad arguments -----
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"y": [0, 1]}, ValueError, "X has 4 samples but y has 2"),
        ({"X": [], "y": []}, ValueError, "X is empty"),
        ({"epochs": -1}, ValueError, "epochs must be an int >= 0, got -1"),
        ({"batch_size": 0}, ValueError, "batch_size must be an int >= 1, got 0"),
        ({"loss": "l2"}, ValueError, "unknown loss 'l2'"),
        ({"loss": 3}, TypeError, "loss must be a callable or a name"),
        ({"metrics": ["f1"]}, ValueError, "unknown metric 'f1'"),
        ({"callbacks": [42]}, TypeError, r"callbacks\[0\] must be a Callback"),
        ({"optimizer": object()}, TypeError, "optimizer must have step"),
        ({"scheduler": 0.5}, TypeError, "scheduler must have a step"),
        ({"validation_data": ([[0.0, 0.0]], [])}, ValueError, "validation X has 1 samples"),
        ({"clip_grad_norm": -1.0}, ValueError, "clip_grad_norm must be a number >= 0"),
        ({"validation_data": ([[0.0, 0.0]],)}, TypeError, r"pair \(X_val, y_val\), got a seq"),
        ({"validation_data": [[0.0, 0.0]]}, TypeError, r"validation_data must be a pair"),
        ({"validation_data": 3}, TypeError, r"validation_data must be a pair .*got int"),
        ({"loss": lambda p, t: float(p[0].data)}, TypeError, "loss must return a Value.*float"),
        ({"loss": lambda p, t: 0.5, "compiled": True}, TypeError, "loss must return a Value"),
    ],
)
def test_bad_fit_arguments(kwargs: dict[str, Any], error: type, match: str) -> None:
    X, y = data.xor()
    model = MLP(2, [2, 1], seed=0)
    arguments: dict[str, Any] = {
        "X": X,
        "y": y,
        "loss": "mse",
        "optimizer": SGD(model.parameters(), lr=0.1),
        "epochs": 1,
        "progress": False,
    }
    arguments.update(kwargs)
    with pytest.raises(error, match=match):
        fit(model, **arguments)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"patience": -1}, "patience must be an int >= 0"),
        ({"min_delta": -0.1}, "min_delta must be a number >= 0"),
        ({"mode": "up"}, "mode must be 'auto', 'min' or 'max'"),
        ({"monitor": ""}, "monitor must be the name"),
    ],
)
def test_bad_early_stopping_arguments(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        EarlyStopping(**kwargs)


# ----- losses say what they are: a wrapped library loss is read like the original -----
def _wrapped(loss: Any, model: Any) -> dict[str, Any]:
    @functools.wraps(loss)
    def wrapper(predictions: Any, targets: Any) -> Value:
        return loss(predictions, targets)

    return {
        "lambda": lambda p, t: loss(p, t),
        "partial": functools.partial(loss),
        "wraps": wrapper,
        # the penalty adds exactly 0.0 to the loss and to every gradient: the same history
        "plus a penalty": lambda p, t: loss(p, t) + losses.l2_penalty(model.parameters(), 0.0),
    }


def _signed(rows: list[list[float]]) -> list[list[float]]:
    return [[2.0 * v - 1.0 for v in row] for row in rows]


_BLOBS_X, _BLOBS_Y = data.make_blobs(40, centers=3, cluster_std=0.8, seed=2)
_MOONS_X, _MOONS_Y = data.make_moons(40, noise=0.2, seed=0)
_WRAPPED_CASES = [
    # (loss, output size, output activation, targets); one output, then several
    ("hinge", 1, "linear", [2 * t - 1 for t in _MOONS_Y]),
    ("mse", 1, "linear", _MOONS_Y),
    ("binary_cross_entropy_with_logits", 1, "linear", _MOONS_Y),
    ("binary_cross_entropy", 1, "sigmoid", _MOONS_Y),
    ("cross_entropy", 3, "linear", _BLOBS_Y),
    ("mse", 3, "linear", data.one_hot(_BLOBS_Y, 3)),
    ("hinge", 3, "linear", _signed(data.one_hot(_BLOBS_Y, 3))),
    ("binary_cross_entropy_with_logits", 3, "linear", data.one_hot(_BLOBS_Y, 3)),
    ("binary_cross_entropy", 3, "sigmoid", data.one_hot(_BLOBS_Y, 3)),
]


@pytest.mark.parametrize(("name", "nout", "activation", "targets"), _WRAPPED_CASES)
def test_a_wrapped_library_loss_gives_the_same_history(
    name: str, nout: int, activation: str, targets: list[Any]
) -> None:
    X = _MOONS_X if nout == 1 else _BLOBS_X

    def train(make_loss: Any) -> dict[str, list[float]]:
        model = MLP(2, [6, nout], output_activation=activation, seed=0)
        history = fit(model, X, targets, loss=make_loss(model), epochs=3, batch_size=16, seed=0,
                      optimizer=SGD(model.parameters(), lr=0.1), progress=False,
                      validation_data=(X[:10], targets[:10]))  # fmt: skip
        return history.history

    original = train(lambda model: getattr(losses, name))
    assert set(original) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert train(lambda model: name) == original
    for form in _wrapped(getattr(losses, name), MLP(2, [1])):
        assert train(lambda model, form=form: _wrapped(getattr(losses, name), model)[form]) == (
            original
        ), form


@pytest.mark.parametrize(
    ("loss", "expected"),
    [
        (losses.binary_cross_entropy_with_logits, 1.0),  # logits: compared with 0
        (lambda p, t: losses.binary_cross_entropy_with_logits(p, t), 1.0),
        (lambda p, t: losses.binary_cross_entropy_with_logits(p, t) + 1.0, 1.0),
        (losses.mse, 1 / 3),  # estimates of labels in {0, 1}: compared with 0.5
        (lambda p, t: Value.sum([(a - b) ** 2 for a, b in zip(p, t, strict=True)]) / 3, 1 / 3),
        (None, 1 / 3),
    ],
)
def test_accuracy_reads_a_wrapped_loss_like_the_original(loss: Any, expected: float) -> None:
    # outputs 0.3 and 0.2 are positive scores but probabilities below one half
    result = evaluate(_identity, [[0.3], [0.2], [-0.1]], [1, 1, 0], loss)
    assert result["accuracy"] == pytest.approx(expected)


def test_a_custom_loss_gets_the_documented_defaults() -> None:
    def squared_error(predictions: list[Value], targets: list[float]) -> Value:
        return Value.sum([(p - t) ** 2 for p, t in zip(predictions, targets, strict=True)]) / len(
            targets
        )

    # labels in {-1, +1}: the midpoint 0; a mean over samples, so the epoch loss is the mean
    outputs, labels = [[0.3], [-0.2], [0.1]], [1, -1, -1]
    assert evaluate(_identity, outputs, labels, squared_error)["accuracy"] == pytest.approx(2 / 3)
    w = Value(0.5)

    def model(x: list[float]) -> Value:
        return w * x[0]

    model.parameters = lambda: [w]  # type: ignore[attr-defined]
    X, y = [[1.0], [2.0], [3.0]], [1.0, 0.0, 1.0]
    history = fit(model, X, y, loss=squared_error, optimizer=SGD([w], lr=0.0), epochs=1,
                  batch_size=2, shuffle=False, progress=False)  # fmt: skip
    expected = ((0.5 - 1.0) ** 2 + (1.0 - 0.0) ** 2 + (1.5 - 1.0) ** 2) / 3
    assert history["loss"] == [pytest.approx(expected)]


def test_a_loss_declared_as_a_sum_is_summed_over_the_epoch() -> None:
    @losses.declare_loss(reduction="sum", predictions="scores")
    def summed_hinge(scores: list[Value], labels: list[float]) -> Value:
        return losses.hinge(scores, labels) * len(labels)

    w = Value(0.5)

    def model(x: list[float]) -> Value:
        return w * x[0]

    model.parameters = lambda: [w]  # type: ignore[attr-defined]
    X, y = [[1.0], [-2.0], [0.2]], [1, 1, -1]
    history = fit(model, X, y, loss=summed_hinge, optimizer=SGD([w], lr=0.0), epochs=1,
                  batch_size=2, shuffle=False, progress=False)  # fmt: skip
    assert history["loss"] == [pytest.approx(0.5 + 2.0 + 1.1)]
    assert history["accuracy"] == [pytest.approx(1 / 3)]  # scores: only 0.5 > 0 is right


def _hinge_plus_l2(model: Any) -> Any:
    return lambda p, t: losses.hinge(p, t) + losses.l2_penalty(model.parameters(), 1e-3)


def _own_hinge(p: list[Value], t: list[float]) -> Value:
    return Value.sum([(1 - a * b).relu() for a, b in zip(p, t, strict=True)]) / len(t)


@pytest.mark.parametrize(
    ("make_loss", "custom"),
    [
        (lambda model: "hinge", False),
        (lambda model: losses.hinge, False),
        (lambda model: lambda p, t: losses.hinge(p, t), False),
        (lambda model: functools.partial(losses.hinge), False),
        (_hinge_plus_l2, True),
        (lambda model: _own_hinge, True),
    ],
)
def test_compiled_mode_is_told_when_the_loss_is_not_vouched_for(
    monkeypatch: pytest.MonkeyPatch, make_loss: Any, custom: bool
) -> None:
    import microgradnet.compiled

    seen: list[bool] = []

    class Recorder:
        def __init__(self, model: Any, loss_fn: Any, samples: Any, targets: Any,
                     parameters: Any, custom_loss: bool, optimizer: Any) -> None:  # fmt: skip
            seen.append(custom_loss)

        def train(self, batch: list[int], max_norm: Any) -> tuple[float, list[Any]]:
            return 0.0, [0.0] * len(batch)

        def sync(self) -> None:
            pass

    monkeypatch.setattr(microgradnet.compiled, "CompiledTraining", Recorder)
    X, y = data.make_moons(8, seed=0, signed=True)
    model = MLP(2, [3, 1], seed=0)
    fit(model, X, y, loss=make_loss(model), optimizer=SGD(model.parameters(), lr=0.1), epochs=1,
        progress=False, compiled=True)  # fmt: skip
    assert seen == [custom]


# ----- compiled training: the arrays written back whenever a user can look -----
def _two_fits(**kwargs: Any) -> list[tuple[History, list[float], list[Any]]]:
    """The same fit run dynamically and compiled; the history, the parameters and what a
    callback saw of the parameters at each epoch's end."""
    X, y = data.make_moons(48, seed=2, signed=True)
    runs = []
    more = kwargs.pop("callbacks", [])
    for compiled in (False, True):
        model = MLP(2, [6, 1], seed=4)
        seen: list[Any] = []

        def look(epoch: int, logs: Any, model: MLP = model, seen: list[Any] = seen) -> None:
            seen.append([p.data for p in model.parameters()] + [p.grad for p in model.parameters()])

        history = fit(model, X, y, loss="hinge", optimizer=SGD(model.parameters(), lr=0.1,
                      momentum=0.9), epochs=4, batch_size=16, seed=0, progress=False,
                      callbacks=[look, *more], compiled=compiled,
                      **kwargs)  # fmt: skip
        runs.append((history, [p.data for p in model.parameters()], seen))
    return runs


def test_compiled_fit_shows_callbacks_and_validation_the_current_parameters() -> None:
    X_val, y_val = data.make_moons(20, seed=5, signed=True)
    (dynamic, d_params, d_seen), (fast, c_params, c_seen) = _two_fits(
        validation_data=(X_val, y_val)
    )
    np.testing.assert_allclose(c_seen, d_seen, rtol=1e-9, atol=1e-15)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(fast[key], dynamic[key], rtol=1e-9)
    np.testing.assert_allclose(c_params, d_params, rtol=1e-9)


def test_a_callback_changing_parameters_is_read_back_by_compiled_training() -> None:
    class Halve(Callback):
        def __init__(self) -> None:
            self.model: Any = None

        def on_train_begin(self, model: Any) -> None:
            self.model = model

        def on_epoch_end(self, epoch: int, logs: Any) -> None:
            for p in self.model.parameters():
                p.data *= 0.5

    (_, d_params, _), (_, c_params, _) = _two_fits(callbacks=[Halve()])
    np.testing.assert_allclose(c_params, d_params, rtol=1e-9)


def test_compiled_fit_stopped_by_an_error_leaves_the_last_parameters_in_the_model() -> None:
    X, y = data.make_moons(48, seed=2, signed=True)
    model = MLP(2, [6, 1], seed=4)
    calls = []

    def metric(outputs: Any, targets: Any) -> float:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("stop")
        return 0.0

    with pytest.raises(RuntimeError, match="stop"):
        fit(model, X, y, loss="hinge", optimizer=SGD(model.parameters(), lr=0.1), epochs=3,
            batch_size=16, seed=0, progress=False, metrics=[metric], compiled=True)  # fmt: skip
    reference = MLP(2, [6, 1], seed=4)
    fit(reference, X, y, loss="hinge", optimizer=SGD(reference.parameters(), lr=0.1), epochs=2,
        batch_size=16, seed=0, progress=False)  # fmt: skip
    np.testing.assert_allclose(
        [p.data for p in model.parameters()], [p.data for p in reference.parameters()], rtol=1e-9
    )
