"""Grad mode and anomaly mode: whether operations in this thread record a graph, and whether
they note where each node was made.

Note [watched nodes]
Both modes are thread local, but reading a ``threading.local`` costs more than building the rest
of a node. So the engine also keeps a plain module global, whether a ``no_grad`` or
``detect_anomaly`` block is open in any thread, and a node tests it first: while it is false,
nearly always, the node is built and nothing else is looked at. When it is true, the node goes
through :func:`watch_node`, which reads this thread's modes: under ``no_grad`` it forgets its op
and inputs, under ``detect_anomaly`` it notes where in the user's code it was made. A global of
the engine's own module, rather than an attribute of this one, because the test runs for every
node and a global is the cheapest read there is; the blocks keep it up to date through the
watchers registered here. It is a ``bool``, not the count of open blocks: a jump on ``True`` or
``False`` is decided inline, a jump on an int calls its ``__bool__``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import ContextDecorator
from typing import Any, TypeVar

from ._value_extras import note_creation_site

__all__ = [
    "count_watched_blocks",
    "enable_grad",
    "is_grad_enabled",
    "no_grad",
    "state",
    "watch_blocks",
    "watch_node",
]

F = TypeVar("F", bound=Callable[..., Any])


class _Modes(threading.local):
    enabled = True  # operations record a graph
    anomaly = False  # nodes note where they were made; backward checks for NaN and infinities


state = _Modes()  # this thread's modes
_open_blocks = 0  # no_grad and detect_anomaly blocks open in all threads
_lock = threading.Lock()
_watchers: list[Callable[[bool], None]] = []


def watch_blocks(watcher: Callable[[bool], None]) -> None:
    """Call ``watcher(any_open)`` now and whenever a watched block (``no_grad``,
    ``detect_anomaly``) opens or closes in any thread."""
    _watchers.append(watcher)
    watcher(_open_blocks > 0)


def count_watched_blocks(change: int) -> None:
    """A watched block opened (+1) or closed (-1): tell the watchers whether any is open."""
    global _open_blocks
    with _lock:
        _open_blocks += change
        for watcher in _watchers:  # Note [watched nodes]
            watcher(_open_blocks > 0)


def any_watched_block_open() -> bool:
    """Whether a ``no_grad`` or ``detect_anomaly`` block is open in some thread."""
    return _open_blocks > 0


def watch_node(node: Any) -> None:
    """A node just made while a watched block is open somewhere (Note [watched nodes])."""
    modes = state
    if not modes.enabled:
        node._op = node._x = node._y = None
    elif modes.anomaly:
        note_creation_site(node)


class _Mode(ContextDecorator):
    """A thread-local switch usable as a context manager and as a decorator (with or without
    parentheses)."""

    _attribute = ""
    _value = False
    _watched = True  # whether nodes made inside must go through watch_node

    def __new__(cls, func: F | None = None) -> Any:
        self = super().__new__(cls)
        return self if func is None else self(func)

    def __init__(self, func: Callable[..., Any] | None = None) -> None:
        self._previous: list[bool] = []

    def _recreate_cm(self) -> _Mode:
        return type(self)()

    def __enter__(self) -> None:
        self._previous.append(getattr(state, self._attribute))
        setattr(state, self._attribute, self._value)
        if self._watched:
            count_watched_blocks(+1)

    def __exit__(self, *exc_info: object) -> None:
        if self._watched:
            count_watched_blocks(-1)
        setattr(state, self._attribute, self._previous.pop())


class no_grad(_Mode):
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

    _attribute = "enabled"
    _value = False


class enable_grad(_Mode):
    """Context manager (and decorator) under which operations record a graph again, inside a
    ``no_grad`` block. Thread local, like :class:`no_grad`.

    Example:
        >>> from microgradnet import Value
        >>> x = Value(2.0)
        >>> with no_grad():
        ...     with enable_grad():
        ...         y = x * x
        >>> y.parents == (x, x)
        True
    """

    _attribute = "enabled"
    _value = True
    _watched = False  # recording is what a node does anyway


def is_grad_enabled() -> bool:
    """Whether operations in this thread currently record a graph."""
    return state.enabled
