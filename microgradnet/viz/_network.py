"""``draw_network(model)``: a model as neurons and weights, the picture of a textbook.

A dense layer (anything with ``neurons``, each with a weight list ``w`` and a bias ``b``) is a
Graphviz cluster of neuron nodes, each labelled with its bias; every weight is one edge from
the neuron (or input) it reads, blue when positive, red when negative, its pen width growing
with ``|w|``. A convolution, pooling or ``Flatten`` stage of a ``Sequential`` is one block with
its shape; an activation module between layers is named on the layer before it.

This module reads models by their attributes only (``layers``, ``neurons``, ``w``, ``b``), so
``Module``'s notebook display can use it without importing the layers.
"""

from __future__ import annotations

from typing import Any

import graphviz

from ..engine import Value, no_grad
from ._dot_common import GraphTooLargeError, fmt, pipe

__all__ = [
    "INLINE_MAX_PARAMETERS",
    "MAX_PARAMETERS",
    "NEGATIVE_COLOR",
    "POSITIVE_COLOR",
    "draw_network",
    "network_svg",
]

MAX_PARAMETERS = 1000
# A Module's notebook display draws its network up to this many weights and biases.
INLINE_MAX_PARAMETERS = 400
POSITIVE_COLOR = "#2563eb"
NEGATIVE_COLOR = "#dc2626"
ZERO_COLOR = "#9ca3af"
MIN_PENWIDTH, MAX_PENWIDTH = 0.3, 4.0
SHOWS = ("weights", "grads")


def _is_dense(module: Any) -> bool:
    neurons = getattr(module, "neurons", None)
    return isinstance(neurons, list | tuple) and all(
        isinstance(getattr(n, "w", None), list | tuple) and isinstance(getattr(n, "b", None), Value)
        for n in neurons
    )


def _stages(model: Any) -> list[tuple[str, Any]]:
    """``(dotted name, module)`` of each stage, in the order data flows through them."""
    if _is_dense(model):
        return [("", model)]
    if isinstance(getattr(model, "w", None), list | tuple) and isinstance(
        getattr(model, "b", None), Value
    ):
        return [("", _OneNeuron(model))]
    layers = getattr(model, "layers", None)
    if isinstance(layers, list | tuple) and layers:
        return [(f"layers.{i}", layer) for i, layer in enumerate(layers)]
    raise TypeError(
        "draw_network: expected a Neuron, a Layer, an MLP or a Sequential (a model with "
        f"`layers` or `neurons`), got {type(model).__name__}"
    )


class _OneNeuron:
    """A lone neuron seen as a layer of one."""

    def __init__(self, neuron: Any) -> None:
        self.neurons = [neuron]


def _parameters(module: Any) -> list[Value]:
    of = getattr(module, "parameters", None)
    return list(of()) if callable(of) else []


def _is_elementwise(module: Any) -> bool:
    """An activation module: no parameters, does not change the shape."""
    shaping = hasattr(module, "kernel_size") or type(module).__name__ == "Flatten"
    return not _parameters(module) and not shaping


def _shape(x: Any) -> str:
    dims = []
    while isinstance(x, list | tuple):
        dims.append(len(x))
        x = x[0] if x else None
    return "".join(f"[{d}]" for d in dims) if dims else "scalar"


def _number(p: Value, show: str) -> float:
    return p.grad if show == "grads" else p.data


def _color(x: float) -> str:
    return POSITIVE_COLOR if x > 0 else NEGATIVE_COLOR if x < 0 else ZERO_COLOR


def _penwidth(x: float, largest: float) -> str:
    size = abs(x) / largest if largest > 0 else 0.0
    return f"{MIN_PENWIDTH + (MAX_PENWIDTH - MIN_PENWIDTH) * size:.3f}"


