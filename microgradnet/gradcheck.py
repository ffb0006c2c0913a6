"""Gradient checking: compare the engine's gradients with central differences.

:func:`gradcheck` compares the first derivatives that ``backward()`` computes with central
differences in float64; :func:`gradgradcheck` does the same for second derivatives built with
``grad(..., create_graph=True)``, which catches a user op whose derivative is right on floats but
cuts the graph (``math.cos`` instead of ``ops.cos``) or is simply wrong. A failed check raises
:class:`GradcheckError`, an ``AssertionError``, so pytest reports it as a test failure.

A point where ``f`` has a kink (``relu`` at exactly 0) has no derivative to check: it is reported
as :class:`NotDifferentiableError` (a ``GradcheckError`` whose message says "not differentiable
at ..."), never as a mismatch. It is found by comparing the left and right one-sided differences
(see Note [kink test]).

Example:
    >>> from microgradnet.gradcheck import gradcheck
    >>> gradcheck(lambda x, y: (x * y).tanh() + x.exp(), [0.5, -1.0])
    True
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Callable, Sequence
from typing import Any

from .engine import Value, grad

__all__ = [
    "GradcheckError",
    "NotDifferentiableError",
    "gradcheck",
    "gradgradcheck",
    "numerical_grad",
]

# Rounding noise allowed in a one-sided difference, in units of machine epsilon times |f| / h.
_NOISE_ULPS = 64.0
# The kink test shrinks the step by this factor (see Note [kink test]).
_SHRINK = 8.0


class GradcheckError(AssertionError):
    """A gradient check failed: the engine's gradient and central differences disagree.

    The message names each failing input (index and value), the analytic and the numeric
    gradient, and the expression when it is known.
    """


class NotDifferentiableError(GradcheckError):
    """The checked function is not differentiable at (or within ``eps`` of) the point.

    Its left and right one-sided differences disagree, as for ``relu`` at exactly 0, so there is
    no derivative to compare with.
    """


# ----- argument checks -----
def _check_callable(f: object, who: str) -> None:
    if not callable(f):
        raise TypeError(f"{who}: f must be a callable taking Values, got {type(f).__name__}")


def _as_point(inputs: object, who: str) -> list[float]:
    if isinstance(inputs, Value | numbers.Number | str | bytes) or not isinstance(inputs, Sequence):
        raise TypeError(
            f"{who}: inputs must be a sequence of real numbers such as [0.5, -1.0], "
            f"got {type(inputs).__name__}"
        )
    if len(inputs) == 0:
        raise ValueError(f"{who}: inputs is empty; give one real number per argument of f")
    point = []
    for i, x in enumerate(inputs):
        if isinstance(x, Value):
            x = x.data
        if isinstance(x, bool) or not isinstance(x, numbers.Real):
            raise TypeError(f"{who}: inputs[{i}] must be a real number, got {type(x).__name__}")
        value = float(x)
        if not math.isfinite(value):
            raise ValueError(f"{who}: inputs[{i}] must be finite, got {value!r}")
        point.append(value)
    return point


def _check_tolerance(value: object, name: str, who: str, *, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{who}: {name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value) or value < 0.0 or (positive and value == 0.0):
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"{who}: {name} must be finite and {bound}, got {value!r}")
    return value


# ----- evaluating f -----
def _describe(f: Callable[..., Any]) -> str:
    """The expression ``f`` computes when it is known: its ``str()`` or its function name."""
    if getattr(type(f), "__str__", None) is not object.__str__:
        return str(f)
    name = getattr(f, "__name__", "")
    return name if name and name != "<lambda>" else ""


def _output_data(out: object, who: str) -> float:
    if isinstance(out, Value):
        return out.data
    if isinstance(out, numbers.Real) and not isinstance(out, bool):
        return float(out)
    raise TypeError(f"{who}: f must return a Value (or a real number), got {type(out).__name__}")


def _evaluate(f: Callable[..., Any], point: list[float], i: int, eps: float, who: str) -> float:
    """``f`` at a point perturbed in input ``i``; a failure there is a domain edge within eps."""
    try:
        out = f(*[Value(x) for x in point])
    except (ArithmeticError, ValueError) as error:
        raise ValueError(
            f"{who}: f raised {type(error).__name__} at input {i} perturbed to "
            f"x{i}={point[i]!r}: {error}. The point is within eps={eps!r} of the edge of f's "
            f"domain; check a point farther from the edge or use a smaller eps."
        ) from error
    value = _output_data(out, who)
    if math.isnan(value):
        raise ValueError(f"{who}: f returned NaN at input {i} perturbed to x{i}={point[i]!r}")
    return value


def _perturbed(
    f: Callable[..., Any], point: list[float], i: int, h: float, eps: float, who: str
) -> tuple[float, float, float]:
    """f(x + h e_i), f(x - h e_i) and the exact distance between the two perturbed points."""
    plus, minus = list(point), list(point)
    plus[i] += h
    minus[i] -= h
    fp = _evaluate(f, plus, i, eps, who)
    fm = _evaluate(f, minus, i, eps, who)
    return fp, fm, plus[i] - minus[i]


def numerical_grad(
    f: Callable[..., Any], inputs: Sequence[float], eps: float = 1e-6
) -> list[float]:
    """Central-difference estimates of the gradient of ``f`` at ``inputs``, in float64.

    Args:
        f: takes one ``Value`` per input and returns a ``Value`` (or a real number).
        inputs: the point, one real number per argument of ``f``.
        eps: the step: d f/d x_i ~ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps).

    Returns:
        One float per input.

    Raises:
        TypeError: ``f`` is not callable, ``inputs`` are not real numbers, or ``f`` returns
            something other than a ``Value`` or a real number.
        ValueError: ``eps`` is not positive, an input is not finite, or ``f`` fails at a
            perturbed point (the point is within ``eps`` of the edge of its domain).

    Example:
        >>> [round(g, 6) for g in numerical_grad(lambda x, y: x * y, [2.0, 3.0])]
        [3.0, 2.0]
    """
    who = "numerical_grad"
    _check_callable(f, who)
    point = _as_point(inputs, who)
    eps = _check_tolerance(eps, "eps", who, positive=True)
    grads = []
    for i in range(len(point)):
        fp, fm, width = _perturbed(f, point, i, eps, eps, who)
        grads.append((fp - fm) / width)
    return grads


# Note [kink test]
# At a kink the left and right one-sided differences converge to different limits, so their
# difference ("jump") stays put as the step h shrinks. For a smooth f the jump is ~ f''(x) h and
# shrinks with h. We first compare the one-sided differences at h with the same tolerance as the
# gradients; only if they disagree do we evaluate at h / 8, where a smooth f gives 1/8 of the
# jump (up to rounding noise) and a kink at the point keeps it (a kink within h of the point gives
# something else again, reported as "within eps of").
def _one_sided(f0: float, fp: float, fm: float, width: float) -> tuple[float, float]:
    h = width / 2.0
    return (f0 - fm) / h, (fp - f0) / h


def _has_kink(
    f: Callable[..., Any],
    point: list[float],
    i: int,
    values: tuple[float, float, float, float],
    tolerances: tuple[float, float, float],
    who: str,
) -> tuple[float, float] | None:
    """The one-sided differences (left, right) if ``f`` has a kink in input ``i``, else None."""
    f0, fp, fm, width = values
    eps, atol, rtol = tolerances
    left, right = _one_sided(f0, fp, fm, width)
    jump = right - left
    if abs(jump) <= atol + rtol * max(abs(left), abs(right)):
        return None
    fp2, fm2, width2 = _perturbed(f, point, i, eps / _SHRINK, eps, who)
    left2, right2 = _one_sided(f0, fp2, fm2, width2)
    scale = max(abs(f0), abs(fp2), abs(fm2), 1.0)
    noise = _NOISE_ULPS * sys.float_info.epsilon * scale / (width2 / 2.0)
    smooth_jump = jump / _SHRINK
    if abs((right2 - left2) - smooth_jump) <= 0.5 * abs(smooth_jump) + atol + noise:
        return None
    return left, right


# ----- the checks -----
def _failures(
    f: Callable[..., Any], point: list[float], tolerances: tuple[float, float, float], who: str
) -> tuple[list[str], bool]:
    """One line per input whose gradient fails, and whether every failure is a kink."""
    eps, atol, rtol = tolerances
    xs = [Value(x, label=f"x{i}") for i, x in enumerate(point)]
    out = f(*xs)
    f0 = _output_data(out, who)
    if isinstance(out, Value):
        out.backward()
    lines: list[str] = []
    only_kinks = True
    for i, x in enumerate(xs):
        analytic = x.grad
        fp, fm, width = _perturbed(f, point, i, eps, eps, who)
        numeric = (fp - fm) / width
        where = f"input {i} (x{i}={point[i]!r})"
        kink = _has_kink(f, point, i, (f0, fp, fm, width), tolerances, who)
        if kink is not None:
            left, right = kink
            lines.append(
                f"{where}: not differentiable at x{i}={point[i]!r} (or within eps={eps!r} of "
                f"it): the one-sided differences disagree, left={left!r}, right={right!r} "
                f"(analytic={analytic!r}, numeric={numeric!r})"
            )
        elif not abs(analytic - numeric) <= atol + rtol * abs(numeric):
            only_kinks = False
            lines.append(
                f"{where}: gradient mismatch, analytic={analytic!r}, numeric={numeric!r} "
                f"(|difference|={abs(analytic - numeric):.3g} > atol + rtol*|numeric|="
                f"{atol + rtol * abs(numeric):.3g})"
            )
    return lines, only_kinks


def _report(lines: list[str], only_kinks: bool, header: str, raise_exception: bool) -> bool:
    if not lines:
        return True
    if not raise_exception:
        return False
    error = NotDifferentiableError if only_kinks else GradcheckError
    raise error("\n  ".join([header, *lines]))


def _header(what: str, description: str, point: list[float]) -> str:
    at = ", ".join(f"x{i}={x!r}" for i, x in enumerate(point))
    of = f" for {description}" if description else ""
    return f"{what} failed{of} at {at}:"


def gradcheck(
    f: Callable[..., Any],
    inputs: Sequence[float],
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Check the gradient ``backward()`` computes for ``f`` against central differences.

    Input ``i`` passes when ``|analytic - numeric| <= atol + rtol * |numeric|``. The one-sided
    differences are compared too: where they disagree (a kink such as ``relu`` at 0) ``f`` is
    reported as not differentiable instead of as a mismatch.

    Args:
        f: takes one ``Value`` per input and returns a ``Value`` (a real number counts as a
            constant). Its ``str()`` (e.g. an ``Expression``) or function name appears in errors.
        inputs: the point, one real number per argument of ``f``.
        eps: the central-difference step.
        atol: absolute tolerance.
        rtol: tolerance relative to the numeric gradient.
        raise_exception: raise on failure (default); if false, return ``False`` instead.

    Returns:
        ``True`` when every input passes; ``False`` on failure if ``raise_exception`` is false.

    Raises:
        GradcheckError: a gradient mismatch; the message names each failing input and its value,
            the analytic and numeric gradients, and the expression when known.
        NotDifferentiableError: (a ``GradcheckError``) ``f`` is "not differentiable at" the
            point in some input, and no input has a mismatch.
        TypeError: ``f`` is not callable or returns neither a ``Value`` nor a number, or
            ``inputs`` are not real numbers.
        ValueError: a tolerance is out of range, an input is not finite, or ``f`` fails at a
            perturbed point (the point is within ``eps`` of the edge of its domain).

    Example:
        >>> gradcheck(lambda x: x.sin() * x, [0.3])
        True
    """
    who = "gradcheck"
    _check_callable(f, who)
    point = _as_point(inputs, who)
    tolerances = (
        _check_tolerance(eps, "eps", who, positive=True),
        _check_tolerance(atol, "atol", who, positive=False),
        _check_tolerance(rtol, "rtol", who, positive=False),
    )
    lines, only_kinks = _failures(f, point, tolerances, who)
    return _report(lines, only_kinks, _header(who, _describe(f), point), raise_exception)


