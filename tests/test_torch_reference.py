"""Side by side with PyTorch (float64): micrograd's README expressions, random expressions and
every row of the op table, at first and second order."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
from conftest import require_module

from microgradnet import Value, grad
from microgradnet.engine import backward_order
from microgradnet.ops import BUILTIN_OPS

torch = require_module("torch")

TOL = 1e-10


def check_against_torch(
    fn: Callable[..., Any],
    inputs: list[float],
    order: int = 1,
    torch_fn: Callable[..., Any] | None = None,
) -> None:
    """Run ``fn`` on Values and on float64 tensors (``torch_fn`` on the tensors, if given);
    compare the value and the gradients (and the second derivatives with ``order=2``)."""
    ours = [Value(x) for x in inputs]
    theirs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in inputs]
    out, ref = fn(*ours), (torch_fn or fn)(*theirs)
    assert out.data == pytest.approx(ref.item(), rel=TOL, abs=TOL)
    got = grad(out, ours, create_graph=order > 1)
    want = torch.autograd.grad(ref, theirs, create_graph=order > 1, allow_unused=True)
    want = [w if w is not None else torch.zeros((), dtype=torch.float64) for w in want]
    for g, w in zip(got, want, strict=True):
        assert g.data == pytest.approx(w.item(), rel=TOL, abs=TOL)
    if order > 1:
        for g, w in zip(got, want, strict=True):
            if not w.requires_grad:  # constant gradient: second derivatives are zero
                second_ref = [0.0] * len(inputs)
            else:
                second_ref = [
                    0.0 if s is None else s.item()
                    for s in torch.autograd.grad(w, theirs, allow_unused=True, retain_graph=True)
                ]
            for s, r in zip(grad(g, ours), second_ref, strict=True):
                assert s.data == pytest.approx(r, rel=1e-9, abs=1e-9)


def _sanity_check(x: Any) -> Any:
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    return h + q + q * x


def _more_ops(a: Any, b: Any) -> Any:
    c = a + b
    d = a * b + b**3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + (b + a).relu()
    d = d + 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    return g + 10.0 / f


def test_micrograd_sanity_check() -> None:
    check_against_torch(_sanity_check, [-4.0])


def test_micrograd_more_ops() -> None:
    check_against_torch(_more_ops, [-4.0, 2.0])


# ----- random expressions, built identically on Values and tensors -----
UNARY: list[Callable[[Any], Any]] = [
    lambda x: x.tanh(),
    lambda x: x.sigmoid(),
    lambda x: x.exp().tanh(),
    lambda x: (x * x + 1).log(),
    lambda x: (x * x + 0.5).sqrt(),
    lambda x: x.sin(),
    lambda x: x.cos(),
    lambda x: -x,
    lambda x: x**3,
    lambda x: 1.5 ** x.tanh(),
    lambda x: abs(x) + x,
    lambda x: x.relu() + 0.1 * x,
]
BINARY: list[Callable[[Any, Any], Any]] = [
    lambda x, y: x + y,
    lambda x, y: x - y,
    lambda x, y: x * y,
    lambda x, y: x / (y * y + 1),
    lambda x, y: (x * x + 1) ** y.tanh(),
    lambda x, y: 2.0 - x * 0.5 + y,
]


def _random_expression(seed: int, n_inputs: int) -> Callable[..., Any]:
    rng = random.Random(seed)
    steps = []
    for _ in range(rng.randint(3, 12)):
        if rng.random() < 0.5:
            steps.append((rng.choice(UNARY), (rng.randrange(n_inputs + len(steps)),)))
        else:
            pool = n_inputs + len(steps)
            steps.append((rng.choice(BINARY), (rng.randrange(pool), rng.randrange(pool))))

    def fn(*inputs: Any) -> Any:
        nodes = list(inputs)
        for op, args in steps:
            nodes.append(op(*(nodes[i] for i in args)))
        return nodes[-1]

    return fn


@pytest.mark.parametrize("seed", range(40))
def test_random_expressions_match_torch(seed: int) -> None:
    rng = random.Random(1000 + seed)
    inputs = [rng.uniform(-2.0, 2.0) for _ in range(3)]
    # relu and abs kinks are avoided: inputs near 0 are nudged away.
    inputs = [x if abs(x) > 0.05 else 0.5 for x in inputs]
    check_against_torch(_random_expression(seed, 3), inputs, order=2 if seed % 2 else 1)


# ----- every row: one function on Values and the same with torch's own function -----
F = torch.nn.functional
ROWS: dict[str, tuple[Callable[..., Any], Callable[..., Any], list[list[float]]]] = {
    "add": (lambda x, y: x + y, lambda x, y: x + y, [[1.5, -2.0]]),
    "sub": (lambda x, y: x - y, lambda x, y: x - y, [[1.5, -2.0]]),
    "mul": (lambda x, y: x * y, lambda x, y: x * y, [[1.5, -2.0]]),
    "div": (lambda x, y: x / y, lambda x, y: x / y, [[1.5, -2.0], [3.0, 0.5]]),
    "pow": (lambda x, y: x**y, lambda x, y: x**y, [[1.5, 2.5], [0.7, -1.3]]),
    "neg": (lambda x: -x, lambda x: -x, [[1.5]]),
    "pow_const": (lambda x: x**3, lambda x: x**3, [[1.5], [-2.0]]),
    "rpow": (lambda x: 2.5**x, lambda x: 2.5**x, [[1.5], [-2.0]]),
    "exp": (lambda x: x.exp(), torch.exp, [[0.5], [-3.0]]),
    "log": (lambda x: x.log(), torch.log, [[0.5], [7.0]]),
    "sqrt": (lambda x: x.sqrt(), torch.sqrt, [[0.5], [9.0]]),
    "sin": (lambda x: x.sin(), torch.sin, [[0.5], [-2.0]]),
    "cos": (lambda x: x.cos(), torch.cos, [[0.5], [-2.0]]),
    "abs": (lambda x: abs(x) * x, lambda x: abs(x) * x, [[1.5], [-2.0]]),
    "tanh": (lambda x: x.tanh(), torch.tanh, [[0.5], [-2.0]]),
    "sigmoid": (lambda x: x.sigmoid(), torch.sigmoid, [[0.5], [-2.0]]),
    "softplus": (lambda x: x.softplus(), F.softplus, [[0.5], [-2.0]]),
    "relu": (lambda x: (x * x).relu() + x.relu(), lambda x: F.relu(x * x) + F.relu(x), [[1.5]]),
    "leaky_relu": (
        lambda x: (x * x * x).leaky_relu(0.1),
        lambda x: F.leaky_relu(x**3, 0.1),
        [[1.5], [-2.0]],
    ),
    "sum": (
        lambda a, b, c: Value.sum([a, b * b, c]),
        lambda a, b, c: torch.stack([a, b * b, c]).sum(),
        [[1.0, -2.0, 0.5]],
    ),
    "max": (
        lambda a, b, c: Value.max([a, b * b, c]),
        lambda a, b, c: torch.stack([a, b * b, c]).max(),
        [[1.0, -2.0, 0.5], [3.0, 1.0, -1.0]],
    ),
    "dot": (
        lambda w0, w1, x0, x1, b: Value.dot([w0 * w0, w1], [x0, x1 * w1], b),
        lambda w0, w1, x0, x1, b: w0 * w0 * x0 + w1 * (x1 * w1) + b,
        [[0.5, -1.5, 2.0, 0.25, 0.1]],
    ),
    "sign": (lambda x: x.sign() * x, lambda x: torch.sign(x) * x, [[1.5], [-2.0]]),
    "tan": (lambda x: x.tan(), torch.tan, [[0.5], [-1.2]]),
    "sinh": (lambda x: x.sinh(), torch.sinh, [[0.5], [-2.0]]),
    "cosh": (lambda x: x.cosh(), torch.cosh, [[0.5], [-2.0]]),
    "arcsin": (lambda x: x.arcsin(), torch.asin, [[0.5], [-0.9]]),
    "arccos": (lambda x: x.arccos(), torch.acos, [[0.5], [-0.9]]),
    "arctan": (lambda x: x.arctan(), torch.atan, [[0.5], [-7.0]]),
    "arctan2": (Value.arctan2, torch.atan2, [[1.0, -2.0], [-0.5, 0.3], [2.0, 1.5]]),
    "hypot": (Value.hypot, torch.hypot, [[3.0, -4.0], [0.5, 1.2]]),
    "log1p": (lambda x: x.log1p(), torch.log1p, [[0.5], [-0.9], [1e-9]]),
    "expm1": (lambda x: x.expm1(), torch.expm1, [[0.5], [-2.0], [1e-9]]),
    "log2": (lambda x: x.log2(), torch.log2, [[0.5], [8.0]]),
    "log10": (lambda x: x.log10(), torch.log10, [[0.5], [100.0]]),
    "exp2": (lambda x: x.exp2(), torch.exp2, [[0.5], [-3.0]]),
    "erf": (lambda x: x.erf(), torch.erf, [[0.5], [-1.5]]),
    "gelu": (lambda x: x.gelu(), F.gelu, [[0.5], [-1.5], [3.0]]),
    "gelu_tanh": (
        lambda x: x.gelu(approximate="tanh"),
        lambda x: F.gelu(x, approximate="tanh"),
        [[0.5], [-1.5], [3.0]],
    ),
    "silu": (lambda x: x.silu(), F.silu, [[0.5], [-2.0], [30.0]]),
    "elu": (lambda x: x.elu(0.5), lambda x: F.elu(x, alpha=0.5), [[1.5], [-2.0]]),
    "softsign": (lambda x: x.softsign(), F.softsign, [[1.5], [-2.0]]),
    "clamp": (
        lambda x, lo, hi: (x * x).clamp(lo, hi),
        lambda x, lo, hi: torch.clamp(x * x, lo, hi),
        [[0.5, -1.0, 1.0], [2.0, -1.0, 1.5], [0.5, 0.5, -1.0], [1.5, 0.5, 3.0]],
    ),
    "hardtanh": (
        lambda x: (x * x).hardtanh(-0.5, 2.0),
        lambda x: F.hardtanh(x * x, -0.5, 2.0),
        [[0.5], [2.0], [-1.0]],
    ),
    "min": (
        lambda a, b, c: Value.min([a, b * b, c]),
        lambda a, b, c: torch.stack([a, b * b, c]).min(),
        [[1.0, -2.0, 0.5], [3.0, 1.0, -1.0]],
    ),
}


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", ROWS)
def test_every_row_matches_torch_at_both_orders(name: str, order: int) -> None:
    ours, theirs, points = ROWS[name]
    for point in points:
        xs = [Value(x) for x in point]
        assert name in {node.op for node in backward_order(ours(*xs))}
        check_against_torch(ours, point, order=order, torch_fn=theirs)


def test_every_row_has_a_torch_case() -> None:
    assert {op.name for op in BUILTIN_OPS} == set(ROWS)
