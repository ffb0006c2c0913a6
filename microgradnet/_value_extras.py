"""What a node may carry besides its data (a label, gradient hooks, a frozen flag, where it was
made) and ``Value``'s comparisons: :class:`ValueExtras`, a base class of ``Value``.

Note [notes in the label slot]
A node has six slots and none to spare (``benchmarks/bench_engine.py`` holds a node to 110 bytes
and one object for the garbage collector). Labels, hooks, frozen flags and creation sites are
rare, so they share one slot, ``_label``: unset on a node nobody named (nearly every node), a
``str`` on a labelled one, and a :class:`NodeNotes` record once a node carries anything more.
Nothing is paid until something is noted.

Note [finding the watched nodes]
A backward walk must find the nodes of its graph that carry hooks or are frozen, but reading
every node's ``_label`` would cost (an unset slot raises ``AttributeError``). So a record with
hooks or a frozen flag is also kept in a weak set and remembers its node's ``id()``: a walk
compares the ids of its nodes with the set's, in C, and looks closer only on a match. The record
lives exactly as long as its node (nothing else holds it strongly; a hook's handle holds it
weakly), so the id is not reused while the record is in the set, and a node dropped with its
hooks still registered leaves the set by itself.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
import weakref
from collections.abc import Callable, Iterable
from types import CodeType
from typing import Any

from ._graph import topological_order
from ._numbers import real_or_none

__all__ = [
    "NodeNotes",
    "RemovableHandle",
    "ValueExtras",
    "creation_site",
    "frozen_ids",
    "hooked_notes",
    "leaves_requiring_grad",
    "note_creation_site",
    "notes_of",
    "run_hooks",
    "watched_nodes_exist",
]

Hook = Callable[[Any], Any]


class NodeNotes:
    """What a node carries besides its data (Note [notes in the label slot])."""

    __slots__ = ("__weakref__", "frozen", "hooks", "label", "node_id", "site")

    def __init__(self, label: str, node_id: int) -> None:
        self.label = label
        self.node_id = node_id  # Note [finding the watched nodes]
        self.hooks: dict[int, Hook] | None = None
        self.frozen = False
        self.site: tuple[str, int, str] | None = None


_hooked: weakref.WeakSet[NodeNotes] = weakref.WeakSet()  # records with hooks
_frozen: weakref.WeakSet[NodeNotes] = weakref.WeakSet()  # records of frozen leaves
_lock = threading.Lock()
_hook_keys = itertools.count()


def notes_of(node: Any) -> NodeNotes | None:
    """The node's record, if it has one."""
    try:
        notes = node._label
    except AttributeError:
        return None
    return notes if type(notes) is NodeNotes else None


def _notes_for(node: Any) -> NodeNotes:
    """The node's record, made (keeping its label) if it has none yet."""
    try:
        notes = node._label
    except AttributeError:
        notes = ""
    if type(notes) is not NodeNotes:
        notes = NodeNotes(notes, id(node))
        node._label = notes
    return notes


def watched_nodes_exist() -> bool:
    """Whether some live node carries a hook or is frozen."""
    return bool(_hooked) or bool(_frozen)


def hooked_notes() -> dict[int, NodeNotes]:
    """The records with hooks, by their node's id."""
    with _lock:
        return {notes.node_id: notes for notes in _hooked}


def any_frozen() -> bool:
    """Whether any value is frozen now: one look, so that a loop over parameters (an
    optimiser's step, compiled mode's gradients) can skip asking each one in the usual case."""
    return len(_frozen) > 0


def frozen_ids() -> set[int]:
    """The ids of the frozen leaves."""
    with _lock:
        return {notes.node_id for notes in _frozen}


def run_hooks(notes: NodeNotes, gradient: Any, lift: Callable[[float], Any] | None) -> Any:
    """The gradient after the node's hooks, in the order they were registered: each is called
    with the gradient so far, and a returned number (``None``: no change) replaces it.

    ``lift`` makes a returned number a ``Value`` when the gradient is a graph; ``None`` when
    gradients are floats."""
    for hook in list((notes.hooks or {}).values()):
        result = hook(gradient)
        if result is None:
            continue
        if lift is not None and type(result) is not float and hasattr(result, "parents"):
            gradient = result  # a Value, when the gradient is a graph
            continue
        number = real_or_none(result)
        if number is None:
            raise TypeError(
                f"hook {getattr(hook, '__name__', hook)!r} returned {type(result).__name__}; "
                "a hook returns None or the new gradient, a number"
            )
        gradient = number if lift is None else lift(number)
    return gradient


class RemovableHandle:
    """What ``register_hook`` returns: ``handle.remove()`` removes the hook (also as
    ``with value.register_hook(fn): ...``)."""

    __slots__ = ("_key", "_notes")

    def __init__(self, notes: NodeNotes, key: int) -> None:
        self._notes = weakref.ref(notes)
        self._key = key

    def remove(self) -> None:
        """Remove the hook; removing it again does nothing."""
        notes = self._notes()
        if notes is None or not notes.hooks:
            return
        notes.hooks.pop(self._key, None)
        if not notes.hooks:
            notes.hooks = None
            with _lock:
                _hooked.discard(notes)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove()


# ----- where a node was made (detect_anomaly) -----
_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep
_sites: dict[tuple[CodeType, int], tuple[str, int, str]] = {}