class _Partial:
    """x -> d f / d x_i at x, as a differentiable graph (for the second-order check)."""

    def __init__(self, f: Callable[..., Any], i: int, description: str) -> None:
        self.f, self.i, self.description = f, i, description

    def __call__(self, *xs: Value) -> Value | float:
        out = self.f(*xs)
        if not isinstance(out, Value):
            _output_data(out, "gradgradcheck")
            return 0.0
        return grad(out, [xs[self.i]], create_graph=True)[0]

    def __str__(self) -> str:
        return f"d/dx{self.i} of {self.description or 'f'}"


def gradgradcheck(
    f: Callable[..., Any],
    inputs: Sequence[float],
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Check second derivatives: :func:`gradcheck` of each d f/d x_i built with ``create_graph``.

    For every input ``i`` the first derivative ``grad(f(*xs), [xs[i]], create_graph=True)[0]``
    is itself gradchecked, so the whole Hessian is compared with central differences of the
    first derivatives. A user op whose derivative cuts the graph (``math`` or ``.data`` on an
    input) or is wrong fails here. Arguments, returns and errors are those of :func:`gradcheck`;
    the messages name the derivative checked (``d/dx0 of ...``).

    Example:
        >>> gradgradcheck(lambda x, y: (x * y).tanh(), [0.5, -1.0])
        True
    """
    who = "gradgradcheck"
    _check_callable(f, who)
    point = _as_point(inputs, who)
    tolerances = (
        _check_tolerance(eps, "eps", who, positive=True),
        _check_tolerance(atol, "atol", who, positive=False),
        _check_tolerance(rtol, "rtol", who, positive=False),
    )
    description = _describe(f)
    all_lines: list[str] = []
    all_kinks = True
    for i in range(len(point)):
        partial = _Partial(f, i, description)
        lines, only_kinks = _failures(partial, point, tolerances, who)
        all_lines += [f"{partial}: {line}" for line in lines]
        all_kinks = all_kinks and only_kinks
    header = _header(f"{who} (second derivatives)", description, point)
    return _report(all_lines, all_kinks, header, raise_exception)
