"""An optimiser's update on NumPy arrays: every parameter at once, for compiled training.

``fit(..., compiled=True)`` keeps the parameters and their gradients in the compiled program's
arrays. :class:`ArrayUpdate` runs the optimiser's own ``_update`` on them, the formula that
``step()`` runs on one float (every built-in optimiser writes it with arithmetic and the dual
helpers, which run on both), with the state of all parameters as arrays too. The ``Value``s and
``optimizer.state`` are written back whenever a user can look: :meth:`ArrayUpdate.flush` is
called by ``optimizer.state`` and ``optimizer.step()`` on first access.

Note [trusting an update on arrays]
A subclass's ``_update`` may be written with ``math`` (it raises on an array) or take a branch
on a value (``if grad > 0``). So before the first step on arrays, :meth:`ArrayUpdate.agrees`
runs the formula on arrays of a few parameters and on each of them as floats, from copies of
their state, and compares the new values and the new state to 1e-12. An update that fails
the test, or an optimiser whose ``step`` or ``zero_grad`` is its own, is run the ordinary way.

Note [state in groups]
Parameters are stepped together when their states hold the same entries (all of them, nearly
always; none for a frozen parameter that never took a step). Each group keeps its parameters'
indices and one array per entry. A step on some parameters of a group only (the others frozen)
splits it, and groups that come to hold the same entries are merged again.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from ._optimizer import Optimizer, non_negative
from ._slices import as_index
from .engine import Value

__all__ = ["ArrayUpdate", "runs_on_arrays"]

_TOLERANCE = 1e-12
_CHECKED = 8  # parameters the update is tried on (Note [trusting an update on arrays])


def runs_on_arrays(optimizer: object) -> bool:
    """Whether ``optimizer`` steps through ``Optimizer.step`` and ``_update`` alone, so its
    update can be tried on arrays."""
    if not isinstance(optimizer, Optimizer):
        return False
    kind = type(optimizer)
    return kind.step is Optimizer.step and kind.zero_grad is Optimizer.zero_grad


class _Group:
    def __init__(self, index: np.ndarray, state: dict[str, np.ndarray]) -> None:
        self.state = state
        self.index = index

    @property
    def index(self) -> np.ndarray:
        """The group's parameters, as positions in the arrays."""
        return self._index

    @index.setter
    def index(self, index: np.ndarray) -> None:
        self._index = index
        # a run of consecutive positions (every parameter, usually) reads and writes a view
        self.at = as_index(index)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(sorted(self.state))


