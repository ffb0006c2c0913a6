"""Watching backward work: one frame per step of :func:`backward_steps`, and an HTML player."""

from __future__ import annotations

import html
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import graphviz

from .._files import write_text
from ..engine import Value
from ._graph import DEFAULT_MAX_NODES, build, fmt, node_names, pipe, prepare
from ._page import iframe_height, page
from ._steps import BackwardStep, backward_steps

__all__ = ["BackpropPlayer", "backprop_frames", "backprop_html", "backprop_player"]

# Inputs listed one by one in a caption; a neuron with more shows the rest as a count.
_MAX_CAPTION_INPUTS = 8


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
    op = step.node.op_record
    if op is None:
        kind = "a parameter" if step.node in parameters else "an input"
        lines.append(f"{name} is a leaf ({kind}): there is nothing further to pass back.")
        return lines
    if not step.flows:
        lines.append("A gradient of 0 passes nothing on: its inputs gain nothing from it.")
        return lines
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
    blocked = len(step.flows) - len(_passing(step))
    if blocked:
        inputs = "an input gains" if blocked == 1 else f"{blocked} inputs gain"
        lines.append(f"A local derivative of 0 passes nothing on: {inputs} nothing here.")
    return lines


def _passing(step: BackwardStep) -> list[int]:
    """The positions of the inputs the step passes gradient to (a local derivative of 0 does
    not; an undefined one, NaN here, does)."""
    return [j for j, (_, local, _) in enumerate(step.flows) if local != 0.0]


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
            passes_to=_passing(step) if step.flows else None,
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
        """Write the page to ``path`` (UTF-8), atomically, and return it as a ``Path``.

        Raises:
            OSError: the file cannot be written (the message names it); an existing file is
                left as it was.
        """
        return write_text(path, self.html)

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
        passing = _passing(step)
        frames.append(
            {
                "node": name,
                "op": f"{name}op" if step.flows else None,
                "inputs": list(dict.fromkeys(names[step.flows[j][0]] for j in passing)),
                "edges": [f"{name}in{j}" for j in passing],
                "caption": _html_caption(
                    _caption(index, trace.steps, trace.root, trace.parameters)
                ),
            }
        )
    data = {"frames": frames, "grads": {names[n]: f"grad {fmt(g)}" for n, g in final.items()}}
    page_title = title or f"Backpropagation step by step: {_name(trace.root, trace.root)}"
    return BackpropPlayer(page(page_title, svg, data), len(frames), iframe_height(svg))


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
