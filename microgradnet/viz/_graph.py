"""Drawing a computation graph with Graphviz: `draw_dot`, `render` and the Jupyter bundle."""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

import graphviz

from .. import ops
from .._files import write_bytes
from .._graph import GraphLimitExceeded, topological_order
from ..engine import Value

__all__ = [
    "DEFAULT_MAX_NODES",
    "INLINE_MAX_NODES",
    "ROLE_COLORS",
    "draw_dot",
    "render",
    "value_mimebundle",
]

DEFAULT_MAX_NODES = 500
_COUNT_CAP = 100_000
# Jupyter draws a Value only up to this size; a bigger graph shows as text.
INLINE_MAX_NODES = 150

# role -> (fill colour, border colour)
ROLE_COLORS: dict[str, tuple[str, str]] = {
    "input": ("#dbeafe", "#1d4ed8"),
    "parameter": ("#fef3c7", "#b45309"),
    "intermediate": ("#f3f4f6", "#4b5563"),
    "output": ("#dcfce7", "#15803d"),
}
CURRENT_COLOR = "#dc2626"
RECEIVING_COLOR = "#ea580c"
RANKDIRS = ("LR", "RL", "TB", "BT")
RENDER_FORMATS = ("svg", "png", "pdf")
INSTALL_HINT = (
    "Graphviz's `dot` program was not found on PATH; install Graphviz "
    "(Debian/Ubuntu: `sudo apt-get install graphviz`, macOS: `brew install graphviz`, "
    "conda: `conda install -c conda-forge graphviz`) and try again"
)
_RECORD_SPECIAL = str.maketrans(
    {c: "\\" + c for c in '\\{}|<>"'} | {"\n": " ", "\r": " ", "\t": " "}
)


class GraphTooLargeError(ValueError):
    """The graph has more values than ``max_nodes`` allows."""


def node_names(nodes: list[Value]) -> dict[Value, str]:
    """Graphviz names ``n0, n1, ...`` in the order given (an op node: its value's + ``op``)."""
    return {node: f"n{i}" for i, node in enumerate(nodes)}


def fmt(x: float) -> str:
    return f"{x:.4g}"


def _check_root(root: object, what: str) -> Value:
    if not isinstance(root, Value):
        raise TypeError(f"{what}: expected a Value, got {type(root).__name__}")
    return root


def _check_max_nodes(max_nodes: object) -> int:
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int):
        raise TypeError(f"max_nodes must be an int, got {type(max_nodes).__name__}")
    if max_nodes < 1:
        raise ValueError(f"max_nodes must be at least 1, got {max_nodes}")
    return max_nodes


def _nodes_within_limit(root: Value, max_nodes: int, what: str) -> list[Value]:
    """The values below ``root``, each after its parents; refused past ``max_nodes``."""
    try:
        return topological_order([root], limit=max_nodes)
    except GraphLimitExceeded:
        pass
    # Counting stops at a cap, so that refusing a huge graph stays quick.
    cap = max(_COUNT_CAP, max_nodes)
    try:
        size = str(len(topological_order([root], limit=cap)))
    except GraphLimitExceeded:
        size = f"more than {cap}"
    raise GraphTooLargeError(
        f"{what}: the graph has {size} values, more than max_nodes={max_nodes}; "
        f"draw a smaller part of it or pass a larger max_nodes"
    )


def _parameter_set(parameters: object, nodes: list[Value]) -> set[Value]:
    """Leaves to colour as parameters: the given ones, else the weights and biases of `w·x + b`."""
    if parameters is None:
        found: set[Value] = set()
        for node in nodes:
            op = node.op_record
            if op is not None and op.bilinear and op.arity == ops.VARIADIC:  # w·x + b
                inputs = node.parents
                n = len(inputs) // 2
                found.update(inputs[:n])
                if len(inputs) % 2:
                    found.add(inputs[-1])
        return {v for v in found if not v.parents}
    of_module = getattr(parameters, "parameters", None)
    if callable(of_module):
        parameters = of_module()  # a Module
    if isinstance(parameters, Value) or not isinstance(parameters, Iterable):
        raise TypeError(
            f"parameters must be a Module or an iterable of Values, got {type(parameters).__name__}"
        )
    chosen = set()
    for p in parameters:
        if not isinstance(p, Value):
            raise TypeError(f"parameters must contain Values, got {type(p).__name__}")
        chosen.add(p)
    return chosen


def _role(node: Value, root: Value, parameters: set[Value]) -> str:
    if node is root:
        return "output"
    if node.parents:
        return "intermediate"
    return "parameter" if node in parameters else "input"


def _shade(fraction: float) -> str:
    """A fill from pale to deep red as |grad| grows from 0 to the largest |grad|."""
    alpha = round(24 + 200 * min(max(fraction, 0.0), 1.0))
    return f"#dc2626{alpha:02x}"


def _record(node: Value, show_grad: bool, grad_text: str | None) -> str:
    fields = []
    if node.label:
        fields.append(node.label.translate(_RECORD_SPECIAL))
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
        fill, border = ROLE_COLORS[_role(node, root, parameters)]
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
    root = _check_root(root, what)
    if rankdir not in RANKDIRS:
        raise ValueError(f"{what}: rankdir must be one of {', '.join(RANKDIRS)}, got {rankdir!r}")
    nodes = _nodes_within_limit(root, _check_max_nodes(max_nodes), what)
    return nodes, _parameter_set(parameters, nodes)


def draw_dot(
    root: Value,
    rankdir: str = "LR",
    show_grad: bool = True,
    max_nodes: int = DEFAULT_MAX_NODES,
    shade_by_grad: bool = False,
    *,
    parameters: Any = None,
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
            inputs.

    Returns:
        The ``graphviz.Digraph``; ``.source`` needs no Graphviz install, rendering (``render``,
        Jupyter display) needs the ``dot`` program.

    Raises:
        TypeError: ``root`` is not a Value, or ``parameters`` holds something else.
        ValueError: unknown ``rankdir``, or more values than ``max_nodes`` (the message gives
            both numbers).

    Example:
        >>> from microgradnet import Value
        >>> a, b = Value(2.0, label="a"), Value(-3.0, label="b")
        >>> out = a * b; out.backward()
        >>> "{ a | data 2 | grad -3 }" in draw_dot(out).source
        True
    """
    nodes, parameter_set = prepare(root, "draw_dot", rankdir, max_nodes, parameters)
    return build(
        root,
        nodes,
        rankdir=rankdir,
        show_grad=bool(show_grad),
        shade_by_grad=bool(shade_by_grad),
        parameters=parameter_set,
    )


def pipe(digraph: graphviz.Digraph, fmt: str) -> bytes:
    try:
        data: bytes = digraph.pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise RuntimeError(INSTALL_HINT) from None
    return data


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
        digraph = draw_dot(_check_root(root_or_digraph, "render"), **draw_kwargs)
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
            parameters=_parameter_set(None, nodes),
        )
        svg = digraph.pipe(format="svg", encoding="utf-8")
        return {"image/svg+xml": svg, "text/plain": text}
    except Exception:
        return {"text/plain": text}
