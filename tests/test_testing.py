"""The hypothesis strategies of microgradnet.testing and check_op.

Generated expressions must pass gradcheck at both orders and agree with sympy's derivatives,
cover every op, expose planted bugs as small shrunk examples, print as faithful Python-like text
and reject bad arguments with InvalidArgument.
"""

from __future__ import annotations

import ast
import dataclasses
import itertools
import math
import operator
import re
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from conftest import require_module, sympy_number
from hypothesis import find, given, settings
from hypothesis.errors import InvalidArgument

from microgradnet import Value, define_op, grad
from microgradnet.engine import backward_order
from microgradnet.gradcheck import GradcheckError, gradcheck, gradgradcheck
from microgradnet.ops import BUILTIN_OPS, Op, exp, relu, sqrt, user_ops, where
from microgradnet.testing import (
    KINK_MARGIN,
    Expression,
    check_op,
    expressions,
    mlps,
    values,
)
from microgradnet.testing import _expressions as testing_expressions

sp = require_module("sympy")

FIND = settings(database=None, derandomize=True, max_examples=2000)


# ----- correct user ops, with their sympy forms and float forms -----
@define_op(derivative=lambda x, out: 2 * x, name="square")
def square(x: float) -> float:
    return x * x


@define_op(derivative=lambda x, y, out: (exp(x - out), exp(y - out)), name="logaddexp")
def logaddexp(x: float, y: float) -> float:
    return max(x, y) + math.log1p(math.exp(-abs(x - y)))


@define_op(derivative=lambda x, out: 1 / (1 - x * x), domain=(-1.0, 1.0), name="artanh")
def artanh(x: float) -> float:
    return math.atanh(x)


@define_op(derivative=lambda x, out: 1 / x, domain=(0.0, math.inf), name="ln")
def ln(x: float) -> float:
    return math.log(x)


USER_OPS = [square, logaddexp, artanh, ln]
ALL_OPS = [*BUILTIN_OPS, *USER_OPS]
# square is written with operators: its forward gives its sympy form.
SYMPY_FORMS = {
    "logaddexp": lambda x, y: sp.log(sp.exp(x) + sp.exp(y)),
    "artanh": sp.atanh,
    "ln": sp.log,
}


def _graph_ops(e: Expression) -> set[str]:
    out = e.fn(*[Value(x) for x in e.inputs])
    return {node.op for node in backward_order(out)} - {""}


def _close(a: float, b: float, tol: float) -> bool:
    return math.isclose(a, b, rel_tol=tol, abs_tol=tol)


# ----- generated expressions are correct -----
@settings(max_examples=200)
@given(expressions(ops=ALL_OPS, n_inputs=3))
def test_expressions_pass_gradcheck_at_both_orders(e: Expression) -> None:
    assert gradcheck(e.fn, e.inputs)
    assert gradgradcheck(e.fn, e.inputs)


@settings(max_examples=120)
@given(expressions(ops=ALL_OPS))
def test_expressions_match_sympy_at_both_orders(e: Expression) -> None:
    expression, symbols = e.sympy(functions=SYMPY_FORMS)
    # The inputs as exact 30-digit sympy numbers: sympy evaluates everything at that precision.
    point = {s: sp.Float(x, 30) for s, x in zip(symbols, e.inputs, strict=True)}
    xs = [Value(x) for x in e.inputs]
    out = e.fn(*xs)
    assert _close(out.data, sympy_number(expression, point), 1e-10), str(e)
    firsts = grad(out, xs, create_graph=True)
    for i, s in enumerate(symbols):
        derivative = sp.diff(expression, s)
        assert _close(firsts[i].data, sympy_number(derivative, point), 1e-9), (str(e), i)
        for j, second in enumerate(grad(firsts[i], xs)):
            want = sympy_number(sp.diff(derivative, symbols[j]), point)
            assert _close(second.data, want, 1e-8), (str(e), i, j)


def test_expressions_cover_every_op() -> None:
    seen: set[str] = set()

    # Derandomized in every profile: coverage is a property of this fixed sample.
    @settings(max_examples=300, derandomize=True, database=None)
    @given(expressions(ops=ALL_OPS))
    def record(e: Expression) -> None:
        seen.update(_graph_ops(e))

    record()
    assert {op.name for op in BUILTIN_OPS} | {f.op.name for f in USER_OPS} <= seen


