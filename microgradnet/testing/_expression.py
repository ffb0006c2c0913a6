"""``Expression``: a generated expression tree, callable on ``Value``s or floats, with its point,
its Python text and its sympy form."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..engine import Value, apply
from ._sympy import SympyForms, sympy_form
from ._text import text
from ._tree import Node

__all__ = ["Expression", "evaluate"]


def evaluate(node: Node, args: Sequence[Any]) -> Any:
    """The tree on ``args`` (Values or floats); a subtree without a Value gives a float."""
    if node.kind == "var":
        return args[node.index]
    if node.kind == "const":
        return node.arg
    op = node.op
    assert op is not None
    xs = [evaluate(child, args) for child in node.children]
    if any(isinstance(x, Value) for x in xs):
        return apply(op, *xs, arg=node.arg)
    return op.evaluate([float(x) for x in xs], node.arg)


class _ExpressionFunction:
    """The callable of an Expression; its ``str()`` is the expression, for error messages."""

    __slots__ = ("_expression",)

    def __init__(self, expression: Expression) -> None:
        self._expression = expression

    def __call__(self, *args: Any) -> Any:
        return self._expression(*args)

    def __str__(self) -> str:
        return str(self._expression)

    def __repr__(self) -> str:
        return f"<function of {self._expression.n_inputs} inputs: {self._expression}>"


class Expression:
    """A generated scalar expression and the point it was generated for.

    Attributes:
        fn: callable on ``n_inputs`` Values (returns a Value) or floats (returns a float); its
            ``str()`` is the expression, so gradcheck messages name it.
        inputs: the drawn point, a tuple of ``n_inputs`` floats, at which every op is inside its
            domain, away from kinks, and every subexpression is within ``LIMIT``.
        n_inputs: the number of variables ``x0, x1, ...`` (some may not appear).

    Example:
        >>> from microgradnet.testing import expressions
        >>> e = expressions().example()
        >>> isinstance(e.fn(*e.inputs), float)
        True
    """

    __slots__ = ("_root", "fn", "inputs", "n_inputs")

    def __init__(self, root: Node, inputs: Sequence[float], n_inputs: int) -> None:
        self._root = root
        self.inputs: tuple[float, ...] = tuple(inputs)
        self.n_inputs = n_inputs
        self.fn: Callable[..., Any] = _ExpressionFunction(self)

    def __call__(self, *args: Any) -> Any:
        if len(args) != self.n_inputs:
            raise TypeError(f"{self}: takes {self.n_inputs} inputs, got {len(args)}")
        out = evaluate(self._root, args)
        if not isinstance(out, Value) and any(isinstance(a, Value) for a in args):
            return Value(out)  # a constant expression: still a Value for Value inputs
        return out

    def sympy(self, functions: SympyForms | None = None) -> tuple[Any, Any]:
        """The same expression in sympy, over real symbols ``x0, x1, ...``.

        Each op's sympy form is its own forward run on sympy expressions (built-in ops and
        ``define_op`` ops written with operators and the helpers of :mod:`microgradnet.ops`).

        Args:
            functions: sympy forms by op name (``{"artanh": sympy.atanh}``), for ops whose
                forward does not run on sympy expressions (one written with ``math``); a form
                given here is used instead of the op's forward.

        Returns:
            ``(expression, symbols)``: a sympy expression and the tuple of its symbols.

        Raises:
            ImportError: sympy is not installed.
            ValueError: an op's forward does not run on sympy expressions and ``functions``
                has no form for it.
        """
        try:
            import sympy as sp
        except ImportError as error:  # pragma: no cover - exercised only without sympy
            raise ImportError(
                "Expression.sympy needs sympy: pip install 'microgradnet[testing]'"
            ) from error
        symbols = tuple(sp.Symbol(f"x{i}", real=True) for i in range(self.n_inputs))
        return sympy_form(self._root, sp, symbols, dict(functions or {})), symbols

    def __str__(self) -> str:
        return text(self._root)

    def __repr__(self) -> str:
        return f"Expression({str(self)!r}, inputs={list(self.inputs)!r})"
