"""Training loop, evaluation and prediction for any model that maps a sample to Values.

Conventions:

* a model is a callable taking one sample (a list of numbers) and returning one ``Value``
  (one output) or a list of ``Value``s (several outputs), with a ``parameters()`` method;
* ``loss(predictions, targets) -> Value`` receives a minibatch: ``predictions`` is the list of
  the model's outputs (a list of ``Value``s, or a list of lists for several outputs) and
  ``targets`` the matching slice of ``y``. It returns the batch mean. A loss may also be named
  by a string (``"hinge"``, ``"mse"``, ``"cross_entropy"``, ...). The library's losses are
  adapted to multi-output models: ``losses.cross_entropy(logits, target_index)``, a per-sample
  loss, is averaged over the batch; the element-wise ones (``mse``, ``hinge``, the binary
  cross-entropies) get the outputs and targets flattened, i.e. the mean over every output of
  every sample, as torch's ``reduction="mean"`` on an ``(N, C)`` tensor;
* accuracy: for one output, labels in {-1, +1} are predicted by the sign of the output, labels
  in {0, 1} by ``output > 0.5`` (``> 0`` for ``hinge`` and ``binary_cross_entropy_with_logits``,
  whose outputs are scores); for several outputs, by the argmax against an int label or a
  one-hot target. Targets that are not class labels get no accuracy.

Example:
    >>> from microgradnet import data, losses
    >>> from microgradnet.nn import MLP
    >>> from microgradnet.optim import Adam
    >>> X, y = data.xor()
    >>> model = MLP(2, [8, 1], seed=0)
    >>> history = fit(model, X, y, loss="mse", epochs=5, progress=False,
    ...               optimizer=Adam(model.parameters(), lr=0.05))
    >>> len(history), sorted(history.history)
    (5, ['accuracy', 'loss'])
"""

from __future__ import annotations

import math
import numbers
import os
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tqdm.auto import tqdm

from .engine import Value, no_grad
from .optim import clip_grad_norm_

__all__ = [
    "LOSS_NAMES",
    "Callback",
    "EarlyStopping",
    "History",
    "evaluate",
    "fit",
    "predict",
]

LOSS_NAMES = (
    "mse",
    "hinge",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
)
_PER_SAMPLE_LOSSES = ("cross_entropy",)
_SCORE_LOSSES = ("hinge", "binary_cross_entropy_with_logits")


# ----- history and callbacks -----
class History:
    """What ``fit`` measured, epoch by epoch.

    Attributes:
        history: ``{"loss": [...], "accuracy": [...], "val_loss": [...], ...}``, one float per
            epoch for each quantity measured (``lr`` too when a scheduler is used).
        epochs: the epoch numbers (from 0) that ran.

    Example:
        >>> h = History()
        >>> h.append(0, {"loss": 0.5})
        >>> h["loss"], len(h)
        ([0.5], 1)
    """

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epochs: list[int] = []

    def append(self, epoch: int, logs: Mapping[str, float]) -> None:
        """Record one epoch's logs."""
        self.epochs.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))

    def __getitem__(self, key: str) -> list[float]:
        try:
            return self.history[key]
        except KeyError:
            raise KeyError(
                f"{key!r} was not recorded; recorded: {', '.join(self.history)}"
            ) from None

    def __contains__(self, key: object) -> bool:
        return key in self.history

    def keys(self) -> list[str]:
        """The recorded quantities."""
        return list(self.history)

    def __len__(self) -> int:
        return len(self.epochs)

    def __repr__(self) -> str:
        last = ", ".join(f"{k}={v[-1]:.4g}" for k, v in self.history.items() if v)
        return f"History({len(self)} epochs{': ' if last else ''}{last})"


class Callback:
    """Hooks called by ``fit``; override the ones you need.

    ``on_epoch_end`` returning ``True`` stops training after that epoch. A plain function
    ``f(epoch, logs)`` can be passed to ``fit`` as a callback too.
    """

    def on_train_begin(self, model: Any) -> None:
        """Called once before the first epoch."""

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float]) -> bool | None:
        """Called after every epoch with its logs; return ``True`` to stop."""
        return None

    def on_train_end(self, model: Any) -> None:
        """Called once after the last epoch (also after an early stop)."""