@settings(max_examples=60)
@given(expressions(ops=["sin", "cos"], n_inputs=1))
def test_expressions_use_only_the_chosen_ops(e: Expression) -> None:
    assert _graph_ops(e) <= {"sin", "cos"}
    assert isinstance(e.fn(*e.inputs), float)
    assert isinstance(e.fn(Value(e.inputs[0])), Value)


@pytest.fixture
def only_this_modules_sound_user_ops(monkeypatch: pytest.MonkeyPatch) -> None:
    """``include_user_ops`` takes every op made so far: other test modules' ops (some
    deliberately wrong or without a domain) would make these tests depend on the test order."""
    sound = tuple(f.op for f in USER_OPS_OF_EVERY_ARITY + USER_OPS)
    monkeypatch.setattr(testing_expressions.op_table, "user_ops", lambda: sound)


@pytest.mark.usefixtures("only_this_modules_sound_user_ops")
def test_user_ops_join_on_request() -> None:
    wrappers = {"add", "sub", "mul", "tanh", "pow_const"}  # domain maps and scaling
    e = find(
        expressions(ops=["add"], include_user_ops=True),
        lambda e: bool(_graph_ops(e) - wrappers),
        settings=FIND,
    )
    assert _graph_ops(e) - wrappers <= {op.name for op in user_ops()}


# ----- every decision from the row's fields, never from the op's name -----
@define_op(derivative=lambda x, y, out: (1 / x, 1 / y), domain=(0.0, math.inf), name="log_product")
def log_product(x: float, y: float) -> float:
    return math.log(x * y)


@define_op(derivative=lambda *xs_out: tuple(2 * x for x in xs_out[:-1]), name="sum_of_squares")
def sum_of_squares(*xs: float) -> float:
    return sum(x * x for x in xs)


def _d_geometric_mean(*xs_out: Any) -> tuple[Any, ...]:
    *xs, out = xs_out
    return tuple(out / (len(xs) * x) for x in xs)


@define_op(derivative=_d_geometric_mean, domain=(0.0, math.inf), name="geometric_mean")
def geometric_mean(*xs: float) -> float:
    return math.prod(xs) ** (1 / len(xs))


# One and two inputs, and any number, each without and with a domain hint.
USER_OPS_OF_EVERY_ARITY = [square, artanh, logaddexp, log_product, sum_of_squares, geometric_mean]


@pytest.mark.usefixtures("only_this_modules_sound_user_ops")
@pytest.mark.parametrize("op_fn", USER_OPS_OF_EVERY_ARITY, ids=lambda f: f.op.name)
def test_user_ops_of_every_arity_are_drawn_with_no_extra_code(op_fn: Any) -> None:
    name = op_fn.op.name
    for strategy in (
        expressions(ops=[op_fn, "add", "sin"], n_inputs=2),
        expressions(ops=["add"], include_user_ops=True, n_inputs=2),
    ):
        e = find(strategy, lambda e: name in _graph_ops(e), settings=FIND)
        assert gradcheck(e.fn, e.inputs) and gradgradcheck(e.fn, e.inputs), str(e)

    @settings(max_examples=40)
    @given(expressions(ops=[op_fn, "add", "mul", "sin"], n_inputs=3))
    def check(e: Expression) -> None:
        assert gradcheck(e.fn, e.inputs)
        assert gradgradcheck(e.fn, e.inputs)

    check()


def test_built_in_and_hinted_ops_stay_in_domain_by_construction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A draw outside an op's domain would be rejected; here rejecting one fails the test.
    def fail() -> None:
        raise AssertionError("a draw was rejected: an op was applied outside its domain")

    monkeypatch.setattr(testing_expressions, "reject", fail)
    hinted = [artanh, ln, log_product, geometric_mean]

    @settings(max_examples=200)
    @given(expressions(ops=[*BUILTIN_OPS, *hinted], n_inputs=3))
    def draw(e: Expression) -> None:
        assert math.isfinite(e.fn(*e.inputs))

    draw()


