"""The one graph traversal: the nodes below some roots, each after the nodes it reads.

The engine's reference backward, ``backward_order``, compiled mode's tracer and the drawings all
use :func:`topological_order`. It knows nothing of ``Value`` but its ``parents``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Protocol, TypeVar

__all__ = ["GraphLimitExceeded", "Node", "leading_to", "topological_order"]


class Node(Protocol):
    """Anything with ordered ``parents`` (a ``Value``)."""

    @property
    def parents(self) -> tuple[Node, ...]: ...


N = TypeVar("N", bound=Node)


class GraphLimitExceeded(ValueError):
    """More nodes than the ``limit`` given to :func:`topological_order`."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the graph has more than {limit} nodes")
        self.limit = limit


_EMIT = object()  # on the stack, above a node whose parents are all done: emit it


def topological_order(
    roots: Iterable[N], stop: Collection[N] = (), *, limit: int | None = None
) -> list[N]:
    """Every node reachable from ``roots`` through ``parents``, each after all its parents.

    An explicit stack rather than recursion, because graphs can be a million nodes deep. A node
    is pushed back under a marker before its parents and is emitted when the marker resurfaces,
    after all of them (depth-first post-order). Parents are pushed in order, so the last parent
    is the first to be expanded; the order is the same in every run.

    Args:
        roots: where to start (a loss, a model's outputs); each appears once in the result.
        stop: nodes that are included but not looked below (inputs of a traced function).
        limit: raise :class:`GraphLimitExceeded` as soon as more nodes than this are found, so
            that a huge graph is refused without being walked in full.

    Returns:
        The nodes, each after all of its parents: the reverse is the order in which a backward
        pass can take them, each after all of its consumers.
    """
    order: list[N] = []
    seen: set[N] = set()
    stack: list[object] = []
    stack.extend(reversed(list(roots)))
    while stack:
        node = stack.pop()
        if node is _EMIT:
            order.append(stack.pop())  # type: ignore[arg-type]
            continue
        if node in seen:
            continue
        seen.add(node)  # type: ignore[arg-type]
        if limit is not None and len(seen) > limit:
            raise GraphLimitExceeded(limit)
        stack.append(node)
        stack.append(_EMIT)
        if node not in stop:
            stack.extend(node.parents)  # type: ignore[attr-defined]  # a seen one is passed over
    return order


def leading_to(order: Iterable[N], targets: Iterable[N]) -> set[N]:
    """The nodes of ``order`` (each after its parents) from which some target can be reached."""
    leads = set(targets)
    for node in order:
        if node not in leads and not leads.isdisjoint(node.parents):
            leads.add(node)
    return leads
