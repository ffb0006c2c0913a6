"""What ``fit`` records and who it tells: ``History``, ``Callback``, ``EarlyStopping``.

All three are importable from :mod:`microgradnet.train`. The argument checks here are shared
with ``fit``.
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["Callback", "EarlyStopping", "History", "as_callbacks", "at_least", "non_negative"]


# ----- argument checks -----
def at_least(value: object, name: str, minimum: int) -> int:
    """``value`` as an int, checked to be one, at least ``minimum`` and a count Python can
    index with (at most ``sys.maxsize``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {_shown(value)}")
    if int(value) > sys.maxsize:
        raise ValueError(f"{name} must be at most {sys.maxsize}, got {_shown(value)}")
    return int(value)


def _shown(value: object) -> str:
    """``value`` for a message, in at most 80 characters."""
    if isinstance(value, numbers.Integral) and int(value).bit_length() > 128:
        return "an int of over 38 digits"  # repr() of 5,000 digits raises, of 4,000 is long
    text = repr(value)
    return text if len(text) <= 80 else text[:79] + "…"


def non_negative(value: object, name: str) -> float:
    """``value`` as a float, checked to be a number >= 0 (not NaN)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not float(value) >= 0:
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    return float(value)


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
        self.patience = at_least(patience, "patience", 0)
        self.min_delta = non_negative(min_delta, "min_delta")
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


class _FunctionCallback(Callback):
    def __init__(self, fn: Callable[[int, Mapping[str, float]], Any]) -> None:
        self.fn = fn

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float]) -> bool | None:
        return True if self.fn(epoch, logs) is True else None


def as_callbacks(callbacks: Iterable[Any]) -> list[Callback]:
    """``fit``'s callbacks as ``Callback`` objects (a function ``f(epoch, logs)`` is wrapped).

    Raises:
        TypeError: a callback is neither a ``Callback`` nor callable (the message names it).
    """
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
