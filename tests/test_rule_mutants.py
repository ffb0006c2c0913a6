"""Every derivative rule of the op table, checked on its own against independent references.

Written to kill the mutants of ``benchmarks/mutation/mutate_rules.py``: a rule with a number or an
operator changed must fail here, fast, before any slower test runs. Each row's local derivatives
(``op.local_derivatives`` on floats, the one calling contract) are compared with central
differences of the row's own forward at points spread over every input's range, for every
constant argument the row lists; at a kink, where central differences have nothing to say, the
derivative must follow PyTorch's convention.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from microgradnet import ops
from microgradnet.ops import BUILTIN_OPS, VARIADIC, Op

EPS = 1e-6
_ROWS_WITHOUT_SYMPY_RULES: set[ops.Op] = set()
GRID = (-2.3, -1.1, -0.35, 0.6, 1.7, 2.9)
MARGIN = 0.1  # from a kink or a tie


def _place(input_range: ops.InputRange, g: float) -> float:
    """A grid value ``g`` moved into an input's range."""
    if input_range is None:
        return g
    if input_range == ops.MODERATE:
        return g / 3.0
    assert isinstance(input_range, tuple), input_range
    low, high = input_range
    if math.isinf(low) and math.isinf(high):
        return g
    if math.isinf(high):
        return low + 0.2 + abs(g)
    if math.isinf(low):
        return high - 0.2 - abs(g)
    return (low + high) / 2 + 0.45 * (high - low) * math.tanh(g)


def _args(op: Op) -> Sequence[Any]:
    if not op.const:
        return (None,)
    return op.arg_examples or (op.arg_default,)


