"""Drawing a computation graph with Graphviz: `draw_dot`, `render` and the Jupyter bundle."""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import graphviz

from .._files import write_bytes
from .._graph import GraphLimitExceeded, topological_order
from ..engine import Value
from ._dot_common import INSTALL_HINT as INSTALL_HINT
from ._dot_common import ROLE_COLORS as ROLE_COLORS
from ._dot_common import GraphTooLargeError as GraphTooLargeError
from ._dot_common import (
    check_max_nodes,
    check_root,
    escape,
    nodes_within_limit,
    parameter_set,
    role,
)
from ._dot_common import fmt as fmt
from ._dot_common import pipe as pipe
from ._grouped import draw_grouped

__all__ = [
    "DEFAULT_MAX_NODES",
    "INLINE_MAX_NODES",
    "ROLE_COLORS",
    "draw_dot",
    "render",
    "value_mimebundle",
]

DEFAULT_MAX_NODES = 500
# Jupyter draws a Value only up to this size; a bigger graph shows as text.
INLINE_MAX_NODES = 150
CURRENT_COLOR = "#dc2626"
RECEIVING_COLOR = "#ea580c"
RANKDIRS = ("LR", "RL", "TB", "BT")
RENDER_FORMATS = ("svg", "png", "pdf")


def node_names(nodes: list[Value]) -> dict[Value, str]:
    """Graphviz names ``n0, n1, ...`` in the order given (an op node: its value's + ``op``)."""
    return {node: f"n{i}" for i, node in enumerate(nodes)}


def _shade(fraction: float) -> str:
    """A fill from pale to deep red as |grad| grows from 0 to the largest |grad|."""
    alpha = round(24 + 200 * min(max(fraction, 0.0), 1.0))
    return f"#dc2626{alpha:02x}"


def _record(node: Value, show_grad: bool, grad_text: str | None) -> str:
    fields = []
    if node.label:
        fields.append(escape(node.label))
    fields.append(f"data {fmt(node.data)}")
    if show_grad:
        fields.append(f"grad {grad_text}")
    return "{ " + " | ".join(fields) + " }"


def build(
    root: Value,
    nodes: list[Value],
    *,
    rankdir: str,
    show_grad: bool,
    shade_by_grad: bool,
    parameters: set[Value],
    grads: Mapping[Value, float] | None = None,
    current: Value | None = None,
    passes_to: Collection[int] | None = None,
    caption: str | None = None,
) -> graphviz.Digraph:
    """The Digraph of ``nodes`` (topological order); ``grads`` replaces ``.grad`` (missing: "?").

    ``current`` is outlined; ``passes_to`` holds the positions of its inputs that gain gradient
    (their edges and the inputs are highlighted), ``None`` when its op passes nothing back.
    """
    names = node_names(nodes)

    def grad_of(node: Value) -> float | None:
        if grads is None:
            return node.grad
        return grads.get(node)

    largest = 0.0
    if shade_by_grad:
        largest = max((abs(g) for n in nodes if (g := grad_of(n)) is not None), default=0.0)

    dot = graphviz.Digraph(name="microgradnet", format="svg")
    # ordering="in": an op's inputs are laid out in input order (a above b in a * b), whatever
    # the order in which the traversal met them.
    dot.attr(rankdir=rankdir, bgcolor="white", nodesep="0.25", ranksep="0.35", ordering="in")
    dot.attr("node", shape="record", style="filled", fontname="Helvetica", fontsize="11")
    dot.attr("edge", color="#6b7280", arrowsize="0.6")
    if caption:
        dot.attr(label=caption, labelloc="b", labeljust="l", fontname="Helvetica", fontsize="11")

    flowing = set(passes_to) if current is not None and passes_to is not None else set()
    receiving = {current.parents[j] for j in flowing} if current is not None else set()
    for node in nodes:
        name = names[node]
        g = grad_of(node)
        fill, border = ROLE_COLORS[role(node, root, parameters)]
        if shade_by_grad and g is not None:
            fill = _shade(abs(g) / largest if largest > 0 else 0.0)
        attrs = {"id": name, "fillcolor": fill, "color": border}
        if node is current:
            attrs |= {"color": CURRENT_COLOR, "penwidth": "3.5"}
        elif node in receiving:
            attrs |= {"color": RECEIVING_COLOR, "penwidth": "2.5", "style": "filled,dashed"}
        label = _record(node, show_grad, "?" if g is None else fmt(g))
        dot.node(name, graphviz.nohtml(label), **attrs)
        op = node.op_record
        if op is None:
            continue
        op_name = f"{name}op"
        attrs = {"id": op_name, "shape": "ellipse", "fillcolor": "white", "color": "#6b7280"}
        attrs |= {"fontsize": "10", "height": "0.3", "margin": "0.04,0.02"}
        if node is current and passes_to is not None:
            attrs |= {"color": CURRENT_COLOR, "penwidth": "2.5"}
        dot.node(op_name, graphviz.nohtml(op.label(node.op_arg)), **attrs)
        for j, parent in enumerate(node.parents):
            flows = node is current and j in flowing
            edge_attrs = {"color": CURRENT_COLOR, "penwidth": "2"} if flows else {}
            dot.edge(names[parent], op_name, id=f"{name}in{j}", **edge_attrs)
        dot.edge(op_name, name, id=f"{name}out")
    return dot