def _draws(strategy: Any) -> list[tuple[str, tuple[float, ...], float]]:
    drawn = []

    @settings(max_examples=100, derandomize=True, database=None)
    @given(strategy)
    def record(e: Expression) -> None:
        drawn.append((str(e), e.inputs, e.fn(*e.inputs)))

    record()
    return drawn


def test_rows_are_drawn_by_their_fields_not_their_names() -> None:
    renamed = [dataclasses.replace(op, name=f"{op.name}_renamed") for op in BUILTIN_OPS]
    original = _draws(expressions(ops=list(BUILTIN_OPS), n_inputs=3))
    copies = _draws(expressions(ops=renamed, n_inputs=3))
    assert any("_renamed" in text for text, _, _ in copies)  # sum, max and dot show their names
    assert [(t.replace("_renamed", ""), x, v) for t, x, v in copies] == original


# Rows made by hand (not by define_op): a constant argument, written as a call or with an
# operator before the input, a kink away from 0, a finite interval for the input.
SCALE = Op("scale", lambda x, c: c * x, lambda x, out, c: c, const=True,
           arg_examples=(3.0, -0.5), function="scale")  # fmt: skip
FROM = Op("from_const", lambda x, c: c - x, lambda x, out, c: -1.0, "-", const=True,
          arg_first=True, arg_examples=(5.0,))  # fmt: skip
HINGE = Op("hinge_at_1", lambda x: relu(x - 1.0), lambda x, out: where(x > 1.0, 1.0, 0.0),
           kinks=(1.0,), function="hinge_at_1")  # fmt: skip
SEMICIRCLE = Op("semicircle", lambda x: sqrt(4.0 - x * x), lambda x, out: -x / out,
                input_ranges=((-2.0, 2.0),), function="semicircle")  # fmt: skip
HAND_MADE = [SCALE, FROM, HINGE, SEMICIRCLE]


@settings(max_examples=60)
@given(expressions(ops=[*HAND_MADE, "mul"], n_inputs=2))
def test_hand_made_rows_are_placed_and_written_as_their_fields_say(e: Expression) -> None:
    assert gradcheck(e.fn, e.inputs) and gradgradcheck(e.fn, e.inputs)
    xs = [Value(x) for x in e.inputs]
    out = e.fn(*xs)
    for node in backward_order(out):
        if node.op == "hinge_at_1":
            assert abs(node.parents[0].data - 1.0) >= KINK_MARGIN, str(e)
        if node.op == "semicircle":
            assert abs(node.parents[0].data) < 2.0, str(e)
    assert _close(_interpret(ast.parse(str(e), mode="eval"), e.inputs), out.data, 1e-12)
    expression, symbols = e.sympy()  # every forward here runs on sympy expressions
    point = {s: sp.Float(x, 30) for s, x in zip(symbols, e.inputs, strict=True)}
    assert _close(sympy_number(expression, point), out.data, 1e-10), str(e)


# Each way of writing an op: infix with a constant on either side, prefix minus, a call with the
# constant last, a fused w·x + b without and with its bias, nested calls and operators.
TEXTS = {
    "constant exponent": (["pow_const"], r"x0 \*\* 2"),
    "constant base": (["rpow"], r"2 \*\* tanh\(x0\)"),
    "negation": (["neg"], r"-x0"),
    "negation after minus": (["sub", "neg"], r"x0 - -x0"),
    "constant argument last": (["leaky_relu"], r"leaky_relu\(x0, 0\.1\)"),
    "dot": (["dot"], r"dot\(\[x0\], \[x1\]\)"),
    "dot with bias": (["dot"], r"dot\(\[\S+, \S+\], \[\S+, \S+\], \S+\)"),
    "call of an operator": (["mul", "tanh"], r"tanh\(x0 \* x1\)"),
    "operator over calls": (["add", "exp"], r"x\d \+ exp\(tanh\(x\d\)\)"),
    "hand-made call": ([SCALE], r"scale\(x0, 3\)"),
    "hand-made constant first": ([FROM], r"5 - x0"),
    "user op of any arity": ([sum_of_squares], r"sum_of_squares\(x0, x1\)"),
}


