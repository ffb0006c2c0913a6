"""A computation graph seen at the scale of a network: neurons, modules and repeated samples.

:func:`reduce_graph` turns the values of a graph (in topological order) into *units*, the boxes
a drawing shows. No Graphviz here: :mod:`._grouped` draws the units.

* A **neuron** is a weighted sum of parameters, ``w·x + b``, with the one-input op that alone
  reads it (its activation). Two shapes are found: the fused ``dot`` node a ``Layer`` builds,
  and micrograd's chain of additions ``b + w0*x0 + w1*x1 + ...`` (each product reading one
  parameter and one value that is not a parameter, each inner sum read only by the next).
* A **sum** is such a chain of additions that is not a neuron (Python's ``sum`` of losses).
* **Merging samples**: units that compute the same thing from the same parameters (the same
  neuron on another sample, the same loss term) form a class; one representative per class is
  kept with the class's size as its count (see Note [sample classes]).
* **Modules** come from parameter names (``layers.0.neurons.3.w.1``): a parameter belongs to
  the module its name leads to (``layers.0.neurons.3``), a neuron to its weights' module.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .. import ops
from ..engine import Value

__all__ = ["Unit", "module_of", "parameter_names", "parent_module", "reduce_graph"]


@dataclass(eq=False)
class Unit:
    """One box of a drawing.

    ``kind`` is ``"value"`` (one graph value), ``"neuron"`` (``w·x + b`` and its activation),
    ``"sum"`` (a chain of additions) or ``"parameters"`` (a neuron's parameters, when something
    outside the neuron reads them). ``out`` is the value whose data and grad the box shows;
    ``values`` how many graph values it stands for; ``count`` how many units it stands for
    after samples were merged; ``reads`` the units it reads, in order, duplicates kept;
    ``edges`` what is drawn of them, ``(unit, how many readings)``.
    """

    kind: str
    out: Value
    module: str = ""
    text: str = ""
    values: int = 1
    count: int = 1
    inputs: list[Value] = field(default_factory=list)
    key: Hashable = None
    reads: list[Unit] = field(default_factory=list)
    edges: list[tuple[Unit, int]] = field(default_factory=list)


@dataclass(eq=False)
class _Group:
    out: Value
    members: list[Value]
    weights: list[Value]
    inputs: list[Value]
    text: str


def parameter_names(model: Any) -> dict[Value, str]:
    """``{parameter: dotted name}`` of a ``Module`` or any object holding Values in attributes,
    lists, tuples and dicts (micrograd's own ``MLP``); empty for anything else."""
    named = getattr(model, "named_parameters", None)
    if callable(named):
        return {p: name for name, p in named()}
    found: dict[Value, str] = {}
    seen: set[int] = set()
    stack: list[tuple[str, Any]] = [("", model)]
    while stack:
        prefix, obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, list | tuple):
            items: Iterator[tuple[Any, Any]] = iter(enumerate(obj))
        elif isinstance(obj, dict):
            items = iter(obj.items())
        elif hasattr(obj, "__dict__") and not isinstance(obj, type):
            items = ((k, v) for k, v in vars(obj).items() if not str(k).startswith("_"))
        else:
            continue
        children = []
        for key, value in items:
            name = f"{prefix}{key}"
            if isinstance(value, Value):
                found.setdefault(value, name)
            elif not isinstance(value, str | bytes | int | float):
                children.append((name + ".", value))
        stack.extend(reversed(children))
    return found


def parent_module(name: str) -> str:
    """The module holding ``name``: trailing indices and one attribute dropped.

    ``layers.0.neurons.3.w.1`` -> ``layers.0.neurons.3``; ``layers.0.neurons.3`` -> ``layers.0``.
    """
    parts = name.split(".")
    while parts and parts[-1].isdigit():
        parts.pop()
    return ".".join(parts[:-1])


def module_of(parameter_name: str) -> str:
    """The module a parameter belongs to (``""``: the model itself)."""
    return parent_module(parameter_name)


def _consumers(nodes: list[Value]) -> dict[Value, list[Value]]:
    """Who reads each value, once per reading (``x * x`` reads ``x`` twice)."""
    readers: dict[Value, list[Value]] = {}
    for node in nodes:
        for parent in node.parents:
            readers.setdefault(parent, []).append(node)
    return readers


def _with_activation(group: _Group, readers: dict[Value, list[Value]], root: Value) -> _Group:
    """The group with the one-input op that alone reads its sum (its activation), if any."""
    read_by = readers.get(group.out, [])
    if group.out is not root and len(read_by) == 1 and len(read_by[0].parents) == 1:
        activation = read_by[0]
        group.members.append(activation)
        group.out = activation
        group.text += f" → {activation.op_record.label(activation.op_arg)}"  # type: ignore[union-attr]
    return group


