"""Watching backward work: one frame per node, and a self-contained HTML player of them."""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import graphviz

from .. import ops
from ..engine import Value, backward_order
from ._graph import DEFAULT_MAX_NODES, build, fmt, node_names, pipe, prepare

__all__ = [
    "BackpropPlayer",
    "BackwardStep",
    "backprop_frames",
    "backprop_html",
    "backprop_player",
    "backward_steps",
]

# Inputs listed one by one in a caption; a neuron with more shows the rest as a count.
_MAX_CAPTION_INPUTS = 8


@dataclass(frozen=True)
class BackwardStep:
    """One step of the backward pass, in the order ``backward()`` takes them.

    Attributes:
        node: the value being processed; every use of it is already done, so ``grad`` is final.
        grad: d(root)/d(node).
        flows: one ``(input, local, contribution)`` per input of the op that made ``node``, in
            input order: the local derivative d(node)/d(input) and ``grad * local``, the amount
            added to the input's gradient by the chain rule. Empty for a leaf.
    """

    node: Value
    grad: float
    flows: tuple[tuple[Value, float, float], ...]


def _local_derivatives(node: Value) -> tuple[Any, ...]:
    """d(node)/d(input) for each input, from the op's derivative rule evaluated on floats."""
    op = node.op_record
    assert op is not None
    xs = [p.data for p in node.parents]
    if op.const:
        return (op.derivative(xs[0], node.data, node.op_arg),)
    if op.arity == 1:
        return (op.derivative(xs[0], node.data),)
    return tuple(op.derivative(*xs, node.data))


