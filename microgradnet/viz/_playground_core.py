"""The playground without its widget: the choices, the training, the pictures.

:class:`Trainer` owns the data, the live ``MLP`` and its optimiser. An epoch is one pass over the
training points in shuffled minibatches, each built with ``model.map`` and trained by
``backward()`` and the optimiser, as ``fit`` does. :meth:`Trainer.gradients` runs the whole
training set through the model once more and leaves the gradient of the training objective in
every parameter's ``.grad``: that is the gradient the network picture draws.

The pictures are plain NumPy: every neuron's output over a grid of the input plane, computed
from the weights' ``.data`` with the op table's own rows evaluated on arrays (Note [activations
on arrays]), and sent to the page as bytes, one per pixel.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence

import numpy as np

from .. import losses, ops
from .._activations import ACTIVATIONS, activation_fn
from ..engine import Value
from ..init import INIT_SCHEMES
from ..nn import MLP
from ..optim import SGD, Adagrad, Adam, Optimizer, RMSprop
from ._playground_data import DATASETS, DOMAIN, Points, make_dataset, split

__all__ = [
    "ACTIVATION_NAMES",
    "DATASET_NAMES",
    "INIT_NAMES",
    "L2_RATES",
    "LEARNING_RATES",
    "MAX_LAYERS",
    "MAX_NEURONS",
    "OPTIMIZERS",
    "Trainer",
    "check_choice",
    "check_hidden",
]

DATASET_NAMES = tuple(DATASETS)
ACTIVATION_NAMES = tuple(ACTIVATIONS)
INIT_NAMES = INIT_SCHEMES
OPTIMIZERS: dict[str, Callable[[list[Value], float], Optimizer]] = {
    "sgd": lambda params, lr: SGD(params, lr),
    "momentum": lambda params, lr: SGD(params, lr, momentum=0.9),
    "adam": lambda params, lr: Adam(params, lr),
    "rmsprop": lambda params, lr: RMSprop(params, lr),
    "adagrad": lambda params, lr: Adagrad(params, lr),
}
# What the page offers; any positive learning rate and L2 strength work from Python.
LEARNING_RATES = (0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
L2_RATES = (0.0, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3)
MAX_LAYERS = 4
MAX_NEURONS = 8
BOUNDARY_PIXELS = 64  # the decision boundary: 64 x 64 points of the input plane
NEURON_PIXELS = 32  # each neuron's small picture


def check_choice(value: object, choices: Sequence[str], what: str) -> str:
    """``value`` if it is one of ``choices``; else a ``ValueError`` listing them."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{what} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def check_hidden(hidden: object) -> list[int]:
    """The hidden layer sizes: 0 to 4 layers of 1 to 8 neurons each."""
    if isinstance(hidden, str | bytes) or not isinstance(hidden, Sequence):
        raise TypeError(f"hidden must be a list of layer sizes, got {type(hidden).__name__}")
    if len(hidden) > MAX_LAYERS:
        raise ValueError(f"hidden: at most {MAX_LAYERS} hidden layers, got {len(hidden)}")
    for i, size in enumerate(hidden):
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_NEURONS:
            raise ValueError(f"hidden[{i}] must be an int from 1 to {MAX_NEURONS}, got {size!r}")
    return list(hidden)


# Note [activations on arrays]
# The pictures need each activation on a NumPy array. Rather than a second table of activations,
# the activation is applied once to a probe Value: the node it makes names its op row, and the
# row's forward rule runs on arrays as it does on floats (that is what the dual vocabulary is
# for). "linear" makes no node and is the identity; an activation built from several nodes (none
# of the built-in ones is) falls back to calling it on each number.
def on_arrays(activation: str) -> Callable[[np.ndarray], np.ndarray]:
    """The activation called ``activation``, applied elementwise to a NumPy array."""
    function = activation_fn(activation)
    probe_input = Value(0.5)
    probe = function(probe_input)
    if probe is probe_input:
        return lambda z: z
    row = probe.op_record
    if row is not None and probe.parents == (probe_input,):
        arg = probe.op_arg
        return lambda z: np.asarray(row.evaluate([z], arg), dtype=float)
    return np.vectorize(lambda z: function(Value(float(z))).data, otypes=[float])


