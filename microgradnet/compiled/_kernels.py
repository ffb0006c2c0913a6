"""An op's NumPy kernel, derived from its row: the row's own rules, run on arrays.

Compiled mode evaluates an op over a whole layer and batch at once by calling the op's calling
contract on NumPy arrays: ``op.evaluate(arrays, arg)`` for the forward and
``op.local_derivatives(arrays, out, arg)`` for the local derivatives. The built-in rows are
written in the dual vocabulary (:mod:`microgradnet._dual`), which runs on arrays; a ``define_op``
op's rules are the user's own functions, which may or may not. A local derivative may come back
as an array, a plain number (the same for every element) or an
:class:`~microgradnet.ops.UndefinedGradient`.

Note [trusting a rule on arrays]
Arrays pass through a ``define_op`` rule unchecked: ``math.tanh`` raises on them, ``if x > 0``
raises for more than one element, and a rule could also run and compute something else (``x *= 2``
changes its input in place). So before an op's rules are used on arrays, they are tried on the
points the trace recorded for that op's nodes (every node's inputs and ``.data`` are known), laid
out as compiled mode lays out operands: one row per node (a shared output), two columns per node
(a batch), and a first input broadcast along the batch. They are accepted only if they run, leave
their inputs unchanged, return float arrays of the right shape (a local derivative may also be a
number or an ``UndefinedGradient``) and agree with the float rule: the forward with the traced
results, each local derivative with the float rule at the traced points, to 1e-12. Otherwise the
op runs its float rules element by element (slow but exact). The forward and the derivative are
decided separately, once per op (kept in a weak-keyed dict): every row, built-in or not, takes
the same path, and a test checks that every built-in row comes out vectorised.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar

import numpy as np

from ..ops import VARIADIC, Op, UndefinedGradient

__all__ = ["ELEMENTWISE", "POINTS_PER_OP", "VECTORISED", "Kernel", "Point", "kernel_for", "spread"]

VECTORISED = "vectorised"  # the row's rules on whole arrays
ELEMENTWISE = "element-wise"  # the row's float rules, one element at a time

# One traced node of an op: its inputs' data, its own data and its constant argument.
Point: TypeAlias = tuple[tuple[float, ...], float, Any]
Forward: TypeAlias = Callable[[Sequence[Any], Any], Any]
Derivative: TypeAlias = Callable[[Sequence[Any], Any, Any], tuple[Any, ...]]

T = TypeVar("T")
_TOLERANCE = 1e-12
POINTS_PER_OP = 8  # traced nodes a rule is tried on


@dataclass(frozen=True)
class Kernel:
    """How compiled mode runs one op on arrays.

    Attributes:
        forward: ``forward(xs, arg)``, the op on a list of arrays, one per input.
        derivative: ``derivative(xs, out, arg)``: one local derivative per input (arrays,
            numbers or ``UndefinedGradient``s).
        forward_kind: ``VECTORISED`` or ``ELEMENTWISE``.
        derivative_kind: ``VECTORISED`` or ``ELEMENTWISE``.
        first_equal: a ``selects`` row whose local derivatives are 1 for the first input equal
            to the output and 0 for every other (max, min), as checked at the traced points: a
            pooling layer's backward then finds that input in one pass instead of running the
            rule once per input.
        reduce: for a vectorised row with a ``numpy_reduction``, ``reduce(values, axis)``: the
            forward over all the inputs stacked along ``axis``, in one call.
    """

    forward: Forward
    derivative: Derivative
    forward_kind: str
    derivative_kind: str
    first_equal: bool = False
    reduce: Callable[..., Any] | None = None

    @property
    def kind(self) -> str:
        """``"vectorised"`` or ``"element-wise"`` if both rules run alike, else which is which."""
        if self.forward_kind == self.derivative_kind:
            return self.forward_kind
        return f"{self.forward_kind} forward, {self.derivative_kind} derivative"


# Each op's decision, (forward kind, derivative kind). Only the kinds are kept: a kernel refers to
# its op, and a value referring to its weak key would keep it alive.
_DECIDED: weakref.WeakKeyDictionary[Op, tuple[str, str, bool]] = weakref.WeakKeyDictionary()


def kernel_for(op: Op, points: Callable[[], Sequence[Point]]) -> Kernel:
    """The kernel of ``op``, decided on its first use from the traced points ``points()`` gives
    (at least one; see Note [trusting a rule on arrays]) and kept for the op's lifetime."""
    kinds = _DECIDED.get(op)
    if kinds is None:
        traced = points()
        with np.errstate(all="ignore"):
            forward_ok = _forward_runs_on_arrays(op, traced)
            derivative_ok = _derivative_runs_on_arrays(op, traced)
        kinds = _DECIDED[op] = (
            VECTORISED if forward_ok else ELEMENTWISE,
            VECTORISED if derivative_ok else ELEMENTWISE,
            _selects_first_equal(op, traced),
        )
    forward_kind, derivative_kind, first_equal = kinds
    vectorised = forward_kind == VECTORISED
    reduction = op.numpy_reduction if vectorised else None
    return Kernel(
        op.evaluate if vectorised else _forward_per_element(op),
        op.local_derivatives if derivative_kind == VECTORISED else _derivative_per_element(op),
        forward_kind,
        derivative_kind,
        first_equal,
        getattr(np, reduction).reduce if reduction else None,
    )