@pytest.mark.parametrize(("chosen", "pattern"), TEXTS.values(), ids=TEXTS.keys())
def test_text_is_written_from_the_row(chosen: list[Any], pattern: str) -> None:
    strategy = expressions(ops=chosen, n_inputs=2)
    e = find(strategy, lambda e: re.fullmatch(pattern, str(e)) is not None, settings=FIND)
    assert _close(_interpret(ast.parse(str(e), mode="eval"), e.inputs), e.fn(*e.inputs), 1e-12)


# ----- planted bugs are found and shrunk -----
@define_op(derivative=lambda x, out: 1 - out, name="tanh_copy")  # wrong: 1 - out**2
def tanh_copy(x: float) -> float:
    return math.tanh(x)


@define_op(derivative=lambda x, out: math.cos(x), name="sin_copy")  # cuts the graph
def sin_copy(x: float) -> float:
    return math.sin(x)


def test_planted_first_order_bug_is_found_and_shrunk() -> None:
    strategy = expressions(ops=["add", "mul", "sin", "exp", tanh_copy], n_inputs=2)
    minimal = find(
        strategy, lambda e: not gradcheck(e.fn, e.inputs, raise_exception=False), settings=FIND
    )
    assert "tanh_copy" in _graph_ops(minimal)
    assert len(_graph_ops(minimal)) <= 2, str(minimal)
    assert len(backward_order(minimal.fn(*[Value(x) for x in minimal.inputs]))) <= 4
    with pytest.raises(GradcheckError, match=r"tanh_copy\(") as info:
        gradcheck(minimal.fn, minimal.inputs)
    assert str(minimal) in str(info.value)


def test_planted_second_order_bug_is_found_and_shrunk() -> None:
    strategy = expressions(ops=["add", "mul", "tanh", sin_copy], n_inputs=2)
    assert find(strategy, lambda e: "sin_copy" in str(e), settings=FIND)
    minimal = find(
        strategy, lambda e: not gradgradcheck(e.fn, e.inputs, raise_exception=False), settings=FIND
    )
    assert "sin_copy" in _graph_ops(minimal)
    assert len(backward_order(minimal.fn(*[Value(x) for x in minimal.inputs]))) <= 4, str(minimal)


# ----- readable text -----
_FLOAT_FUNCTIONS: dict[str, Callable[..., float]] = {
    "exp": math.exp,
    "log": math.log,
    "sqrt": math.sqrt,
    "sin": math.sin,
    "cos": math.cos,
    "tanh": math.tanh,
    "sigmoid": lambda x: 1 / (1 + math.exp(-x)),
    "softplus": lambda x: math.log1p(math.exp(x)),
    "abs": abs,
    "relu": lambda x: max(x, 0.0),
    "leaky_relu": lambda x, slope: x if x > 0 else slope * x,
    "sum": lambda *xs: math.fsum(xs),
    "max": lambda *xs: max(xs),
    "min": lambda *xs: min(xs),
    "sign": lambda x: math.copysign(1.0, x) if x else 0.0,
    "tan": math.tan,
    "sinh": math.sinh,
    "cosh": math.cosh,
    "arcsin": math.asin,
    "arccos": math.acos,
    "arctan": math.atan,
    "arctan2": math.atan2,
    "hypot": math.hypot,
    "log1p": math.log1p,
    "expm1": math.expm1,
    "log2": math.log2,
    "log10": math.log10,
    "exp2": lambda x: 2.0**x,
    "erf": math.erf,
    "gelu": lambda x: 0.5 * x * (1 + math.erf(x / math.sqrt(2))),
    "gelu_tanh": lambda x: (
        0.5 * x * (1 + math.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    ),
    "silu": lambda x: x / (1 + math.exp(-x)),
    "elu": lambda x, alpha: x if x > 0 else alpha * math.expm1(x),
    "softsign": lambda x: x / (1 + abs(x)),
    "clamp": lambda x, low, high: min(max(x, low), high),
    "hardtanh": lambda x, low, high: min(max(x, low), high),
    "dot": lambda w, x, b=0.0: math.fsum([*map(operator.mul, w, x), b]),
    "square": lambda x: x * x,
    "logaddexp": lambda x, y: math.log(math.exp(x) + math.exp(y)),
    "artanh": math.atanh,
    "ln": math.log,
    "log_product": lambda x, y: math.log(x * y),
    "sum_of_squares": lambda *xs: math.fsum(x * x for x in xs),
    "geometric_mean": lambda *xs: math.prod(xs) ** (1 / len(xs)),
    "scale": lambda x, c: c * x,
    "hinge_at_1": lambda x: max(x - 1.0, 0.0),
    "semicircle": lambda x: math.sqrt(4.0 - x * x),
}
_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}
_BINARY |= {ast.Div: operator.truediv, ast.Pow: operator.pow}