def draw_network(
    model: Any,
    show: str = "weights",
    *,
    max_parameters: int = MAX_PARAMETERS,
    input_shape: tuple[int, ...] | None = None,
    rankdir: str = "LR",
) -> graphviz.Digraph:
    """Draw a model as neurons grouped by layer, one edge per weight.

    Each dense layer is a cluster ``cluster_layers.0`` of neuron nodes (named by their dotted
    module name, ``layers.0.neurons.3``, and labelled with their bias). Each weight is an edge
    from the input or neuron it reads: blue when positive, red when negative, grey at zero, its
    pen width from 0.3 (zero) to 4 (the largest ``|w|`` in the drawing). A ``Conv2d``, pooling
    or ``Flatten`` stage is one block (with its output shape when ``input_shape`` is given);
    the dense layer after such a block gets one edge per neuron from it (its weights are
    summed up on the edge: their number and mean ``|w|``). An activation module is named on the
    layer it follows.

    Args:
        model: a ``Neuron``, ``Layer``, ``MLP`` or ``Sequential`` (or a model with ``layers``).
        show: ``"weights"`` (parameter values) or ``"grads"`` (their ``.grad``, after backward).
        max_parameters: refuse to draw more weights and biases one by one than this (blocks
            do not count); a drawing stays readable up to about 1,000.
        input_shape: the shape of one sample, ``(channels, height, width)`` for a convolution,
            to label each block with its output shape.
        rankdir: layout direction, ``"LR"`` or ``"TB"``.

    Returns:
        A ``graphviz.Digraph`` (shown inline in Jupyter; render it with ``viz.render``).

    Raises:
        TypeError: not a model of layers.
        ValueError: unknown ``show`` or ``rankdir``, or more weights and biases than
            ``max_parameters`` (the message gives both numbers).

    Example:
        >>> from microgradnet.nn import MLP
        >>> dot = draw_network(MLP(2, [3, 1], seed=0))
        >>> dot.source.count(" -> ")    # 2*3 + 3*1 weights
        9
    """
    if show not in SHOWS:
        raise ValueError(f"draw_network: show must be 'weights' or 'grads', got {show!r}")
    if rankdir not in ("LR", "TB"):
        raise ValueError(f"draw_network: rankdir must be 'LR' or 'TB', got {rankdir!r}")
    stages = _stages(model)
    drawn = [p for _, m in stages if _is_dense(m) for n in m.neurons for p in [*n.w, n.b]]
    if len(drawn) > max_parameters:
        raise GraphTooLargeError(
            f"draw_network: the model has {len(drawn)} weights and biases to draw one by one, "
            f"more than max_parameters={max_parameters}; draw a smaller model, pass a larger "
            "max_parameters, or use draw_dot(..., group_by='module', collapse='neuron')"
        )
    largest = max((abs(_number(p, show)) for p in drawn), default=0.0)

    dot = graphviz.Digraph(name="network", format="svg")
    dot.attr(rankdir=rankdir, bgcolor="white", nodesep="0.08", ranksep="1.2", splines="line")
    dot.attr("node", fontname="Helvetica", fontsize="9", style="filled")
    dot.attr("edge", arrowsize="0.4")
    what = "gradients" if show == "grads" else "weights"
    dot.attr(
        label=f"{what}: blue > 0, red < 0, width ∝ |{'grad' if show == 'grads' else 'w'}| "
        f"(largest {fmt(largest)}); node label: bias",
        labelloc="b", labeljust="l", fontname="Helvetica", fontsize="10",
    )  # fmt: skip

    sample: Any = None
    if input_shape is not None and len(input_shape) == 3:
        channels, height, width = input_shape
        sample = [[[0.0] * width for _ in range(height)] for _ in range(channels)]
    first = stages[0][1]
    if _is_dense(first):
        previous = [f"input.{i}" for i in range(len(first.neurons[0].w))]
        with dot.subgraph(name="cluster_input") as sub:
            sub.attr(label="input", style="rounded", color="#cbd5e1", fontname="Helvetica")
            for name in previous:
                sub.node(name, name.split(".")[1], id=name, shape="circle", fillcolor="#dbeafe",
                         color="#1d4ed8", width="0.3", fixedsize="true")  # fmt: skip
    else:
        shape = "" if input_shape is None else " " + "".join(f"[{d}]" for d in input_shape)
        dot.node("input", f"input{shape}", shape="box", fillcolor="#dbeafe", color="#1d4ed8")
        previous = ["input"]
    for k, (name, module) in enumerate(stages):
        after_layer = k > 0 and _is_dense(stages[k - 1][1])
        if _is_elementwise(module) and after_layer:
            continue  # named on the layer before it
        if not _is_dense(module):
            if sample is not None:
                with no_grad():
                    sample = module(sample)
            previous = [_block(dot, name or f"stage{k}", module, sample, previous)]
            continue
        then = []
        for _, following in stages[k + 1 :]:
            if not _is_elementwise(following):
                break
            then.append(type(following).__name__)
        previous = _layer(dot, name, module, then, previous, show, largest)
        if sample is not None:
            sample = [0.0] * len(previous)
    return dot