def note_creation_site(node: Any) -> None:
    """Note the first place outside this package in the stack: where the user made ``node``."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None:
        return
    key = (frame.f_code, frame.f_lineno)
    site = _sites.get(key)
    if site is None:  # one tuple per line of code, shared by every node made there
        site = _sites.setdefault(key, (frame.f_code.co_filename, key[1], frame.f_code.co_name))
    _notes_for(node).site = site


def creation_site(node: Any) -> tuple[str, int, str] | None:
    """``(file, line, function)`` where ``node`` was made under ``detect_anomaly``, if noted."""
    notes = notes_of(node)
    return None if notes is None else notes.site


# ----- the base class -----
class ValueExtras:
    """``Value``'s label, hooks, ``requires_grad`` and comparisons; a base class of ``Value``."""

    __slots__ = ()
    data: float
    _label: str | NodeNotes
    _op: Any

    @property
    def label(self) -> str:
        """A name shown in drawings and in ``repr`` (``""`` if none was given)."""
        try:
            label = self._label
        except AttributeError:
            return ""
        return label if type(label) is str else label.label  # type: ignore[union-attr]

    @label.setter
    def label(self, label: str) -> None:
        if not isinstance(label, str):
            raise TypeError(f"label must be a str, got {type(label).__name__}")
        notes = notes_of(self)
        if notes is None:
            node: Any = self  # the slot is Value's
            node._label = label
        else:
            notes.label = label

    @property
    def requires_grad(self) -> bool:
        """Whether backward computes a gradient for this value (default ``True``).

        Only a leaf's can be set. ``False`` freezes it, as in PyTorch: it gets no gradient, what
        lies only behind it is not walked, and optimisers leave it as it is. A computed value
        requires a gradient if a leaf behind it does."""
        if self._op is None:
            notes = notes_of(self)
            return notes is None or not notes.frozen
        if not _frozen:
            return True
        root: Any = self
        return bool(leaves_requiring_grad(topological_order([root])))

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if type(flag) is not bool:
            raise TypeError(f"requires_grad must be a bool, got {type(flag).__name__}")
        if self._op is not None:
            raise RuntimeError(
                "requires_grad can only be changed on a leaf (a Value made by Value(...)), "
                f"not on the result of {self._op.name!r}; use .detach() for a leaf copy"
            )
        notes = _notes_for(self) if not flag else notes_of(self)
        if notes is None or notes.frozen == (not flag):
            return
        notes.frozen = not flag
        with _lock:
            if flag:
                _frozen.discard(notes)
            else:
                _frozen.add(notes)

    def register_hook(self, hook: Hook) -> RemovableHandle:
        """Call ``hook(grad)`` with the gradient arriving at this value during ``backward()``
        or ``grad()``; a returned number replaces that gradient (``None`` keeps it).

        Hooks run in the order they were registered, once the gradient is complete (all of
        this value's consumers done) and before it is passed on or stored, as in PyTorch.

        Returns:
            A handle: ``handle.remove()`` removes the hook.

        Raises:
            RuntimeError: this value does not require a gradient.

        Example:
            >>> from microgradnet import Value
            >>> x = Value(3.0)
            >>> handle = x.register_hook(lambda g: 2 * g)
            >>> (x * x).backward()
            >>> x.grad                # 2 * 6
            12.0
            >>> handle.remove()
        """
        if not callable(hook):
            raise TypeError(f"register_hook: expected a function, got {type(hook).__name__}")
        if not self.requires_grad:
            raise RuntimeError(
                "cannot register a hook on a Value that does not require a gradient "
                "(requires_grad is False)"
            )
        notes = _notes_for(self)
        key = next(_hook_keys)
        if notes.hooks is None:
            notes.hooks = {}
        notes.hooks[key] = hook
        with _lock:
            _hooked.add(notes)
        return RemovableHandle(notes, key)

    def __setstate__(self, state: Any) -> None:
        # copy.copy and copy.deepcopy: the slots as copied, and a record of the copy's own (its
        # node's id, registered), so that a frozen copy stays frozen; hooks are not copied, as
        # PyTorch's deepcopy does not copy them.
        _, slots = state
        node: Any = self
        for name, value in slots.items():
            setattr(node, name, value)
        notes = notes_of(self)
        if notes is None:
            return
        own = node._label = NodeNotes(notes.label, id(self))
        own.site = notes.site
        own.frozen = notes.frozen
        if own.frozen:
            with _lock:
                _frozen.add(own)

    # ----- comparisons: with Values and real numbers only -----
    def __lt__(self, other: object) -> bool:
        number = _comparable(other)
        return NotImplemented if number is None else self.data < number

    def __le__(self, other: object) -> bool:
        number = _comparable(other)
        return NotImplemented if number is None else self.data <= number

    def __gt__(self, other: object) -> bool:
        number = _comparable(other)
        return NotImplemented if number is None else self.data > number

    def __ge__(self, other: object) -> bool:
        number = _comparable(other)
        return NotImplemented if number is None else self.data >= number


def _comparable(x: object) -> float | None:
    """The number to compare a ``Value`` with: another's data or a real number (a str is not)."""
    if isinstance(x, ValueExtras):
        return x.data
    return real_or_none(x)


def leaves_requiring_grad(order: Iterable[Any]) -> list[Any]:
    """The leaves of ``order`` that are not frozen."""
    frozen = frozen_ids()
    return [n for n in order if n._op is None and id(n) not in frozen]
