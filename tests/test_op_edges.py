"""Every row of the op table at the edges of its domain, side by side with PyTorch (float64).

Each op is evaluated and differentiated at 0, -0.0, ±inf, NaN and the ends of its domain (each
input in turn, the other inputs at an ordinary value, plus the pairs that matter: ``0 ** 0``,
``arctan2(0, 0)``, ...). The rules, checked for every point:

1. Where PyTorch gives a number (finite or infinite, a signed zero included) we give the same,
   value and gradient: where the derivative is defined, it is given.
2. A NaN input gives what PyTorch gives: NaN propagates (``relu(nan)`` is NaN, ``max`` with a NaN
   is NaN wherever the NaN stands), and the gradient at a NaN is PyTorch's.
3. No silent NaN: where PyTorch gives NaN from inputs that are not NaN (``sin(inf)``,
   ``log(-1)``, ``inf / inf``, the derivative of ``hypot`` at the origin), we raise an error
   naming the op; or, listed in ``LIMITS``, we give the limit that PyTorch's NaN stands for
   (``gelu(-inf)`` is 0, where PyTorch computes ``-inf * 0``).
4. Where PyTorch gives an infinity at finite inputs, a value (``log(0)``, ``1 / 0``, an overflow)
   or a derivative (``sqrt`` at 0, ``arcsin`` at 1: an infinite slope), we raise: these are the
   documented domain errors.
5. ``RAISES`` and ``KEPT`` list, with the reason, where we differ on purpose otherwise.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import pytest
from conftest import require_module

from microgradnet import Value, grad
from microgradnet.ops import BUILTIN_OPS

torch = require_module("torch")
F = torch.nn.functional

inf, nan = math.inf, math.nan
EDGES = (0.0, -0.0, inf, -inf, nan)
Point = tuple[float, ...]

# name: (function on Values, the same on tensors, the points beyond the edges of each input)
Row = tuple[Callable[..., Any], Callable[..., Any], tuple[float, ...]]
UNARY: dict[str, Row] = {
    "neg": (lambda x: -x, lambda x: -x, ()),
    "pow_const 0": (lambda x: x**0, lambda x: x**0, (2.0, -2.0)),
    "pow_const 2": (lambda x: x**2, lambda x: x**2, (-2.0,)),
    "pow_const 0.5": (lambda x: x**0.5, lambda x: x**0.5, (-1.0,)),
    "pow_const -1": (lambda x: x**-1, lambda x: x**-1, ()),
    "pow_const 1": (lambda x: x**1, lambda x: x**1, ()),
    "rpow 2": (lambda x: 2.0**x, lambda x: 2.0**x, (1100.0,)),
    "rpow 0": (lambda x: 0.0**x, lambda x: 0.0**x, (2.0, -1.0)),
    "rpow -2": (lambda x: (-2.0) ** x, lambda x: (-2.0) ** x, (2.0, 0.5)),
    "exp": (lambda x: x.exp(), torch.exp, (1000.0,)),
    "log": (lambda x: x.log(), torch.log, (-1.0,)),
    "sqrt": (lambda x: x.sqrt(), torch.sqrt, (-1.0,)),
    "sin": (lambda x: x.sin(), torch.sin, ()),
    "cos": (lambda x: x.cos(), torch.cos, ()),
    "abs": (abs, abs, ()),
    "sign": (lambda x: x.sign(), torch.sign, ()),
    "tan": (lambda x: x.tan(), torch.tan, ()),
    "sinh": (lambda x: x.sinh(), torch.sinh, (1000.0,)),
    "cosh": (lambda x: x.cosh(), torch.cosh, (-1000.0,)),
    "arcsin": (lambda x: x.arcsin(), torch.asin, (1.0, -1.0, 1.5)),
    "arccos": (lambda x: x.arccos(), torch.acos, (1.0, -1.0, -1.5)),
    "arctan": (lambda x: x.arctan(), torch.atan, ()),
    "log1p": (lambda x: x.log1p(), torch.log1p, (-1.0, -2.0)),
    "expm1": (lambda x: x.expm1(), torch.expm1, (1000.0,)),
    "log2": (lambda x: x.log2(), torch.log2, (-1.0,)),
    "log10": (lambda x: x.log10(), torch.log10, (-1.0,)),
    "exp2": (lambda x: x.exp2(), torch.exp2, (2000.0,)),
    "erf": (lambda x: x.erf(), torch.erf, ()),
    "tanh": (lambda x: x.tanh(), torch.tanh, (1000.0,)),
    "sigmoid": (lambda x: x.sigmoid(), torch.sigmoid, (1000.0, -1000.0)),
    "softplus": (lambda x: x.softplus(), F.softplus, (1000.0, -1000.0)),
    "relu": (lambda x: x.relu(), F.relu, ()),
    "leaky_relu": (lambda x: x.leaky_relu(0.1), lambda x: F.leaky_relu(x, 0.1), ()),
    "gelu": (lambda x: x.gelu(), F.gelu, (-40.0,)),
    "gelu_tanh": (lambda x: x.gelu("tanh"), lambda x: F.gelu(x, approximate="tanh"), (-40.0,)),
    "silu": (lambda x: x.silu(), F.silu, (-1000.0,)),
    "elu": (lambda x: x.elu(), F.elu, (1000.0,)),
    "elu 0.5": (lambda x: x.elu(0.5), lambda x: F.elu(x, 0.5), ()),
    "softsign": (lambda x: x.softsign(), F.softsign, ()),
    "hardtanh": (lambda x: x.hardtanh(), F.hardtanh, (1.0, -1.0)),
    "clamp": (lambda x: x.clamp(-1, 1), lambda x: torch.clamp(x, -1, 1), (1.0, -1.0)),
    "clamp low": (lambda x: x.clamp(lo=0), lambda x: torch.clamp(x, min=0), ()),
    "clamp high": (lambda x: x.clamp(hi=0), lambda x: torch.clamp(x, max=0), ()),
}
# name: (function on Values, the same on tensors, the ordinary point, more points); each input
# visits the edges in turn, the others staying at the ordinary point.
Many = tuple[Callable[..., Any], Callable[..., Any], Point, tuple[Point, ...]]
MANY: dict[str, Many] = {
    "add": (lambda x, y: x + y, lambda x, y: x + y, (1.5, -2.0), ((inf, -inf),)),
    "sub": (lambda x, y: x - y, lambda x, y: x - y, (1.5, -2.0), ((inf, inf),)),
    "mul": (lambda x, y: x * y, lambda x, y: x * y, (1.5, -2.0), ((0.0, inf),)),
    "div": (lambda x, y: x / y, lambda x, y: x / y, (1.5, -2.0), ((0.0, 0.0), (inf, inf))),
    "pow": (
        lambda x, y: x**y,
        lambda x, y: x**y,
        (1.5, 2.5),
        (
            (0.0, 0.0),
            (0.0, 2.0),
            (-0.0, 2.0),
            (0.0, 0.5),
            (0.0, -1.0),
            (-2.0, 2.0),
            (-2.0, 0.5),
            (1.0, inf),
            (2.0, -inf),
            (0.5, inf),
            (inf, -inf),
        ),
    ),
    "arctan2": (
        Value.arctan2,
        torch.atan2,
        (1.5, -2.0),
        ((0.0, 0.0), (0.0, -0.0), (-0.0, -0.0), (1.0, 0.0), (inf, inf), (0.0, -1.0)),
    ),
    "hypot": (
        Value.hypot,
        torch.hypot,
        (1.5, -2.0),
        ((0.0, 0.0), (inf, inf), (inf, nan), (1e-200, 1e-200)),
    ),
    "max": (
        lambda x, y: Value.max([x, y]),
        lambda x, y: torch.stack([x, y]).max(),
        (1.5, -2.0),
        ((1.0, 1.0), (nan, nan)),
    ),
    "min": (
        lambda x, y: Value.min([x, y]),
        lambda x, y: torch.stack([x, y]).min(),
        (1.5, -2.0),
        ((1.0, 1.0), (nan, nan)),
    ),
    "sum": (lambda x, y: Value.sum([x, y]), lambda x, y: x + y, (1.5, -2.0), ((inf, -inf),)),
    "dot": (lambda w, x: Value.dot([w], [x]), lambda w, x: w * x, (1.5, -2.0), ((0.0, inf),)),
    "clamp": (
        lambda x, lo, hi: x.clamp(lo, hi),
        torch.clamp,
        (0.5, -1.0, 1.0),
        (
            (-1.0, -1.0, 1.0),
            (1.0, -1.0, 1.0),
            (0.0, 1.0, 1.0),
            (2.0, 1.0, 1.0),
            (3.0, 2.0, 1.0),
            (0.0, 2.0, 1.0),
            (0.5, -inf, inf),
        ),
    ),
    "hardtanh": (
        lambda x: x.hardtanh(-0.5, 2.0),
        lambda x: F.hardtanh(x, -0.5, 2.0),
        (0.0,),
        ((-0.5,), (2.0,)),
    ),
}


def _cases() -> list[tuple[str, Callable[..., Any], Callable[..., Any], Point]]:
    cases = []
    for name, (ours, theirs, extra) in UNARY.items():
        cases += [(name, ours, theirs, (x,)) for x in (*EDGES, *extra)]
    for name, (ours, theirs, base, extra) in MANY.items():
        for i in range(len(base)):
            cases += [(name, ours, theirs, (*base[:i], x, *base[i + 1 :])) for x in EDGES]
        cases += [(name, ours, theirs, point) for point in extra]
    return cases


CASES = _cases()


# ----- what each side gives -----
Outcome = tuple[float, tuple[float, ...]] | Exception


def _torch(fn: Callable[..., Any], point: Point) -> tuple[float, tuple[float, ...]]:
    xs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in point]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = fn(*xs)
        grads = torch.autograd.grad(out, xs, allow_unused=True)
    return out.item(), tuple(0.0 if g is None else g.item() for g in grads)


def _ours(fn: Callable[..., Any], point: Point) -> Outcome:
    xs = [Value(x) for x in point]
    try:
        out = fn(*xs)
        return out.data, tuple(g.data for g in grad(out, xs))
    except (ArithmeticError, ValueError) as error:
        return error


def _same(a: float, b: float) -> bool:
    """Equal as IEEE numbers and in the sign of a zero, or both NaN."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def _describe(name: str, point: Point) -> str:
    return f"{name.split()[0]}{point}"


