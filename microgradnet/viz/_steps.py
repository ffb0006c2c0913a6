"""The backward pass one node at a time: the reference algorithm, keeping a record of each step.

:func:`backward_steps` follows :func:`microgradnet.engine.backward_reference` (the textbook
algorithm) line for line and writes down, for every node it reaches, the gradient it found
there and what the chain rule passed on to each input. The player and its frames draw those
records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import ops
from ..engine import Value, backward_order

__all__ = ["BackwardStep", "backward_steps"]


@dataclass(frozen=True)
class BackwardStep:
    """One step of the backward pass, in the order of ``engine.backward_order``.

    Attributes:
        node: the value being processed; every use of it is already done, so ``grad`` is final.
        grad: d(root)/d(node).
        flows: one ``(input, local, contribution)`` per input of the op that made ``node``, in
            input order: the local derivative d(node)/d(input) and ``grad * local``, the amount
            added to the input's gradient by the chain rule (nothing is added where ``local``
            is 0). Empty for a leaf, and for a node whose ``grad`` is 0: it passes nothing on.
    """

    node: Value
    grad: float
    flows: tuple[tuple[Value, float, float], ...]


def backward_steps(root: Value) -> list[BackwardStep]:
    """The steps of the backward pass of ``root``, computed without touching any ``.grad``.

    The same algorithm and arithmetic as ``engine.backward_reference(root)``, so the gradients
    are the same to the last bit: walk ``backward_order(root)`` (each node after every node that
    reads it, so its gradient is complete when it is reached), and pass each node's gradient to
    its inputs through the op's local derivatives, ``op.local_derivatives(inputs, out, arg)``.
    A gradient of 0, or a local derivative of 0, passes nothing on.

    Args:
        root: the value whose backward pass to trace.

    Returns:
        One :class:`BackwardStep` per value below ``root``, ``root`` first, in the order of
        ``microgradnet.engine.backward_order(root)``.

    Raises:
        TypeError: ``root`` is not a Value.
        ValueError: a gradient is undefined (as ``backward()`` would raise).

    Example:
        >>> x = Value(3.0, label="x")
        >>> [round(s.grad, 4) for s in backward_steps(x * x)]
        [1.0, 6.0]
    """
    if not isinstance(root, Value):
        raise TypeError(f"backward_steps: expected a Value, got {type(root).__name__}")
    grads: dict[Value, Any] = {root: 1.0}
    steps = []
    for node in backward_order(root):  # each node after every node that reads it
        g = grads.get(node, 0.0)
        if isinstance(g, ops.UndefinedGradient):
            raise ValueError(g.message)
        flows = []
        op = node.op_record
        if op is not None and not _is_zero(g):  # a leaf, or a gradient of 0, passes nothing on
            inputs = [p.data for p in node.parents]
            local_derivatives = op.local_derivatives(inputs, node.data, node.op_arg)
            for parent, local in zip(node.parents, local_derivatives, strict=True):
                if _is_zero(local):  # 0 times anything, even an undefined gradient, is 0
                    flows.append((parent, 0.0, 0.0))
                    continue
                contribution = local * g
                grads[parent] = grads.get(parent, 0.0) + contribution
                flows.append((parent, _number(local), _number(contribution)))
        steps.append(BackwardStep(node, float(g), tuple(flows)))
    return steps


def _is_zero(x: object) -> bool:
    """An exact float 0 passes nothing on (the test ``backward_reference`` makes)."""
    return type(x) is float and x == 0.0


def _number(x: Any) -> float:
    """``x`` as a float for the record; an undefined local derivative shows as NaN."""
    return float("nan") if isinstance(x, ops.UndefinedGradient) else float(x)
