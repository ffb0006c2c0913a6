"""Numerically stable functions of several Values: ``logsumexp``, ``softmax``, ``log_softmax``.

Each subtracts the largest input before exponentiating, so logits of any finite size (``±1000``,
``1e16``) neither overflow nor lose the gradient (Note [the shift]).

Note [the shift]
The shift is ``Value.max`` of the inputs, a node of the graph, recomputed for every input: a
compiled program (``microgradnet.compile``) replays the graph on every sample of a batch, and a
shift read from ``.data`` would be frozen at the example's. The result does not depend on the
shift mathematically, so the gradient through it is zero up to rounding: ``1 - Σ softmax``, a
few units in the last place, all of it passed to the largest input. ``log_softmax`` and
``cross_entropy`` return ``(x - shift) - log Σ exp(x - shift)`` rather than ``x - logsumexp(x)``,
so that logits as large as ``1e16`` keep their ``log 2`` (``1e16 + log 2`` rounds to ``1e16``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from . import ops
from .engine import Value, apply

__all__ = ["log_softmax", "logsumexp", "shifted", "softmax", "softplus"]


def _values(values: Iterable[Value | float] | Value | float, what: str) -> list[Value]:
    if isinstance(values, Value):
        return [values]
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        if isinstance(values, int | float) and not isinstance(values, bool):
            return [Value(values)]
        raise TypeError(
            f"{what} expects a sequence of Values or numbers, got {type(values).__name__}"
        )
    out = [v if isinstance(v, Value) else Value(v) for v in values]
    if not out:
        raise ValueError(f"{what} needs at least one value, got an empty sequence")
    return out


def shifted(values: Sequence[Value]) -> tuple[list[Value], Value]:
    """Each value minus the largest, and ``log Σ exp`` of those differences (see Note [the
    shift]): the two halves of a stable log-softmax."""
    shift = Value.max(values)
    differences = [v - shift for v in values]
    return differences, Value.sum([d.exp() for d in differences]).log()


def logsumexp(values: Sequence[Value | float]) -> Value:
    """``log(Σ exp(v))`` computed stably.

    Args:
        values: Values or numbers (at least one).

    Returns:
        One ``Value``.

    Raises:
        ValueError: ``values`` is empty.

    Example:
        >>> round(logsumexp([1000.0, 1000.0]).data, 6)
        1000.693147
    """
    xs = _values(values, "logsumexp")
    shift = Value.max(xs)
    return Value.sum([(v - shift).exp() for v in xs]).log() + shift


def softmax(values: Sequence[Value | float]) -> list[Value]:
    """``exp(v) / Σ exp(v)`` for each value, computed stably.

    Example:
        >>> [round(p.data, 4) for p in softmax([1.0, 2.0, 3.0])]
        [0.09, 0.2447, 0.6652]
    """
    xs = _values(values, "softmax")
    shift = Value.max(xs)
    exps = [(v - shift).exp() for v in xs]
    total = Value.sum(exps)
    return [e / total for e in exps]


def log_softmax(values: Sequence[Value | float]) -> list[Value]:
    """``v - logsumexp(values)`` for each value: log-probabilities, exact for extreme logits.

    Example:
        >>> [round(p.data, 4) for p in log_softmax([0.0, 1000.0])]
        [-1000.0, 0.0]
    """
    differences, log_total = shifted(_values(values, "log_softmax"))
    return [d - log_total for d in differences]


def softplus(x: Value | float) -> Value:
    """``log(1 + exp(x))`` as one node, stable for any finite ``x``; its derivative is sigmoid.

    Example:
        >>> softplus(Value(1000.0)).data
        1000.0
    """
    return apply(ops.SOFTPLUS, x)
