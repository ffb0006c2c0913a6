"""Hypothesis strategies for gradient tests: ``values()``, ``expressions()``, ``mlps()``.

Plus :func:`check_op`, which gradchecks a user op over many generated points in one line, and
:func:`check_engine`, which checks another scalar autograd engine (a micrograd of your own)
against central differences and microgradnet, op by op and graph shape by shape. This is
the only package that imports Hypothesis, an optional dependency: ``pip install
'microgradnet[testing]'`` (which also installs sympy, used by :meth:`Expression.sympy`).

The strategies follow Hypothesis's API style: plural names, keyword-only arguments (bounds
excepted), and bad arguments raise :class:`hypothesis.errors.InvalidArgument` when the strategy
is first drawn from. ``expressions()`` learns everything about an op from its row in the op
table (where its inputs may go, its kinks, its constant argument, how it is written), so an op
made by ``define_op`` takes part with no extra code.

Example:
    >>> from hypothesis import given
    >>> from microgradnet.gradcheck import gradcheck
    >>> from microgradnet.testing import expressions
    >>> @given(expressions())
    ... def test_gradients(e):
    ...     assert gradcheck(e.fn, e.inputs)
"""

from __future__ import annotations

try:
    import hypothesis  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised only without hypothesis
    raise ImportError(
        "microgradnet.testing needs Hypothesis, an optional dependency: "
        "pip install 'microgradnet[testing]'"
    ) from error

from ._check_engine import check_engine as check_engine
from ._check_op import check_op as check_op
from ._engine import Adapter as Adapter
from ._expression import Expression as Expression
from ._expressions import MAX_INPUT as MAX_INPUT
from ._expressions import expressions as expressions
from ._mlps import MLPExample as MLPExample
from ._mlps import mlps as mlps
from ._report import EngineCheck as EngineCheck
from ._report import EngineCheckError as EngineCheckError
from ._report import EngineReport as EngineReport
from ._tree import KINK_MARGIN as KINK_MARGIN
from ._tree import LIMIT as LIMIT
from ._values import values as values

__all__ = [
    "KINK_MARGIN",
    "LIMIT",
    "MAX_INPUT",
    "Adapter",
    "EngineCheck",
    "EngineCheckError",
    "EngineReport",
    "Expression",
    "MLPExample",
    "check_engine",
    "check_op",
    "expressions",
    "mlps",
    "values",
]