def prepare(
    root: object, what: str, rankdir: str, max_nodes: object, parameters: object
) -> tuple[list[Value], set[Value]]:
    """Check drawing options; the values to draw (each after its parents), the parameter leaves."""
    root = check_root(root, what)
    if rankdir not in RANKDIRS:
        raise ValueError(f"{what}: rankdir must be one of {', '.join(RANKDIRS)}, got {rankdir!r}")
    nodes = nodes_within_limit(root, check_max_nodes(max_nodes), what)
    return nodes, parameter_set(parameters, nodes)


def draw_dot(
    root: Value,
    rankdir: str = "LR",
    show_grad: bool = True,
    max_nodes: int = DEFAULT_MAX_NODES,
    shade_by_grad: bool = False,
    *,
    parameters: Any = None,
    group_by: str | None = None,
    collapse: str | None = None,
) -> graphviz.Digraph:
    """Draw the computation graph below ``root`` as a Graphviz ``Digraph``.

    Each value is a record ``{ label | data 1.234 | grad 0.5678 }`` (4 significant digits), each
    op a small node (``*``, ``tanh``, ``** 2``, ``leaky_relu(0.1)``, ``w·x + b``, a user op's
    symbol) with one edge per input, in input order (``x * x`` has two edges). Values are
    coloured by role: the output (green), intermediate results (grey), parameter leaves (amber)
    and input leaves (blue). Node names are ``n0, n1, ...`` in a fixed topological order, so the DOT
    source and the rendered SVG are identical from run to run.

    Args:
        root: the value to draw, usually a loss or a model output.
        rankdir: layout direction, ``"LR"`` (left to right), ``"TB"``, ``"RL"`` or ``"BT"``.
        show_grad: show each value's ``.grad``.
        max_nodes: refuse graphs with more values than this (before any layout).
        shade_by_grad: fill each value from pale to deep red by its ``|grad|`` (relative to the
            largest), keeping its role in the border colour.
        parameters: the leaves to colour as parameters: a ``Module`` or an iterable of Values.
            By default, the weights and biases of fused ``w·x + b`` nodes; other leaves are
            inputs. A model (a ``Module``, or micrograd's ``MLP``) also names the modules.
        group_by: ``"module"`` draws each module as a Graphviz cluster named by its dotted
            name (``cluster_layers.0``, ``cluster_layers.0.neurons.3``), nested as the
            modules are. The names come from ``parameters`` (pass the model); without it a
            neuron is a cluster ``neuron0``, ``neuron1``, ...
        collapse: ``"neuron"`` draws each neuron (a fused ``w·x + b``, or micrograd's chain
            ``b + w0*x0 + ...`` of parameters, with the activation that alone reads it) as one
            box ``w·x + b → relu`` with its data and grad, a chain of additions (Python's
            ``sum``) as one box ``Σ``, and keeps one representative of what a batch repeats
            (the same neuron on each sample) with the count ``× 100``; ``"batch"`` merges
            repeats only. Then ``max_nodes`` bounds the boxes drawn, not the values walked.

    Returns:
        The ``graphviz.Digraph``; ``.source`` needs no Graphviz install, rendering (``render``,
        Jupyter display) needs the ``dot`` program.

    Raises:
        TypeError: ``root`` is not a Value, or ``parameters`` holds something else.
        ValueError: unknown ``rankdir``, ``group_by`` or ``collapse``, or more values (more
            boxes when collapsing) than ``max_nodes`` (the message gives both numbers).

    Example:
        >>> from microgradnet import Value
        >>> a, b = Value(2.0, label="a"), Value(-3.0, label="b")
        >>> out = a * b; out.backward()
        >>> "{ a | data 2 | grad -3 }" in draw_dot(out).source
        True
    """
    if group_by is not None or collapse is not None:
        if rankdir not in RANKDIRS:
            raise ValueError(
                f"draw_dot: rankdir must be one of {', '.join(RANKDIRS)}, got {rankdir!r}"
            )
        return draw_grouped(
            root,
            rankdir=rankdir,
            show_grad=bool(show_grad),
            max_nodes=max_nodes,
            parameters=parameters,
            group_by=group_by,
            collapse=collapse,
        )
    nodes, parameter_set = prepare(root, "draw_dot", rankdir, max_nodes, parameters)
    return build(
        root,
        nodes,
        rankdir=rankdir,
        show_grad=bool(show_grad),
        shade_by_grad=bool(shade_by_grad),
        parameters=parameter_set,
    )