def _row_name(name: str) -> str:
    return name.split()[0]


# ----- where we differ from PyTorch, on purpose -----
# We raise where PyTorch gives a number: the derivative does not exist there. (A key's 0.0 stands
# for -0.0 too: the two are equal.)
RAISES: dict[tuple[str, Point], str] = {
    ("rpow 0", (0.0,)): "0 ** x jumps from 1 (x = 0) to 0 (x > 0): no derivative; PyTorch says 0",
    ("pow", (0.0, 0.0)): "0 ** y jumps from 1 (y = 0) to 0 (y > 0): no derivative in y",
    ("rpow 0", (-inf,)): "0 ** a negative number raises (0 ** -1 does): a documented domain error",
    ("arctan2", (0.0, 0.0)): "the angle jumps around the origin: no derivative; PyTorch says 0",
    ("hypot", (inf, nan)): "hypot(inf, nan) is inf (IEEE) and its derivative inf / inf",
}
# We give the limit that PyTorch's NaN stands for (its formula computes inf * 0 or inf / inf).
LIMITS: dict[tuple[str, Point], tuple[float, tuple[float, ...]]] = {
    ("gelu", (inf,)): (inf, (1.0,)),
    ("gelu", (-inf,)): (-0.0, (0.0,)),
    ("gelu_tanh", (inf,)): (inf, (1.0,)),
    ("gelu_tanh", (-inf,)): (-0.0, (0.0,)),
    ("silu", (inf,)): (inf, (1.0,)),
    ("silu", (-inf,)): (-0.0, (0.0,)),
    ("softsign", (inf,)): (1.0, (0.0,)),
    ("softsign", (-inf,)): (-1.0, (0.0,)),
    ("pow", (1.5, -inf)): (0.0, (0.0, 0.0)),  # d/dx y x ** (y - 1): the power wins
    ("pow", (2.0, -inf)): (0.0, (0.0, 0.0)),
    ("pow", (0.5, inf)): (0.0, (0.0, 0.0)),
}
# We give something else where PyTorch's answer is a convention of its own.
KEPT: dict[tuple[str, Point], tuple[float, tuple[float, ...]]] = {
    # NaN propagates, as NumPy's sign(nan); PyTorch's sign(nan) is 0. abs's derivative is sign.
    ("sign", (nan,)): (nan, (0.0,)),
    ("abs", (nan,)): (nan, (nan,)),
    # A tie is a kink: the first of the tied inputs takes the gradient (what Value.max says and
    # max-pooling needs); PyTorch splits it.
    ("max", (1.0, 1.0)): (1.0, (1.0, 0.0)),
    ("min", (1.0, 1.0)): (1.0, (1.0, 0.0)),
    ("max", (nan, nan)): (nan, (1.0, 0.0)),
    ("min", (nan, nan)): (nan, (1.0, 0.0)),
}
# IEEE arithmetic: inf - inf and 0 * inf are NaN, as in PyTorch. A check on every + and * would
# slow every graph down; anomaly detection reports such a NaN where it appears.
SILENT: set[tuple[str, Point]] = {
    ("add", (inf, -inf)), ("sub", (inf, inf)), ("mul", (0.0, inf)), ("sum", (inf, -inf)),
    ("dot", (0.0, inf)),
}  # fmt: skip
# Sums start from 0.0, so a sum of -0.0 terms is 0.0 (as math.fsum's).
ZERO_SIGN_FREE = {"sum", "dot"}


