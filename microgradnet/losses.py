"""Loss functions and penalties, each returning one ``Value``.

Losses take Values or numbers (a single one where that is natural) and return the mean over the
samples, like PyTorch's default ``reduction="mean"``. Sums are built with ``Value.sum`` or
``Value.dot``, so a loss over ``n`` samples adds a few nodes per sample, not ``n`` additions.

Each loss takes a whole batch as ``fit`` passes it: the model's outputs and the targets, with a
row per sample for a model with several outputs (the element-wise losses then average over
every output of every sample, as torch's ``reduction="mean"`` on an ``(N, C)`` tensor;
``cross_entropy`` takes a row of logits and a class index per sample). Each is declared with
:func:`declare_loss`, which says what it is (its reduction and what its predictions are, see
:class:`LossKind`), so ``fit`` reads accuracy right however the loss is wrapped.

Example:
    >>> from microgradnet import Value
    >>> loss = hinge([Value(0.5), Value(-2.0)], [1, -1])
    >>> loss.data                       # (relu(1 - 0.5) + relu(1 - 2)) / 2
    0.25
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

from ._loss_kinds import LossKind, declare_loss
from .engine import Value, apply
from .functional import shifted, softplus
from .ops import Op, log, log1p, where

__all__ = [
    "BINARY_CROSS_ENTROPY",
    "LossKind",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "declare_loss",
    "hinge",
    "l1_penalty",
    "l2_penalty",
    "mse",
]

# PyTorch clamps each log of binary_cross_entropy at -100 so a saturated probability gives a
# large finite loss rather than infinity, and divides its gradient by max(p (1 - p), eps) so
# that it stays finite too; we do the same, with its very eps (1e-12 as a float32).
_LOG_FLOOR = -100.0
_EPSILON = 9.999999960041972e-13
_TINY = math.exp(_LOG_FLOOR)  # below it, log is under the floor


def _log_above(x: Any, floor: Any) -> Any:
    """``log x`` where ``x > 0``, else ``floor`` (on floats, arrays and Values alike)."""
    positive = x > 0.0
    return where(positive, log(where(positive, x, 1.0)), floor)


def _log1m_above(p: Any, floor: Any) -> Any:
    """``log(1 - p)`` (as ``log1p(-p)``, PyTorch's) where ``p < 1``, else ``floor``."""
    below = p < 1.0
    return where(below, log1p(-where(below, p, 0.0)), floor)


def _unit_check(p: Any, t: Any) -> Any:
    """0 where ``p`` and ``t`` are in [0, 1]; on floats a ``ValueError`` otherwise, on arrays
    NaN there (which compiled mode explains with the float rule)."""
    ok = (p >= 0.0) & (p <= 1.0) & (t >= 0.0) & (t <= 1.0)
    if type(ok) is bool:
        if not ok:
            raise ValueError(
                f"binary_cross_entropy: probability {p!r} and target {t!r} must be in [0, 1]"
            )
        return 0.0
    return where(ok, 0.0, math.nan)


def _clamped(log_value: Any) -> Any:
    return where(log_value > _LOG_FLOOR, log_value, _LOG_FLOOR)


def _bce(p: Any, t: Any) -> Any:
    log_p = _clamped(_log_above(p, _LOG_FLOOR))
    log_q = _clamped(_log1m_above(p, _LOG_FLOOR))
    return _unit_check(p, t) + ((t - 1.0) * log_q - t * log_p)


def _d_bce(p: Any, t: Any, out: Any) -> tuple[Any, Any]:
    variance = (1.0 - p) * p
    d_p = (p - t) / where(variance > _EPSILON, variance, _EPSILON)
    d_t = _log1m_above(p, -math.inf) - _log_above(p, -math.inf)  # unclamped, as PyTorch's
    return d_p, d_t


#: One sample's binary cross-entropy as one node, ``bce(p, t)``, exactly as PyTorch computes it:
#: the value ``(t - 1) max(log(1 - p), -100) - t max(log p, -100)``, the gradient
#: ``(p - t) / max((1 - p) p, eps)`` and, for the target, ``log(1 - p) - log p``. No composition
#: of other rows gives that gradient at the clamps. A row in the op table's form, its rules in
#: the dual vocabulary: compiled mode runs it on arrays.
BINARY_CROSS_ENTROPY = Op(
    "binary_cross_entropy",
    _bce,
    _d_bce,
    "bce",
    2,
    input_ranges=((0.0, 1.0), (0.0, 1.0)),
)


def _as_list(x: Any, what: str) -> list[Any]:
    if isinstance(x, Value) or (isinstance(x, numbers.Real) and not isinstance(x, bool)):
        return [x]
    if isinstance(x, str | bytes) or not isinstance(x, Iterable):
        raise TypeError(
            f"{what} must be a Value, a number or a sequence of them, got {type(x).__name__}"
        )
    return list(x)


def _is_row(x: object) -> bool:
    return isinstance(x, Sequence) and not isinstance(x, str | bytes)


def _pair(a: Any, b: Any, names: tuple[str, str], loss: str) -> tuple[list[Any], list[Any]]:
    """The two arguments of an element-wise loss as two flat lists of equal length; a batch of
    rows (a model with several outputs) is flattened, one target per output."""
    xs, ys = _as_list(a, f"{loss}: {names[0]}"), _as_list(b, f"{loss}: {names[1]}")
    if xs and _is_row(xs[0]):
        for i, row in enumerate(ys):
            if not _is_row(row):
                raise ValueError(
                    f"{loss}: {names[0]} has a row per sample (a model with several outputs), "
                    f"so it needs a row of {names[1]} per sample (such as a one-hot row); "
                    f"{names[1]}[{i}] is {row!r}. For class indices use cross_entropy"
                )
        xs, ys = [x for row in xs for x in row], [y for row in ys for y in row]
    if len(xs) != len(ys):
        raise ValueError(
            f"{loss}: {len(xs)} {names[0]} but {len(ys)} {names[1]} (lengths must match)"
        )
    if not xs:
        raise ValueError(f"{loss}: needs at least one sample, got empty {names[0]}")
    return xs, ys


def _number(x: Any, what: str) -> float:
    if isinstance(x, Value):
        return x.data
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{what} must be a real number, got {type(x).__name__}")
    return float(x)


def _mean(terms: list[Value]) -> Value:
    # One term is its own mean: no sum node and no division by 1 (compiled mode traces a loss
    # over a batch of one sample, so every compiled step would run both).
    return terms[0] if len(terms) == 1 else Value.sum(terms) / len(terms)


@declare_loss(predictions="estimates")
def mse(predictions: Any, targets: Any) -> Value:
    """Mean squared error ``mean((p - t)**2)``.

    Raises:
        ValueError: different numbers of predictions and targets, or none.
    """
    ps, ts = _pair(predictions, targets, ("predictions", "targets"), "mse")
    diffs = [p - t if isinstance(p, Value) else Value(p) - t for p, t in zip(ps, ts, strict=True)]
    total = Value.dot(diffs, diffs)
    return total if len(diffs) == 1 else total / len(diffs)


@declare_loss(predictions="probabilities")
def binary_cross_entropy(probabilities: Any, targets: Any) -> Value:
    """``-mean(t log p + (1 - t) log(1 - p))`` for probabilities ``p`` in [0, 1].

    As in PyTorch each log is clamped at -100, so a probability of exactly 0 or 1 gives a large
    finite loss, and the gradient is PyTorch's, ``(p - t) / max((1 - p) p, 1e-12)`` (about
    -1e12 at ``p = 0, t = 1``). Prefer :func:`binary_cross_entropy_with_logits` on raw scores: it is
    stable. Each sample is one node, :data:`BINARY_CROSS_ENTROPY`.

    Raises:
        ValueError: a probability or target outside [0, 1], or mismatched lengths.
    """
    ps, ts = _pair(probabilities, targets, ("probabilities", "targets"), "binary_cross_entropy")
    terms = []
    for i, (p, t) in enumerate(zip(ps, ts, strict=True)):
        probability = _number(p, f"binary_cross_entropy: probabilities[{i}]")
        target = _number(t, f"binary_cross_entropy: targets[{i}]")
        if not 0.0 <= probability <= 1.0:
            raise ValueError(
                f"binary_cross_entropy: probabilities[{i}] = {probability!r} is not in [0, 1]"
            )
        if not 0.0 <= target <= 1.0:
            raise ValueError(f"binary_cross_entropy: targets[{i}] = {target!r} is not in [0, 1]")
        terms.append(apply(BINARY_CROSS_ENTROPY, p, t))
    return _mean(terms)


@declare_loss(predictions="logits")
def binary_cross_entropy_with_logits(logits: Any, targets: Any) -> Value:
    """Binary cross-entropy of ``sigmoid(logits)``, computed stably from the logits.

    Per sample ``softplus(x) - t * x`` (= ``-t log σ(x) - (1 - t) log(1 - σ(x))``), exact for
    logits of any finite size.

    Raises:
        ValueError: a target outside [0, 1], or mismatched lengths.
    """
    xs, ts = _pair(logits, targets, ("logits", "targets"), "binary_cross_entropy_with_logits")
    terms = []
    for i, (x, t) in enumerate(zip(xs, ts, strict=True)):
        target = _number(t, f"binary_cross_entropy_with_logits: targets[{i}]")
        if not 0.0 <= target <= 1.0:
            raise ValueError(
                f"binary_cross_entropy_with_logits: targets[{i}] = {target!r} is not in [0, 1]"
            )
        x = x if isinstance(x, Value) else Value(x)
        if isinstance(t, Value):  # a target traced as an input: one graph for every target
            terms.append(softplus(x) - t * x)
        else:
            terms.append(softplus(x) - target * x if target else softplus(x))
    return _mean(terms)


@declare_loss(predictions="logits")
def cross_entropy(logits: Any, target_index: Any) -> Value:
    """Cross-entropy ``-log_softmax(logits)[target_index]``, stable; of one sample or a batch.

    Args:
        logits: one sample's unnormalised class scores (at least one); or, for a batch, a
            sequence of them, one per sample.
        target_index: the true class, ``0 <= target_index < len(logits)``; for a batch, a
            sequence of them, one per sample.

    Returns:
        The sample's loss, or the mean over the batch.

    Raises:
        TypeError: a class index is not an int.
        ValueError: a class index out of range (the message names it and the class count), or
            a batch of logits and of class indices of different lengths.

    Example:
        >>> round(cross_entropy([2.0, 0.0, -1.0], 0).data, 4)
        0.1698
        >>> round(cross_entropy([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]], [0, 2]).data, 4)
        0.6342
    """
    if not _is_row(target_index):
        return _cross_entropy(logits, target_index)
    rows, targets = _as_list(logits, "cross_entropy: logits"), list(target_index)
    if len(rows) != len(targets):
        raise ValueError(
            f"cross_entropy: {len(rows)} rows of logits but {len(targets)} target indices "
            "(lengths must match)"
        )
    if not rows:
        raise ValueError("cross_entropy: needs at least one sample, got empty logits")
    terms = [_cross_entropy(row, t) for row, t in zip(rows, targets, strict=True)]
    return _mean(terms)


def _cross_entropy(logits: Any, target_index: Any) -> Value:
    """One sample's cross-entropy, ``log Σ exp(x - m) - (x[t] - m)`` with ``m`` the largest
    logit (exact for logits as large as 1e16: see Note [the shift] in ``functional``)."""
    xs = [
        v if isinstance(v, Value) else Value(v) for v in _as_list(logits, "cross_entropy: logits")
    ]
    traced = isinstance(target_index, Value)
    index_value = target_index.data if traced else target_index
    if traced and float(index_value).is_integer():
        index_value = int(index_value)
    if isinstance(index_value, bool) or not isinstance(index_value, numbers.Integral):
        raise TypeError(
            f"cross_entropy: target_index must be an int, got {type(index_value).__name__}"
        )
    index = int(index_value)
    if not 0 <= index < len(xs):
        raise ValueError(
            f"cross_entropy: target_index {index_value} out of range for {len(xs)} logits "
            f"(valid: 0 to {len(xs) - 1})"
        )
    differences, log_total = shifted(xs)
    if not traced:
        return log_total - differences[index]
    # A class index traced as an input (compiled training): its one-hot row built from ops,
    # relu(1 - |t - j|), picks the logit, so every class builds the same graph.
    one_hot = [(1.0 - abs(target_index - j)).relu() for j in range(len(xs))]
    return log_total - Value.dot(one_hot, differences)


@declare_loss(predictions="scores")
def hinge(scores: Any, labels: Any) -> Value:
    """Max-margin (SVM) loss ``mean(relu(1 - y * s))`` with labels ``y`` in {-1, +1}.

    Raises:
        ValueError: a label other than -1 or +1, or mismatched lengths.
    """
    ss, ys = _pair(scores, labels, ("scores", "labels"), "hinge")
    terms = []
    for i, (s, y) in enumerate(zip(ss, ys, strict=True)):
        label = _number(y, f"hinge: labels[{i}]")
        if label not in (-1.0, 1.0):
            raise ValueError(f"hinge: labels[{i}] = {y!r}, labels must be -1 or +1")
        s = s if isinstance(s, Value) else Value(s)
        if isinstance(y, Value):  # a label traced as an input: one graph for both labels
            terms.append((1.0 - y * s).relu())
        else:
            terms.append((1.0 - s).relu() if label > 0 else (1.0 + s).relu())
    return _mean(terms)


def _alpha(alpha: Any, penalty: str) -> float:
    value = _number(alpha, f"{penalty}: alpha")
    if not (math.isfinite(value) and value >= 0.0):
        raise ValueError(f"{penalty}: alpha must be a finite number >= 0, got {alpha!r}")
    return value


def _params(params: Any, penalty: str) -> list[Value]:
    values = _as_list(params, f"{penalty}: params")
    for i, p in enumerate(values):
        if not isinstance(p, Value):
            raise TypeError(f"{penalty}: params[{i}] must be a Value, got {type(p).__name__}")
    return values


def l1_penalty(params: Any, alpha: float) -> Value:
    """``alpha * Σ |p|`` (a sum over the parameters, not a mean), e.g. ``model.parameters()``."""
    a = _alpha(alpha, "l1_penalty")
    return a * Value.sum([abs(p) for p in _params(params, "l1_penalty")])


def l2_penalty(params: Any, alpha: float) -> Value:
    """``alpha * Σ p**2`` (a sum, as micrograd's regulariser), one fused node for the sum.

    Example:
        >>> l2_penalty([Value(3.0), Value(4.0)], 0.5).data
        12.5
    """
    a = _alpha(alpha, "l2_penalty")
    ps = _params(params, "l2_penalty")
    return a * Value.dot(ps, ps)