def backward_steps(root: Value) -> list[BackwardStep]:
    """The steps of ``root.backward()``, computed without touching any ``.grad``.

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
    for node in backward_order(root):
        g = grads[node]
        if isinstance(g, ops.UndefinedGradient):
            raise ValueError(g.message)
        flows = []
        if node.op_record is not None:
            for parent, local in zip(node.parents, _local_derivatives(node), strict=True):
                contribution = local * g
                previous = grads.get(parent)
                grads[parent] = contribution if previous is None else previous + contribution
                if isinstance(local, ops.UndefinedGradient):
                    local = contribution = float("nan")
                flows.append((parent, float(local), float(contribution)))
        steps.append(BackwardStep(node, float(g), tuple(flows)))
    return steps


# ----- captions -----
def _name(node: Value, root: Value) -> str:
    if node.label:
        return node.label
    if node is root:
        return "out"
    op = node.op_record
    if op is None:
        return f"leaf {fmt(node.data)}"
    return f"the {op.label(node.op_arg)} result"


def _caption(
    index: int, steps: list[BackwardStep], root: Value, parameters: set[Value]
) -> list[str]:
    """Plain-text lines: which node, why its gradient is final, and the chain-rule step."""
    step = steps[index]
    out, name = _name(root, root), _name(step.node, root)
    d = f"∂{out}/∂{name}"
    lines = [f"Step {index + 1} of {len(steps)}: {name} (data {fmt(step.node.data)})"]
    if index == 0:
        lines.append(f"Start at the output: {d} = 1.")
    else:
        lines.append(
            f"Every use of {name} is done, so its gradient is final: {d} = {fmt(step.grad)}."
        )
    if not step.flows:
        kind = "a parameter" if step.node in parameters else "an input"
        lines.append(f"{name} is a leaf ({kind}): there is nothing further to pass back.")
        return lines
    op = step.node.op_record
    assert op is not None
    lines.append(
        f"Chain rule through the “{op.label(step.node.op_arg)}” op: each input gains "
        f"{d} × ∂{name}/∂input."
    )
    for parent, local, contribution in step.flows[:_MAX_CAPTION_INPUTS]:
        lines.append(
            f"  ∂{out}/∂{_name(parent, root)} += {fmt(step.grad)} × {fmt(local)} = "
            f"{fmt(contribution)}"
        )
    hidden = len(step.flows) - _MAX_CAPTION_INPUTS
    if hidden > 0:
        lines.append(f"  … and {hidden} more input{'s' if hidden > 1 else ''}.")
    return lines


def _dot_caption(lines: list[str]) -> str:
    # "\l" ends a left-justified line in a Graphviz label.
    return "".join(line.replace("\\", "\\\\") + "\\l" for line in lines)


def _html_caption(lines: list[str]) -> str:
    head, *rest = lines
    items = "".join(f"<li>{html.escape(line.strip())}</li>" for line in rest)
    return f"<strong>{html.escape(head)}</strong><ul>{items}</ul>"


@dataclass(frozen=True)
class _Trace:
    root: Value
    nodes: list[Value]
    parameters: set[Value]
    steps: list[BackwardStep]
    rankdir: str


def _trace(root: object, what: str, rankdir: str, max_nodes: object, parameters: object) -> _Trace:
    nodes, parameter_set = prepare(root, what, rankdir, max_nodes, parameters)
    assert isinstance(root, Value)
    return _Trace(root, nodes, parameter_set, backward_steps(root), rankdir)


def backprop_frames(
    root: Value,
    *,
    rankdir: str = "LR",
    max_nodes: int = DEFAULT_MAX_NODES,
    shade_by_grad: bool = False,
    parameters: Any = None,
) -> Iterator[graphviz.Digraph]:
    """The graph of ``root`` once per step of the backward pass, as Graphviz Digraphs.

    Frame ``k`` highlights (red) the value backward processes at step ``k`` and the edges its
    gradient flows back along; gradients are shown only for the values whose gradient is
    final by then (the others read ``grad ?``), and a caption spells out the chain-rule step.
    Gradients are computed afresh: no ``.grad`` is read or changed.

    Args:
        root: the value to differentiate, e.g. a neuron's output or a loss.
        rankdir: layout direction (see :func:`draw_dot`).
        max_nodes: refuse graphs with more values than this.
        shade_by_grad: shade values by ``|grad|`` (see :func:`draw_dot`).
        parameters: leaves to colour as parameters (see :func:`draw_dot`).

    Returns:
        An iterator of ``graphviz.Digraph``, one per value, in
        ``microgradnet.engine.backward_order(root)`` order. Options are checked at the call.

    Raises:
        TypeError, ValueError: as :func:`draw_dot`; ``ValueError`` for an undefined gradient.

    Example:
        >>> a, b = Value(2.0, label="a"), Value(-3.0, label="b")
        >>> frames = list(backprop_frames(a * b))
        >>> len(frames)
        3
    """
    trace = _trace(root, "backprop_frames", rankdir, max_nodes, parameters)
    return _frames(trace, bool(shade_by_grad))


def _frames(trace: _Trace, shade_by_grad: bool) -> Iterator[graphviz.Digraph]:
    final: dict[Value, float] = {}
    for index, step in enumerate(trace.steps):
        final[step.node] = step.grad
        yield build(
            trace.root,
            trace.nodes,
            rankdir=trace.rankdir,
            show_grad=True,
            shade_by_grad=shade_by_grad,
            parameters=trace.parameters,
            grads=final,
            current=step.node,
            caption=_dot_caption(_caption(index, trace.steps, trace.root, trace.parameters)),
        )


class BackpropPlayer:
    """A step-through player of a backward pass: one self-contained HTML page.

    ``str(player)`` and ``player.html`` are the page (inline SVG, CSS and JavaScript: no
    network, no server); ``player.save(path)`` writes it; in Jupyter the player shows inline.

    Attributes:
        html: the page.
        n_frames: the number of steps (one per value in the graph).
    """

    def __init__(self, page: str, n_frames: int, height: int) -> None:
        self.html = page
        self.n_frames = n_frames
        self._height = height

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the page to ``path`` (UTF-8) and return it as a ``Path``."""
        path = Path(path)
        path.write_text(self.html, encoding="utf-8")
        return path

    def __str__(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return f"BackpropPlayer(n_frames={self.n_frames})"

    def _repr_html_(self) -> str:
        # An iframe keeps the page's element ids and script apart from the notebook's.
        return (
            f'<iframe srcdoc="{html.escape(self.html, quote=True)}" '
            f'style="width: 100%; height: {self._height}px; border: 1px solid #e5e7eb" '
            'sandbox="allow-scripts"></iframe>'
        )


def backprop_player(
    root: Value,
    *,
    rankdir: str = "LR",
    max_nodes: int = DEFAULT_MAX_NODES,
    parameters: Any = None,
    title: str | None = None,
) -> BackpropPlayer:
    """A step-through player of ``root``'s backward pass (shows inline in Jupyter).

    The page draws the graph once and steps through :func:`backward_steps`: the value being
    processed is outlined in red, the inputs receiving gradient in orange, gradients appear as
    they become final, and a caption gives the chain-rule step. Controls: step, back, play /
    pause, a slider, and the keyboard (← →, Home, End, space).

    Args:
        root: the value to differentiate (a neuron's output, a loss on one sample).
        rankdir: layout direction (see :func:`draw_dot`).
        max_nodes: refuse graphs with more values than this.
        parameters: leaves to colour as parameters (see :func:`draw_dot`).
        title: the page title (default: names the output).

    Returns:
        A :class:`BackpropPlayer`.

    Raises:
        TypeError, ValueError: as :func:`draw_dot`; ``ValueError`` for an undefined gradient.
        RuntimeError: Graphviz's ``dot`` is not installed (says how to install it).

    Example:
        >>> x = Value(0.5, label="x")
        >>> backprop_player((x * x).tanh())  # doctest: +SKIP
        BackpropPlayer(n_frames=3)
    """
    trace = _trace(root, "backprop_player", rankdir, max_nodes, parameters)
    final = {step.node: step.grad for step in trace.steps}
    digraph = build(
        trace.root,
        trace.nodes,
        rankdir=rankdir,
        show_grad=True,
        shade_by_grad=False,
        parameters=trace.parameters,
        grads=final,
    )
    svg = pipe(digraph, "svg").decode("utf-8")
    svg = svg[svg.index("<svg") :]  # drop the XML prolog and DOCTYPE for inline use
    names = node_names(trace.nodes)
    frames = []
    for index, step in enumerate(trace.steps):
        name = names[step.node]
        inputs = list(dict.fromkeys(names[p] for p, _, _ in step.flows))
        frames.append(
            {
                "node": name,
                "op": f"{name}op" if step.flows else None,
                "inputs": inputs,
                "edges": [f"{name}in{j}" for j in range(len(step.flows))],
                "caption": _html_caption(
                    _caption(index, trace.steps, trace.root, trace.parameters)
                ),
            }
        )
    data = {"frames": frames, "grads": {names[n]: f"grad {fmt(g)}" for n, g in final.items()}}
    page_title = title or f"Backpropagation step by step: {_name(trace.root, trace.root)}"
    page = _page(page_title, svg, data)
    return BackpropPlayer(page, len(frames), _iframe_height(svg))


def backprop_html(root: Value, path: str | os.PathLike[str] | None = None, **options: Any) -> str:
    """The step-through player page of ``root``'s backward pass, written to ``path`` if given.

    Args:
        root: the value to differentiate.
        path: where to write the page (UTF-8); nothing is written when ``None``.
        **options: ``rankdir``, ``max_nodes``, ``parameters``, ``title`` (see
            :func:`backprop_player`).

    Returns:
        The HTML page as a string. For Jupyter, use :func:`backprop_player`.

    Example:
        >>> x = Value(0.5, label="x")
        >>> backprop_html((x * x).tanh(), "backprop.html")  # doctest: +SKIP
    """
    player = backprop_player(root, **options)
    if path is not None:
        player.save(path)
    return player.html


def _iframe_height(svg: str) -> int:
    match = re.search(r'height="([\d.]+)pt"', svg)
    graph = float(match.group(1)) * 4 / 3 if match else 400.0
    return int(min(graph, 640.0) + 260)


def _page(title: str, svg: str, data: dict[str, Any]) -> str:
    payload = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    return (
        _TEMPLATE.replace("%%TITLE%%", html.escape(title))
        .replace("%%SVG%%", svg)
        .replace("%%DATA%%", payload)
    )


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%%TITLE%%</title>
<style>
  body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
         margin: 16px; color: #111827; background: #fff; }
  h1 { font-size: 18px; margin: 0 0 10px; }
  #mg-controls { display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
  #mg-controls button { font: inherit; padding: 4px 12px; border: 1px solid #9ca3af;
         border-radius: 6px; background: #f9fafb; cursor: pointer; }
  #mg-controls button:disabled { opacity: 0.4; cursor: default; }
  #mg-slider { flex: 1; min-width: 160px; }
  #mg-counter { min-width: 110px; text-align: right; font-variant-numeric: tabular-nums; }
  #mg-caption { margin: 10px 0; padding: 8px 12px; background: #f8fafc; border-left: 4px solid
         #dc2626; min-height: 5.5em; }
  #mg-caption ul { margin: 4px 0 0; padding-left: 20px; }
  #mg-caption li { font-variant-numeric: tabular-nums; }
  #mg-graph { overflow: auto; border: 1px solid #e5e7eb; border-radius: 6px; padding: 6px; }
  #mg-graph svg { max-width: 100%; height: auto; }
  #mg-legend { display: flex; gap: 14px; flex-wrap: wrap; font-size: 13px; margin-top: 8px;
         color: #374151; }
  .mg-swatch { display: inline-block; width: 14px; height: 14px; vertical-align: -2px;
         margin-right: 4px; border: 2px solid; border-radius: 3px; }
  g.node.mg-pending text { fill: #6b7280; }
  g.node.mg-current > polygon, g.node.mg-current > path { stroke: #dc2626; stroke-width: 4px; }
  g.node.mg-receiving > polygon { stroke: #ea580c; stroke-width: 2.5px;
         stroke-dasharray: 6 3; }
  g.node.mg-flow > ellipse { stroke: #dc2626; stroke-width: 2.5px; }
  g.edge.mg-flow > path { stroke: #dc2626; stroke-width: 2.5px; }
  g.edge.mg-flow > polygon { stroke: #dc2626; fill: #dc2626; }
</style>
</head>
<body>
<h1>%%TITLE%%</h1>
<div id="mg-controls">
  <button id="mg-first" type="button" title="First step (Home)">« First</button>
  <button id="mg-back" type="button" title="Back one step (←)">◀ Back</button>
  <button id="mg-play" type="button" title="Play or pause (space)">▶ Play</button>
  <button id="mg-step" type="button" title="Step forward (→)">Step ▶</button>
  <button id="mg-last" type="button" title="Last step (End)">Last »</button>
  <input id="mg-slider" type="range" min="0" value="0" step="1" aria-label="Step">
  <span id="mg-counter"></span>
</div>
<div id="mg-caption" aria-live="polite"></div>
<div id="mg-graph">%%SVG%%</div>
<div id="mg-legend">
  <span><i class="mg-swatch" style="background:#dcfce7;border-color:#15803d"></i>output</span>
  <span><i class="mg-swatch" style="background:#f3f4f6;border-color:#4b5563"></i>intermediate</span>
  <span><i class="mg-swatch" style="background:#dbeafe;border-color:#1d4ed8"></i>input</span>
  <span><i class="mg-swatch" style="background:#fef3c7;border-color:#b45309"></i>parameter</span>
  <span><i class="mg-swatch" style="background:#fff;border-color:#dc2626"></i>processing now</span>
  <span><i class="mg-swatch" style="background:#fff;border-color:#ea580c;border-style:dashed">
    </i>receiving gradient</span>
  <span>grad ? = not final yet</span>
</div>
<script type="application/json" id="mg-data">%%DATA%%</script>
<script>
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("mg-data").textContent);
  var frames = data.frames;
  var byId = function (id) { return document.getElementById(id); };
  var slider = byId("mg-slider"), counter = byId("mg-counter"), caption = byId("mg-caption");
  var playButton = byId("mg-play");
  var order = frames.map(function (f) { return f.node; });
  var gradText = {};
  order.forEach(function (id) {
    byId(id).querySelectorAll("text").forEach(function (t) {
      if (t.textContent.indexOf("grad ") === 0) { gradText[id] = t; }
    });
  });
  var index = 0, timer = null;
  slider.max = String(frames.length - 1);

  function show(k) {
    index = Math.max(0, Math.min(frames.length - 1, k));
    var frame = frames[index];
    order.forEach(function (id, position) {
      var node = byId(id), done = position <= index;
      node.classList.toggle("mg-done", done);
      node.classList.toggle("mg-pending", !done);
      node.classList.remove("mg-current", "mg-receiving");
      if (gradText[id]) { gradText[id].textContent = done ? data.grads[id] : "grad ?"; }
    });
    document.querySelectorAll(".mg-flow").forEach(function (el) {
      el.classList.remove("mg-flow");
    });
    byId(frame.node).classList.add("mg-current");
    if (frame.op) { byId(frame.op).classList.add("mg-flow"); }
    frame.inputs.forEach(function (id) { byId(id).classList.add("mg-receiving"); });
    frame.edges.forEach(function (id) { byId(id).classList.add("mg-flow"); });
    caption.innerHTML = frame.caption;
    slider.value = String(index);
    counter.textContent = "Step " + (index + 1) + " of " + frames.length;
    byId("mg-back").disabled = byId("mg-first").disabled = index === 0;
    byId("mg-step").disabled = byId("mg-last").disabled = index === frames.length - 1;
    document.body.setAttribute("data-frame", String(index));
  }

  function pause() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    playButton.textContent = "▶ Play";
  }
  function play() {
    if (index === frames.length - 1) { show(0); }
    playButton.textContent = "⏸ Pause";
    timer = setInterval(function () {
      if (index >= frames.length - 1) { pause(); } else { show(index + 1); }
    }, 900);
  }
  function toggle() { if (timer === null) { play(); } else { pause(); } }

  byId("mg-first").addEventListener("click", function () { pause(); show(0); });
  byId("mg-back").addEventListener("click", function () { pause(); show(index - 1); });
  byId("mg-step").addEventListener("click", function () { pause(); show(index + 1); });
  byId("mg-last").addEventListener("click", function () { pause(); show(frames.length - 1); });
  playButton.addEventListener("click", toggle);
  slider.addEventListener("input", function () { pause(); show(Number(slider.value)); });
  document.addEventListener("keydown", function (event) {
    if (event.target === slider || event.altKey || event.ctrlKey || event.metaKey) { return; }
    var moves = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0,
                  End: frames.length - 1 };
    if (event.key in moves) { pause(); show(moves[event.key]); event.preventDefault(); }
    else if (event.key === " ") { toggle(); event.preventDefault(); }
  });
  show(0);
})();
</script>
</body>
</html>
"""