def _layer(dot: graphviz.Digraph, name: str, layer: Any, then: list[str], previous: list[str],
           show: str, largest: float) -> list[str]:  # fmt: skip
    """Draw a dense layer's cluster and its weights; the names of its neuron nodes."""
    prefix = f"{name}." if name else ""
    activation = getattr(layer.neurons[0], "activation", "")
    title = f"{name or 'layer'} · {len(layer.neurons[0].w)}→{len(layer.neurons)}"
    title += f", {activation}" if activation else ""
    title += f" then {', '.join(then)}" if then else ""
    nodes = []
    with dot.subgraph(name=f"cluster_{name or 'layer'}") as sub:
        sub.attr(label=title, style="rounded,filled", fillcolor="#f8fafc", color="#94a3b8",
                 fontname="Helvetica", fontsize="10")  # fmt: skip
        for j, neuron in enumerate(layer.neurons):
            node = f"{prefix}neurons.{j}"
            b = _number(neuron.b, show)
            sub.node(node, f"b {fmt(b)}", id=node, shape="ellipse", fillcolor="#ede9fe",
                     color=_color(b), penwidth="1.5", tooltip=node, margin="0.02,0.01")  # fmt: skip
            nodes.append(node)
    _weight_edges(dot, layer, nodes, previous, prefix, show, largest)
    return nodes


def _weight_edges(dot: graphviz.Digraph, layer: Any, nodes: list[str], previous: list[str],
                  prefix: str, show: str, largest: float) -> None:  # fmt: skip
    if len(previous) == len(layer.neurons[0].w):
        for j, neuron in enumerate(layer.neurons):
            for i, (source, w) in enumerate(zip(previous, neuron.w, strict=True)):
                x = _number(w, show)
                dot.edge(source, nodes[j], id=f"{prefix}neurons.{j}.w.{i}",
                         color=_color(x), penwidth=_penwidth(x, largest),
                         tooltip=f"{prefix}neurons.{j}.w.{i} = {fmt(x)}")  # fmt: skip
        return
    (source,) = previous  # a block: one edge per neuron, its weights summed up
    for j, neuron in enumerate(layer.neurons):
        mean = sum(abs(_number(w, show)) for w in neuron.w) / len(neuron.w)
        dot.edge(source, nodes[j], id=f"{prefix}neurons.{j}.w", color=ZERO_COLOR,
                 penwidth=_penwidth(mean, largest),
                 tooltip=f"{len(neuron.w)} weights, mean |{show[:-1]}| {fmt(mean)}")  # fmt: skip


def _block(dot: graphviz.Digraph, name: str, module: Any, sample: Any, previous: list[str]) -> str:
    extra = module.extra_repr() if callable(getattr(module, "extra_repr", None)) else ""
    text = f"{name}: {type(module).__name__}({extra})"
    count = len(_parameters(module))
    if count:
        text += f"\\n{count} parameters"
    if sample is not None:
        text += f"\\nout {_shape(sample)}"
    dot.node(name, text, id=name, shape="box3d", fillcolor="#fef3c7", color="#b45309")
    for source in previous:
        dot.edge(source, name, color=ZERO_COLOR)
    return name


def network_svg(model: Any) -> str | None:
    """The network's SVG for a notebook, or ``None`` (too large, not layers, no ``dot``)."""
    try:
        digraph = draw_network(model, max_parameters=INLINE_MAX_PARAMETERS)
        svg = pipe(digraph, "svg").decode("utf-8")
        return svg[svg.index("<svg") :]  # no XML prologue inside an HTML page
    except Exception:
        return None
