"""What every Graphviz drawing shares: colours, number format, checks, the size guard, piping."""

from __future__ import annotations

from collections.abc import Iterable

import graphviz

from .. import ops
from .._graph import GraphLimitExceeded, topological_order
from ..engine import Value

__all__ = [
    "INSTALL_HINT",
    "ROLE_COLORS",
    "GraphTooLargeError",
    "check_max_nodes",
    "check_root",
    "escape",
    "fmt",
    "nodes_within_limit",
    "parameter_set",
    "pipe",
    "role",
]

COUNT_CAP = 100_000

# role -> (fill colour, border colour)
ROLE_COLORS: dict[str, tuple[str, str]] = {
    "input": ("#dbeafe", "#1d4ed8"),
    "parameter": ("#fef3c7", "#b45309"),
    "intermediate": ("#f3f4f6", "#4b5563"),
    "output": ("#dcfce7", "#15803d"),
}
INSTALL_HINT = (
    "Graphviz's `dot` program was not found on PATH; install Graphviz "
    "(Debian/Ubuntu: `sudo apt-get install graphviz`, macOS: `brew install graphviz`, "
    "conda: `conda install -c conda-forge graphviz`) and try again"
)
# A lone surrogate (a label made from undecodable bytes) cannot be written as UTF-8 for dot.
_RECORD_SPECIAL = str.maketrans(
    {c: "\\" + c for c in '\\{}|<>"'}
    | {"\n": " ", "\r": " ", "\t": " "}
    | {code: "\ufffd" for code in range(0xD800, 0xE000)}
)


class GraphTooLargeError(ValueError):
    """The graph has more values than ``max_nodes`` allows."""


def fmt(x: float) -> str:
    return f"{x:.4g}"


def escape(text: str) -> str:
    """``text`` safe inside a Graphviz record field."""
    return text.translate(_RECORD_SPECIAL)


def check_root(root: object, what: str) -> Value:
    if not isinstance(root, Value):
        raise TypeError(f"{what}: expected a Value, got {type(root).__name__}")
    return root


def check_max_nodes(max_nodes: object) -> int:
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int):
        raise TypeError(f"max_nodes must be an int, got {type(max_nodes).__name__}")
    if max_nodes < 1:
        raise ValueError(f"max_nodes must be at least 1, got {max_nodes}")
    return max_nodes


def nodes_within_limit(root: Value, max_nodes: int, what: str) -> list[Value]:
    """The values below ``root``, each after its parents; refused past ``max_nodes``."""
    try:
        return topological_order([root], limit=max_nodes)
    except GraphLimitExceeded:
        pass
    # Counting stops at a cap, so that refusing a huge graph stays quick.
    cap = max(COUNT_CAP, max_nodes)
    try:
        size = str(len(topological_order([root], limit=cap)))
    except GraphLimitExceeded:
        size = f"more than {cap}"
    raise GraphTooLargeError(
        f"{what}: the graph has {size} values, more than max_nodes={max_nodes}; "
        f"draw a smaller part of it or pass a larger max_nodes"
    )


def parameter_set(parameters: object, nodes: list[Value]) -> set[Value]:
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


def role(node: Value, root: Value, parameters: set[Value]) -> str:
    if node is root:
        return "output"
    if node.parents:
        return "intermediate"
    return "parameter" if node in parameters else "input"


def pipe(digraph: graphviz.Digraph, fmt: str) -> bytes:
    try:
        data: bytes = digraph.pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise RuntimeError(INSTALL_HINT) from None
    return data