def _fused_neuron(node: Value, parameters: set[Value]) -> _Group | None:
    op = node.op_record
    if op is not ops.DOT:
        return None
    inputs = node.parents  # (w..., x..., b)
    n = len(inputs) // 2
    weights = list(inputs[:n]) + ([inputs[-1]] if len(inputs) % 2 else [])
    if not weights or any(w not in parameters for w in weights):
        return None
    return _Group(node, [node], weights, list(inputs[n : 2 * n]), "w·x + b")


def _chain(
    top: Value, readers: dict[Value, list[Value]], claimed: set[Value]
) -> tuple[list[Value], list[Value]]:
    """The additions of the chain ending at ``top`` (each inner one read only by the next) and
    its terms, left to right."""
    adds, terms = [], []
    stack = [top]
    while stack:
        node = stack.pop()
        adds.append(node)
        for parent in reversed(node.parents):
            if parent.op == "add" and parent not in claimed and len(readers.get(parent, ())) == 1:
                stack.append(parent)
            else:
                terms.append(parent)
    terms.reverse()  # the stack took the right-hand terms first
    return adds, terms


def _chain_neuron(
    adds: list[Value], terms: list[Value], parameters: set[Value], readers: dict[Value, list[Value]]
) -> _Group | None:
    weights, inputs, members = [], [], list(adds)
    bias = None
    for term in terms:
        if term in parameters and not term.parents and bias is None:
            bias = term
            continue
        if term.op != "mul" or len(readers.get(term, ())) != 1:
            return None
        a, b = term.parents
        if (a in parameters) == (b in parameters):
            return None
        w, x = (a, b) if a in parameters else (b, a)
        weights.append(w)
        inputs.append(x)
        members.append(term)
    if not inputs:
        return None
    if bias is not None:
        weights.append(bias)
    return _Group(adds[0], members, weights, inputs, "w·x + b" if bias else "w·x")


def _groups(
    root: Value, nodes: list[Value], parameters: set[Value], readers: dict[Value, list[Value]]
) -> tuple[list[_Group], list[tuple[list[Value], list[Value]]]]:
    """The neurons and the other chains of additions (``(adds, terms)``), found from the root
    down so that a chain is met at its last addition."""
    neurons: list[_Group] = []
    chains = []
    claimed: set[Value] = set()
    for node in reversed(nodes):
        if node in claimed:
            continue
        group = _fused_neuron(node, parameters)
        if group is None and node.op == "add":
            adds, terms = _chain(node, readers, claimed)
            group = _chain_neuron(adds, terms, parameters, readers)
            if group is None and len(adds) > 1:
                claimed.update(adds)
                chains.append((adds, terms))
        if group is not None:
            group = _with_activation(group, readers, root)
            claimed.update(group.members)
            neurons.append(group)
    return neurons, chains


def reduce_graph(
    root: Value,
    nodes: list[Value],
    parameters: set[Value],
    names: dict[Value, str],
    *,
    collapse: bool,
    merge: bool,
) -> list[Unit]:
    """The units to draw for ``nodes`` (each after its parents), each with its ``edges``.

    Args:
        root: the graph's output.
        nodes: the values below ``root`` in topological order.
        parameters: the leaves that are parameters.
        names: ``{parameter: dotted name}`` (may be empty: units then carry no module).
        collapse: draw a neuron and a chain of additions as one unit each; otherwise every
            value is its own unit (still placed in its neuron's module).
        merge: keep one unit per class of repeated units (see Note [sample classes]).
    """
    readers = _consumers(nodes)
    neurons, chains = _groups(root, nodes, parameters, readers)
    neuron_of: dict[Value, Unit] = {}  # a neuron's values (not its parameters) -> its unit
    owner: dict[Value, Unit] = {}  # a neuron's parameters -> its unit
    for k, group in enumerate(neurons):
        module = _neuron_module(group, names, k)
        unit = Unit(
            "neuron",
            group.out,
            module,
            group.text,
            len(group.members) + 1,
            inputs=group.inputs,
            key=tuple(group.weights),
        )
        for member in group.members:
            neuron_of[member] = unit
        for w in group.weights:
            owner.setdefault(w, unit)
    sums: dict[Value, Unit] = {}
    if collapse:
        for adds, terms in chains:
            unit = Unit("sum", adds[0], text=f"Σ of {len(terms)} terms", values=len(adds))
            unit.inputs = terms
            for add in adds:
                sums[add] = unit
    units = _units(nodes, neuron_of, owner, sums, names, collapse)
    if not merge:
        for unit in units:
            unit.edges = [(u, 1) for u in unit.reads]
        return units
    return _merged(units, parameters)


