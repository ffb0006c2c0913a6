"""The explore widget: a slider per leaf of a small graph, the graph redrawn as they move.

Moving a slider sets the leaf's value and recomputes the graph in place: each node's data from
its op row (``op.evaluate`` on its inputs' data, in topological order), then ``backward()``.
The page shows the graph as :func:`~microgradnet.viz.draw_dot` draws it, with every data and
gradient, and a table of d out / d leaf. The page sends a new value only once the previous one
has been drawn (``revision``), so dragging never queues up work in the kernel.
"""

from __future__ import annotations

import ast
import math
import numbers
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anywidget
import graphviz
import traitlets

from .._graph import topological_order
from ..engine import Value
from ..expression import FUNCTIONS, parse_expression
from ._graph import INLINE_MAX_NODES, draw_dot

__all__ = ["MAX_SLIDERS", "Explorer", "slider_range"]

MAX_SLIDERS = 24  # leaves; a graph with more is not "small"
DEFAULT_VALUE = 1.0  # a variable of an expression given no value: log, sqrt and 1/x accept it


def slider_range(value: float) -> list[float]:
    """``[low, high, step]`` of a slider starting at ``value``: centred on 0, reaching at least
    3 and twice the value's size, in steps of a power of ten (at least 300 of them), so that
    round numbers are on the slider.

    Example:
        >>> slider_range(2.0), slider_range(-10.0)
        ([-4.0, 4.0, 0.01], [-20.0, 20.0, 0.1])
    """
    span = max(3.0, float(math.ceil(2.0 * abs(value))))
    step = 10.0 ** math.floor(math.log10(span / 150.0))
    return [-span, span, step]


def _variables(text: str) -> list[str]:
    """The names an expression uses as variables, in order of first use (unparsable text gives
    none: the parser then reports the error)."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return []
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    found = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and id(node) not in called and node.id not in FUNCTIONS
    ]
    found.sort(key=lambda node: (node.lineno, node.col_offset))
    return list(dict.fromkeys(node.id for node in found))


def _number(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real | Value):
        raise TypeError(f"explore: the value of {name!r} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"explore: the value of {name!r} must be finite, got {number!r}")
    return number


def _leaf_names(leaves: list[Value]) -> list[str]:
    """Each leaf's label, made unique (``a``, ``a_2``); ``leaf0``, ``leaf1`` for unlabelled
    leaves, numbered in the graph's order."""
    names: list[str] = []
    for i, leaf in enumerate(leaves):
        base = leaf.label or f"leaf{i}"
        name, n = base, 1
        while name in names:
            n += 1
            name = f"{base}_{n}"
        names.append(name)
    return names