class ArrayUpdate:
    """``optimizer``'s update on ``data`` and ``grads``, the arrays of ``params`` (every one of
    ``optimizer.params``, in any order; views of the compiled program's stores), in place.

    Raises:
        FloatingPointError: (from :meth:`step`) an update would write a value that is not
            finite; no parameter is changed.
    """

    def __init__(
        self, optimizer: Optimizer, params: list[Value], data: np.ndarray, grads: np.ndarray
    ) -> None:
        self.optimizer = optimizer
        self.params = params
        self.P, self.G = data, grads
        self.groups: list[_Group] = []
        self.reload()

    def reload(self) -> None:
        """Take the optimiser's state as it stands in ``optimizer.state``."""
        state = self.optimizer.state  # written back first, if it was ours
        by_keys: dict[tuple[str, ...], list[int]] = {}
        for i, p in enumerate(self.params):
            by_keys.setdefault(tuple(sorted(state[p])), []).append(i)
        params = self.params
        self.groups = [
            _Group(
                np.array(members),
                {k: np.array([float(state[params[i]][k]) for i in members]) for k in keys},
            )
            for keys, members in by_keys.items()
        ]

    def flush(self) -> None:
        """Write the state arrays into ``optimizer.state``'s dicts."""
        params = self.params
        target = self.optimizer._state
        for group in self.groups:
            members = group.index.tolist()
            for key, values in group.state.items():
                for i, value in zip(members, values.tolist(), strict=True):
                    target[params[i]][key] = value

    def _settings(self) -> tuple[float, float]:
        optimizer = self.optimizer
        return non_negative(optimizer.lr, "lr"), -1.0 if optimizer.maximize else 1.0

    def agrees(self, active: np.ndarray | None) -> bool:
        """The update on arrays of a few parameters equals the update on each as a float
        (Note [trusting an update on arrays])."""
        lr, sign = self._settings()
        update = self.optimizer._update
        for group, picks in self._samples(active):
            state = {k: v[picks].copy() for k, v in group.state.items()}
            try:
                with np.errstate(all="ignore"):
                    new = update(self.P[picks].copy(), sign * self.G[picks], state, lr)
                found = np.broadcast_to(np.asarray(new, dtype=float), picks.shape)
            except Exception:  # any failure means "not on arrays"; step() still works
                return False
            for j, i in enumerate(picks.tolist()):
                at = int(np.flatnonzero(group.index == i)[0])
                one = {k: float(v[at]) for k, v in group.state.items()}
                try:
                    expected = update(float(self.P[i]), sign * float(self.G[i]), one, lr)
                except (ArithmeticError, ValueError):
                    continue
                if set(one) != set(state) or not _close(float(found[j]), float(expected)):
                    return False
                for k in one:
                    entry = np.broadcast_to(np.asarray(state[k], dtype=float), picks.shape)
                    if not _close(float(entry[j]), one[k]):
                        return False
        return True

    def _samples(self, active: np.ndarray | None) -> Iterator[tuple[_Group, np.ndarray]]:
        for group in self.groups:
            index = group.index if active is None else group.index[active[group.index]]
            if index.size:
                step = max(1, index.size // _CHECKED)
                yield group, index[::step][:_CHECKED]

    def step(self, active: np.ndarray | None) -> None:
        """One update of every active parameter (``active``: a mask over the parameters, or
        ``None`` for all of them)."""
        lr, sign = self._settings()
        update = self.optimizer._update
        done = []
        for group in self.groups:
            chosen = None if active is None else active[group.index]
            index = group.index if chosen is None else group.index[chosen]
            if not index.size:
                continue
            whole = index.size == group.index.size
            state = group.state if whole else {k: v[chosen] for k, v in group.state.items()}
            at = group.at if whole else index
            with np.errstate(over="ignore", invalid="ignore"):  # refused below, not warned of
                new = update(self.P[at], sign * self.G[at], state, lr)
            for key, value in state.items():  # a number the formula kept (a step count): per entry
                if not (isinstance(value, np.ndarray) and value.shape == index.shape):
                    state[key] = np.full(index.shape, value, dtype=float)
            done.append((group, index, at, whole, state, np.broadcast_to(new, index.shape)))
        for _, index, _, _, _, new in done:
            if not np.isfinite(new).all():
                bad = int(index[np.flatnonzero(~np.isfinite(new))[0]])
                raise FloatingPointError(
                    f"{type(self.optimizer).__name__}: the update of parameter {bad} would be "
                    f"{float(new[np.flatnonzero(index == bad)[0]])!r}; no parameter was changed"
                )
        split = False
        for group, index, at, whole, state, new in done:
            self.P[at] = new
            if not whole:  # some parameters of the group were frozen: they keep their state
                kept = ~np.isin(group.index, index)
                self.groups.append(_Group(index, state))
                group.index = group.index[kept]
                group.state = {k: v[kept] for k, v in group.state.items()}
                split = True
        if split:
            self._merge()
        self.optimizer._flush = self.flush

    def _merge(self) -> None:
        by_keys: dict[tuple[str, ...], list[_Group]] = {}
        for group in self.groups:
            if group.index.size:
                by_keys.setdefault(group.keys, []).append(group)
        merged = []
        for keys, groups in by_keys.items():
            index = np.concatenate([g.index for g in groups])
            order = np.argsort(index)
            state = {k: np.concatenate([g.state[k] for g in groups])[order] for k in keys}
            merged.append(_Group(index[order], state))
        self.groups = merged


def _close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or abs(a - b) <= _TOLERANCE * max(abs(a), abs(b))