def _neuron_module(group: _Group, names: dict[Value, str], k: int) -> str:
    named = [names[w] for w in group.weights if w in names]
    return module_of(named[0]) if named else (f"neuron{k}" if names else "")


def _units(
    nodes: list[Value],
    neuron_of: dict[Value, Unit],
    owner: dict[Value, Unit],
    sums: dict[Value, Unit],
    names: dict[Value, str],
    collapse: bool,
) -> list[Unit]:
    """Every unit, each after the units it reads, with its ``reads``."""
    unit_of: dict[Value, Unit] = {}
    shared: dict[Unit, Unit] = {}  # a neuron -> the unit of its parameters read from outside
    units: list[Unit] = []

    def source(v: Value) -> Unit:
        if v in unit_of:
            return unit_of[v]
        neuron = owner[v]  # a parameter folded into its neuron's box, read from outside
        if neuron not in shared:
            text = f"{neuron.module or 'neuron'} parameters"
            shared[neuron] = Unit("parameters", v, neuron.module, text, 0, key=neuron.key)
            units.insert(0, shared[neuron])
        shared[neuron].values += 1
        unit_of[v] = shared[neuron]
        return shared[neuron]

    for node in nodes:
        if collapse and node in neuron_of:
            unit = neuron_of[node]
            if node is unit.out:
                units.append(unit)
                unit.reads = [source(x) for x in unit.inputs]
            unit_of[node] = unit
            continue
        if collapse and node in owner:
            continue  # a parameter inside its neuron's box
        if collapse and node in sums:
            unit = sums[node]
            unit_of[node] = unit
            if node is unit.out:
                units.append(unit)
                unit.reads = [source(x) for x in unit.inputs]
            continue
        module = ""
        if node in neuron_of:
            module = neuron_of[node].module
        elif node in names:
            module = module_of(names[node])
        unit = Unit("value", node, module)
        units.append(unit)
        unit_of[node] = unit
        unit.reads = [source(p) for p in node.parents]
    return units


# Note [sample classes]
# ~~~~~~~~~~~~~~~~~~~~~
# A batch repeats the same computation once per sample: the same neuron over another sample's
# inputs, the same loss term for another label. Two units are in one class when they are of
# the same kind, apply the same op (or are the same neuron, reading the same parameters) and
# read inputs of the same classes, in order: the classes are built bottom up, as a hash-consing
# of the graph. A parameter is a class of its own. A leaf that is not a parameter (a sample's
# feature, a label, a constant) is classed by where it is first read: the class of its first
# reader (with every such leaf alike) and its position there, so the first feature of every
# sample is one class and the second another. What differs between the merged units is only
# their data, so one representative (the first) stands for all, with their number as a count.


def _signature(
    unit: Unit,
    inputs: tuple[int, ...],
    parameters: set[Value],
    leaf_place: dict[Unit, tuple[int, int]] | None,
) -> Hashable:
    node = unit.out
    if unit.kind == "value":
        op = node.op_record
        if op is None:
            if node in parameters:
                return ("parameter", id(node))
            place = None if leaf_place is None else leaf_place.get(unit)
            return ("leaf", node.label, place)
        return ("value", op.name, repr(node.op_arg), inputs)
    return (unit.kind, unit.key, unit.text, inputs)


def _classes(
    units: list[Unit], parameters: set[Value], leaf_place: dict[Unit, tuple[int, int]] | None
) -> dict[Unit, int]:
    interned: dict[Hashable, int] = {}
    cls: dict[Unit, int] = {}
    for unit in units:
        inputs = tuple(cls[u] for u in unit.reads)
        cls[unit] = interned.setdefault(
            _signature(unit, inputs, parameters, leaf_place), len(interned)
        )
    return cls


def _merged(units: list[Unit], parameters: set[Value]) -> list[Unit]:
    first = _classes(units, parameters, None)
    leaf_place: dict[Unit, tuple[int, int]] = {}
    for unit in units:
        for j, u in enumerate(unit.reads):
            if u.kind == "value" and not u.out.parents:
                leaf_place.setdefault(u, (first[unit], j))
    cls = _classes(units, parameters, leaf_place)
    representative: dict[int, Unit] = {}
    for unit in units:
        rep = representative.setdefault(cls[unit], unit)
        if rep is not unit:
            rep.count += 1
    kept = list(representative.values())
    for unit in kept:
        multiplicity: dict[int, int] = {}
        for u in unit.reads:
            multiplicity[cls[u]] = multiplicity.get(cls[u], 0) + 1
        unit.edges = [(representative[c], m) for c, m in multiplicity.items()]
    return kept