def _grid(pixels: int) -> np.ndarray:
    """The centres of ``pixels`` x ``pixels`` cells over the input plane, row by row from the
    top (largest x1) down, as a ``(pixels², 2)`` array."""
    lo, hi = DOMAIN
    step = (hi - lo) / pixels
    xs = lo + step * (np.arange(pixels) + 0.5)
    x0, x1 = np.meshgrid(xs, xs[::-1])
    return np.column_stack([x0.ravel(), x1.ravel()])


def _to_bytes(values: np.ndarray) -> bytes:
    """Values in [-1, 1] as one byte each (0 is -1, 255 is +1): what the page colours."""
    finite = np.nan_to_num(values, nan=0.0, posinf=1.0, neginf=-1.0)
    return bytes(np.rint((np.clip(finite, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8).tobytes())


class Trainer:
    """The data, the model, the optimiser and one epoch of training at a time.

    Args:
        seed: the seed of everything random here: data, split, weights, minibatch order.

    Example:
        >>> t = Trainer(seed=0)
        >>> t.set_data("circles", n_points=40, noise=0.0, train_fraction=0.5)
        >>> t.build([4], "tanh", "auto", optimizer="adam", lr=0.03)
        >>> before, _ = t.losses()
        >>> for _ in range(20): t.train_epoch()
        >>> after, _ = t.losses(); t.epoch, after < before
        (20, True)
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.l2 = 0.0
        self.batch_size = 10
        self.epoch = 0
        self.history: list[tuple[int, float, float]] = []
        self.X_train: Points = []
        self.y_train: list[int] = []
        self.X_test: Points = []
        self.y_test: list[int] = []
        self.model = MLP(2, [1], seed=seed)
        self.optimizer: Optimizer = SGD(self.model.parameters(), 0.03)
        self._data_draws = 0
        self._model_draws = 0
        self._rng = random.Random(seed)
        self._activations: list[Callable[[np.ndarray], np.ndarray]] = []
        self._train_arrays = self._test_arrays = np.zeros((0, 2))
        self._grids = (_grid(BOUNDARY_PIXELS), _grid(NEURON_PIXELS))

    # ----- set-up -----
    def set_data(
        self, dataset: str, n_points: int, noise: float, train_fraction: float, fresh: bool = False
    ) -> None:
        """Draw the data set (the same points again unless ``fresh``) and split it."""
        self._data_draws += bool(fresh)
        data_seed = self.seed + 1000 * self._data_draws
        X, y = make_dataset(dataset, n_points, noise, data_seed)
        self.X_train, self.y_train, self.X_test, self.y_test = split(
            X, y, train_fraction, data_seed
        )
        self._train_arrays = np.array(self.X_train, dtype=float).reshape(-1, 2)
        self._test_arrays = np.array(self.X_test, dtype=float).reshape(-1, 2)

    def build(
        self, hidden: Sequence[int], activation: str, init: str, optimizer: str, lr: float
    ) -> None:
        """A new model ``MLP(2, [*hidden, 1])`` with fresh weights and a new optimiser; the epoch
        count restarts."""
        model_seed = self.seed + self._model_draws
        self._model_draws += 1
        self.model = MLP(2, [*hidden, 1], activation, init=init, seed=model_seed)
        self._activations = [on_arrays(layer.activation) for layer in self.model.layers]
        self._rng = random.Random(model_seed)
        self.epoch = 0
        self.history = []
        self.set_optimizer(optimizer, lr)

    def set_optimizer(self, name: str, lr: float) -> None:
        """A new optimiser (its state starts afresh) over the model's parameters."""
        self.optimizer = OPTIMIZERS[name](self.model.parameters(), lr)

    # ----- training -----
    def _objective(self, X: Points, y: list[int]) -> tuple[Value, Value]:
        """The loss of the model on ``(X, y)`` and the objective: the loss plus the L2 penalty
        ``l2 * Σ w²`` over the weights (not the biases)."""
        loss = losses.binary_cross_entropy_with_logits(self.model.map(X), y)
        if not self.l2:
            return loss, loss
        weights = [w for layer in self.model.layers for n in layer.neurons for w in n.w]
        return loss, loss + losses.l2_penalty(weights, self.l2)

    def train_epoch(self) -> None:
        """One pass over the training points in shuffled minibatches of ``batch_size``.

        Raises:
            ArithmeticError: the weights overflowed (a learning rate too large); the message
                says what to do.
        """
        order = list(range(len(self.X_train)))
        self._rng.shuffle(order)
        size = max(1, self.batch_size)
        for start in range(0, len(order), size):
            batch = order[start : start + size]
            _, objective = self._objective(
                [self.X_train[i] for i in batch], [self.y_train[i] for i in batch]
            )
            self.optimizer.zero_grad()
            objective.backward()
            self.optimizer.step()
        self.epoch += 1
        if not all(math.isfinite(p.data) for p in self.model.parameters()):
            raise ArithmeticError(
                f"training diverged at epoch {self.epoch}: the weights are no longer finite "
                "numbers. Lower the learning rate and press reset."
            )

    def losses(self) -> tuple[float, float]:
        """The train and test losses now, added to ``history``.

        Computed from the weights with NumPy (the loss is ``softplus(z) - t·z`` per point, ``z``
        the logit, the op table's softplus row on arrays), as the pictures are: the engine's own
        loss of ``model.map(X)`` agrees to rounding, and costs a graph per frame."""
        results = []
        for X, y in ((self._train_arrays, self.y_train), (self._test_arrays, self.y_test)):
            logits = self._outputs(X)[-1][:, 0]
            with np.errstate(over="ignore", invalid="ignore"):
                terms = ops.SOFTPLUS.evaluate([logits]) - np.asarray(y, dtype=float) * logits
            results.append(float(terms.mean()))
        train, test = results
        if self.history and self.history[-1][0] == self.epoch:
            self.history.pop()
        self.history.append((self.epoch, train, test))
        return train, test

    def gradients(self) -> None:
        """Leave in each parameter's ``.grad`` the gradient of the training objective (the loss
        on every training point plus the L2 penalty) at the weights now: what "show gradients"
        and hovering a line show. The engine computes it: ``backward()`` over the whole set."""
        _, objective = self._objective(self.X_train, self.y_train)
        self.model.zero_grad()
        objective.backward()

    # ----- pictures -----
    def weights_and_grads(self) -> tuple[list[list[list[float]]], list[list[list[float]]]]:
        """Per layer, per neuron, ``[w0, w1, ..., b]``: the data and the gradients."""
        rows = [[[*n.w, n.b] for n in layer.neurons] for layer in self.model.layers]
        data = [[[v.data for v in row] for row in layer] for layer in rows]
        grads = [[[v.grad for v in row] for row in layer] for layer in rows]
        return data, grads

    def _outputs(self, points: np.ndarray) -> list[np.ndarray]:
        """Every layer's outputs at ``points``: ``(n_points, n_neurons)`` arrays, the input
        first and the output's logit last."""
        outputs = [points]
        for layer, activation in zip(self.model.layers, self._activations, strict=True):
            W = np.array([[w.data for w in n.w] for n in layer.neurons])
            b = np.array([n.b.data for n in layer.neurons])
            with np.errstate(over="ignore", invalid="ignore"):  # diverged weights: shown as such
                outputs.append(activation(outputs[-1] @ W.T + b))
        return outputs

    def pictures(self) -> tuple[bytes, bytes]:
        """The decision boundary (the probability of class 1, ``BOUNDARY_PIXELS²`` bytes) and
        each neuron's picture (``NEURON_PIXELS²`` bytes each: the two inputs, each hidden neuron
        layer by layer, then the output).

        A hidden neuron's colours are relative to the larger of its largest output and its
        response to a unit input (around its output at 0), so a neuron that barely changes
        looks pale rather than amplified."""
        boundary_points, neuron_points = self._grids
        logit = self._outputs(boundary_points)[-1][:, 0]
        outputs = self._outputs(neuron_points)
        pictures = [outputs[0] / DOMAIN[1]]
        with np.errstate(over="ignore", invalid="ignore"):  # diverged weights: shown as such
            boundary = np.tanh(logit / 2.0)  # 2·sigmoid(z) - 1
            for layer_out, activation in zip(outputs[1:-1], self._activations, strict=False):
                at_zero, at_one = activation(np.array([0.0, 1.0]))
                centred = layer_out - at_zero
                scale = np.maximum(np.abs(centred).max(axis=0), abs(at_one - at_zero))
                pictures.append(centred / np.maximum(scale, 1e-12))
            pictures.append(np.tanh(outputs[-1] / 2.0))
        stacked = np.concatenate(pictures, axis=1)  # (pixels², n_neurons)
        return _to_bytes(boundary), _to_bytes(stacked.T)
