"""One minibatch's training step of :func:`~microgradnet.train.fit`, dynamic or compiled, and
the checks it makes on the loss and the gradient."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ._loss_kinds import CUSTOM, LossKind, Recognised, recognise, recording
from ._metrics import floats
from .engine import Value, no_grad
from .optim import clip_grad_norm_

__all__ = ["LossFn", "Step", "check_loss_value", "model_outputs", "recognised_loss"]

LossFn = Callable[[list[Any], list[Any]], Value]


def recognised_loss(
    loss_fn: LossFn, predictions: list[Any], targets: list[Any]
) -> tuple[Value, Recognised]:
    """``loss_fn(predictions, targets)`` and what the loss turned out to be (see
    ``microgradnet._loss_kinds``)."""
    with recording() as records:
        value = loss_fn(predictions, targets)
    check_loss_value(value)
    return value, recognise(records, value)


def check_loss_value(value: object) -> None:
    """A loss must return a ``Value``, the graph ``fit`` differentiates."""
    if not isinstance(value, Value):
        raise TypeError(
            f"the loss must return a Value (a graph fit can differentiate), got "
            f"{type(value).__name__}: build it from the predictions with Value operations "
            "(a float, from .data or float(), cuts the graph)"
        )


def _check_gradient(parameters: list[Value], outputs: list[Any], batch: list[int]) -> None:
    """Refuse a step whose gradient holds a NaN or an infinity (a NaN in the data, a diverging
    run): the optimiser would write it into every parameter. ``fit(compiled=True)`` refuses it
    alike."""
    grads = [p.grad for p in parameters]
    if math.isfinite(sum(grads)) or all(map(math.isfinite, grads)):  # a sum may overflow
        return
    bad = [i for i, out in zip(batch, outputs, strict=True) if not _all_finite(out)][:5]
    where = f"; samples {bad} of X give a value that is not finite" if bad else ""
    raise FloatingPointError(
        f"fit: the gradient is not finite on this minibatch{where}, so no parameter was changed"
    )


def _check_update(optimizer: Any, stepped: list[Value], before: list[float]) -> None:
    """Undo a step that wrote a NaN or an infinity (a finite gradient times a huge learning
    rate) and refuse it, as ``fit(compiled=True)`` refuses it before writing."""
    after = [p.data for p in stepped]
    if math.isfinite(sum(after)) or all(map(math.isfinite, after)):
        return
    bad = next(i for i, x in enumerate(after) if not math.isfinite(x))
    for p, x in zip(stepped, before, strict=True):
        p.data = x
    raise FloatingPointError(
        f"fit: {type(optimizer).__name__}'s update of parameter {bad} would be {after[bad]!r}, "
        "so no parameter was changed"
    )


def _all_finite(output: Any) -> bool:
    values = output if isinstance(output, list) else [output]
    return all(math.isfinite(v) for v in values)


def model_outputs(model: Callable[[Any], Any], samples: list[Any]) -> list[Any]:
    """The model's output for each sample: ``model.map(samples)`` when the model has that
    batching hook (every ``Module`` does), else ``model(x)`` for each sample."""
    batched = getattr(model, "map", None)
    if callable(batched):
        return list(batched(samples))
    return [model(x) for x in samples]


class Step:
    """One minibatch's training step, dynamic or compiled; learns what the loss is the first
    time it evaluates it (or, compiled, from one sample before tracing)."""

    def __init__(
        self,
        model: Any,
        loss_fn: LossFn,
        samples: list[Any],
        targets: list[Any],
        parameters: list[Value],
        compiled: bool,
        optimizer: Any,
    ) -> None:
        self._model, self._loss_fn = model, loss_fn
        self._samples, self._targets = samples, targets
        self._parameters = parameters
        self._recognised: Recognised | None = None
        self._runner: Any = None
        if compiled:
            with no_grad():
                predictions = model_outputs(model, samples[:1])
                _, self._recognised = recognised_loss(loss_fn, predictions, targets[:1])
            # A loss fit cannot vouch to be a mean over samples is checked on the first batch.
            custom_loss = not (self._recognised.exact and self.is_mean())
            from .compiled import CompiledTraining

            self._runner = CompiledTraining(
                model, loss_fn, samples, targets, parameters, custom_loss, optimizer
            )

    def kind(self) -> LossKind:
        """The loss's :class:`~microgradnet.losses.LossKind` (after the first step)."""
        return CUSTOM if self._recognised is None else self._recognised.kind

    def is_mean(self) -> bool:
        return self.kind().reduction == "mean"

    def train(
        self, batch: list[int], optimizer: Any, max_norm: float | None
    ) -> tuple[float, list[Any]]:
        """Zero the gradients, add the batch's into ``.grad``, clip them to ``max_norm`` (if
        given) and step the optimiser; return the loss and the model's outputs (floats, or
        lists of floats)."""
        if self._runner is not None:
            loss, outputs = self._runner.train(batch, max_norm)
            return float(loss), list(outputs)
        optimizer.zero_grad()
        predictions = model_outputs(self._model, [self._samples[i] for i in batch])
        batch_targets = [self._targets[i] for i in batch]
        if self._recognised is None:
            graph, self._recognised = recognised_loss(self._loss_fn, predictions, batch_targets)
        else:
            graph = self._loss_fn(predictions, batch_targets)
        check_loss_value(graph)
        graph.backward()
        outputs = [floats(p) for p in predictions]
        _check_gradient(self._parameters, outputs, batch)
        if max_norm is not None:
            clip_grad_norm_(self._parameters, max_norm)
        stepped = list(getattr(optimizer, "params", self._parameters))
        before = [p.data for p in stepped]
        optimizer.step()
        _check_update(optimizer, stepped, before)
        return graph.data, outputs

    def sync(self) -> None:
        """Make the parameters visible in the ``Value``s (compiled training keeps them in
        arrays between epochs)."""
        if self._runner is not None:
            self._runner.sync()