def render(
    root_or_digraph: Value | graphviz.Digraph,
    path: str | os.PathLike[str],
    format: str | None = None,
    **draw_kwargs: Any,
) -> Path:
    """Render a value's graph (or a ``Digraph``) to exactly one SVG, PNG or PDF file.

    Args:
        root_or_digraph: a ``Value`` (drawn with ``draw_dot(root, **draw_kwargs)``) or a
            ``graphviz.Digraph``.
        path: the file to write; no other file (no DOT source) is left behind.
        format: ``"svg"``, ``"png"`` or ``"pdf"``; by default taken from the suffix of ``path``.
        **draw_kwargs: passed to :func:`draw_dot` when a ``Value`` is given.

    Returns:
        ``path`` as a ``Path``.

    Raises:
        ValueError: unknown format or suffix.
        RuntimeError: Graphviz's ``dot`` is not installed (the message says how to install it).
        OSError: the file cannot be written (the message names it); the write is atomic, so an
            existing file is left as it was.

    Example:
        >>> render(out, "graph.svg")  # doctest: +SKIP
        PosixPath('graph.svg')
    """
    path = Path(path)
    fmt = format if format is not None else path.suffix.lower().lstrip(".")
    if fmt not in RENDER_FORMATS:
        given = f"format {format!r}" if format is not None else f"file suffix {path.suffix!r}"
        raise ValueError(f"render: unknown {given}; use one of .svg, .png or .pdf")
    if isinstance(root_or_digraph, graphviz.Digraph):
        if draw_kwargs:
            raise TypeError("render: drawing options apply only when a Value is given")
        digraph = root_or_digraph
    else:
        digraph = draw_dot(check_root(root_or_digraph, "render"), **draw_kwargs)
    return write_bytes(path, pipe(digraph, fmt))


def value_mimebundle(value: Value) -> dict[str, str]:
    """Jupyter's display data for a Value: its graph as SVG when small, else text. Never raises.

    Args:
        value: the value to show.

    Returns:
        ``{"image/svg+xml": ..., "text/plain": ...}`` for a graph of at most
        ``INLINE_MAX_NODES`` values when ``dot`` is installed; otherwise only ``"text/plain"``
        (with the graph size when it is too large to draw).
    """
    try:
        text = repr(value)
    except Exception:
        text = object.__repr__(value)
    try:
        try:
            nodes = topological_order([value], limit=INLINE_MAX_NODES)
        except GraphLimitExceeded:
            return {
                "text/plain": f"{text}  # graph of more than {INLINE_MAX_NODES} values, "
                "not drawn (use microgradnet.viz.draw_dot)"
            }
        digraph = build(
            value,
            nodes,
            rankdir="LR",
            show_grad=True,
            shade_by_grad=False,
            parameters=parameter_set(None, nodes),
        )
        svg = digraph.pipe(format="svg", encoding="utf-8")
        return {"image/svg+xml": svg, "text/plain": text}
    except Exception:
        return {"text/plain": text}
