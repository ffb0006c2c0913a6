"""How ``fit`` and ``evaluate`` measure a model: the accuracy rule and the metrics.

Accuracy is read from the model's outputs as the loss declares them (its
:class:`~microgradnet.losses.LossKind`) and from the targets:

* one output and labels in {0, 1} or {-1, +1}: the label 1 when the output is above a threshold,
  else the other label; the threshold is the loss's (0 for scores and logits, 0.5 for
  probabilities, the midpoint of the two labels for estimates), unless one is given;
* several outputs: the argmax, against an int label or a one-hot target;
* targets that are not class labels: no accuracy.

Example:
    >>> from microgradnet.losses import LossKind
    >>> rule = Accuracy.infer([0, 1, 1], False, LossKind("hinge", predictions="scores"), None)
    >>> rule, [rule.correct(o, t) for o, t in zip([-0.2, 0.3, 0.1], [0, 1, 1])]
    (Accuracy(rule='binary', threshold=0.0, negative=0), [True, True, True])
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ._loss_kinds import LossKind
from .engine import Value

__all__ = ["Accuracy", "floats", "measure", "metric_names"]


def _is_label(t: Any) -> bool:
    return isinstance(t, numbers.Real) and not isinstance(t, bool) and float(t).is_integer()


@dataclass(frozen=True)
class Accuracy:
    """How a model output becomes a predicted class, fixed once from the training targets.

    Attributes:
        rule: ``"binary"`` (one output against a threshold), ``"argmax"`` (several outputs
            against an int label) or ``"argmax-onehot"`` (against a one-hot target).
        threshold: for ``"binary"``, the output above which the label 1 is predicted.
        negative: for ``"binary"``, the other label (0 or -1).
    """

    rule: str
    threshold: float = 0.0
    negative: int = 0

    @staticmethod
    def infer(
        targets: Sequence[Any], multi_output: bool, kind: LossKind, threshold: float | None
    ) -> Accuracy | None:
        """The rule for ``targets`` (``None``: they are not class labels).

        Args:
            targets: the training targets.
            multi_output: the model has several outputs.
            kind: what the loss declares its predictions to be.
            threshold: the user's decision threshold for one output, or ``None``.
        """
        if multi_output:
            if all(_is_label(t) for t in targets):
                return Accuracy("argmax")
            if all(isinstance(t, Sequence) and t for t in targets):
                return Accuracy("argmax-onehot")
            return None
        if not all(_is_label(t) for t in targets):
            return None
        labels = {int(t) for t in targets}
        if labels <= {-1, 1} and -1 in labels:
            negative = -1
        elif labels <= {0, 1}:
            negative = 0
        else:
            return None
        cut = kind.threshold(negative) if threshold is None else float(threshold)
        return Accuracy("binary", cut, negative)

    def correct(self, output: Any, target: Any) -> bool:
        """Whether ``output`` (a float, or a list of floats) predicts ``target``."""
        if self.rule == "binary":
            return bool((1 if output > self.threshold else self.negative) == target)
        scores = list(output)
        predicted = max(range(len(scores)), key=scores.__getitem__)
        if self.rule == "argmax":
            return bool(predicted == target)
        return predicted == max(range(len(target)), key=list(target).__getitem__)


def floats(output: Any) -> Any:
    """A model output with its Values replaced by their data (lists kept as lists)."""
    if isinstance(output, Value):
        return output.data
    if isinstance(output, Sequence):
        return [floats(o) for o in output]
    return float(output)


def metric_names(metrics: Iterable[Any]) -> list[Any]:
    """``metrics`` checked: ``"accuracy"`` and callables ``metric(outputs, targets)``.

    Raises:
        ValueError: any other metric (the message names it).
    """
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


def measure(
    metrics: list[Any], accuracy: Accuracy | None, outputs: list[Any], targets: list[Any]
) -> dict[str, float]:
    """Each metric on ``outputs`` (floats) against ``targets``; no accuracy without a rule."""
    logs: dict[str, float] = {}
    for metric in metrics:
        if metric == "accuracy":
            if accuracy is not None:
                hits = sum(accuracy.correct(o, t) for o, t in zip(outputs, targets, strict=True))
                logs["accuracy"] = hits / len(targets)
        else:
            logs[getattr(metric, "__name__", "metric")] = float(metric(outputs, targets))
    return logs