def _points(op: Op, arg: Any) -> Iterator[list[float]]:
    """Points inside every input's range, away from kinks and ties, the inputs all different."""
    # five and seven inputs: dots with a bias and two or three weights, where indices that are
    # right for one or two weights (2 ** n for 2 * n, len & 2 for len % 2) go wrong
    for n in (op.arity,) if op.arity != VARIADIC else (3, 4, 5, 7):
        ranges = op.ranges(arg, n)
        for k in range(len(GRID)):
            xs = [
                _place(
                    ranges[i] if i < len(ranges) else None,
                    GRID[(k + 2 * i) % len(GRID)] + 0.15 * (i // 3),  # no two inputs alike
                )
                for i in range(n)
            ]
            if any(abs(xs[0] - kink) < MARGIN for kink in op.kinks):
                continue
            if op.ties_are_kinks and any(
                abs(a - b) < MARGIN for i, a in enumerate(xs) for b in xs[i + 1 :]
            ):
                continue
            yield xs


def _central_differences(op: Op, xs: list[float], arg: Any) -> list[float]:
    result = []
    for i in range(len(xs)):
        up, down = list(xs), list(xs)
        up[i] += EPS
        down[i] -= EPS
        result.append((op.evaluate(up, arg) - op.evaluate(down, arg)) / (2 * EPS))
    return result


def _cases() -> Iterator[Any]:
    for op in BUILTIN_OPS:
        for arg in _args(op):
            yield pytest.param(op, arg, id=op.name if arg is None else f"{op.name}-{arg}")


@pytest.mark.parametrize(("op", "arg"), list(_cases()))
def test_local_derivatives_match_central_differences(op: Op, arg: Any) -> None:
    checked = 0
    for xs in _points(op, arg):
        out = op.evaluate(xs, arg)
        local = op.local_derivatives(xs, out, arg)
        assert len(local) == len(xs), f"{op.name}: {len(local)} derivatives for {len(xs)} inputs"
        numeric = _central_differences(op, xs, arg)
        for i, (analytic, expected) in enumerate(zip(local, numeric, strict=True)):
            assert abs(float(analytic) - expected) <= 1e-6 + 1e-6 * abs(expected), (
                f"{op.name}(arg={arg}) at {xs}: d/dx{i} = {analytic}, central differences "
                f"give {expected}"
            )
        checked += 1
    assert checked >= 3, f"{op.name}: only {checked} points clear of kinks and ties"


# ----- on NumPy arrays (compiled mode): the same numbers, element by element -----
def _on_arrays(op: Op, points: list[list[float]], arg: Any) -> list[list[float]]:
    """The rule's local derivatives on arrays holding ``points`` (all of one length), read back
    point by point."""
    import numpy as np  # here, so that the float checks run first

    columns = [np.array(column) for column in zip(*points, strict=True)]
    out = op.evaluate(columns, arg)
    local = op.local_derivatives(columns, out, arg)
    return [[float(np.broadcast_to(d, out.shape)[j]) for d in local] for j in range(len(points))]


@pytest.mark.parametrize(("op", "arg"), list(_cases()))
def test_the_rules_on_arrays_match_central_differences(op: Op, arg: Any) -> None:
    by_length: dict[int, list[list[float]]] = {}
    for xs in _points(op, arg):
        by_length.setdefault(len(xs), []).append(xs)
    for points in by_length.values():
        for xs, local in zip(points, _on_arrays(op, points, arg), strict=True):
            numeric = _central_differences(op, xs, arg)
            for i, (analytic, expected) in enumerate(zip(local, numeric, strict=True)):
                assert abs(analytic - expected) <= 1e-6 + 1e-6 * abs(expected), (
                    f"{op.name}(arg={arg}) on arrays at {xs}: d/dx{i} = {analytic}, central "
                    f"differences give {expected}"
                )


# ----- on sympy expressions (reference forms): the same numbers where the symbols are put -----
# max and min are left out: on sympy symbols their rule's x == out compares the expressions'
# structure, not their values, and gives 0 for every input (ops.py needs an equality that
# makes a sympy Eq there).
_SYMPY_CASES = [case for case in _cases() if case.values[0] not in _ROWS_WITHOUT_SYMPY_RULES]


@pytest.mark.parametrize(("op", "arg"), _SYMPY_CASES)
def test_the_rules_on_sympy_symbols_match_central_differences(op: Op, arg: Any) -> None:
    import sympy as sp

    n_inputs = {len(xs) for xs in _points(op, arg)}
    for n in n_inputs:
        symbols = sp.symbols(f"x0:{n}", real=True)
        constant = None if arg is None else sp.Float(arg)
        local = op.local_derivatives(list(symbols), op.evaluate(list(symbols), constant), constant)
        for xs in (xs for xs in _points(op, arg) if len(xs) == n):
            at = dict(zip(symbols, xs, strict=True))
            numeric = _central_differences(op, xs, arg)
            for i, (form, expected) in enumerate(zip(local, numeric, strict=True)):
                analytic = float(sp.sympify(form).subs(at))
                assert abs(analytic - expected) <= 1e-6 + 1e-6 * abs(expected), (
                    f"{op.name}(arg={arg}) on sympy symbols at {xs}: d/dx{i} = {analytic}, "
                    f"central differences give {expected}"
                )


# ----- at ±inf: the derivative's limit -----
_UNARY = [
    pytest.param(op, arg, id=op.name if arg is None else f"{op.name}-{arg}")
    for op in BUILTIN_OPS
    if op.arity == 1
    for arg in _args(op)
]


def _slope(op: Op, x: float, arg: Any) -> float | None:
    try:
        return _central_differences(op, [x], arg)[0]
    except (ArithmeticError, ValueError):
        return None


@pytest.mark.parametrize(("op", "arg"), _UNARY)
def test_at_infinity_a_finite_derivative_is_the_limit_of_the_slope(op: Op, arg: Any) -> None:
    # Where a rule gives a number at ±inf (gelu's 1 at +inf, silu's 0 at -inf), it must be where
    # the slope of the forward goes: checked where central differences have settled by ±20.
    for x in (math.inf, -math.inf):
        try:
            (local,) = op.local_derivatives([x], op.evaluate([x], arg), arg)
        except (ArithmeticError, ValueError):
            continue  # no derivative there, and the rule says so
        near, far = _slope(op, math.copysign(20.0, x), arg), _slope(op, math.copysign(40.0, x), arg)
        if near is None or far is None or abs(near - far) > 1e-7 or not math.isfinite(local):
            continue  # the slope has not settled: no limit to compare with
        assert abs(float(local) - far) <= 1e-6, f"{op.name}(arg={arg}) at {x}: {local}, not {far}"


# ----- at a kink: PyTorch's convention -----
def _torch_twins() -> dict[str, Any]:
    """PyTorch's function for each row with kinks, called as ``fn(x, arg)``."""
    import torch  # here, so that the tests above run (and fail) without loading it

    functional = torch.nn.functional
    return {
        "relu": lambda x, arg: torch.relu(x),
        "abs": lambda x, arg: torch.abs(x),
        "sign": lambda x, arg: torch.sign(x),
        "leaky_relu": lambda x, arg: functional.leaky_relu(x, arg),
        "elu": lambda x, arg: functional.elu(x, arg),
        "softsign": lambda x, arg: functional.softsign(x),
    }


_WITH_A_TORCH_TWIN = {"abs", "elu", "leaky_relu", "relu", "sign", "softsign"}
_ROWS = {op.name: op for op in BUILTIN_OPS}


@pytest.mark.parametrize("name", sorted(_WITH_A_TORCH_TWIN & set(_ROWS)))
def test_the_derivative_at_a_kink_is_pytorchs(name: str) -> None:
    import torch

    op, torch_fn = _ROWS[name], _torch_twins()[name]
    for arg in _args(op):
        for kink in op.kinks:
            x = torch.tensor(kink, dtype=torch.float64, requires_grad=True)
            torch_fn(x, arg).backward()
            (local,) = op.local_derivatives([kink], op.evaluate([kink], arg), arg)
            assert float(local) == x.grad.item(), f"{name}(arg={arg}) at its kink {kink}"


_BOUNDS = [
    (-1.0, -1.0, 1.0),  # x at its lower bound
    (1.0, -1.0, 1.0),  # at its upper bound
    (0.0, -1.0, 1.0),
    (-2.0, -1.0, 1.0),
    (2.0, -1.0, 1.0),
    (0.5, 1.0, 1.0),  # an empty interval: the upper bound wins
    (1.0, 1.0, 1.0),
    (0.0, 1.0, -1.0),  # bounds the wrong way round
]


def test_clamp_at_and_beyond_its_bounds_is_pytorchs() -> None:
    import torch

    op = _ROWS["clamp"]
    for xs in _BOUNDS:
        tensors = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in xs]
        torch.clamp(*tensors).backward()
        expected = [0.0 if t.grad is None else t.grad.item() for t in tensors]
        local = [float(d) for d in op.local_derivatives(list(xs), op.evaluate(list(xs)))]
        assert local == expected, f"clamp{xs}: {local}, PyTorch {expected}"
        assert _on_arrays(op, [list(xs)], None) == [local], f"clamp{xs} on arrays"


