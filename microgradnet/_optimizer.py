"""The base of every optimiser, ``Optimizer``, and the argument checks they share.

Importable as :class:`microgradnet.optim.Optimizer`. A new optimiser subclasses it and
implements one method, :meth:`Optimizer._update`, the update of one parameter. Written with
arithmetic and the dual helpers of :mod:`microgradnet.ops` (``sqrt``, ``where``), the same
update also runs on NumPy arrays of every parameter at once, which is how compiled training
steps (:mod:`microgradnet._optimizer_arrays`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable
from typing import Any

from ._value_extras import any_frozen
from .engine import Value

__all__ = ["Optimizer", "non_negative", "parameter_list", "real", "unit_interval"]


# ----- argument checks -----
def real(value: object, name: str) -> float:
    """``value`` as a float, checked to be a real number (not NaN); errors name ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"Invalid {name} value: {value}")
    return value


def non_negative(value: object, name: str) -> float:
    """``value`` as a float, checked to be a real number >= 0."""
    number = real(value, name)
    if number < 0.0:
        raise ValueError(f"Invalid {name} value: {number} (must be >= 0)")
    return number


def unit_interval(value: object, name: str) -> float:
    """A number in [0, 1), such as a beta or a decay rate."""
    number = real(value, name)
    if not 0.0 <= number < 1.0:
        raise ValueError(f"Invalid {name} value: {number} (must be in [0, 1))")
    return number


def parameter_list(params: Iterable[Value]) -> list[Value]:
    """The parameters as a list, each once (first occurrence kept), all of them ``Value``s."""
    if isinstance(params, Value):
        raise TypeError(
            "params must be an iterable of Values, got a single Value (wrap it in a list)"
        )
    if hasattr(params, "parameters") and callable(params.parameters):
        raise TypeError("params must be an iterable of Values; pass model.parameters()")
    try:
        items = list(params)
    except TypeError:
        raise TypeError(
            f"params must be an iterable of Values, got {type(params).__name__}"
        ) from None
    unique: dict[Value, None] = {}
    for index, p in enumerate(items):
        if type(p) is not Value:
            raise TypeError(f"params[{index}] must be a Value, got {type(p).__name__}")
        unique[p] = None
    if not unique:
        raise ValueError("optimizer got an empty parameter list")
    return list(unique)


class Optimizer:
    """Base class: holds the parameters, the learning rate and per-parameter state.

    Subclasses implement :meth:`_update`, which receives one parameter, its gradient (already
    negated when ``maximize=True``) and its state dict, and returns the new value. A parameter
    whose ``requires_grad`` is false (frozen) is skipped, as ``torch.optim`` skips a parameter
    without a gradient: it is not updated and gets no state.

    Args:
        params: an iterable of ``Value``s; duplicates are kept once.
        lr: the learning rate, a mutable attribute afterwards.

    Raises:
        TypeError: ``params`` is not an iterable of ``Value``s.
        ValueError: ``params`` is empty, or ``lr`` is negative.
    """

    def __init__(self, params: Iterable[Value], lr: float, maximize: bool = False) -> None:
        self.params: list[Value] = parameter_list(params)
        self.lr = non_negative(lr, "lr")
        self.maximize = bool(maximize)
        self._state: dict[Value, dict[str, Any]] = {p: {} for p in self.params}
        # set while compiled training keeps the state in arrays: writes it back when called
        self._flush: Callable[[], None] | None = None

    @property
    def state(self) -> dict[Value, dict[str, Any]]:
        """Each parameter's state (``{"exp_avg": ..., "step": ...}``), by parameter."""
        self.sync()
        return self._state

    def sync(self) -> None:
        """Write back state that compiled training keeps in arrays, so that ``state`` and
        ``step()`` see it (done on access; a no-op otherwise)."""
        flush, self._flush = self._flush, None
        if flush is not None:
            flush()

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to ``0.0``."""
        for p in self.params:
            p.grad = 0.0

    def step(self, closure: Callable[[], Value] | None = None) -> Value | None:
        """Update every parameter once from its current ``.grad``.

        Args:
            closure: optional; re-evaluates the model and returns the loss, which is returned.

        Returns:
            The loss returned by ``closure``, or ``None``.
        """
        loss = closure() if closure is not None else None
        lr = non_negative(self.lr, "lr")
        sign = -1.0 if self.maximize else 1.0
        state = self.state
        check = any_frozen()  # one look, not one per parameter, when nothing is frozen
        for p in self.params:
            if not check or getattr(p, "requires_grad", True):
                p.data = self._update(p.data, sign * p.grad, state[p], lr)
        return loss

    def _update(self, param: Any, grad: Any, state: dict[str, Any], lr: float) -> Any:
        """The new value of a parameter (a float, or an array of parameters) from its gradient
        and its state dict, which it updates."""
        raise NotImplementedError

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self._settings().items())
        return f"{type(self).__name__}({len(self.params)} parameters, {settings})"

    def _settings(self) -> dict[str, Any]:
        return {"lr": self.lr}
