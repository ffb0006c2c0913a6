"""Optimisers that update ``Value`` parameters from their ``.grad``, as ``torch.optim`` does.

Every optimiser follows the update formula of its ``torch.optim`` namesake exactly (the formula is
in each class's docstring), keeps its state per parameter in ``self.state[p]``, and exposes ``lr``
as a plain mutable attribute, so the schedules of :mod:`microgradnet.schedulers` (re-exported
here) can change it between steps. A parameter whose ``requires_grad`` is false (frozen) is
skipped: no update, no state. Each update is written with arithmetic and the dual helpers
(``sqrt``, ``where``), so the very same formula runs on one float (``step()``) and on NumPy
arrays of every parameter at once (``fit(..., compiled=True)``). The base class ``Optimizer``
(``_optimizer.py``) and gradient clipping (``_clipping.py``) are importable from here too.

Example:
    >>> from microgradnet import Value
    >>> w = Value(1.0)
    >>> opt = SGD([w], lr=0.1)
    >>> loss = (w - 3.0) ** 2
    >>> opt.zero_grad(); loss.backward(); opt.step()
    >>> round(w.data, 6)
    1.4
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._clipping import clip_grad_norm_, clip_grad_value_
from ._dual import sqrt, where
from ._optimizer import Optimizer, non_negative, real, unit_interval
from .engine import Value
from .schedulers import CosineAnnealingLR, ExponentialLR, LambdaLR, LRScheduler, StepLR

__all__ = [
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "CosineAnnealingLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "Optimizer",
    "RMSprop",
    "StepLR",
    "clip_grad_norm_",
    "clip_grad_value_",
]


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, dampening, Nesterov and weight decay.

    Args:
        params: the parameters to update.
        lr: learning rate (>= 0).
        momentum: momentum factor (>= 0).
        dampening: dampening for momentum (>= 0).
        weight_decay: L2 penalty added to the gradient (>= 0).
        nesterov: use Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
        maximize: ascend the objective instead of descending it.

    Raises:
        ValueError: a hyperparameter is out of range (the message names it and its value).

    Note:
        As ``torch.optim.SGD``, with ``g`` the gradient and ``b`` the momentum buffer::

            g = grad + weight_decay * p
            b = g                                   (first step)
            b = momentum * b + (1 - dampening) * g  (later steps)
            g = g + momentum * b  if nesterov  else  b      (when momentum != 0)
            p = p - lr * g

    Example:
        >>> opt = SGD(model.parameters(), lr=0.1, momentum=0.9)  # doctest: +SKIP
        >>> opt.zero_grad(); loss.backward(); opt.step()  # doctest: +SKIP
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, lr, maximize)
        self.momentum = non_negative(momentum, "momentum")
        self.dampening = real(dampening, "dampening")
        self.weight_decay = non_negative(weight_decay, "weight_decay")
        self.nesterov = bool(nesterov)
        if self.nesterov and (self.momentum <= 0.0 or self.dampening != 0.0):
            raise ValueError(
                "Nesterov momentum requires a momentum and zero dampening, "
                f"got momentum={self.momentum}, dampening={self.dampening}"
            )

    def _update(self, param: Any, grad: Any, state: dict[str, Any], lr: float) -> Any:
        if self.weight_decay != 0.0:
            grad = grad + self.weight_decay * param
        if self.momentum != 0.0:
            buf = state.get("momentum_buffer")
            buf = grad if buf is None else self.momentum * buf + (1.0 - self.dampening) * grad
            state["momentum_buffer"] = buf
            grad = grad + self.momentum * buf if self.nesterov else buf
        return param - lr * grad

    def _settings(self) -> dict[str, Any]:
        return {
            "lr": self.lr,
            "momentum": self.momentum,
            "dampening": self.dampening,
            "weight_decay": self.weight_decay,
            "nesterov": self.nesterov,
        }


class Adam(Optimizer):
    """Adam, optionally with AMSGrad, L2 weight decay or decoupled (AdamW) weight decay.

    Args:
        params: the parameters to update.
        lr: learning rate (>= 0).
        betas: decay rates ``(beta1, beta2)`` of the moment estimates, each in [0, 1).
        eps: added to the denominator for numerical stability (>= 0).
        weight_decay: weight decay factor (>= 0).
        amsgrad: use the maximum of past second moments (AMSGrad).
        maximize: ascend the objective instead of descending it.
        decoupled_weight_decay: decay the weights directly (AdamW) instead of adding an L2
            term to the gradient.

    Raises:
        ValueError: a hyperparameter is out of range (the message names it and its value).

    Note:
        As ``torch.optim.Adam``, at step ``t`` (from 1)::

            g = grad + weight_decay * p          (L2 form)
            p = p * (1 - lr * weight_decay)      (decoupled form, instead)
            m = m + (1 - beta1) * (g - m)
            v = beta2 * v + (1 - beta2) * g * g
            v_max = max(v_max, v)                (amsgrad; then v_max replaces v below)
            p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    Example:
        >>> opt = Adam(model.parameters(), lr=0.05)  # doctest: +SKIP
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ) -> None:
        super().__init__(params, lr, maximize)
        try:
            beta1, beta2 = betas
        except (TypeError, ValueError):
            raise ValueError(f"betas must be a pair of numbers, got {betas!r}") from None
        self.betas = (
            unit_interval(beta1, "beta parameter at index 0"),
            unit_interval(beta2, "beta parameter at index 1"),
        )
        self.eps = non_negative(eps, "epsilon")
        self.weight_decay = non_negative(weight_decay, "weight_decay")
        self.amsgrad = bool(amsgrad)
        self.decoupled_weight_decay = bool(decoupled_weight_decay)

    def _update(self, param: Any, grad: Any, state: dict[str, Any], lr: float) -> Any:
        beta1, beta2 = self.betas
        step = state.get("step", 0.0) + 1.0
        state["step"] = step
        if self.weight_decay != 0.0:
            if self.decoupled_weight_decay:
                param = param * (1.0 - lr * self.weight_decay)
            else:
                grad = grad + self.weight_decay * param
        exp_avg = state.get("exp_avg", 0.0)
        exp_avg = exp_avg + (1.0 - beta1) * (grad - exp_avg)
        exp_avg_sq = beta2 * state.get("exp_avg_sq", 0.0) + (1.0 - beta2) * grad * grad
        state["exp_avg"] = exp_avg
        state["exp_avg_sq"] = exp_avg_sq
        if self.amsgrad:
            previous = state.get("max_exp_avg_sq", 0.0)
            exp_avg_sq = where(exp_avg_sq > previous, exp_avg_sq, previous)
            state["max_exp_avg_sq"] = exp_avg_sq
        step_size = lr / (1.0 - beta1**step)
        bias_correction2_sqrt = (1.0 - beta2**step) ** 0.5
        denom = sqrt(exp_avg_sq) / bias_correction2_sqrt + self.eps
        return param - step_size * (exp_avg / denom)

    def _settings(self) -> dict[str, Any]:
        return {
            "lr": self.lr,
            "betas": self.betas,
            "eps": self.eps,
            "weight_decay": self.weight_decay,
            "amsgrad": self.amsgrad,
        }


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter), as ``torch.optim.AdamW``.

    Same arguments as :class:`Adam`, with ``weight_decay=1e-2`` by default.

    Note:
        As :class:`Adam`, except that the weights decay directly before the update,
        ``p = p * (1 - lr * weight_decay)``, instead of ``weight_decay * p`` joining the gradient.
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            maximize=maximize,
            decoupled_weight_decay=True,
        )


