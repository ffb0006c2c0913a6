"""What a loss is, as ``fit`` needs to know it: its reduction, and how accuracy reads its inputs.

A loss declares itself with :func:`declare_loss` (every loss of :mod:`microgradnet.losses` does,
and a loss of your own may). A declared loss, when called inside :func:`recording`, records its
:class:`LossKind` and the ``Value`` it returned. ``fit`` and ``evaluate`` open that context around
their first evaluation of the loss they were given, and :func:`recognise` reads the records, so
a library loss is understood however it is wrapped: ``lambda p, t: losses.hinge(p, t)``,
``functools.partial(losses.hinge)``, a ``functools.wraps`` wrapper, or
``lambda p, t: losses.hinge(p, t) + penalty``. Nothing is decided from a function's identity.

Example:
    >>> from microgradnet import Value
    >>> @declare_loss(predictions="scores")
    ... def margin(scores, labels):
    ...     return Value.sum([(1 - s * y).relu() for s, y in zip(scores, labels)]) / len(labels)
    >>> with recording() as records:
    ...     loss = (lambda p, t: margin(p, t) * 2)([Value(0.5)], [1])
    >>> recognise(records, loss)
    Recognised(kind=LossKind(name='margin', reduction='mean', predictions='scores'), exact=False)
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

__all__ = ["CUSTOM", "LossKind", "Recognised", "declare_loss", "recognise", "recording"]

P = ParamSpec("P")
R = TypeVar("R")

PREDICTIONS = ("estimates", "scores", "logits", "probabilities")
REDUCTIONS = ("mean", "sum")


@dataclass(frozen=True)
class LossKind:
    """What a loss is: its name, its reduction and what its predictions are.

    Attributes:
        name: the loss's name.
        reduction: ``"mean"``: the loss of a batch is the mean of its samples' losses (every
            library loss); ``"sum"``: their sum.
        predictions: how a one-output classifier's class is read from the model's output:
            ``"scores"`` and ``"logits"``: positive when above 0 (``hinge``, the ``*_with_logits``
            and ``cross_entropy`` losses); ``"probabilities"``: above 0.5
            (``binary_cross_entropy``); ``"estimates"``: the output estimates the label, so
            above the midpoint of the two labels (0.5 for {0, 1}, 0 for {-1, +1}; ``mse``).
            A model with several outputs is read by its argmax, whatever the kind.

    Raises:
        ValueError: an unknown reduction or kind of predictions.
    """

    name: str
    reduction: str = "mean"
    predictions: str = "estimates"

    def __post_init__(self) -> None:
        if self.reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, got {self.reduction!r}")
        if self.predictions not in PREDICTIONS:
            raise ValueError(f"predictions must be one of {PREDICTIONS}, got {self.predictions!r}")

    def threshold(self, negative_label: int) -> float:
        """The output above which a one-output classifier predicts the label 1 rather than
        ``negative_label`` (0 or -1)."""
        if self.predictions in ("scores", "logits"):
            return 0.0
        if self.predictions == "probabilities":
            return 0.5
        return (negative_label + 1) / 2


#: What ``fit`` assumes of a loss that declares nothing: a mean, its predictions estimates.
CUSTOM = LossKind("custom")

_Records = list[tuple[LossKind, object]]
_RECORDS: contextvars.ContextVar[_Records | None] = contextvars.ContextVar(
    "microgradnet_loss_records", default=None
)


def declare_loss(
    *, reduction: str = "mean", predictions: str = "estimates", name: str | None = None
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Declare what a loss function is (see :class:`LossKind`); a decorator.

    The decorated loss behaves as before and, inside :func:`recording`, records its kind and
    its result each time it is called.

    Args:
        reduction: ``"mean"`` or ``"sum"`` over the samples of a batch.
        predictions: ``"estimates"``, ``"scores"``, ``"logits"`` or ``"probabilities"``.
        name: the loss's name (default: the function's).

    Raises:
        ValueError: an unknown reduction or kind of predictions.
    """
    LossKind("check", reduction, predictions)

    def declare(fn: Callable[P, R]) -> Callable[P, R]:
        kind = LossKind(name or str(getattr(fn, "__name__", "loss")), reduction, predictions)

        @functools.wraps(fn)
        def loss(*args: P.args, **kwargs: P.kwargs) -> R:
            result = fn(*args, **kwargs)
            records = _RECORDS.get()
            if records is not None:
                records.append((kind, result))
            return result

        return loss

    return declare


@contextlib.contextmanager
def recording() -> Iterator[_Records]:
    """Collect ``(kind, result)`` for every declared loss called inside the block."""
    records: _Records = []
    token = _RECORDS.set(records)
    try:
        yield records
    finally:
        _RECORDS.reset(token)


@dataclass(frozen=True)
class Recognised:
    """What a loss turned out to be.

    Attributes:
        kind: its :class:`LossKind` (:data:`CUSTOM` when nothing declared was called, or when
            the declared losses called disagree about their predictions).
        exact: the value the loss returned is the very one a declared loss computed, so its
            reduction holds for the loss as given. A declared loss plus a penalty is not exact:
            its predictions are still known, its reduction is assumed (a mean) but not vouched.
    """

    kind: LossKind
    exact: bool


def recognise(records: _Records, result: object) -> Recognised:
    """What the loss that returned ``result`` is, from the records of one call of it."""
    for kind, value in reversed(records):  # an outer declared loss records after the inner
        if value is result:
            return Recognised(kind, True)
    kinds = {kind.predictions: kind for kind, _ in records}
    if len(kinds) == 1:
        (kind,) = kinds.values()
        return Recognised(LossKind(kind.name, "mean", kind.predictions), False)
    return Recognised(CUSTOM, False)
