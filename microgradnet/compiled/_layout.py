"""Where the parameters go in the shared store: each layer's weights as one matrix.

Note [weights as matrices]
A layer's dot nodes read their weights as rows; when the rows of a layer sit one after another
in the store, the layer reads its weights as a plain ``(F, m)`` matrix, and its weight gradients
are added into one (a strided view is four times slower to add into). So the parameters are laid
out weights first, each dot node's weights as a block, the blocks in the order the caller lists
the parameters (``model.parameters()``: neuron by neuron, layer by layer), then everything else
in that order (the biases, layer by layer, come out as one block too). Without a preferred order,
the order in which the graph reads the parameters stands in. Nothing depends on the layout but
speed: gradients are returned in the caller's order.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from ..engine import Value
from ..ops import VARIADIC
from ._trace import Trace

__all__ = ["parameter_layout"]


def parameter_layout(
    trace: Trace, chosen: Collection[int], preferred: Sequence[Value] = ()
) -> list[Value]:
    """The leaves ``chosen`` (indices of trace nodes) in slot order (Note [weights as
    matrices]); ``preferred`` gives the order among them where it lists them."""
    values, ops, parents = trace.values, trace.ops, trace.parents
    rank: dict[int, int] = {}
    for v in preferred:
        rank.setdefault(id(v), len(rank))
    for i, ps in enumerate(parents):  # then the order the graph reads them in
        if ops[i] is not None:
            for p in ps:
                if p in chosen:
                    rank.setdefault(id(values[p]), len(rank))
    for p in chosen:  # an output that is itself a parameter
        rank.setdefault(id(values[p]), len(rank))
    blocks: dict[int, tuple[int, ...]] = {}  # first weight -> its row, once per row
    for i, op in enumerate(ops):
        if op is not None and op.bilinear and op.arity == VARIADIC:
            ps = parents[i]
            m = len(ps) // 2
            for side in (ps[:m], ps[m : 2 * m]):
                if side and all(p in chosen for p in side):
                    blocks.setdefault(side[0], side)
    order: dict[int, None] = {}
    for row in sorted(blocks.values(), key=lambda row: rank[id(values[row[0]])]):
        order.update(dict.fromkeys(row))
    order.update(dict.fromkeys(sorted(chosen, key=lambda p: rank[id(values[p])])))
    return [values[p] for p in order]
