"""``draw_dot(root, group_by="module", collapse="neuron")``: a graph drawn at network scale.

The units come from :func:`._collapse.reduce_graph`; this module lays them out: one record per
unit, one Graphviz cluster per module (``cluster_layers.0``, ``cluster_layers.0.neurons.3``),
nested as the modules are.
"""

from __future__ import annotations

from typing import Any

import graphviz

from .._graph import GraphLimitExceeded, topological_order
from ..engine import Value
from ._collapse import Unit, parameter_names, parent_module, reduce_graph
from ._dot_common import (
    ROLE_COLORS,
    GraphTooLargeError,
    check_max_nodes,
    check_root,
    escape,
    fmt,
    nodes_within_limit,
    parameter_set,
    role,
)

__all__ = ["COLLAPSE_MODES", "GROUP_BY_MODES", "WALK_LIMIT", "draw_grouped"]

GROUP_BY_MODES = (None, "module")
COLLAPSE_MODES = (None, "neuron", "batch")
# A collapsed drawing walks graphs far larger than it draws: micrograd's demo step is 65,000
# values. The walk stops here, so that a runaway graph is still refused.
WALK_LIMIT = 2_000_000
NEURON_COLORS = ("#ede9fe", "#6d28d9")
CLUSTER_FILL = "#f8fafc"


def _check_modes(group_by: object, collapse: object) -> tuple[bool, str | None]:
    if group_by not in GROUP_BY_MODES:
        raise ValueError(f"draw_dot: group_by must be None or 'module', got {group_by!r}")
    if collapse not in COLLAPSE_MODES:
        raise ValueError(f"draw_dot: collapse must be None, 'neuron' or 'batch', got {collapse!r}")
    return group_by == "module", collapse


def _walk(root: Value, collapse: str | None, max_nodes: int) -> list[Value]:
    if collapse is None:
        return nodes_within_limit(root, max_nodes, "draw_dot")
    try:
        return topological_order([root], limit=WALK_LIMIT)
    except GraphLimitExceeded:
        raise GraphTooLargeError(
            f"draw_dot: the graph has more than {WALK_LIMIT} values, more than a collapsed "
            "drawing walks; draw a smaller part of it"
        ) from None


def _module_types(model: Any) -> dict[str, str]:
    """``{dotted module name: class name}`` when the model can list its modules."""
    named = getattr(model, "named_modules", None)
    if not callable(named):
        return {}
    return {name: type(module).__name__ for name, module in named()}


def _label(unit: Unit, show_grad: bool, op_in_box: bool) -> str:
    node = unit.out
    fields = []
    if unit.kind == "neuron":
        fields += [escape(unit.module) if unit.module else "neuron", escape(unit.text)]
    elif unit.kind in ("sum", "parameters"):
        fields.append(escape(unit.text))
    else:
        op = node.op_record
        head = " ".join(
            part for part in (node.label, op.label(node.op_arg) if op and op_in_box else "") if part
        )
        if head:
            fields.append(escape(head))
    if unit.kind == "parameters":
        fields.append(f"{unit.values} values")
    else:
        fields.append(f"data {fmt(node.data)}")
        if show_grad:
            fields.append(f"grad {fmt(node.grad)}")
    if unit.count > 1:
        fields.append(f"× {unit.count}")
    return "{ " + " | ".join(fields) + " }"


def _colors(unit: Unit, root: Value, parameters: set[Value]) -> tuple[str, str]:
    if unit.kind == "neuron" and unit.out is not root:
        return NEURON_COLORS
    if unit.kind == "parameters":
        return ROLE_COLORS["parameter"]
    return ROLE_COLORS[role(unit.out, root, parameters)]


def _cluster_path(unit: Unit, collapsed: bool) -> list[str]:
    """The clusters holding ``unit``, outermost first (a collapsed neuron sits in its layer)."""
    module = unit.module
    if collapsed and unit.kind in ("neuron", "parameters"):
        module = parent_module(module)
    path = []
    while module:
        path.append(module)
        module = parent_module(module)
    return path[::-1]