def _selects_first_equal(op: Op, points: Sequence[Point]) -> bool:
    """Whether a ``selects`` row's local derivatives are, at every finite traced point, 1 for
    the first input equal to the output and 0 for the others (see ``Kernel.first_equal``)."""
    if not op.selects:
        return False
    checked = 0
    for inputs, out, arg in points:
        if not all(math.isfinite(v) for v in (*inputs, out)):
            continue
        try:
            found = [float(d) for d in op.local_derivatives(list(inputs), out, arg)]
        except Exception:  # any failure means "not this rule"
            return False
        first = next((j for j, x in enumerate(inputs) if x == out), None)
        if first is None or found != [float(j == first) for j in range(len(inputs))]:
            return False
        checked += 1
    return checked > 0


def spread(items: Sequence[T], n: int) -> list[T]:
    """At most ``n`` of ``items``, evenly spread, the first and the last included."""
    if len(items) <= n:
        return list(items)
    return [items[round(i * (len(items) - 1) / (n - 1))] for i in range(n)]


# ----- trying a rule on arrays -----
def _layouts(op: Op, points: Sequence[Point]) -> Iterator[tuple[list[np.ndarray], np.ndarray, Any]]:
    """The points, grouped by argument and number of inputs, as compiled mode lays them out:
    ``(inputs, expected outs, arg)`` per layout (see Note [trusting a rule on arrays]). The
    inputs of a variadic op come as views of one array, so they always share a shape."""
    groups: dict[tuple[str, int], list[Point]] = {}
    for point in points:
        groups.setdefault((repr(point[2]), len(point[0])), []).append(point)
    for group in groups.values():
        arg = group[0][2]
        inputs = np.array([p[0] for p in group], dtype=float)  # (n, m)
        outs = np.array([p[1] for p in group], dtype=float)
        columns = [inputs[:, j] for j in range(inputs.shape[1])]
        yield [c.copy() for c in columns], outs, arg  # a shared output: one row per node
        yield [np.stack([c, c[::-1]], 1) for c in columns], np.stack([outs, outs[::-1]], 1), arg
        if len(columns) > 1 and op.arity != VARIADIC:  # the first input shared, others not
            first = columns[0][:, None].copy()
            rest = [np.stack([c, c], 1) for c in columns[1:]]
            yield [first, *rest], np.stack([outs, outs], 1), arg


def _forward_runs_on_arrays(op: Op, points: Sequence[Point]) -> bool:
    for xs, expected, arg in _layouts(op, points):
        before = [x.copy() for x in xs]
        try:
            out = op.evaluate(xs, arg)
        except Exception:  # any failure means "not on arrays"; the float rules still run
            return False
        if not (_is_float_array(out, expected.shape) and _unchanged(xs, before)):
            return False
        if not _agree(out, expected):
            return False
    return True