class EarlyStopping(Callback):
    """Stop when a logged quantity stops improving, optionally keeping the best parameters.

    Args:
        monitor: the quantity to watch (``"val_loss"``, ``"loss"``, ``"val_accuracy"``, ...).
        patience: epochs without improvement tolerated before stopping (>= 0).
        min_delta: the smallest change that counts as an improvement (>= 0).
        mode: ``"min"``, ``"max"``, or ``"auto"`` (``"max"`` for accuracies, else ``"min"``).
        restore_best: at the end of training, put back the parameters of the best epoch.

    Attributes:
        best: the best value seen; ``best_epoch``: its epoch; ``stopped_epoch``: the epoch
        training stopped at, or ``None``.

    Raises:
        ValueError: bad arguments, or (during ``fit``) ``monitor`` is not logged.

    Example:
        >>> stop = EarlyStopping(monitor="val_loss", patience=5)  # fit(..., callbacks=[stop])
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 5,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best: bool = True,
    ) -> None:
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(f"monitor must be the name of a logged quantity, got {monitor!r}")
        self.monitor = monitor
        self.patience = _count(patience, "patience", 0)
        self.min_delta = _non_negative(min_delta, "min_delta")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        self.mode = ("max" if "acc" in monitor else "min") if mode == "auto" else mode
        self.restore_best = bool(restore_best)
        self._reset(None)

    def _reset(self, model: Any) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None
        self._last_epoch: int | None = None
        self._wait = 0
        self._model = model
        self._best_data: list[float] | None = None

    def on_train_begin(self, model: Any) -> None:
        self._reset(model)

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float]) -> bool | None:
        if self.monitor not in logs:
            raise ValueError(
                f"EarlyStopping monitors {self.monitor!r}, which is not logged; logged: "
                f"{', '.join(logs)} (val_* needs validation_data)"
            )
        value = float(logs[self.monitor])
        self._last_epoch = epoch
        if self.mode == "min":
            improved = value < self.best - self.min_delta
        else:
            improved = value > self.best + self.min_delta
        if improved:
            self.best, self.best_epoch, self._wait = value, epoch, 0
            if self.restore_best and self._model is not None:
                self._best_data = [p.data for p in self._model.parameters()]
            return None
        self._wait += 1
        if self._wait > self.patience:
            self.stopped_epoch = epoch
            return True
        return None

    def on_train_end(self, model: Any) -> None:
        if (
            self.restore_best
            and self._best_data is not None
            and self.best_epoch != self._last_epoch
        ):
            for p, data in zip(model.parameters(), self._best_data, strict=True):
                p.data = data

    def __repr__(self) -> str:
        return (
            f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience}, "
            f"min_delta={self.min_delta}, mode={self.mode!r}, restore_best={self.restore_best})"
        )


# ----- argument checks -----
def _count(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _non_negative(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    return float(value)


def _dataset(X: Any, y: Any, what: str = "") -> tuple[list[Any], list[Any]]:
    samples = X.tolist() if hasattr(X, "tolist") else list(X)
    targets = y.tolist() if hasattr(y, "tolist") else list(y)
    if len(samples) != len(targets):
        raise ValueError(f"{what}X has {len(samples)} samples but {what}y has {len(targets)}")
    if not samples:
        raise ValueError(f"{what}X is empty: there is nothing to train or evaluate on")
    return samples, targets


# ----- losses and accuracy -----
@dataclass(frozen=True)
class _Loss:
    fn: Callable[[list[Any], list[Any]], Value]
    name: str


def _resolve_loss(loss: Any) -> _Loss:
    from . import losses

    if isinstance(loss, str):
        if loss not in LOSS_NAMES:
            raise ValueError(f"unknown loss {loss!r}; expected a callable or one of {LOSS_NAMES}")
        fn = getattr(losses, loss)
    elif callable(loss):
        fn = loss
    else:
        raise TypeError(f"loss must be a callable or a name, got {type(loss).__name__}")
    name = next((n for n in LOSS_NAMES if getattr(losses, n, None) is fn), "")
    if name in _PER_SAMPLE_LOSSES:
        return _Loss(_batch_mean(fn), name)
    if name:
        return _Loss(_flattening(fn), name)
    return _Loss(fn, name)


def _flattening(elementwise_loss: Callable[[Any, Any], Value]) -> Callable[[list, list], Value]:
    def batch_loss(predictions: list[Any], targets: list[Any]) -> Value:
        if predictions and isinstance(predictions[0], Sequence):
            predictions = [p for row in predictions for p in row]
            targets = [t for row in targets for t in _row(row)]
        return elementwise_loss(predictions, targets)

    return batch_loss


def _row(target: Any) -> Sequence[Any]:
    if isinstance(target, str) or not isinstance(target, Sequence):
        raise ValueError(
            f"a model with several outputs needs one target per output (a list such as a "
            f"one-hot row), got {target!r}; for class indices use cross_entropy"
        )
    return target


def _batch_mean(sample_loss: Callable[[Any, Any], Value]) -> Callable[[list, list], Value]:
    def batch_loss(predictions: list[Any], targets: list[Any]) -> Value:
        terms = [sample_loss(p, t) for p, t in zip(predictions, targets, strict=True)]
        return Value.sum(terms) / len(terms)

    return batch_loss


def _is_label(t: Any) -> bool:
    return isinstance(t, numbers.Real) and not isinstance(t, bool) and float(t).is_integer()


@dataclass(frozen=True)
class _Accuracy:
    """How a model output becomes a predicted class, fixed once from the training targets."""

    rule: str  # "sign", "threshold", "argmax", "argmax-onehot"
    threshold: float = 0.5

    @staticmethod
    def infer(targets: Sequence[Any], multi_output: bool, loss_name: str, threshold: Any) -> Any:
        if multi_output:
            if all(_is_label(t) for t in targets):
                return _Accuracy("argmax")
            if all(isinstance(t, Sequence) and t for t in targets):
                return _Accuracy("argmax-onehot")
            return None
        if not all(_is_label(t) for t in targets):
            return None
        labels = {int(t) for t in targets}
        if labels <= {-1, 1} and (-1 in labels or loss_name == "hinge"):
            return _Accuracy("sign", 0.0 if threshold is None else float(threshold))
        if labels <= {0, 1}:
            default = 0.0 if loss_name in _SCORE_LOSSES else 0.5
            return _Accuracy("threshold", default if threshold is None else float(threshold))
        return None

    def correct(self, output: Any, target: Any) -> bool:
        if self.rule == "sign":
            return (1 if output > self.threshold else -1) == target
        if self.rule == "threshold":
            return (1 if output > self.threshold else 0) == target
        scores = list(output)
        predicted = max(range(len(scores)), key=scores.__getitem__)
        if self.rule == "argmax":
            return predicted == target
        return predicted == max(range(len(target)), key=list(target).__getitem__)


def _floats(output: Any) -> Any:
    if isinstance(output, Value):
        return output.data
    if isinstance(output, Sequence):
        return [_floats(o) for o in output]
    return float(output)


def _metric_names(metrics: Iterable[Any]) -> list[Any]:
    if isinstance(metrics, str):
        metrics = (metrics,)
    checked = []
    for metric in metrics:
        if metric != "accuracy" and not callable(metric):
            raise ValueError(
                f"unknown metric {metric!r}; expected 'accuracy' or a callable "
                "metric(outputs, targets) -> float"
            )
        checked.append(metric)
    return checked


def _measure(
    metrics: list[Any], accuracy: _Accuracy | None, outputs: list[Any], targets: list[Any]
) -> dict[str, float]:
    logs: dict[str, float] = {}
    for metric in metrics:
        if metric == "accuracy":
            if accuracy is not None:
                hits = sum(accuracy.correct(o, t) for o, t in zip(outputs, targets, strict=True))
                logs["accuracy"] = hits / len(targets)
        else:
            logs[getattr(metric, "__name__", "metric")] = float(metric(outputs, targets))
    return logs


def _outputs(model: Callable[[Any], Any], samples: list[Any]) -> list[Any]:
    """The model's output for each sample: ``model.map(samples)`` when the model has that
    batching hook (every ``Module`` does), else ``model(x)`` for each sample."""
    batched = getattr(model, "map", None)
    if callable(batched):
        return list(batched(samples))
    return [model(x) for x in samples]


# ----- public functions -----
def predict(model: Callable[[Any], Any], X: Sequence[Any]) -> list[Any]:
    """The model's outputs on every sample, as floats, without building a graph.

    Returns:
        A list of floats for a one-output model, else a list of lists of floats.

    Example:
        >>> predict(model, [[0.0, 1.0]])  # doctest: +SKIP
        [0.93]
    """
    samples = X.tolist() if hasattr(X, "tolist") else list(X)
    with no_grad():
        return [_floats(out) for out in _outputs(model, samples)]


def evaluate(
    model: Callable[[Any], Any],
    X: Sequence[Any],
    y: Sequence[Any],
    loss: Any = None,
    *,
    metrics: Iterable[Any] = ("accuracy",),
    threshold: float | None = None,
) -> dict[str, float]:
    """The loss (if given) and metrics of ``model`` on ``(X, y)``, without building a graph.

    Args:
        model: the model.
        X: samples; y: their labels or targets.
        loss: a loss callable or name (see the module docstring); omitted, no ``"loss"`` key.
        metrics: ``"accuracy"`` and/or callables ``metric(outputs, targets) -> float``.
        threshold: the decision threshold of a one-output classifier (default: see module).

    Returns:
        ``{"loss": ..., "accuracy": ...}`` (only what applies).

    Example:
        >>> evaluate(model, X_test, y_test, losses.hinge)  # doctest: +SKIP
        {'loss': 0.02, 'accuracy': 0.99}
    """
    samples, targets = _dataset(X, y)
    spec = _resolve_loss(loss) if loss is not None else None
    names = _metric_names(metrics)
    with no_grad():
        outputs = _outputs(model, samples)
        logs = {"loss": spec.fn(outputs, targets).data} if spec is not None else {}
    values = [_floats(o) for o in outputs]
    accuracy = _Accuracy.infer(
        targets, isinstance(values[0], list), spec.name if spec else "", threshold
    )
    logs.update(_measure(names, accuracy, values, targets))
    return logs


def _tqdm_disabled() -> bool:
    # tqdm's notebook bar ignores TQDM_DISABLE (it sets disable=False itself), so read it here.
    return os.environ.get("TQDM_DISABLE", "").strip().lower() not in ("", "0", "false")


def fit(
    model: Any,
    X: Sequence[Any],
    y: Sequence[Any],
    *,
    loss: Any,
    optimizer: Any,
    epochs: int,
    batch_size: int | None = None,
    shuffle: bool = True,
    seed: int | random.Random | None = None,
    validation_data: tuple[Sequence[Any], Sequence[Any]] | None = None,
    metrics: Iterable[Any] = ("accuracy",),
    callbacks: Iterable[Any] = (),
    progress: bool = True,
    scheduler: Any = None,
    clip_grad_norm: float | None = None,
    threshold: float | None = None,
    compiled: bool = False,
) -> History:
    """Train ``model`` by minibatch gradient descent and return what was measured.

    Each epoch shuffles the samples (with ``seed``), and for every minibatch runs the model,
    the loss, ``optimizer.zero_grad()``, ``backward()`` and ``optimizer.step()``. The epoch's
    ``loss`` and ``accuracy`` are averaged over its minibatches, measured before each update
    (as Keras reports them); ``val_loss`` and ``val_accuracy`` are measured on
    ``validation_data`` after the epoch. A tqdm bar (a widget in Jupyter) shows them.

    Args:
        model: a callable on one sample with a ``parameters()`` method.
        X: the training samples; y: their labels or targets.
        loss: ``loss(predictions, targets) -> Value`` or a name (see the module docstring).
        optimizer: an optimiser over the model's parameters (:mod:`microgradnet.optim`).
        epochs: number of passes over the data (>= 0).
        batch_size: samples per update; ``None`` uses the whole data set (full batch).
        shuffle: reshuffle the samples every epoch.
        seed: an int or ``random.Random`` for the shuffling, for reproducible runs.
        validation_data: ``(X_val, y_val)`` measured after every epoch.
        metrics: ``"accuracy"`` and/or callables ``metric(outputs, targets) -> float``.
        callbacks: ``Callback`` objects or functions ``f(epoch, logs)``; returning ``True``
            stops training after that epoch.
        progress: show the progress bar (``TQDM_DISABLE=1`` hides it too).
        scheduler: a learning-rate schedule stepped after every epoch; logs ``lr``.
        clip_grad_norm: if given, clip the gradients to this norm before every step.
        threshold: decision threshold of a one-output classifier (default: see module).
        compiled: trace the model and loss once per sample and run every minibatch with
            NumPy (:mod:`microgradnet.compiled`); same gradients, much faster. Needs a graph
            that does not depend on the data and a loss that is a mean over samples.

    Returns:
        A :class:`History`.

    Raises:
        ValueError: mismatched or empty data, or an argument out of range (named).
        TypeError: ``loss`` or a callback is neither callable nor a known name.
        TraceError: ``compiled=True`` and the model or loss builds a data-dependent graph.

    Example:
        >>> fit(model, X, y, loss=losses.hinge, optimizer=Adam(model.parameters(), lr=0.05),
        ...     epochs=50, batch_size=32, seed=0)  # doctest: +SKIP
    """
    samples, targets = _dataset(X, y)
    spec = _resolve_loss(loss)
    n_epochs = _count(epochs, "epochs", 0)
    size = len(samples) if batch_size is None else _count(batch_size, "batch_size", 1)
    names = _metric_names(metrics)
    hooks = _callbacks(callbacks)
    if not callable(getattr(optimizer, "step", None)) or not callable(
        getattr(optimizer, "zero_grad", None)
    ):
        raise TypeError(f"optimizer must have step() and zero_grad(), got {type(optimizer)}")
    if scheduler is not None and not callable(getattr(scheduler, "step", None)):
        raise TypeError(f"scheduler must have a step() method, got {type(scheduler).__name__}")
    max_norm = None if clip_grad_norm is None else _non_negative(clip_grad_norm, "clip_grad_norm")
    val = _dataset(*validation_data, what="validation ") if validation_data is not None else None
    rng = seed if isinstance(seed, random.Random) else random.Random(seed)
    parameters = model.parameters()
    runner = None
    if compiled:
        from .compiled import CompiledTraining

        runner = CompiledTraining(model, spec.fn, samples, targets, parameters, not spec.name)

    history = History()
    order = list(range(len(samples)))
    accuracy: _Accuracy | None = None
    for hook in hooks:
        hook.on_train_begin(model)
    bar = tqdm(
        range(n_epochs), desc="training", unit="epoch", disable=not progress or _tqdm_disabled()
    )
    try:
        for epoch in bar:
            if shuffle:
                rng.shuffle(order)
            total = 0.0
            outputs: list[Any] = []
            seen: list[Any] = []
            for start in range(0, len(order), size):
                batch = order[start : start + size]
                batch_targets = [targets[i] for i in batch]
                optimizer.zero_grad()
                if runner is not None:
                    batch_loss, batch_outputs = runner.step(batch)
                else:
                    predictions = _outputs(model, [samples[i] for i in batch])
                    graph = spec.fn(predictions, batch_targets)
                    graph.backward()
                    batch_loss, batch_outputs = graph.data, [_floats(p) for p in predictions]
                if max_norm is not None:
                    clip_grad_norm_(parameters, max_norm)
                optimizer.step()
                total += batch_loss * len(batch)
                outputs.extend(batch_outputs)
                seen.extend(batch_targets)
            if accuracy is None:
                accuracy = _Accuracy.infer(
                    targets, isinstance(outputs[0], list), spec.name, threshold
                )
            logs = {"loss": total / len(samples), **_measure(names, accuracy, outputs, seen)}
            if val is not None:
                measured = _validate(model, spec, names, accuracy, *val)
                logs.update({f"val_{k}": v for k, v in measured.items()})
            if scheduler is not None:
                logs["lr"] = float(optimizer.lr)
                scheduler.step()
            history.append(epoch, logs)
            bar.set_postfix(_postfix(logs), refresh=False)
            # every callback sees every epoch, even when an earlier one asks to stop
            stops = [hook.on_epoch_end(epoch, logs) is True for hook in hooks]
            if any(stops):
                break
    finally:
        bar.close()
    for hook in hooks:
        hook.on_train_end(model)
    return history


def _validate(
    model: Any,
    spec: _Loss,
    names: list[Any],
    accuracy: _Accuracy | None,
    samples: list[Any],
    targets: list[Any],
) -> dict[str, float]:
    with no_grad():
        outputs = _outputs(model, samples)
        logs = {"loss": spec.fn(outputs, targets).data}
    logs.update(_measure(names, accuracy, [_floats(o) for o in outputs], targets))
    return logs


def _postfix(logs: Mapping[str, float]) -> dict[str, str]:
    short = {"accuracy": "acc", "val_accuracy": "val_acc"}
    return {short.get(k, k): f"{v:.4g}" for k, v in logs.items()}


class _FunctionCallback(Callback):
    def __init__(self, fn: Callable[[int, Mapping[str, float]], Any]) -> None:
        self.fn = fn

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float]) -> bool | None:
        return self.fn(epoch, logs)


def _callbacks(callbacks: Iterable[Any]) -> list[Callback]:
    hooks: list[Callback] = []
    for i, callback in enumerate(callbacks):
        if isinstance(callback, Callback):
            hooks.append(callback)
        elif callable(callback):
            hooks.append(_FunctionCallback(callback))
        else:
            raise TypeError(
                f"callbacks[{i}] must be a Callback or a function (epoch, logs), "
                f"got {type(callback).__name__}"
            )
    return hooks
