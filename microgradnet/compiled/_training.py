"""The compiled training step of ``fit(..., compiled=True)``, built on the public interface of
:class:`~microgradnet.compiled.CompiledFunction` (:func:`compile` and ``backward``)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..engine import Value, no_grad
from ._function import CompiledFunction, compile
from ._inputs import as_floats
from ._trace import TraceError

__all__ = ["CompiledTraining"]

_MAX_STATIC_TARGETS = 16


def _key(target: Any) -> Any:
    if isinstance(target, Sequence) and not isinstance(target, str | bytes):
        return tuple(_key(t) for t in target)
    return target


class CompiledTraining:
    """The training step of :func:`microgradnet.train.fit` with ``compiled=True``.

    The model and the loss are traced per sample: ``loss_fn([model(x)], [t])``, whose mean over
    a batch is the batch loss for every library loss (each is a mean over samples). Targets enter
    as inputs when the graph does not depend on them; when it does (``hinge`` picks a branch by
    label), one program is compiled per distinct target value, up to 16.

    Args:
        model: the model, called on one sample.
        loss_fn: ``loss_fn(predictions, targets) -> Value``, a mean over the batch.
        samples: every training sample; targets: their targets.
        parameters: the parameters that get gradients.
        custom_loss: ``loss_fn`` is the user's: check once that it is a per-sample mean.

    Raises:
        TraceError: the model or the loss builds a graph that depends on the data.
    """

    def __init__(
        self,
        model: Callable[[Any], Any],
        loss_fn: Callable[[list[Any], list[Any]], Value],
        samples: list[Any],
        targets: list[Any],
        parameters: list[Value],
        custom_loss: bool,
    ) -> None:
        self._model, self._loss_fn = model, loss_fn
        self._samples, self._targets = samples, targets
        self._unchecked = custom_loss
        self._X = as_floats(samples, "X")
        keys = [_key(t) for t in targets]
        distinct = list(dict.fromkeys(keys))
        spread = sorted({0, len(samples) // 3, 2 * len(samples) // 3, len(samples) - 1})
        firsts = [keys.index(k) for k in distinct[:8]]
        checks = list(dict.fromkeys([*firsts, *spread]))

        def sample_loss(x: Any, t: Any) -> Any:
            output = model(x)
            return loss_fn([output], [t]), output

        self._shared: CompiledFunction | None = None
        try:
            self._T = as_floats(targets, "y")
            self._shared = compile(
                sample_loss,
                (self._X[checks[0]], self._T[checks[0]]),
                parameters=parameters,
                check_inputs=[(self._X[i], self._T[i]) for i in checks[1:]],
                has_aux=True,
            )
            return
        except (TraceError, TypeError, ValueError):
            pass  # the graph depends on the target: one program per target value
        if len(distinct) > _MAX_STATIC_TARGETS:
            raise TraceError(
                f"fit(compiled=True): the loss builds a different graph for different targets, "
                f"and there are {len(distinct)} distinct targets (at most {_MAX_STATIC_TARGETS} "
                "can be compiled one by one); use compiled=False"
            )
        self._codes = np.array([distinct.index(k) for k in keys])
        self._programs: list[CompiledFunction] = []
        for code, key in enumerate(distinct):
            members = np.flatnonzero(self._codes == code)
            picks = members[np.linspace(0, len(members) - 1, min(len(members), 4)).astype(int)]
            target = targets[int(members[0])]
            try:
                program = compile(
                    lambda x, t=target: sample_loss(x, t),
                    (self._X[picks[0]],),
                    parameters=parameters,
                    check_inputs=[(self._X[i],) for i in picks[1:]],
                    has_aux=True,
                )
            except TraceError as error:
                raise TraceError(f"fit(compiled=True), target {key!r}: {error}") from error
            self._programs.append(program)

    def step(self, batch: list[int]) -> tuple[float, list[Any]]:
        """Add the gradient of the batch's mean loss into ``.grad``; return the loss and the
        model's outputs (floats, or lists of floats) in batch order."""
        index = np.asarray(batch)
        if self._shared is not None:
            loss, aux = self._shared.backward(self._X[index], self._T[index])
            outputs = aux.tolist()
        else:
            # each program adds its samples' share of the batch mean
            loss, outputs, scale = 0.0, [None] * len(batch), 1.0 / len(batch)
            codes = self._codes[index]
            for code in np.unique(codes):
                where = np.flatnonzero(codes == code)
                program = self._programs[int(code)]
                part, aux = program.backward(self._X[index[where]], reduction="sum", gradient=scale)
                loss += part * scale
                for j, value in zip(where.tolist(), aux.tolist(), strict=True):
                    outputs[j] = value
        if self._unchecked:
            self._check_mean(batch, loss)
        return loss, outputs

    def _check_mean(self, batch: list[int], loss: float) -> None:
        self._unchecked = False
        with no_grad():
            predictions = [self._model(self._samples[i]) for i in batch]
            expected = self._loss_fn(predictions, [self._targets[i] for i in batch]).data
        if not math.isclose(loss, expected, rel_tol=1e-9, abs_tol=1e-12):
            raise TraceError(
                f"fit(compiled=True) needs a loss that is the mean of per-sample terms (as every "
                f"library loss is): on the first batch the mean of per-sample losses is {loss!r} "
                f"but the loss of the batch is {expected!r}; use compiled=False"
            )
