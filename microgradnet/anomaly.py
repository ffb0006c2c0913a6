"""Anomaly detection: under ``detect_anomaly()``, a backward that produces a NaN or an infinity
raises ``FloatingPointError`` naming the op, its inputs and where in your code the node was made.

As PyTorch's ``torch.autograd.detect_anomaly`` (which looks for NaN only). It is off by default
and free when off: nodes note where they were made only while a block is open (Note [watched
nodes] in ``_grad_mode.py``), and a backward checks its steps only when the block is open in its
thread (Note [watched walks] in ``_backward.py``). Where a node was made is the first line
outside this package on the stack: your line, not the library's.
"""

from __future__ import annotations

import linecache
import math
from collections.abc import Callable, Collection, Sequence
from typing import Any

from ._grad_mode import _Mode, state
from ._value_extras import creation_site

__all__ = ["checked_walk", "detect_anomaly", "is_anomaly_enabled"]


class detect_anomaly(_Mode):
    """Context manager (and decorator) under which a backward producing NaN or an infinity
    raises ``FloatingPointError`` naming the op, its inputs and where the node was made.

    Nodes made inside note where (your file and line); ``backward()`` and ``grad()`` run inside
    check every step. Slower, for debugging; thread local, like ``no_grad``.

    Example:
        >>> from microgradnet import Value
        >>> x = Value(1e-310)          # so small that 1/x overflows
        >>> with detect_anomaly():
        ...     y = x.log()
        ...     y.backward()         # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        FloatingPointError: backward of 'log' produced inf for its input 0 ...
    """

    _attribute = "anomaly"
    _value = True


def is_anomaly_enabled() -> bool:
    """Whether ``detect_anomaly`` is on in this thread."""
    return state.anomaly


def checked_walk(
    order: Sequence[Any],
    grads: dict[Any, Any],
    root: Any,
    seed: Any,
    create_graph: bool,
    hooks: Callable[[Any, Any], Any],
    skip: Collection[Any],
) -> dict[Any, Any]:
    """The backward walk over ``order`` (each node after its parents) one step at a time, as
    the reference takes it, every step checked: each local derivative times the gradient, and
    each sum it joins, must be finite.

    ``grads`` holds 0.0 for every node and leaf of the walk (floats) and is filled in; with
    ``create_graph`` a new dict of gradient graphs is returned. ``hooks(node, g)`` gives the
    gradient to use; nothing is passed to the nodes of ``skip``."""
    if create_graph:
        grads = {}
    grads[root] = seed
    consumer: dict[Any, Any] = {}  # a node that reads each node, for a node with no site
    for node in reversed(order):  # consumers first
        g = grads.get(node)
        if g is None:
            continue
        g = grads[node] = hooks(node, g)
        if type(g) is float and g == 0.0:
            continue
        parents = node.parents
        if create_graph:
            xs, out = parents, node
        else:
            xs, out = [p.data for p in parents], node.data
        try:
            local_derivatives = node._op.local_derivatives(xs, out, node.op_arg)
        except (ArithmeticError, ValueError) as error:
            raise type(error)(f"{error}{_made_at(node, consumer)}") from error
        for i, (parent, local) in enumerate(zip(parents, local_derivatives, strict=True)):
            if parent in skip or (type(local) is float and local == 0.0):
                continue
            contribution = local * g
            if not _finite(contribution):
                raise FloatingPointError(
                    f"backward of {node.op!r} produced {_number(contribution)} for its input {i}"
                    f" (local derivative {_number(local)} times the gradient {_number(g)}); "
                    f"{_inputs(node)}{_made_at(node, consumer)}"
                )
            previous = grads.get(parent)
            total = contribution if previous is None else previous + contribution
            if not _finite(total):
                raise FloatingPointError(
                    f"backward of {node.op!r} made the gradient of its input {i} "
                    f"{_number(total)} (adding {_number(contribution)} to {_number(previous)}); "
                    f"{_inputs(node)}{_made_at(node, consumer)}"
                )
            grads[parent] = total
            consumer.setdefault(parent, node)
    for node in [n for n in grads if n._op is None]:  # leaves: complete only now
        grads[node] = hooks(node, grads[node])
    return grads


def _finite(x: Any) -> bool:
    """False for NaN and infinities (floats or a ``Value``'s data); an undefined gradient is
    not an anomaly (it raises its own error if it is needed)."""
    if type(x) is float:
        return math.isfinite(x)
    data = getattr(x, "data", None)
    return type(data) is not float or math.isfinite(data)


def _number(x: Any) -> str:
    return repr(getattr(x, "data", x))


def _inputs(node: Any) -> str:
    return "inputs: " + ", ".join(repr(p.data) for p in node.parents)


def _made_at(node: Any, consumer: dict[Any, Any]) -> str:
    site = creation_site(node)
    if site is not None:
        return f"; the {node.op!r} node was made at {_where(site)}"
    reader = consumer.get(node)  # the nearest node that reads it and noted where it was made
    while reader is not None and creation_site(reader) is None:
        reader = consumer.get(reader)
    if reader is not None:
        return (
            f"; where the {node.op!r} node was made was not noted (a batched layer's, say), "
            f"but the {reader.op!r} node reading it was made at {_where(creation_site(reader))}"
        )
    return (
        f"; where the {node.op!r} node was made is unknown "
        "(outside detect_anomaly(), or by a path that notes no site)"
    )


def _where(site: Any) -> str:
    filename, line, function = site
    text = linecache.getline(filename, line).strip()
    return f"{filename}:{line} in {function}" + (f": {text}" if text else "")
