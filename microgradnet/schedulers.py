"""Learning-rate schedules that set an optimiser's ``lr`` once per ``step()``, as torch's do.

Each schedule reads the optimiser's ``lr`` when it is created (the base rate), takes its initial
step at once (``last_epoch == 0``), and on every later ``step()`` sets ``optimizer.lr`` to the
value ``torch.optim.lr_scheduler`` gives at that step. Call ``scheduler.step()`` after
``optimizer.step()``, usually once per epoch. The schedules are also importable from
:mod:`microgradnet.optim`.

Example:
    >>> from microgradnet import Value
    >>> from microgradnet.optim import SGD
    >>> opt = SGD([Value(0.0)], lr=0.1)
    >>> sched = StepLR(opt, step_size=2, gamma=0.5)
    >>> for _ in range(4):
    ...     opt.step(); sched.step()
    >>> sched.get_last_lr()
    [0.025]
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

__all__ = ["CosineAnnealingLR", "ExponentialLR", "LRScheduler", "LambdaLR", "StepLR"]


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _finite(value: object, name: str, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number) or number < 0.0 or (positive and number == 0.0):
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"Invalid {name} value: {number} (must be finite and {bound})")
    return number


class LRScheduler:
    """Base class: tracks the step count and writes each new rate into ``optimizer.lr``.

    Subclasses implement :meth:`get_lr`, the rate at ``self.last_epoch``.

    Args:
        optimizer: any optimiser with a mutable ``lr`` attribute.

    Raises:
        TypeError: ``optimizer`` has no numeric ``lr`` attribute.
    """

    def __init__(self, optimizer: Any) -> None:
        lr = getattr(optimizer, "lr", None)
        if isinstance(lr, bool) or not isinstance(lr, numbers.Real):
            raise TypeError(
                f"{type(self).__name__} needs an optimizer with a numeric lr attribute, "
                f"got {type(optimizer).__name__}"
            )
        self.optimizer = optimizer
        self.base_lr = float(lr)
        self.last_epoch = -1
        self._last_lr: list[float] = [self.base_lr]
        self.step()

    def get_lr(self) -> float:
        """The learning rate at step ``self.last_epoch``."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance one step and set the optimiser's ``lr``."""
        self.last_epoch += 1
        lr = float(self.get_lr())
        self.optimizer.lr = lr
        self._last_lr = [lr]

    def get_last_lr(self) -> list[float]:
        """The rate set by the latest ``step()``, as a one-element list (torch's shape)."""
        return list(self._last_lr)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={self._last_lr[0]!r})"


class StepLR(LRScheduler):
    """Multiply the rate by ``gamma`` every ``step_size`` steps.

    Args:
        optimizer: the optimiser whose ``lr`` to set.
        step_size: the period of the decay, in steps (a positive int).
        gamma: the factor applied at each period (finite, >= 0).

    Note:
        ``lr_t = base_lr * gamma ** (t // step_size)`` (computed step by step, as torch does).
    """

    def __init__(self, optimizer: Any, step_size: int, gamma: float = 0.1) -> None:
        self.step_size = _positive_int(step_size, "step_size")
        self.gamma = _finite(gamma, "gamma")
        super().__init__(optimizer)

    def get_lr(self) -> float:
        lr = float(self.optimizer.lr)
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return lr
        return lr * self.gamma


class ExponentialLR(LRScheduler):
    """Multiply the rate by ``gamma`` at every step.

    Args:
        optimizer: the optimiser whose ``lr`` to set.
        gamma: the factor applied at each step (finite, >= 0).

    Note:
        ``lr_t = base_lr * gamma ** t`` (computed step by step, as torch does).
    """

    def __init__(self, optimizer: Any, gamma: float) -> None:
        self.gamma = _finite(gamma, "gamma")
        super().__init__(optimizer)

    def get_lr(self) -> float:
        lr = float(self.optimizer.lr)
        return lr if self.last_epoch == 0 else lr * self.gamma


class CosineAnnealingLR(LRScheduler):
    """Anneal the rate from its base value to ``eta_min`` along a half cosine over ``T_max`` steps.

    Args:
        optimizer: the optimiser whose ``lr`` to set.
        T_max: the number of steps of one half period (a positive int).
        eta_min: the smallest rate (finite, >= 0).

    Note:
        ``lr_t = eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2``, computed with
        torch's recursive form, so past ``T_max`` the rate rises again along the cosine.
    """

    def __init__(self, optimizer: Any, T_max: int, eta_min: float = 0.0) -> None:
        self.T_max = _positive_int(T_max, "T_max")
        self.eta_min = _finite(eta_min, "eta_min")
        super().__init__(optimizer)

    def get_lr(self) -> float:
        lr = float(self.optimizer.lr)
        t, period, eta_min = self.last_epoch, self.T_max, self.eta_min
        if t == 0:
            return lr
        if (t - 1 - period) % (2 * period) == 0:
            # the recursive ratio below would divide by zero at the bottom of the cosine
            return lr + (self.base_lr - eta_min) * (1 - math.cos(math.pi / period)) / 2
        return (1 + math.cos(math.pi * t / period)) / (1 + math.cos(math.pi * (t - 1) / period)) * (
            lr - eta_min
        ) + eta_min


class LambdaLR(LRScheduler):
    """Set the rate to the base rate times ``lr_lambda(step)``.

    Args:
        optimizer: the optimiser whose ``lr`` to set.
        lr_lambda: a function of the step number (an int from 0) returning a real factor.

    Raises:
        TypeError: ``lr_lambda`` is not callable, or returns something other than a number.

    Note:
        ``lr_t = base_lr * lr_lambda(t)``.

    Example:
        >>> LambdaLR(optimizer, lambda t: 0.95**t)  # doctest: +SKIP
    """

    def __init__(self, optimizer: Any, lr_lambda: Callable[[int], float]) -> None:
        if not callable(lr_lambda):
            raise TypeError(f"lr_lambda must be callable, got {type(lr_lambda).__name__}")
        self.lr_lambda = lr_lambda
        super().__init__(optimizer)

    def get_lr(self) -> float:
        factor = self.lr_lambda(self.last_epoch)
        if isinstance(factor, bool) or not isinstance(factor, numbers.Real):
            raise TypeError(
                f"lr_lambda({self.last_epoch}) must return a real number, "
                f"got {type(factor).__name__}"
            )
        return self.base_lr * float(factor)