def _derivative_runs_on_arrays(op: Op, points: Sequence[Point]) -> bool:
    compared = 0
    for xs, outs, arg in _layouts(op, points):
        before = [x.copy() for x in xs]
        try:
            found = op.local_derivatives(xs, outs, arg)
        except Exception:  # as in _forward_runs_on_arrays
            return False
        if len(found) != len(xs) or not _unchanged(xs, before):
            return False
        inputs = np.broadcast_arrays(*xs)
        for index in np.ndindex(outs.shape):
            at = [float(x[index]) for x in inputs]  # Python floats: the float rule's own input
            try:
                expected = op.local_derivatives(at, float(outs[index]), arg)
            except Exception:  # no float answer to compare with (a division by zero, say)
                continue
            if len(expected) != len(found) or not all(
                _local_agrees(local, want, index, outs.shape)
                for local, want in zip(found, expected, strict=True)
            ):
                return False
            compared += 1
    return compared > 0


def _is_float_array(x: Any, shape: tuple[int, ...]) -> bool:
    return isinstance(x, np.ndarray) and x.dtype.kind == "f" and x.shape == shape


def _unchanged(xs: list[np.ndarray], before: list[np.ndarray]) -> bool:
    return all(np.array_equal(x, b) for x, b in zip(xs, before, strict=True))


def _agree(got: Any, want: Any) -> bool:
    """Equal (infinities included, NaN where NaN), or within ``_TOLERANCE`` relative."""
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    close = np.abs(got - want) <= _TOLERANCE * np.maximum(np.abs(got), np.abs(want))
    return bool(np.all((got == want) | close | (np.isnan(got) & np.isnan(want))))


def _local_agrees(local: Any, want: Any, index: tuple[int, ...], shape: tuple[int, ...]) -> bool:
    """One local derivative on arrays, at ``index``, against the float rule's ``want`` there."""
    if isinstance(local, UndefinedGradient):
        return isinstance(want, UndefinedGradient)
    if isinstance(local, np.ndarray):
        if local.dtype.kind != "f" or np.broadcast_shapes(local.shape, shape) != shape:
            return False
        value = float(np.broadcast_to(local, shape)[index])
    elif isinstance(local, int | float) and not isinstance(local, bool):
        value = float(local)
    else:
        return False
    if isinstance(want, UndefinedGradient):
        return not math.isfinite(value)  # an array says "undefined" with NaN
    return _agree(value, float(want))


# ----- the float rules, element by element -----
def _elements(xs: Sequence[Any], *more: Any) -> tuple[tuple[int, ...], list[list[float]]]:
    """The common shape of ``xs`` and ``more``, and each as a flat list of floats."""
    shape = np.broadcast_shapes(*(np.shape(x) for x in (*xs, *more)))
    return shape, [np.broadcast_to(x, shape).ravel().tolist() for x in (*xs, *more)]


def _forward_per_element(op: Op) -> Forward:
    def forward(xs: Sequence[Any], arg: Any) -> np.ndarray:
        shape, columns = _elements(xs)
        results = [_evaluate_or_nan(op, inputs, arg) for inputs in zip(*columns, strict=True)]
        return np.array(results, dtype=float).reshape(shape)

    return forward


def _evaluate_or_nan(op: Op, inputs: Sequence[float], arg: Any) -> float:
    # An element out of the op's domain becomes NaN, as on arrays: the program then hands its
    # sample to the engine, which raises the error naming the sample.
    try:
        return float(op.evaluate(inputs, arg))
    except (ArithmeticError, ValueError):
        return math.nan


def _derivative_per_element(op: Op) -> Derivative:
    def derivative(xs: Sequence[Any], out: Any, arg: Any) -> tuple[np.ndarray, ...]:
        shape, columns = _elements(xs, out)
        *inputs, outs = columns
        locals_ = np.empty((len(xs), len(outs)))
        for i, (x, o) in enumerate(zip(zip(*inputs, strict=True), outs, strict=True)):
            try:
                found = op.local_derivatives(x, o, arg)
            except (ArithmeticError, ValueError):
                found = (math.nan,) * len(xs)  # explained if this gradient is needed
            locals_[:, i] = [_float_or_nan(d) for d in found]
        return tuple(row.reshape(shape) for row in locals_)

    return derivative


def _float_or_nan(d: Any) -> float:
    # An undefined local derivative becomes NaN, which is explained if it reaches a gradient.
    return math.nan if isinstance(d, UndefinedGradient) else float(d)