def _names_the_op(name: str, error: Exception) -> bool:
    return _row_name(name).removesuffix("_const") in str(error)


@pytest.mark.parametrize(
    ("name", "ours", "theirs", "point"),
    CASES,
    ids=[_describe(name, point) + f"-{i}" for i, (name, _, _, point) in enumerate(CASES)],
)
def test_edges_as_pytorch_has_them(
    name: str, ours: Callable[..., Any], theirs: Callable[..., Any], point: Point
) -> None:
    want_value, want_grads = _torch(theirs, point)
    got = _ours(ours, point)
    nan_in = any(math.isnan(x) for x in point)
    key = (name, point)
    if isinstance(got, Exception):
        assert _names_the_op(name, got), f"{_describe(name, point)}: {got!r} does not name the op"
        torch_nan = math.isnan(want_value) or any(math.isnan(g) for g in want_grads)
        torch_inf = math.isinf(want_value) or any(math.isinf(g) for g in want_grads)
        finite_in = all(math.isfinite(x) for x in point)
        assert key in RAISES or (torch_nan and not nan_in) or (torch_inf and finite_in), (
            f"{_describe(name, point)} raises {got!r} where PyTorch gives {want_value!r}, "
            f"gradient {want_grads}"
        )
        return
    value, grads = got
    assert key not in RAISES, f"{_describe(name, point)} no longer raises: {RAISES[key]}"
    if key in LIMITS or key in KEPT:
        want_value, want_grads = LIMITS.get(key) or KEPT[key]
    elif not nan_in and key not in SILENT:
        assert not math.isnan(value), f"{_describe(name, point)}: a silent NaN"
        assert not any(map(math.isnan, grads)), f"{_describe(name, point)}: a silent NaN gradient"
    if _row_name(name) in ZERO_SIGN_FREE:
        assert value == want_value or (math.isnan(value) and math.isnan(want_value))
    else:
        assert _same(value, want_value), f"{_describe(name, point)}: {value!r}, not {want_value!r}"
    for got_grad, want_grad in zip(grads, want_grads, strict=True):
        # a gradient is a sum started at 0.0: the sign of a zero gradient means nothing
        same = got_grad == want_grad or (math.isnan(got_grad) and math.isnan(want_grad))
        assert same, f"{_describe(name, point)}: gradient {grads}, not {want_grads}"


def test_every_row_is_visited() -> None:
    visited = {_row_name(name) for name, *_ in CASES}
    assert {op.name for op in BUILTIN_OPS} <= visited | {"pow_const", "rpow"}
    assert all(key[0] in UNARY or key[0] in MANY for key in [*RAISES, *LIMITS, *KEPT, *SILENT])


def test_the_issue_s_examples() -> None:
    x = Value(0.0)
    (x**0).backward()  # d/dx x ** 0 is 0 everywhere, at 0 too
    assert x.grad == 0.0
    for base in (0.0, -0.0):
        x, y = Value(base), Value(2.0)
        (x**y).backward()  # 0 ** y is 0 for every y > 0: its derivative in y is 0
        assert (x.grad, y.grad) == (0.0, 0.0)
    assert math.isnan(Value(nan).relu().data)
    for values in ([Value(nan), 1.0], [1.0, Value(nan)], [1.0, Value(nan), 3.0]):
        assert math.isnan(Value.max(values).data) and math.isnan(Value.min(values).data)
    with pytest.raises(ValueError, match=r"^sin: undefined for input inf"):
        Value(inf).sin()