def _interpret(node: ast.AST, xs: tuple[float, ...]) -> Any:
    """Evaluate parsed expression text over an allow-list of syntax (never Python's eval)."""
    match node:
        case ast.Expression(body=body):
            return _interpret(body, xs)
        case ast.Constant(value=float() | int() as number):
            return float(number)
        case ast.Name(id=name) if name[0] == "x" and name[1:].isdigit():
            return xs[int(name[1:])]
        case ast.UnaryOp(op=ast.USub(), operand=operand):
            return -_interpret(operand, xs)
        case ast.BinOp(left=left, op=op, right=right) if type(op) in _BINARY:
            return _BINARY[type(op)](_interpret(left, xs), _interpret(right, xs))
        case ast.List(elts=items):
            return [_interpret(item, xs) for item in items]
        case ast.Call(func=ast.Name(id=name), args=args, keywords=[]):
            return _FLOAT_FUNCTIONS[name](*[_interpret(a, xs) for a in args])
    raise AssertionError(f"unexpected syntax in expression text: {ast.dump(node)}")


ARITHMETIC = ["add", "sub", "mul", "div", "neg", "pow", "pow_const", "rpow"]


@settings(max_examples=150)
@given(expressions(ops=ALL_OPS, n_inputs=3) | expressions(ops=ARITHMETIC, n_inputs=3))
def test_text_is_faithful_python_syntax(e: Expression) -> None:
    # Arithmetic alone produces operator chains often, where a misplaced parenthesis shows.
    text = str(e)
    assert repr(e) == f"Expression({text!r}, inputs={list(e.inputs)!r})"
    assert str(e.fn) == text
    value = _interpret(ast.parse(text, mode="eval"), e.inputs)
    assert _close(value, e.fn(*e.inputs), 1e-12), text


def test_minimal_expression_reads_naturally() -> None:
    e = find(expressions(ops=["tanh"], n_inputs=2), lambda e: True, settings=FIND)
    assert repr(e) == "Expression('tanh(x0)', inputs=[0.0, 0.0])"
    e = find(
        expressions(ops=["mul", "tanh"], n_inputs=2),
        lambda e: all(part in str(e) for part in ("x1", "tanh", "*")),
        settings=FIND,
    )
    assert str(e) in ("x0 * tanh(x1)", "tanh(x0 * x1)", "tanh(x0) * x1")


def test_sympy_needs_a_form_for_user_ops_written_with_math(monkeypatch: pytest.MonkeyPatch) -> None:
    e = find(expressions(ops=[ln], n_inputs=1), lambda e: True, settings=FIND)
    with pytest.raises(ValueError, match="'ln' has no sympy form"):
        e.sympy()
    expression, (x0,) = e.sympy(functions={"ln": sp.log})
    assert expression == sp.log(x0**2 + 1)
    monkeypatch.setitem(sys.modules, "sympy", None)
    with pytest.raises(ImportError, match="pip install"):
        e.sympy()


def test_sympy_form_of_a_user_op_written_with_operators_is_its_forward() -> None:
    e = find(expressions(ops=[square]), lambda e: True, settings=FIND)
    expression, (x0, _) = e.sympy()
    assert expression == x0**2
    # A form in functions takes precedence over the forward.
    expression, (x0, _) = e.sympy(functions={"square": lambda x: sp.Abs(x) ** 2})
    assert expression == sp.Abs(x0) ** 2


def test_fn_checks_its_argument_count() -> None:
    e = find(expressions(ops=["sin"], n_inputs=2), lambda e: True, settings=FIND)
    with pytest.raises(TypeError, match="takes 2 inputs, got 1"):
        e.fn(1.0)


# ----- values -----
@given(values(-2.0, 5.0, allow_zero=False))
def test_values_respect_bounds_and_zero(x: float) -> None:
    assert type(x) is float
    assert -2.0 <= x <= 5.0 and x != 0.0