def test_hardtanh_at_its_bounds_passes_what_pytorchs_passes_to_x() -> None:
    import torch

    op = _ROWS["hardtanh"]
    for x0, low, high in _BOUNDS[:5]:  # PyTorch's bounds are numbers: only x's derivative
        x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
        torch.nn.functional.hardtanh(x, low, high).backward()
        xs = [x0, low, high]
        local = float(op.local_derivatives(xs, op.evaluate(xs))[0])
        assert local == x.grad.item(), f"hardtanh{tuple(xs)}: d/dx {local}, PyTorch {x.grad}"


@pytest.mark.parametrize("name", ["clamp", "hardtanh"])
def test_with_its_bounds_the_wrong_way_round_the_upper_bound_takes_the_gradient(name: str) -> None:
    # clamp(x, low, high) with high < low is high, wherever x is (PyTorch's rule): away from a
    # tie with x, central differences say d/dhigh = 1 and 0 for the others.
    op = _ROWS[name]
    for xs in ([-2.0, 1.0, -1.0], [0.0, 1.0, -1.0], [2.0, 1.0, -1.0], [0.5, 2.5, 1.5]):
        local = [float(d) for d in op.local_derivatives(xs, op.evaluate(xs))]
        assert local == pytest.approx(_central_differences(op, xs, None), abs=1e-9), (
            f"{name}{tuple(xs)}: {local}"
        )
        assert local == [0.0, 0.0, 1.0], f"{name}{tuple(xs)}: {local}"
        assert _on_arrays(op, [xs], None) == [local], f"{name}{tuple(xs)} on arrays"


def _diagonal_slope(op: Op, xs: list[float]) -> float:
    # d/dt op(x + t, low + t, high + t) by central differences: a clamp moved with its bounds
    # moves as much, so this is 1 at a tie too, where no partial derivative exists.
    up, down = [x + EPS for x in xs], [x - EPS for x in xs]
    return float((op.evaluate(up) - op.evaluate(down)) / (2 * EPS))


_HARDTANH_TIES = [
    [-1.0, -1.0, 1.0],  # x at the lower end: the lower bound takes it
    [1.0, -1.0, 1.0],  # x at the upper end: the upper bound
    [0.5, 1.0, 1.0],  # low = high, below: the upper bound, as when high < low
    [1.5, 1.0, 1.0],
    [1.0, 1.0, 1.0],
    [1.0, 1.0, -1.0],  # x at a bound, the bounds the wrong way round
    [-1.0, 1.0, -1.0],
]


