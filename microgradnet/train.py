"""Training loop, evaluation and prediction for any model that maps a sample to Values.

Conventions:

* a model is a callable taking one sample (a list of numbers) and returning one ``Value``
  (one output) or a list of ``Value``s (several outputs), with a ``parameters()`` method. A
  model with a ``map(samples)`` method (every :class:`~microgradnet.nn.Module` has one) is run
  on a whole minibatch through it, its batching hook; any other is called once per sample;
* ``loss(predictions, targets) -> Value`` receives a minibatch as it is: ``predictions`` is the
  list of the model's outputs (a list of ``Value``s, or a list of lists for several outputs)
  and ``targets`` the matching slice of ``y``. A loss may also be named by a string
  (``"hinge"``, ``"mse"``, ``"cross_entropy"``, ...). Every library loss takes such batches
  (see :mod:`microgradnet.losses`) and declares what it is: its reduction (a mean over the
  samples) and what its predictions are, which fixes how accuracy is read. ``fit`` learns it
  when it first evaluates the loss, so a wrapped library loss (a lambda, a ``partial``, the
  loss plus a penalty) is read like the original. A loss that calls no library loss gets the
  defaults: a mean over the samples, its predictions estimates of the targets;
* accuracy (see ``microgradnet._metrics``): for one output and labels in {0, 1} or {-1, +1},
  the label 1 when the output is above the loss's threshold (0 for scores and logits, 0.5 for
  probabilities, the midpoint of the labels for estimates, or ``threshold=``); for several
  outputs, the argmax against an int label or a one-hot target. Targets that are not class
  labels get no accuracy.

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

import os
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from tqdm.auto import tqdm

from . import losses
from ._callbacks import Callback, EarlyStopping, History, as_callbacks, at_least, non_negative
from ._fit_step import LossFn, Step, model_outputs, recognised_loss
from ._loss_kinds import CUSTOM
from ._metrics import Accuracy, floats, measure, metric_names
from .engine import no_grad

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


def _dataset(X: Any, y: Any, what: str = "") -> tuple[list[Any], list[Any]]:
    samples = X.tolist() if hasattr(X, "tolist") else list(X)
    targets = y.tolist() if hasattr(y, "tolist") else list(y)
    if len(samples) != len(targets):
        raise ValueError(f"{what}X has {len(samples)} samples but {what}y has {len(targets)}")
    if not samples:
        raise ValueError(f"{what}X is empty: there is nothing to train or evaluate on")
    return samples, targets


def _resolve_loss(loss: Any) -> LossFn:
    """The loss as a callable; a name is looked up in :mod:`microgradnet.losses`."""
    if isinstance(loss, str):
        if loss not in LOSS_NAMES:
            raise ValueError(f"unknown loss {loss!r}; expected a callable or one of {LOSS_NAMES}")
        fn: LossFn = getattr(losses, loss)
        return fn
    if callable(loss):
        return loss  # type: ignore[no-any-return]
    raise TypeError(f"loss must be a callable or a name, got {type(loss).__name__}")


def _validation_set(validation_data: Any) -> tuple[list[Any], list[Any]] | None:
    """``validation_data`` checked to be ``(X_val, y_val)``."""
    if validation_data is None:
        return None
    if (
        isinstance(validation_data, str | bytes)
        or not isinstance(validation_data, Sequence)
        or len(validation_data) != 2
    ):
        what = (
            f"a sequence of length {len(validation_data)}"
            if isinstance(validation_data, Sequence)
            else type(validation_data).__name__
        )
        raise TypeError(f"validation_data must be a pair (X_val, y_val), got {what}")
    X_val, y_val = validation_data
    return _dataset(X_val, y_val, what="validation ")


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
        return [floats(out) for out in model_outputs(model, samples)]


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
        loss: a loss callable or name (see the module docstring); omitted, no ``"loss"`` key
            and accuracy read with the defaults.
        metrics: ``"accuracy"`` and/or callables ``metric(outputs, targets) -> float``.
        threshold: the decision threshold of a one-output classifier (default: see module).

    Returns:
        ``{"loss": ..., "accuracy": ...}`` (only what applies).

    Example:
        >>> evaluate(model, X_test, y_test, losses.hinge)  # doctest: +SKIP
        {'loss': 0.02, 'accuracy': 0.99}
    """
    samples, targets = _dataset(X, y)
    loss_fn = _resolve_loss(loss) if loss is not None else None
    names = metric_names(metrics)
    kind = CUSTOM
    with no_grad():
        outputs = model_outputs(model, samples)
        logs: dict[str, float] = {}
        if loss_fn is not None:
            value, recognised = recognised_loss(loss_fn, outputs, targets)
            logs["loss"], kind = value.data, recognised.kind
    values = [floats(o) for o in outputs]
    accuracy = Accuracy.infer(targets, isinstance(values[0], list), kind, threshold)
    logs.update(measure(names, accuracy, values, targets))
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
    ``loss`` and ``accuracy`` are measured before each update (as Keras reports them) and
    combined over its minibatches as the loss reduces samples (the mean, or for a loss declared
    ``reduction="sum"`` the sum); ``val_loss`` and ``val_accuracy`` are measured on
    ``validation_data`` after the epoch. A tqdm bar (a widget in Jupyter) shows them.

    Args:
        model: a callable on one sample with a ``parameters()`` method (and, to run whole
            minibatches at once, a ``map(samples)`` method, as every ``Module`` has).
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
            that does not depend on the data and a loss that is a mean over samples (checked
            on the first minibatch unless the loss is exactly a library loss).

    Returns:
        A :class:`History`.

    Raises:
        ValueError: mismatched or empty data, or an argument out of range (named).
        TypeError: ``loss`` or a callback is neither callable nor a known name.
        TraceError: ``compiled=True`` and the model or loss builds a data-dependent graph.
        FloatingPointError: a minibatch's gradient or update is not finite: a NaN in the data
            or a diverging run. It names the samples that give a value that is not finite (or
            the parameter), and the parameters keep the values of the step before.

    Example:
        >>> fit(model, X, y, loss=losses.hinge, optimizer=Adam(model.parameters(), lr=0.05),
        ...     epochs=50, batch_size=32, seed=0)  # doctest: +SKIP
    """
    samples, targets = _dataset(X, y)
    loss_fn = _resolve_loss(loss)
    n_epochs = at_least(epochs, "epochs", 0)
    size = len(samples) if batch_size is None else at_least(batch_size, "batch_size", 1)
    names = metric_names(metrics)
    hooks = as_callbacks(callbacks)
    if not callable(getattr(optimizer, "step", None)) or not callable(
        getattr(optimizer, "zero_grad", None)
    ):
        raise TypeError(f"optimizer must have step() and zero_grad(), got {type(optimizer)}")
    if scheduler is not None and not callable(getattr(scheduler, "step", None)):
        raise TypeError(f"scheduler must have a step() method, got {type(scheduler).__name__}")
    max_norm = None if clip_grad_norm is None else non_negative(clip_grad_norm, "clip_grad_norm")
    val = _validation_set(validation_data)
    rng = seed if isinstance(seed, random.Random) else random.Random(seed)
    parameters = model.parameters()
    step = Step(model, loss_fn, samples, targets, parameters, compiled, optimizer)

    history = History()
    order = list(range(len(samples)))
    accuracy: Accuracy | None = None
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
                batch_loss, batch_outputs = step.train(batch, optimizer, max_norm)
                total += batch_loss * len(batch) if step.is_mean() else batch_loss
                outputs.extend(batch_outputs)
                seen.extend(targets[i] for i in batch)
            if accuracy is None:
                multi_output = isinstance(outputs[0], list)
                accuracy = Accuracy.infer(targets, multi_output, step.kind(), threshold)
            epoch_loss = total / len(samples) if step.is_mean() else total
            logs = {"loss": epoch_loss, **measure(names, accuracy, outputs, seen)}
            if val is not None or hooks:
                step.sync()  # a compiled step keeps the parameters in arrays: show them
            if val is not None:
                measured = _validate(model, loss_fn, names, accuracy, *val)
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
        step.sync()
        bar.close()
    for hook in hooks:
        hook.on_train_end(model)
    return history


def _validate(
    model: Any,
    loss_fn: LossFn,
    names: list[Any],
    accuracy: Accuracy | None,
    samples: list[Any],
    targets: list[Any],
) -> dict[str, float]:
    with no_grad():
        outputs = model_outputs(model, samples)
        logs = {"loss": loss_fn(outputs, targets).data}
    logs.update(measure(names, accuracy, [floats(o) for o in outputs], targets))
    return logs


def _postfix(logs: Mapping[str, float]) -> dict[str, str]:
    short = {"accuracy": "acc", "val_accuracy": "val_acc"}
    return {short.get(k, k): f"{v:.4g}" for k, v in logs.items()}