class Explorer(anywidget.AnyWidget):
    """Sliders over the leaves of a small graph; see :func:`microgradnet.viz.explore`.

    Args:
        root_or_expression: a ``Value`` or an expression string.
        values: starting values by name (a ``Value``'s leaves by label).

    Raises:
        ExpressionError: the expression is not allowed or cannot be computed.
        ValueError: too many leaves or nodes for sliders, or a value for an unknown name.
    """

    _esm = Path(__file__).with_name("explore.js")
    _css = Path(__file__).with_name("explore.css")

    names: traitlets.List[str] = traitlets.List().tag(sync=True)
    values = traitlets.Dict().tag(sync=True)
    ranges = traitlets.Dict().tag(sync=True)
    grads = traitlets.Dict().tag(sync=True)
    output = traitlets.Float(0.0).tag(sync=True)
    svg = traitlets.Unicode("").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    note = traitlets.Unicode("").tag(sync=True)
    revision = traitlets.Int(0).tag(sync=True)

    def __init__(self, root_or_expression: Value | str, values: Mapping[str, Any]) -> None:
        if isinstance(root_or_expression, str):
            text = root_or_expression
            given = {name: _number(v, name) for name, v in values.items()}
            wanted = {name: DEFAULT_VALUE for name in _variables(text)}
            root, by_name = parse_expression(text, {**wanted, **given})
            names = [name for name in by_name if name in wanted]  # the text parsed: all found
            leaves = [by_name[name] for name in names]
        elif isinstance(root_or_expression, Value):
            root = root_or_expression
            order = topological_order([root])
            if len(order) > INLINE_MAX_NODES:
                raise ValueError(
                    f"explore: the graph has {len(order)} nodes; sliders are for small graphs "
                    f"(at most {INLINE_MAX_NODES} nodes)"
                )
            found = [node for node in order if node.op_record is None]
            pairs = sorted(zip(_leaf_names(found), found, strict=True), key=lambda p: p[0])
            names, leaves = [name for name, _ in pairs], [leaf for _, leaf in pairs]
        else:
            raise TypeError(
                "explore: expected a Value or an expression string, "
                f"got {type(root_or_expression).__name__}"
            )
        if len(leaves) > MAX_SLIDERS:
            raise ValueError(
                f"explore: the graph has {len(leaves)} leaves; sliders are for small graphs "
                f"(at most {MAX_SLIDERS} leaves)"
            )
        unknown = [name for name in values if name not in names]
        if unknown:
            raise ValueError(
                f"explore: no leaf called {', '.join(map(repr, unknown))}; the leaves are "
                f"{', '.join(names) or 'none'}"
            )
        self._ready = False
        self._root = root
        self._leaves = dict(zip(names, leaves, strict=True))
        self._order = topological_order([root])
        start = {
            name: _number(values.get(name, leaf.data), name) for name, leaf in self._leaves.items()
        }
        super().__init__(
            names=names,
            values=start,
            ranges={name: slider_range(value) for name, value in start.items()},
        )
        self._ready = True
        self._update()

    @property
    def root(self) -> Value:
        """The output: its ``.data`` and the leaves' ``.grad`` follow the sliders."""
        return self._root

    @property
    def leaves(self) -> dict[str, Value]:
        """The leaves by name (a slider each)."""
        return dict(self._leaves)

    def set(self, **values: float) -> None:
        """Move sliders from Python: ``ex.set(a=1.5)`` recomputes and redraws.

        Raises:
            ValueError: an unknown name or a value that is not a finite number.
        """
        for name in values:
            if name not in self._leaves:
                raise ValueError(f"explore: no leaf called {name!r}; the leaves are {self.names}")
        self.values = {**self.values, **{name: _number(v, name) for name, v in values.items()}}

    @traitlets.observe("values")
    def _values_changed(self, change: Any) -> None:
        if self._ready:
            self._update()

    def _update(self) -> None:
        """Recompute every node from the sliders' values, run backward, redraw."""
        data: dict[Value, float] = {}
        leaf_values = {self._leaves[name]: float(v) for name, v in self.values.items()}
        error = ""
        try:
            for node in self._order:
                row = node.op_record
                if row is None:
                    data[node] = leaf_values.get(node, node.data)
                    continue
                result = row.evaluate([data[p] for p in node.parents], node.op_arg)
                if not math.isfinite(result):
                    raise ArithmeticError(f"{node.op}: the result overflows ({result})")
                data[node] = float(result)
        except (ArithmeticError, ValueError) as problem:
            error = f"{problem}. The graph shows the last values that could be computed."
        if not error:
            for node, value in data.items():
                node.data = value
                node.grad = 0.0
            self._root.backward()
        with self.hold_sync():
            self.error = error
            if not error:
                self.output = self._root.data
                self.grads = {name: leaf.grad for name, leaf in self._leaves.items()}
                self.svg = self._drawing()
            self.revision += 1

    def _drawing(self) -> str:
        try:
            svg: str = draw_dot(self._root).pipe(format="svg").decode("utf-8")
        except graphviz.ExecutableNotFound:
            self.note = (
                "Graphviz's dot program is not installed, so the graph is not drawn "
                "(Debian/Ubuntu: sudo apt-get install graphviz); the table still follows."
            )
            return ""
        return svg[svg.find("<svg") :]
