"""Grad mode: ``no_grad`` and whether operations in this thread record a graph.

Note [grad mode flag]
Grad mode is thread local, but reading a ``threading.local`` costs more than building the rest
of a node. So the engine also keeps a plain module global, whether a ``no_grad`` block is open in
any thread, and a node tests it first: while it is false, nearly always, the thread-local lookup
is skipped. A global of the engine's own module, rather than an attribute of this one, because
the test runs for every node and a global is the cheapest read there is; ``no_grad`` keeps it up
to date through the watchers registered here. It is a ``bool``, not the count of open blocks: a
jump on ``True`` or ``False`` is decided inline, a jump on an int calls its ``__bool__``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import ContextDecorator
from typing import Any, TypeVar

__all__ = ["is_grad_enabled", "no_grad", "state", "watch_no_grad_blocks"]

F = TypeVar("F", bound=Callable[..., Any])


class _GradMode(threading.local):
    enabled = True


state = _GradMode()  # state.enabled: whether this thread records a graph
_open_blocks = 0  # no_grad blocks open in all threads
_lock = threading.Lock()
_watchers: list[Callable[[bool], None]] = []


def watch_no_grad_blocks(watcher: Callable[[bool], None]) -> None:
    """Call ``watcher(any_open)`` now and whenever a ``no_grad`` block opens or closes."""
    _watchers.append(watcher)
    watcher(_open_blocks > 0)


class no_grad(ContextDecorator):
    """Context manager (and decorator) under which operations record no graph.

    Results computed inside have no parents, so nothing is kept alive for a backward pass.
    This context manager is thread local; it does not affect computation in other threads.
    It also works as a decorator, with or without parentheses.

    Example:
        >>> from microgradnet import Value
        >>> x = Value(2.0)
        >>> with no_grad():
        ...     y = x * x
        >>> y.parents
        ()
    """

    def __new__(cls, func: F | None = None) -> Any:
        self = super().__new__(cls)
        return self if func is None else self(func)

    def __init__(self, func: Callable[..., Any] | None = None) -> None:
        self._previous: list[bool] = []

    def _recreate_cm(self) -> no_grad:
        return type(self)()

    def __enter__(self) -> None:
        self._previous.append(state.enabled)
        state.enabled = False
        _count_blocks(+1)

    def __exit__(self, *exc_info: object) -> None:
        _count_blocks(-1)
        state.enabled = self._previous.pop()


def _count_blocks(change: int) -> None:
    global _open_blocks
    with _lock:
        _open_blocks += change
        for watcher in _watchers:  # Note [grad mode flag]
            watcher(_open_blocks > 0)


def is_grad_enabled() -> bool:
    """Whether operations in this thread currently record a graph."""
    return state.enabled
