"""A layer's weighted sums over a whole batch, built fast: what ``nn.Layer`` runs.

It builds exactly the dot nodes ``Value.matvec`` builds for each sample (tests check the two
node for node), reading each row's data once for the whole batch and making the nodes without
a call per node.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence

from . import ops
from .engine import Value, is_grad_enabled

__all__ = ["dots_over_batch"]

_new = object.__new__
_VALUE = (Value,)
_mul = operator.mul


def dots_over_batch(
    rows: Sequence[tuple[Value, ...]], batch: Iterable[tuple[Value, ...]]
) -> list[list[Value]]:
    """For each tuple of inputs in ``batch``, one dot node per row: a layer's weighted sums.

    Nothing is checked here: every entry must already be a ``Value`` and every input tuple as
    long as the first. A row one longer than the inputs ends with its bias. Rows and input
    tuples are kept as given, so nodes built from the same ones share them.
    """
    batch = list(batch)
    if not batch:
        return []
    n = len(batch[0])
    # Each row's data, its bias last (if any): map() stops with the inputs, so the bias is left
    # out of the products and added after them, as in ops.DOT's forward.
    row_data = [[w.data for w in row] for row in rows]
    with_bias = [len(row) != n for row in rows]
    dot = ops.DOT
    recording = is_grad_enabled()
    out = []
    for inputs in batch:
        input_data = [x.data for x in inputs]
        sums = []
        for row, data_of_row, biased in zip(rows, row_data, with_bias, strict=True):
            data = sum(map(_mul, data_of_row, input_data), 0.0)  # ops.DOT's very expression
            if biased:
                data += data_of_row[-1]
            node = _new(*_VALUE)  # engine._node, written out
            node.data = data
            node.grad = 0.0
            if recording:
                node._op = dot
                node._x = row
                node._y = inputs
            else:
                node._op = node._x = node._y = None
            sums.append(node)
        out.append(sums)
    return out
