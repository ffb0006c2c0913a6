"""The playground widget: train a small network live in a notebook and watch every neuron.

The page (``playground.js``, drawn on canvases) only draws and sends the learner's choices; the
kernel does the work. Pressing play starts a background thread that trains one epoch per frame
and publishes it: the epoch, both losses, the weights and their gradients, and every neuron's
picture as bytes (:mod:`._playground_core`). See Note [one lock] for how the thread and the
kernel's own thread share the model.
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from ..nn import MLP
from ._playground_core import (
    ACTIVATION_NAMES,
    BOUNDARY_PIXELS,
    DATASET_NAMES,
    INIT_NAMES,
    L2_RATES,
    LEARNING_RATES,
    MAX_LAYERS,
    MAX_NEURONS,
    NEURON_PIXELS,
    OPTIMIZERS,
    Trainer,
    check_choice,
    check_hidden,
)
from ._playground_data import DOMAIN, Points

__all__ = ["CHART_POINTS", "FRAME_SECONDS", "GRADIENT_EVERY", "Playground"]

FRAME_SECONDS = 1 / 25  # at most 25 frames a second: faster would only flood the page
_BREATH_SECONDS = 0.002  # the least pause between frames, for the kernel's own thread
CHART_POINTS = 300  # the loss chart gets at most this many points (evenly picked)
GRADIENT_EVERY = 5  # while training, the gradients drawn are refreshed every 5th frame
_DATA = ("dataset", "noise", "train_fraction", "n_points")
_NETWORK = ("hidden", "activation", "init")

# Note [one lock]
# Training runs in a background thread so that the kernel stays free for the learner's cells.
# Everything that reads or changes the model, the data or the widget's state holds one
# re-entrant lock: an epoch and its frame, step(), reset(), and every trait change, including
# those the page sends (set_state) and those a cell makes (notify_change). So the model a cell
# sees between two frames is always a whole epoch's model, and ipywidgets' bookkeeping of what
# to send (one set shared by all threads) is never touched by two threads at once. Pausing only
# sets an event; the thread finishes its epoch, publishes it and stops, so the page's last frame
# is the model's state.


def _finite(x: float) -> float | None:
    """``x``, or ``None`` for NaN and the infinities (JSON has no word for them)."""
    return x if math.isfinite(x) else None


def _number(value: Any, what: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise traitlets.TraitError(f"{what} must be a number, got {value!r}")
    if not low <= value <= high:
        raise traitlets.TraitError(f"{what} must be between {low} and {high}, got {value!r}")
    return float(value)


class Playground(anywidget.AnyWidget):
    """A network training live on a two-class data set, drawn neuron by neuron.

    Build it with :func:`microgradnet.viz.playground` (which checks that a notebook is there
    to show it; the class itself also works headless, as the tests and benchmarks use it).
    Every control is a trait: set it from a cell (``pg.activation = "relu"``) or on the page.
    Changing the data or the network starts a new model; the learning rate, optimiser, L2 and
    batch size apply from the next epoch.
    """

    _esm = Path(__file__).with_name("playground.js")
    _css = Path(__file__).with_name("playground.css")

    # ----- the controls: the page and Python both set them -----
    dataset = traitlets.Unicode("circles").tag(sync=True)
    noise = traitlets.Float(0.1).tag(sync=True)
    train_fraction = traitlets.Float(0.5).tag(sync=True)
    n_points = traitlets.Int(200).tag(sync=True)
    hidden = traitlets.List(traitlets.Int(), default_value=[4, 2]).tag(sync=True)
    activation = traitlets.Unicode("tanh").tag(sync=True)
    init = traitlets.Unicode("auto").tag(sync=True)
    l2 = traitlets.Float(0.0).tag(sync=True)
    optimizer = traitlets.Unicode("adam").tag(sync=True)
    lr = traitlets.Float(0.03).tag(sync=True)
    batch_size = traitlets.Int(10).tag(sync=True)
    show = traitlets.Unicode("weights").tag(sync=True)
    running = traitlets.Bool(False).tag(sync=True)

    # ----- what the page draws: Python sets them, one frame at a time -----
    epoch = traitlets.Int(0).tag(sync=True)
    train_loss = traitlets.Float(None, allow_none=True).tag(sync=True)
    test_loss = traitlets.Float(None, allow_none=True).tag(sync=True)
    loss_chart: traitlets.List[Any] = traitlets.List().tag(sync=True)
    points: traitlets.List[Any] = traitlets.List().tag(sync=True)
    layer_sizes: traitlets.List[Any] = traitlets.List().tag(sync=True)
    weights: traitlets.List[Any] = traitlets.List().tag(sync=True)
    grads: traitlets.List[Any] = traitlets.List().tag(sync=True)
    boundary = traitlets.Bytes().tag(sync=True)
    neurons = traitlets.Bytes().tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    options = traitlets.Dict().tag(sync=True)

    def __init__(self, *, seed: int = 0, **controls: Any) -> None:
        self._lock = threading.RLock()
        self._ready = False
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._trainer = Trainer(seed)
        super().__init__(**controls)
        self.options = {
            "datasets": list(DATASET_NAMES),
            "activations": list(ACTIVATION_NAMES),
            "inits": list(INIT_NAMES),
            "optimizers": list(OPTIMIZERS),
            "learning_rates": list(LEARNING_RATES),
            "l2_rates": list(L2_RATES),
            "max_layers": MAX_LAYERS,
            "max_neurons": MAX_NEURONS,
            "domain": list(DOMAIN),
            "boundary_pixels": BOUNDARY_PIXELS,
            "neuron_pixels": NEURON_PIXELS,
        }
        self.on_msg(self._on_message)
        with self._lock:
            self._ready = True
            self._trainer.l2, self._trainer.batch_size = self.l2, self.batch_size
            self._new_data(fresh=False)

    # ----- the public interface -----
    @property
    def model(self) -> MLP:
        """The live model: ``MLP(2, [*hidden, 1])``, its output a logit (class 1 when > 0).

        Pause (or call :meth:`step` yourself) to read it between epochs; a reset or a change of
        data or network replaces it with a new model."""
        return self._trainer.model

    @property
    def history(self) -> list[tuple[int, float, float]]:
        """``(epoch, train loss, test loss)`` after each frame since the model was made."""
        return list(self._trainer.history)

    @property
    def X_train(self) -> Points:
        """The training points (the test points are ``X_test``; labels ``y_train``, ``y_test``)."""
        return self._trainer.X_train

    @property
    def y_train(self) -> list[int]:
        return self._trainer.y_train

    @property
    def X_test(self) -> Points:
        return self._trainer.X_test

    @property
    def y_test(self) -> list[int]:
        return self._trainer.y_test

    def step(self, epochs: int = 1) -> None:
        """Train ``epochs`` epochs (one frame's worth each) now, then update the page.

        Raises:
            ArithmeticError: training diverged (the message says what to do).
        """
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs must be an int >= 1, got {epochs!r}")
        with self._lock:
            for k in range(epochs):
                self._train_epoch()
                if k < epochs - 1:
                    self._trainer.losses()  # every epoch in the history; the frame adds the last
            self._publish()

    def reset(self) -> None:
        """Start again from fresh random weights, at epoch 0 (the data stay)."""
        with self._lock:
            self._new_model()

    def regenerate(self) -> None:
        """Draw new points of the same data set, then start a new model on them."""
        with self._lock:
            self._new_data(fresh=True)

    def play(self) -> None:
        """Train continuously in the background (the page's play button)."""
        self.running = True

    def pause(self) -> None:
        """Stop training; returns once the epoch under way is finished and shown."""
        self.running = False
        thread = getattr(self, "_thread", None)  # None too when __init__ failed (close on del)
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def close(self) -> None:
        """Stop training and close the widget."""
        self.pause()
        super().close()

    # ----- traits: checked, then acted on under the lock -----
    def notify_change(self, change: Any) -> None:
        with self._lock:  # Note [one lock]
            super().notify_change(change)

    def set_state(self, sync_data: Any) -> None:
        with self._lock:  # Note [one lock]
            super().set_state(sync_data)

    @traitlets.validate("dataset")
    def _check_dataset(self, proposal: Any) -> str:
        return self._choice(proposal, DATASET_NAMES, "dataset")

    @traitlets.validate("activation")
    def _check_activation(self, proposal: Any) -> str:
        return self._choice(proposal, ACTIVATION_NAMES, "activation")

    @traitlets.validate("init")
    def _check_init(self, proposal: Any) -> str:
        return self._choice(proposal, INIT_NAMES, "init")

    @traitlets.validate("optimizer")
    def _check_optimizer(self, proposal: Any) -> str:
        return self._choice(proposal, tuple(OPTIMIZERS), "optimizer")

    @traitlets.validate("show")
    def _check_show(self, proposal: Any) -> str:
        return self._choice(proposal, ("weights", "grads"), "show")

    @staticmethod
    def _choice(proposal: Any, choices: tuple[str, ...], what: str) -> str:
        try:
            return check_choice(proposal["value"], choices, what)
        except ValueError as error:
            raise traitlets.TraitError(str(error)) from None

    @traitlets.validate("hidden")
    def _check_hidden(self, proposal: Any) -> list[int]:
        try:
            return check_hidden(proposal["value"])
        except (TypeError, ValueError) as error:
            raise traitlets.TraitError(str(error)) from None

    @traitlets.validate("noise")
    def _check_noise(self, proposal: Any) -> float:
        return _number(proposal["value"], "noise", 0.0, 1.0)

    @traitlets.validate("train_fraction")
    def _check_train_fraction(self, proposal: Any) -> float:
        return _number(proposal["value"], "train_fraction", 0.05, 0.95)

    @traitlets.validate("l2")
    def _check_l2(self, proposal: Any) -> float:
        return _number(proposal["value"], "l2", 0.0, 10.0)

    @traitlets.validate("lr")
    def _check_lr(self, proposal: Any) -> float:
        value = _number(proposal["value"], "lr", 0.0, 100.0)
        if value == 0.0:
            raise traitlets.TraitError("lr must be > 0, got 0.0")
        return value

    @traitlets.validate("n_points", "batch_size")
    def _check_count(self, proposal: Any) -> int:
        name, value = proposal["trait"].name, proposal["value"]
        low, high = (4, 2000) if name == "n_points" else (1, 2000)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise traitlets.TraitError(f"{name} must be an int from {low} to {high}, got {value!r}")
        return int(value)

    @traitlets.observe(*_DATA)
    def _data_changed(self, change: Any) -> None:
        if self._ready:
            self._new_data(fresh=False)

    @traitlets.observe(*_NETWORK)
    def _network_changed(self, change: Any) -> None:
        if self._ready:
            self._new_model()

    @traitlets.observe("optimizer")
    def _optimizer_changed(self, change: Any) -> None:
        if self._ready:
            self._trainer.set_optimizer(self.optimizer, self.lr)

    @traitlets.observe("lr", "l2", "batch_size")
    def _setting_changed(self, change: Any) -> None:
        if not self._ready:
            return
        self._trainer.optimizer.lr = self.lr
        self._trainer.l2, self._trainer.batch_size = self.l2, self.batch_size
        if change["name"] == "l2":
            self._publish()  # the gradients drawn include the L2 term

    @traitlets.observe("show")
    def _show_changed(self, change: Any) -> None:
        if self._ready:
            self._publish()

    @traitlets.observe("running")
    def _running_changed(self, change: Any) -> None:
        if not change["new"]:
            self._stop.set()
        elif self._thread is None or not self._thread.is_alive() or self._stop.is_set():
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._run, args=(self._stop,), name="microgradnet-playground", daemon=True
            )
            self._thread.start()

    def _on_message(self, widget: Any, content: Any, buffers: Any) -> None:
        action = content.get("action") if isinstance(content, dict) else None
        try:
            if action == "step":
                self.step()
            elif action == "reset":
                self.reset()
            elif action == "regenerate":
                self.regenerate()
        except ArithmeticError:
            pass  # the page shows the message (self.error)

    # ----- the work -----
    def _new_data(self, fresh: bool) -> None:
        trainer = self._trainer
        trainer.set_data(self.dataset, self.n_points, self.noise, self.train_fraction, fresh)
        self._new_model()

    def _new_model(self) -> None:
        self._trainer.build(self.hidden, self.activation, self.init, self.optimizer, self.lr)
        self.error = ""
        self._publish()

    def _train_epoch(self) -> None:
        try:
            self._trainer.train_epoch()
        except ArithmeticError as error:
            with self.hold_sync():
                self.error = str(error)
                self.epoch = self._trainer.epoch
                self.running = False
            raise

    def _run(self, stop: threading.Event) -> None:
        """The background thread: an epoch and its frame, again and again, until ``stop``;
        then a last frame with the gradients at the final weights."""
        frame = 0
        while not stop.is_set():
            began = time.perf_counter()
            with self._lock:
                if stop.is_set():
                    break
                try:
                    self._train_epoch()
                except ArithmeticError:
                    return
                frame += 1
                self._publish(gradients=self.show == "grads" or frame % GRADIENT_EVERY == 0)
            rest = FRAME_SECONDS - (time.perf_counter() - began)
            stop.wait(max(rest, _BREATH_SECONDS))
        with self._lock:
            self._publish()

    def _publish(self, gradients: bool = True) -> None:
        """Send the page everything it draws, in one message.

        ``gradients``: recompute the whole training set's gradient first (the engine's one
        full backward pass, as costly as an epoch): every still frame, every frame while the
        lines show gradients, else every ``GRADIENT_EVERY``-th frame (for hovering)."""
        trainer = self._trainer
        if gradients:
            try:
                trainer.gradients()
            except (ArithmeticError, ValueError) as error:  # weights that overflowed
                self.error = f"the gradient cannot be computed: {error}. Press reset."
        train, test = trainer.losses()
        boundary, neurons = trainer.pictures()
        weights, grads = (
            [[[_finite(v) for v in row] for row in layer] for layer in table]
            for table in trainer.weights_and_grads()
        )
        history = trainer.history
        step = max(1, math.ceil(len(history) / CHART_POINTS))
        rows = history[::step]
        if (len(history) - 1) % step:
            rows.append(history[-1])  # the latest point always
        chart = [[epoch, _finite(a), _finite(b)] for epoch, a, b in rows]
        points = [[*x, label, 0] for x, label in zip(trainer.X_train, trainer.y_train, strict=True)]
        points += [[*x, label, 1] for x, label in zip(trainer.X_test, trainer.y_test, strict=True)]
        with self.hold_sync():
            self.points = points
            self.layer_sizes = [2, *(layer.nout for layer in trainer.model.layers)]
            self.weights, self.grads = weights, grads
            self.boundary, self.neurons = boundary, neurons
            self.train_loss, self.test_loss = _finite(train), _finite(test)
            self.loss_chart = chart
            self.epoch = trainer.epoch
