"""gradcheck, gradgradcheck and numerical_grad: they pass on correct gradients and fail, with the
documented message, on wrong ones (a checker that cannot fail proves nothing).

References are independent of the engine: closed forms written here with ``math``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import pytest

from microgradnet import Value, define_op
from microgradnet.engine import backward_order
from microgradnet.gradcheck import (
    GradcheckError,
    NotDifferentiableError,
    gradcheck,
    gradgradcheck,
    numerical_grad,
)
from microgradnet.ops import BUILTIN_OPS, cos, data_of

# One function per built-in op, with points inside its domain and away from kinks.
OP_CASES: dict[str, tuple[Callable[..., Value], list[tuple[float, ...]]]] = {
    "add": (lambda x, y: x + y, [(1.5, -2.0)]),
    "sub": (lambda x, y: x - y, [(1.5, -2.0)]),
    "mul": (lambda x, y: x * y, [(1.5, -2.0), (0.3, 0.7)]),
    "div": (lambda x, y: x / y, [(1.5, -2.0), (3.0, 0.5)]),
    "pow": (lambda x, y: x**y, [(1.5, 2.5), (0.7, -1.3)]),
    "neg": (lambda x: -x, [(1.5,)]),
    "pow_const": (lambda x: x**3, [(1.5,), (-2.0,)]),
    "rpow": (lambda x: 2.5**x, [(1.5,), (-2.0,)]),
    "exp": (lambda x: x.exp(), [(0.5,), (-3.0,)]),
    "log": (lambda x: x.log(), [(0.5,), (7.0,)]),
    "sqrt": (lambda x: x.sqrt(), [(0.5,), (9.0,)]),
    "sin": (lambda x: x.sin(), [(0.5,), (-2.0,)]),
    "cos": (lambda x: x.cos(), [(0.5,), (-2.0,)]),
    "abs": (lambda x: abs(x), [(1.5,), (-2.0,)]),
    "tanh": (lambda x: x.tanh(), [(0.5,), (-2.0,)]),
    "sigmoid": (lambda x: x.sigmoid(), [(0.5,), (-2.0,)]),
    "softplus": (lambda x: x.softplus(), [(0.5,), (-2.0,)]),
    "relu": (lambda x: x.relu(), [(1.5,), (-2.0,)]),
    "leaky_relu": (lambda x: x.leaky_relu(0.1), [(1.5,), (-2.0,)]),
    "sign": (lambda x: x.sign() * x, [(1.5,), (-2.0,)]),
    "tan": (lambda x: x.tan(), [(0.5,), (-1.2,)]),
    "sinh": (lambda x: x.sinh(), [(0.5,), (-2.0,)]),
    "cosh": (lambda x: x.cosh(), [(0.5,), (-2.0,)]),
    "arcsin": (lambda x: x.arcsin(), [(0.5,), (-0.9,)]),
    "arccos": (lambda x: x.arccos(), [(0.5,), (-0.9,)]),
    "arctan": (lambda x: x.arctan(), [(0.5,), (-7.0,)]),
    "arctan2": (lambda y, x: Value.arctan2(y, x), [(1.0, -2.0), (-0.5, 0.3)]),
    "hypot": (lambda x, y: Value.hypot(x, y), [(3.0, -4.0), (0.5, 1.2)]),
    "log1p": (lambda x: x.log1p(), [(0.5,), (-0.9,)]),
    "expm1": (lambda x: x.expm1(), [(0.5,), (-2.0,)]),
    "log2": (lambda x: x.log2(), [(0.5,), (8.0,)]),
    "log10": (lambda x: x.log10(), [(0.5,), (100.0,)]),
    "exp2": (lambda x: x.exp2(), [(0.5,), (-3.0,)]),
    "erf": (lambda x: x.erf(), [(0.5,), (-1.5,)]),
    "gelu": (lambda x: x.gelu(), [(0.5,), (-1.5,)]),
    "gelu_tanh": (lambda x: x.gelu(approximate="tanh"), [(0.5,), (-1.5,)]),
    "silu": (lambda x: x.silu(), [(0.5,), (-2.0,)]),
    "elu": (lambda x: x.elu(0.5), [(1.5,), (-2.0,)]),
    "softsign": (lambda x: x.softsign(), [(1.5,), (-2.0,)]),
    "clamp": (lambda x, lo, hi: (x * x).clamp(lo, hi), [(0.5, -1.0, 1.0), (2.0, -1.0, 1.5)]),
    "hardtanh": (lambda x, lo, hi: x.hardtanh(lo, hi * hi), [(0.5, -1.0, 1.0), (-2.0, -1.0, 1.0)]),
    "sum": (lambda a, b, c: Value.sum([a, b * b, c]), [(1.0, -2.0, 0.5)]),
    "max": (lambda a, b, c: Value.max([a, b * b, c]), [(1.0, -2.0, 0.5), (3.0, 1.0, -1.0)]),
    "min": (lambda a, b, c: Value.min([a, b * b, c]), [(1.0, -2.0, 0.5), (3.0, 1.0, -1.0)]),
    "dot": (
        lambda w0, w1, x0, x1, b: Value.dot([w0, w1], [x0, x1], b),
        [(0.5, -1.5, 2.0, 0.25, 0.1)],
    ),
}


def test_every_builtin_op_has_a_case() -> None:
    assert {op.name for op in BUILTIN_OPS} == set(OP_CASES)


@pytest.mark.parametrize("op", BUILTIN_OPS, ids=lambda op: op.name)
def test_builtin_ops_pass_first_and_second_order(op: object) -> None:
    fn, points = OP_CASES[op.name]  # type: ignore[attr-defined]
    for point in points:
        out = fn(*[Value(x) for x in point])
        assert op.name in {node.op for node in backward_order(out)}  # type: ignore[attr-defined]
        assert gradcheck(fn, point) is True
        assert gradgradcheck(fn, point) is True


# ----- planted bugs -----
@define_op(derivative=lambda x, out: 1 - out)  # wrong: d tanh/dx = 1 - out**2
def tanh_wrong_derivative(x: float) -> float:
    return math.tanh(x)


@define_op(derivative=lambda x, out: math.cos(x))  # right value, but cuts the graph
def sin_cut_graph(x: float) -> float:
    return math.sin(x)


@define_op(derivative=lambda x, out: 3 * x * x)
def cube(x: float) -> float:
    return x**3


@define_op(derivative=lambda x, y, out: (y, x + y))  # wrong in y: d(xy)/dy = x
def product_wrong_in_y(x: float, y: float) -> float:
    return x * y


@define_op(derivative=lambda x, out: cos(x))
def sin_right(x: float) -> float:
    return math.sin(x)


def _number(message: str, name: str) -> float:
    match = re.search(rf"{name}=(-?[0-9.e+-]+)", message)
    assert match is not None, message
    return float(match.group(1))


def test_wrong_first_derivative_fails_with_the_documented_message() -> None:
    x = 0.5
    assert gradcheck(lambda v: v.tanh(), [x])
    with pytest.raises(GradcheckError) as info:
        gradcheck(tanh_wrong_derivative, [x])
    assert not isinstance(info.value, NotDifferentiableError)
    assert isinstance(info.value, AssertionError)
    message = str(info.value)
    assert "tanh_wrong_derivative" in message
    assert "input 0 (x0=0.5)" in message
    assert "gradient mismatch" in message
    assert _number(message, "analytic") == pytest.approx(1 - math.tanh(x), rel=1e-12)
    assert _number(message, "numeric") == pytest.approx(1 - math.tanh(x) ** 2, rel=1e-6)


def test_mismatch_names_only_the_failing_input() -> None:
    with pytest.raises(GradcheckError) as info:
        gradcheck(product_wrong_in_y, [2.0, -3.0])
    message = str(info.value)
    assert "input 1 (x1=-3.0)" in message
    assert "input 0" not in message
    assert _number(message, "analytic") == pytest.approx(2.0 + -3.0)
    assert _number(message, "numeric") == pytest.approx(2.0, rel=1e-6)


def test_raise_exception_false_returns_false() -> None:
    assert gradcheck(tanh_wrong_derivative, [0.5], raise_exception=False) is False
    assert gradcheck(lambda v: v.relu(), [0.0], raise_exception=False) is False
    assert gradgradcheck(sin_cut_graph, [0.5], raise_exception=False) is False
    assert gradcheck(lambda v: v.tanh(), [0.5], raise_exception=False) is True


def test_second_derivative_cut_from_the_graph_fails_at_second_order_only() -> None:
    x = 0.5
    assert gradcheck(sin_cut_graph, [x])
    with pytest.raises(GradcheckError) as info:
        gradgradcheck(sin_cut_graph, [x])
    message = str(info.value)
    assert "d/dx0 of sin_cut_graph" in message
    assert "input 0 (x0=0.5)" in message
    assert _number(message, "analytic") == 0.0
    assert _number(message, "numeric") == pytest.approx(-math.sin(x), rel=1e-5)


# d/dx x**2 = 2x as a value, but half of it is a constant: the second derivative comes out 1.
@define_op(derivative=lambda x, out: x + data_of(x))
def square_half_cut(x: float) -> float:
    return x * x


def test_wrong_second_derivative_fails_at_second_order() -> None:
    assert gradcheck(square_half_cut, [1.5])
    with pytest.raises(GradcheckError) as info:
        gradgradcheck(square_half_cut, [1.5])
    message = str(info.value)
    assert "d/dx0 of square_half_cut" in message
    assert _number(message, "analytic") == 1.0
    assert _number(message, "numeric") == pytest.approx(2.0, rel=1e-6)


def test_correct_user_ops_pass_both_orders() -> None:
    for point in ([0.3], [-1.7], [2.5]):
        assert gradcheck(cube, point) and gradgradcheck(cube, point)
        assert gradcheck(sin_right, point) and gradgradcheck(sin_right, point)


# ----- kinks -----
@pytest.mark.parametrize(
    ("fn", "point"),
    [
        (lambda x: x.relu(), [0.0]),
        (lambda x: abs(x), [0.0]),  # the central difference happens to equal the analytic 0
        (lambda x: x.leaky_relu(0.1), [0.0]),
        (lambda x: x.relu(), [3e-7]),  # a kink within eps of the point
        (lambda x, y: (x - y).relu() + y, [1.25, 1.25]),  # max(x, y) at x == y
    ],
)
def test_kinks_are_reported_as_not_differentiable(fn: Callable[..., Value], point: list) -> None:
    with pytest.raises(NotDifferentiableError, match="not differentiable at x0="):
        gradcheck(fn, point)


def test_smooth_functions_with_large_curvature_are_not_kinks() -> None:
    # f'' * eps is far above atol here, yet the function is smooth: the one-sided differences
    # disagree by f'' * eps, which shrinks with the step, unlike a kink's jump.
    assert gradcheck(lambda x: (100 * x).sin(), [math.pi / 200])
    assert gradcheck(lambda x: (3 * x).exp(), [2.5])
    assert gradcheck(lambda x: 1 / x, [0.05])
    assert gradcheck(lambda x, y: (x * y * 30).cos() * x.exp(), [0.7, 1.1])


def test_domain_edge_is_reported_clearly() -> None:
    with pytest.raises(ValueError, match=r"edge of f's domain") as info:
        gradcheck(lambda x: x.log(), [1e-7])
    assert "x0=" in str(info.value)
    assert "log" in str(info.value)


def test_error_at_the_point_itself_is_f_s_own() -> None:
    with pytest.raises(ValueError, match="log: undefined"):
        gradcheck(lambda x: x.log(), [-1.0])


# ----- numerical_grad, descriptions, arguments -----
def test_numerical_grad_matches_closed_form() -> None:
    x, y = 0.7, -1.3
    got = numerical_grad(lambda a, b: a * b + a.sin() + (b * b).exp(), [x, y])
    want = [y + math.cos(x), x + 2 * y * math.exp(y * y)]
    assert got == pytest.approx(want, rel=1e-7)
    assert numerical_grad(lambda a: a**2, [3.0], eps=1e-3) == pytest.approx([6.0], rel=1e-9)


def test_constant_and_unused_inputs_pass() -> None:
    assert gradcheck(lambda x, y: 2.0, [1.0, 2.0])
    assert gradcheck(lambda x, y: x * 3, [1.0, 2.0])
    assert gradgradcheck(lambda x, y: x * 3, [1.0, 2.0])


def test_message_names_the_expression_from_str() -> None:
    class Named:
        def __call__(self, x: Value) -> Value:
            return tanh_wrong_derivative(x)

        def __str__(self) -> str:
            return "tanh(x0) spelled out"

    with pytest.raises(GradcheckError, match=r"for tanh\(x0\) spelled out at x0=0.5"):
        gradcheck(Named(), [0.5])


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: gradcheck(42, [1.0]), TypeError, "callable"),
        (lambda: gradcheck(lambda x: x, 1.0), TypeError, "sequence of real numbers"),
        (lambda: gradcheck(lambda x: x, ["a"]), TypeError, r"inputs\[0\]"),
        (lambda: gradcheck(lambda x: x, []), ValueError, "empty"),
        (lambda: gradcheck(lambda x: x, [math.nan]), ValueError, "finite"),
        (lambda: gradcheck(lambda x: x, [1.0], eps=0.0), ValueError, "eps"),
        (lambda: gradcheck(lambda x: x, [1.0], atol=-1.0), ValueError, "atol"),
        (lambda: gradcheck(lambda x: x, [1.0], rtol="big"), TypeError, "rtol"),
        (lambda: gradcheck(lambda x: [x], [1.0]), TypeError, "must return a Value"),
        (lambda: gradgradcheck(lambda x: "x", [1.0]), TypeError, "must return a Value"),
        (lambda: numerical_grad(lambda x: x, [1.0], eps=-1.0), ValueError, "eps"),
    ],
)
def test_bad_arguments_are_refused(call: Callable[[], object], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        call()