def draw_grouped(
    root: object,
    *,
    rankdir: str,
    show_grad: bool,
    max_nodes: object,
    parameters: Any,
    group_by: object,
    collapse: object,
) -> graphviz.Digraph:
    """The drawing behind ``draw_dot(root, group_by=..., collapse=...)`` (see its docstring)."""
    root = check_root(root, "draw_dot")
    limit = check_max_nodes(max_nodes)
    grouped, mode = _check_modes(group_by, collapse)
    nodes = _walk(root, mode, limit)
    chosen = parameter_set(parameters, nodes)
    names = parameter_names(parameters) if parameters is not None else {}
    units = reduce_graph(
        root, nodes, chosen, names, collapse=mode == "neuron", merge=mode is not None
    )
    if len(units) > limit:
        raise GraphTooLargeError(
            f"draw_dot: the graph has {len(nodes)} values drawn as {len(units)} boxes, more "
            f"than max_nodes={limit}; draw a smaller part of it or pass a larger max_nodes"
        )
    types = _module_types(parameters)
    names_of = {unit: f"u{i}" for i, unit in enumerate(units)}
    op_nodes = mode is None

    dot = graphviz.Digraph(name="microgradnet", format="svg")
    dot.attr(rankdir=rankdir, bgcolor="white", nodesep="0.25", ranksep="0.35", ordering="in")
    dot.attr("node", shape="record", style="filled", fontname="Helvetica", fontsize="11")
    dot.attr("edge", color="#6b7280", arrowsize="0.6", fontname="Helvetica", fontsize="9")
    if mode is not None:
        caption = f"{len(nodes):,} values drawn as {len(units):,} boxes"
        dot.attr(label=caption, labelloc="b", labeljust="l", fontname="Helvetica", fontsize="11")

    # clusters: {path: (its units, its child paths)}, built in drawing order
    members: dict[str, list[Unit]] = {"": []}
    children: dict[str, list[str]] = {"": []}
    for unit in units:
        parent = ""
        for path in _cluster_path(unit, mode is not None) if grouped else []:
            if path not in members:
                members[path], children[path] = [], []
                children[parent].append(path)
            parent = path
        members[parent].append(unit)

    def add_units(graph: graphviz.Digraph, path: str) -> None:
        for unit in members[path]:
            name = names_of[unit]
            fill, border = _colors(unit, root, chosen)
            label = _label(unit, show_grad, not op_nodes)
            graph.node(name, graphviz.nohtml(label), id=name, fillcolor=fill, color=border)
            op = unit.out.op_record
            if op_nodes and op is not None:
                graph.node(
                    f"{name}op",
                    graphviz.nohtml(op.label(unit.out.op_arg)),
                    id=f"{name}op",
                    shape="ellipse",
                    fillcolor="white",
                    color="#6b7280",
                    fontsize="10",
                    height="0.3",
                    margin="0.04,0.02",
                )
        for child in children[path]:
            with graph.subgraph(name=f"cluster_{child}") as sub:
                kind = types.get(child)
                sub.attr(
                    label=f"{child} ({kind})" if kind else child,
                    style="rounded,filled",
                    fillcolor=CLUSTER_FILL,
                    color="#94a3b8",
                    fontname="Helvetica",
                    fontsize="10",
                )
                add_units(sub, child)

    add_units(dot, "")
    for unit in units:
        name = names_of[unit]
        target = f"{name}op" if op_nodes and unit.out.op_record is not None else name
        for j, (source, times) in enumerate(unit.edges):
            attrs = {"label": f"×{times}"} if times > 1 else {}
            dot.edge(names_of[source], target, id=f"{name}in{j}", **attrs)
        if target != name:
            dot.edge(target, name, id=f"{name}out")
    return dot