@given(values(-1.0, 1.0, min_magnitude=0.25))
def test_values_respect_min_magnitude(x: float) -> None:
    assert 0.25 <= abs(x) <= 1.0


# ----- networks -----
SMOOTH = ["tanh", "sigmoid", "linear"]


@settings(max_examples=30)
@given(mlps(activations=SMOOTH, output_activations=SMOOTH))
def test_mlps_are_small_valid_networks_with_correct_gradients(example: Any) -> None:
    model, inputs, _ = example
    assert 1 <= model.nin == len(inputs) <= 3
    sizes = [model.nin, *model.nouts]
    assert len(model.parameters()) == sum((a + 1) * b for a, b in itertools.pairwise(sizes))
    assert all(n <= 4 for n in model.nouts[:-1]) and model.nouts[-1] <= 2

    def f(*xs: Value) -> Value:
        out = model(list(xs))
        return Value.sum(out) if isinstance(out, list) else out

    assert gradcheck(f, inputs)
    assert "MLP(" in repr(example)


# ----- check_op -----
@define_op(derivative=lambda x, out: x + 1.0, name="square_wrong")  # wrong: 2 x
def square_wrong(x: float) -> float:
    return x * x


def test_check_op_passes_correct_ops() -> None:
    check_op(square, max_examples=30)
    check_op(artanh, max_examples=30)  # the op's domain hint narrows (-3, 3) to (-1, 1)
    check_op(ln, domain=(-5.0, 5.0), max_examples=30)
    check_op(logaddexp, max_examples=30)
    check_op(lambda x, y: (x * y).sin(), max_examples=30)


def test_check_op_fails_wrong_ops() -> None:
    with pytest.raises(GradcheckError, match="square_wrong"):
        check_op(square_wrong, max_examples=30)
    check_op(sin_copy, order=1, max_examples=30)
    with pytest.raises(GradcheckError, match="d/dx0 of sin_copy"):
        check_op(sin_copy, max_examples=30)


# ----- bad arguments -----
@pytest.mark.parametrize(
    "make",
    [
        lambda: expressions(n_inputs=0),
        lambda: expressions(n_inputs=1.5),
        lambda: expressions(max_leaves=0),
        lambda: expressions(ops=[]),
        lambda: expressions(ops=["no_such_op"]),
        lambda: expressions(ops=[42]),
        lambda: expressions(ops="tanh"),
        lambda: expressions(include_user_ops="yes"),
        lambda: expressions(min_value=5.0, max_value=1.0),
        lambda: expressions(min_value=-1000.0),
        lambda: expressions(max_value=math.inf),
        lambda: values(math.nan, 1.0),
        lambda: values(2.0, 1.0),
        lambda: values(-1.0, 1.0, min_magnitude=5.0),
        lambda: values(-1.0, 1.0, min_magnitude=-1.0),
        lambda: values(0.0, 0.0, allow_zero=False),
        lambda: mlps(max_inputs=0),
        lambda: mlps(max_layers=-1),
        lambda: mlps(activations=["selu"]),
        lambda: mlps(output_activations=[]),
    ],
)
def test_bad_strategy_arguments_raise_invalid_argument(make: Callable[[], Any]) -> None:
    strategy = make()  # errors are deferred to draw time, as in Hypothesis itself
    with pytest.raises(InvalidArgument):
        strategy.validate()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"op_fn": 42},
        {"op_fn": square, "domain": (3.0, -3.0)},
        {"op_fn": square, "domain": "ab"},
        {"op_fn": square, "order": 3},
        {"op_fn": square, "max_examples": 0},
        {"op_fn": ln, "domain": (-3.0, -1.0)},
    ],
)
def test_bad_check_op_arguments_raise_invalid_argument(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument):
        check_op(**kwargs)


def test_testing_needs_hypothesis_but_gradcheck_does_not() -> None:
    code = (
        "import sys; sys.modules['hypothesis'] = None\n"
        "import microgradnet.gradcheck\n"
        "import microgradnet.testing\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode != 0
    assert "ImportError: microgradnet.testing needs Hypothesis" in result.stderr
    assert "pip install 'microgradnet[testing]'" in result.stderr