def test_hardtanh_at_a_tie_passes_the_gradient_to_one_bound_equal_to_its_output() -> None:
    # PyTorch's hardtanh gives x nothing at an end of (low, high), and its bounds are numbers:
    # the gradient goes to a bound. The rule's local derivatives are then one-hot (the row
    # says selects), on an input equal to the output, and sum to the slope along the diagonal.
    import torch

    op = _ROWS["hardtanh"]
    for xs in _HARDTANH_TIES:
        out = op.evaluate(xs)
        local = [float(d) for d in op.local_derivatives(xs, out)]
        assert sorted(local) == [0.0, 0.0, 1.0], f"hardtanh{tuple(xs)}: {local}"
        assert _on_arrays(op, [xs], None) == [local], f"hardtanh{tuple(xs)} on arrays"
        chosen = local.index(1.0)
        assert chosen > 0 and xs[chosen] == out, f"hardtanh{tuple(xs)}: input {chosen}"
        assert sum(local) == pytest.approx(_diagonal_slope(op, xs), abs=1e-9)
        if xs[1] < xs[2]:
            x = torch.tensor(xs[0], dtype=torch.float64, requires_grad=True)
            torch.nn.functional.hardtanh(x, xs[1], xs[2]).backward()
            assert local[0] == x.grad.item() == 0.0
        else:  # high <= low: the output is high, whatever x is (clamp's rule, PyTorch's)
            assert chosen == 2, f"hardtanh{tuple(xs)}: {local}"


# ----- at a tie: one input takes the gradient -----
_SELECTORS = [op for op in BUILTIN_OPS if op.selects and op.arity == VARIADIC]


@pytest.mark.parametrize("op", _SELECTORS, ids=[op.name for op in _SELECTORS])
def test_at_a_tie_a_selector_passes_the_gradient_to_exactly_one_input(op: Op) -> None:
    # max and min have no derivative where inputs tie; a one-hot vector is a subgradient there
    # (any convex combination of the tied inputs' one-hot vectors is), and it is what the row
    # promises (selects): one local derivative 1, every other exactly 0.
    for xs in ([1.0, 1.0], [2.0, 2.0, 2.0], [0.5, -1.0, 0.5], [-1.0, 3.0, 3.0, -2.0]):
        local = [float(d) for d in op.local_derivatives(xs, op.evaluate(xs))]
        assert sorted(local) == [0.0] * (len(xs) - 1) + [1.0], f"{op.name}{tuple(xs)}: {local}"
        assert _on_arrays(op, [xs], None) == [local], f"{op.name}{tuple(xs)} on arrays"
        chosen = local.index(1.0)
        assert xs[chosen] == op.evaluate(xs), f"{op.name}{tuple(xs)}: input {chosen} is not it"


_WITH_A_NAN = ([1.0, math.nan, 2.0], [math.nan, 1.0], [3.0, -1.0, math.nan, 0.5])


@pytest.mark.parametrize("op", _SELECTORS, ids=[op.name for op in _SELECTORS])
def test_a_selector_passes_the_gradient_to_its_nan_input_as_pytorch_does(op: Op) -> None:
    import torch

    for xs in _WITH_A_NAN:
        t = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
        (t.max() if op.name == "max" else t.min()).backward()
        local = [float(d) for d in op.local_derivatives(xs, op.evaluate(xs))]
        assert local == t.grad.tolist(), f"{op.name}{tuple(xs)}: {local}, PyTorch {t.grad}"
        assert _on_arrays(op, [xs], None) == [local], f"{op.name}{tuple(xs)} on arrays"


def main() -> None:
    """Every check above without pytest, stopping at the first failure (an exception): the
    mutation script's first stage, where pytest's start-up would cost more than the checks."""
    for case in _cases():
        test_local_derivatives_match_central_differences(*case.values)
    for case in _UNARY:
        test_at_infinity_a_finite_derivative_is_the_limit_of_the_slope(*case.values)
    for case in _cases():
        test_the_rules_on_arrays_match_central_differences(*case.values)
    for case in _SYMPY_CASES:
        test_the_rules_on_sympy_symbols_match_central_differences(*case.values)
    for op in _SELECTORS:
        test_at_a_tie_a_selector_passes_the_gradient_to_exactly_one_input(op)
    for name in ("clamp", "hardtanh"):
        test_with_its_bounds_the_wrong_way_round_the_upper_bound_takes_the_gradient(name)
    for name in sorted(_WITH_A_TORCH_TWIN & set(_ROWS)):  # PyTorch is loaded last
        test_the_derivative_at_a_kink_is_pytorchs(name)
    test_clamp_at_and_beyond_its_bounds_is_pytorchs()
    test_hardtanh_at_its_bounds_passes_what_pytorchs_passes_to_x()
    test_hardtanh_at_a_tie_passes_the_gradient_to_one_bound_equal_to_its_output()
    for op in _SELECTORS:
        test_a_selector_passes_the_gradient_to_its_nan_input_as_pytorch_does(op)


if __name__ == "__main__":
    main()
