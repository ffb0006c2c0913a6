"""Every row of the op table against independent references.

One parametrised test per property, over every built-in op: the forward value and first
derivatives against a closed form written here with ``math``; first and second derivatives
against central differences of the forward pass; and each op's domain errors. A new row of
``ops.BUILTIN_OPS`` fails ``test_every_op_has_a_case`` until it gets a case here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from microgradnet import Value, grad
from microgradnet.engine import backward_order
from microgradnet.ops import BUILTIN_OPS

H1 = 1e-6  # step for first-order central differences
H2 = 1e-4  # step for second-order central differences
TOL1 = 1e-6
TOL2 = 1e-4


@dataclass
class OpCase:
    name: str
    build: Callable[..., Value]  # Values in, the op's node out
    closed_form: Callable[..., float]  # floats in, the value (math)
    partials: Callable[..., tuple[float, ...]]  # floats in, closed-form first derivatives
    points: list[tuple[float, ...]]
    domain_errors: list[tuple[tuple[float, ...], type[Exception]]] = field(default_factory=list)


def _sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _pdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


# gelu's tanh approximation: 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x**3)
_B, _K = math.sqrt(2.0 / math.pi), 0.044715


def _gelu_tanh(x: float) -> float:
    return 0.5 * x * (1.0 + math.tanh(_B * (x + _K * x**3)))


def _d_gelu_tanh(x: float) -> float:
    t = math.tanh(_B * (x + _K * x**3))
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * _B * (1.0 + 3.0 * _K * x * x)


def _clamped(x: float, lo: float, hi: float) -> tuple[float, float, float]:
    # which of x, lo, hi is the result (points are chosen away from ties)
    return (1.0, 0.0, 0.0) if lo < x < hi else (0.0, 1.0, 0.0) if x <= lo else (0.0, 0.0, 1.0)


CASES = [
    OpCase("add", lambda x, y: x + y, lambda x, y: x + y, lambda x, y: (1.0, 1.0),
           [(1.5, -2.0), (0.0, 3.0)]),
    OpCase("sub", lambda x, y: x - y, lambda x, y: x - y, lambda x, y: (1.0, -1.0),
           [(1.5, -2.0), (-4.0, 0.25)]),
    OpCase("mul", lambda x, y: x * y, lambda x, y: x * y, lambda x, y: (y, x),
           [(1.5, -2.0), (0.3, 0.7)]),
    OpCase("div", lambda x, y: x / y, lambda x, y: x / y, lambda x, y: (1 / y, -x / y**2),
           [(1.5, -2.0), (3.0, 0.5)], [((1.0, 0.0), ZeroDivisionError)]),
    OpCase("pow", lambda x, y: x**y, lambda x, y: x**y,
           lambda x, y: (y * x ** (y - 1), x**y * math.log(x)),
           [(1.5, 2.5), (0.7, -1.3), (2.0, 3.0)],
           [((0.0, -1.0), ZeroDivisionError), ((-2.0, 0.5), ValueError),
            ((1e10, 1e10), OverflowError)]),
    OpCase("neg", lambda x: -x, lambda x: -x, lambda x: (-1.0,), [(1.5,), (-0.2,)]),
    OpCase("pow_const", lambda x: x**3, lambda x: x**3, lambda x: (3 * x**2,),
           [(1.5,), (-2.0,), (0.1,)]),
    OpCase("rpow", lambda x: 2.5**x, lambda x: 2.5**x, lambda x: (2.5**x * math.log(2.5),),
           [(1.5,), (-2.0,)], [((1e6,), OverflowError)]),
    OpCase("exp", lambda x: x.exp(), math.exp, lambda x: (math.exp(x),), [(0.5,), (-3.0,)],
           [((1000.0,), OverflowError)]),
    OpCase("log", lambda x: x.log(), math.log, lambda x: (1 / x,), [(0.5,), (7.0,)],
           [((0.0,), ValueError), ((-1.0,), ValueError)]),
    OpCase("sqrt", lambda x: x.sqrt(), math.sqrt, lambda x: (0.5 / math.sqrt(x),),
           [(0.5,), (9.0,)], [((-1.0,), ValueError)]),
    OpCase("sin", lambda x: x.sin(), math.sin, lambda x: (math.cos(x),), [(0.5,), (-2.0,)]),
    OpCase("cos", lambda x: x.cos(), math.cos, lambda x: (-math.sin(x),), [(0.5,), (-2.0,)]),
    OpCase("abs", lambda x: abs(x), abs, lambda x: (math.copysign(1.0, x),), [(1.5,), (-2.0,)]),
    OpCase("tanh", lambda x: x.tanh(), math.tanh, lambda x: (1 - math.tanh(x) ** 2,),
           [(0.5,), (-2.0,)]),
    OpCase("sigmoid", lambda x: x.sigmoid(), _sig, lambda x: (_sig(x) * (1 - _sig(x)),),
           [(0.5,), (-2.0,)]),
    OpCase("softplus", lambda x: x.softplus(), lambda x: math.log1p(math.exp(x)),
           lambda x: (_sig(x),), [(0.5,), (-2.0,), (30.0,)]),
    OpCase("relu", lambda x: x.relu(), lambda x: max(x, 0.0),
           lambda x: (1.0 if x > 0 else 0.0,), [(1.5,), (-2.0,)]),
    OpCase("leaky_relu", lambda x: x.leaky_relu(0.1), lambda x: x if x > 0 else 0.1 * x,
           lambda x: (1.0 if x > 0 else 0.1,), [(1.5,), (-2.0,)]),
    OpCase("sign", lambda x: x.sign(), lambda x: math.copysign(1.0, x), lambda x: (0.0,),
           [(1.5,), (-2.0,)]),
    OpCase("tan", lambda x: x.tan(), math.tan, lambda x: (1 / math.cos(x) ** 2,),
           [(0.5,), (-1.2,)], [((math.inf,), ValueError)]),
    OpCase("sinh", lambda x: x.sinh(), math.sinh, lambda x: (math.cosh(x),), [(0.5,), (-2.0,)],
           [((1000.0,), OverflowError)]),
    OpCase("cosh", lambda x: x.cosh(), math.cosh, lambda x: (math.sinh(x),), [(0.5,), (-2.0,)],
           [((-1000.0,), OverflowError)]),
    OpCase("arcsin", lambda x: x.arcsin(), math.asin, lambda x: (1 / math.sqrt(1 - x * x),),
           [(0.5,), (-0.9,)], [((1.5,), ValueError), ((-1.01,), ValueError)]),
    OpCase("arccos", lambda x: x.arccos(), math.acos, lambda x: (-1 / math.sqrt(1 - x * x),),
           [(0.5,), (-0.9,)], [((1.5,), ValueError)]),
    OpCase("arctan", lambda x: x.arctan(), math.atan, lambda x: (1 / (1 + x * x),),
           [(0.5,), (-7.0,)]),
    OpCase("arctan2", lambda y, x: Value.arctan2(y, x), math.atan2,
           lambda y, x: (x / (x * x + y * y), -y / (x * x + y * y)),
           [(1.0, -2.0), (-0.5, 0.3), (2.0, 1.5)]),
    OpCase("hypot", lambda x, y: Value.hypot(x, y), math.hypot,
           lambda x, y: (x / math.hypot(x, y), y / math.hypot(x, y)), [(3.0, -4.0), (0.5, 1.2)]),
    OpCase("log1p", lambda x: x.log1p(), math.log1p, lambda x: (1 / (1 + x),),
           [(0.5,), (-0.9,), (1e-9,)], [((-1.0,), ValueError), ((-2.0,), ValueError)]),
    OpCase("expm1", lambda x: x.expm1(), math.expm1, lambda x: (math.exp(x),),
           [(0.5,), (-2.0,), (1e-9,)], [((1000.0,), OverflowError)]),
    OpCase("log2", lambda x: x.log2(), math.log2, lambda x: (1 / (x * math.log(2)),),
           [(0.5,), (8.0,)], [((0.0,), ValueError), ((-1.0,), ValueError)]),
    OpCase("log10", lambda x: x.log10(), math.log10, lambda x: (1 / (x * math.log(10)),),
           [(0.5,), (100.0,)], [((-0.5,), ValueError)]),
    OpCase("exp2", lambda x: x.exp2(), lambda x: 2.0**x, lambda x: (2.0**x * math.log(2),),
           [(0.5,), (-3.0,)], [((2000.0,), OverflowError)]),
    OpCase("erf", lambda x: x.erf(), math.erf,
           lambda x: (2 / math.sqrt(math.pi) * math.exp(-x * x),), [(0.5,), (-1.5,)]),
    OpCase("gelu", lambda x: x.gelu(), lambda x: x * _cdf(x),
           lambda x: (_cdf(x) + x * _pdf(x),), [(0.5,), (-1.5,), (3.0,)]),
    OpCase("gelu_tanh", lambda x: x.gelu(approximate="tanh"), _gelu_tanh,
           lambda x: (_d_gelu_tanh(x),), [(0.5,), (-1.5,), (3.0,)]),
    OpCase("silu", lambda x: x.silu(), lambda x: x * _sig(x),
           lambda x: (_sig(x) * (1 + x * (1 - _sig(x))),), [(0.5,), (-2.0,)]),
    OpCase("elu", lambda x: x.elu(0.5), lambda x: x if x > 0 else 0.5 * math.expm1(x),
           lambda x: (1.0 if x > 0 else 0.5 * math.exp(x),), [(1.5,), (-2.0,)]),
    OpCase("softsign", lambda x: x.softsign(), lambda x: x / (1 + abs(x)),
           lambda x: (1 / (1 + abs(x)) ** 2,), [(1.5,), (-2.0,)]),
    OpCase("clamp", lambda x, lo, hi: x.clamp(lo, hi), lambda x, lo, hi: min(max(x, lo), hi),
           _clamped, [(0.5, -1.0, 1.0), (-2.0, -1.0, 1.0), (3.0, -1.0, 1.5)]),
    OpCase("hardtanh", lambda x, lo, hi: x.hardtanh(lo, hi), lambda x, lo, hi: min(max(x, lo), hi),
           _clamped, [(0.5, -1.0, 1.0), (-2.0, -1.0, 1.0), (3.0, -0.5, 2.0)]),
    OpCase("sum", lambda a, b, c: Value.sum([a, b, c]), lambda a, b, c: a + b + c,
           lambda a, b, c: (1.0, 1.0, 1.0), [(1.0, -2.0, 0.5)]),
    OpCase("max", lambda a, b, c: Value.max([a, b, c]), lambda a, b, c: max(a, b, c),
           lambda a, b, c: tuple(1.0 if v == max(a, b, c) else 0.0 for v in (a, b, c)),
           [(1.0, -2.0, 0.5), (-1.0, 3.0, 2.0)]),
    OpCase("min", lambda a, b, c: Value.min([a, b, c]), lambda a, b, c: min(a, b, c),
           lambda a, b, c: tuple(1.0 if v == min(a, b, c) else 0.0 for v in (a, b, c)),
           [(1.0, -2.0, 0.5), (-1.0, 3.0, 2.0)]),
    OpCase("dot", lambda w0, w1, x0, x1, b: Value.dot([w0, w1], [x0, x1], b),
           lambda w0, w1, x0, x1, b: w0 * x0 + w1 * x1 + b,
           lambda w0, w1, x0, x1, b: (x0, x1, w0, w1, 1.0), [(0.5, -1.5, 2.0, 0.25, 0.1)]),
]  # fmt: skip

CASE_IDS = [case.name for case in CASES]


def _forward(case: OpCase, point: tuple[float, ...]) -> float:
    return case.build(*[Value(x) for x in point]).data


def _close(a: float, b: float, tol: float) -> bool:
    return abs(a - b) <= tol * (1.0 + abs(b))


def test_every_op_has_a_case() -> None:
    assert {op.name for op in BUILTIN_OPS} == set(CASE_IDS)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_builds_its_own_op(case: OpCase) -> None:
    point = case.points[0]
    assert case.build(*[Value(x) for x in point]).op == case.name


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_forward_and_gradient_match_closed_form(case: OpCase) -> None:
    for point in case.points:
        inputs = [Value(x) for x in point]
        out = case.build(*inputs)
        assert _close(out.data, case.closed_form(*point), 1e-12)
        out.backward()
        for x, expected in zip(inputs, case.partials(*point), strict=True):
            assert _close(x.grad, expected, 1e-12), (point, x.grad, expected)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_first_order_matches_central_differences(case: OpCase) -> None:
    for point in case.points:
        inputs = [Value(x) for x in point]
        analytic = grad(case.build(*inputs), inputs)
        for i in range(len(point)):
            up = list(point)
            down = list(point)
            up[i] += H1
            down[i] -= H1
            numeric = (_forward(case, tuple(up)) - _forward(case, tuple(down))) / (2 * H1)
            assert _close(analytic[i].data, numeric, TOL1), (point, i, analytic[i], numeric)


def _second_difference(case: OpCase, point: tuple[float, ...], i: int, j: int) -> float:
    def at(di: float, dj: float) -> float:
        shifted = list(point)
        shifted[i] += di
        shifted[j] += dj
        return _forward(case, tuple(shifted))

    if i == j:
        return (at(H2, 0) - 2 * at(0, 0) + at(-H2, 0)) / H2**2
    return (at(H2, H2) - at(H2, -H2) - at(-H2, H2) + at(-H2, -H2)) / (4 * H2**2)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_second_order_matches_central_differences(case: OpCase) -> None:
    for point in case.points:
        inputs = [Value(x) for x in point]
        first = grad(case.build(*inputs), inputs, create_graph=True)
        for i, g in enumerate(first):
            second = grad(g, inputs)
            for j in range(len(point)):
                numeric = _second_difference(case, point, i, j)
                assert _close(second[j].data, numeric, TOL2), (point, i, j, second[j], numeric)


@pytest.mark.parametrize("case", [c for c in CASES if c.domain_errors], ids=lambda c: c.name)
def test_domain_errors_name_the_op_and_value(case: OpCase) -> None:
    for point, error in case.domain_errors:
        with pytest.raises(error) as caught:
            case.build(*[Value(x) for x in point])
        message = str(caught.value)
        assert message.startswith(case.name.replace("_const", "")), message
        assert any(repr(float(x)) in message for x in point), message


# ----- the activations a network takes by name -----
NEW_ACTIVATIONS = {
    "gelu": lambda z: z * _cdf(z),
    "silu": lambda z: z * _sig(z),
    "elu": lambda z: z if z > 0 else math.expm1(z),
    "softsign": lambda z: z / (1 + abs(z)),
    "hardtanh": lambda z: min(max(z, -1.0), 1.0),
}


@pytest.mark.parametrize("name", NEW_ACTIVATIONS)
def test_activations_by_name_apply_their_rows(name: str) -> None:
    from microgradnet.nn import ACTIVATIONS, Activation, Neuron

    assert name in ACTIVATIONS
    neuron = Neuron(2, name, seed=0)
    neuron.w[0].data, neuron.w[1].data, neuron.b.data = 0.5, -1.5, 0.25
    for x in ([1.0, 2.0], [-2.0, -1.0], [0.5, 0.1]):
        z = 0.5 * x[0] - 1.5 * x[1] + 0.25
        out = neuron(x)
        assert out.data == pytest.approx(NEW_ACTIVATIONS[name](z), rel=1e-12)
        assert name in {node.op for node in backward_order(out)}
    assert [v.data for v in Activation(name)([0.3, -4.0])] == pytest.approx(
        [NEW_ACTIVATIONS[name](0.3), NEW_ACTIVATIONS[name](-4.0)], rel=1e-12
    )


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [("GELU", "GELU"), ("SiLU", "SiLU"), ("ELU", "ELU"), ("Softsign", "Softsign"),
     ("Hardtanh", "Hardtanh")],
)  # fmt: skip
def test_activation_modules_are_pytorch_s_with_its_defaults(ours: str, theirs: str) -> None:
    from conftest import require_module

    from microgradnet import _activations

    torch = require_module("torch")
    module = getattr(_activations, ours)()
    points = [-3.0, -1.0, -0.2, 0.3, 0.9, 2.5]
    xs = [Value(x) for x in points]
    outs = module([xs[:3], xs[3:]])  # nested lists, elementwise
    t = torch.tensor(points, dtype=torch.float64, requires_grad=True)
    want = getattr(torch.nn, theirs)()(t)
    want.sum().backward()
    flat = [*outs[0], *outs[1]]
    assert [v.data for v in flat] == pytest.approx(want.tolist(), rel=1e-12, abs=1e-15)
    Value.sum(flat).backward()
    assert [x.grad for x in xs] == pytest.approx(t.grad.tolist(), rel=1e-12, abs=1e-15)
    assert repr(module) == f"{ours}()"