class RMSprop(Optimizer):
    """RMSprop, optionally centered and with momentum.

    Args:
        params: the parameters to update.
        lr: learning rate (>= 0).
        alpha: smoothing constant of the squared-gradient average (>= 0).
        eps: added to the denominator for numerical stability (>= 0).
        weight_decay: L2 penalty added to the gradient (>= 0).
        momentum: momentum factor (>= 0).
        centered: normalise by an estimate of the gradient's variance instead of its second moment.
        maximize: ascend the objective instead of descending it.

    Raises:
        ValueError: a hyperparameter is out of range (the message names it and its value).

    Note:
        As ``torch.optim.RMSprop``::

            g = grad + weight_decay * p
            v = alpha * v + (1 - alpha) * g * g
            a = a + (1 - alpha) * (g - a)                   (centered)
            d = sqrt(v - a * a) + eps  if centered  else  sqrt(v) + eps
            b = momentum * b + g / d;  p = p - lr * b       (momentum > 0)
            p = p - lr * g / d                              (otherwise)
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, lr, maximize)
        self.alpha = non_negative(alpha, "alpha")
        self.eps = non_negative(eps, "epsilon")
        self.weight_decay = non_negative(weight_decay, "weight_decay")
        self.momentum = non_negative(momentum, "momentum")
        self.centered = bool(centered)

    def _update(self, param: Any, grad: Any, state: dict[str, Any], lr: float) -> Any:
        alpha = self.alpha
        state["step"] = state.get("step", 0.0) + 1.0
        if self.weight_decay != 0.0:
            grad = grad + self.weight_decay * param
        square_avg = alpha * state.get("square_avg", 0.0) + (1.0 - alpha) * grad * grad
        state["square_avg"] = square_avg
        if self.centered:
            grad_avg = state.get("grad_avg", 0.0)
            grad_avg = grad_avg + (1.0 - alpha) * (grad - grad_avg)
            state["grad_avg"] = grad_avg
            # rounding can make the variance estimate a hair below zero
            variance = square_avg - grad_avg * grad_avg
            avg = sqrt(where(variance > 0.0, variance, 0.0)) + self.eps
        else:
            avg = sqrt(square_avg) + self.eps
        if self.momentum > 0.0:
            buf = self.momentum * state.get("momentum_buffer", 0.0) + grad / avg
            state["momentum_buffer"] = buf
            return param - lr * buf
        return param - lr * grad / avg

    def _settings(self) -> dict[str, Any]:
        return {
            "lr": self.lr,
            "alpha": self.alpha,
            "eps": self.eps,
            "weight_decay": self.weight_decay,
            "momentum": self.momentum,
            "centered": self.centered,
        }


class Adagrad(Optimizer):
    """Adagrad: per-parameter learning rates shrinking with the sum of squared gradients.

    Args:
        params: the parameters to update.
        lr: learning rate (>= 0).
        lr_decay: learning-rate decay per step (>= 0).
        weight_decay: L2 penalty added to the gradient (>= 0).
        initial_accumulator_value: starting value of the sum of squares (>= 0).
        eps: added to the denominator for numerical stability (>= 0).
        maximize: ascend the objective instead of descending it.

    Raises:
        ValueError: a hyperparameter is out of range (the message names it and its value).

    Note:
        As ``torch.optim.Adagrad``, at step ``t`` (from 1)::

            g = grad + weight_decay * p
            clr = lr / (1 + (t - 1) * lr_decay)
            s = s + g * g                       (s starts at initial_accumulator_value)
            p = p - clr * g / (sqrt(s) + eps)
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, lr, maximize)
        self.lr_decay = non_negative(lr_decay, "lr_decay")
        self.weight_decay = non_negative(weight_decay, "weight_decay")
        self.initial_accumulator_value = non_negative(
            initial_accumulator_value, "initial_accumulator_value"
        )
        self.eps = non_negative(eps, "epsilon")

    def _update(self, param: Any, grad: Any, state: dict[str, Any], lr: float) -> Any:
        step = state.get("step", 0.0) + 1.0
        state["step"] = step
        if self.weight_decay != 0.0:
            grad = grad + self.weight_decay * param
        clr = lr / (1.0 + (step - 1.0) * self.lr_decay)
        state_sum = state.get("sum", self.initial_accumulator_value) + grad * grad
        state["sum"] = state_sum
        return param - clr * grad / (sqrt(state_sum) + self.eps)

    def _settings(self) -> dict[str, Any]:
        return {
            "lr": self.lr,
            "lr_decay": self.lr_decay,
            "weight_decay": self.weight_decay,
            "initial_accumulator_value": self.initial_accumulator_value,
            "eps": self.eps,
        }
