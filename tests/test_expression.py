"""The safe expression parser: values and gradients vs sympy and central differences, every
op-table function, and every refusal."""

from __future__ import annotations

import builtins
import math

import pytest
import sympy as sp

from microgradnet import Value, ops
from microgradnet.expression import (
    FUNCTIONS,
    MAX_LENGTH,
    MAX_NODES,
    ExpressionError,
    parse_expression,
)
from microgradnet.gradcheck import numerical_grad

a, b, c = sp.symbols("a b c")
POINT = {"a": 0.7, "b": -1.3, "c": 2.1}
SYMPY_CASES = [
    ("a*b + c", a * b + c),
    ("tanh(a*b + c)", sp.tanh(a * b + c)),
    ("a / b - c ** 2", a / b - c**2),
    ("exp(a) * log(c) + sqrt(c)", sp.exp(a) * sp.log(c) + sp.sqrt(c)),
    ("sin(a) * cos(b) / c", sp.sin(a) * sp.cos(b) / c),
    ("sigmoid(a - b)", 1 / (1 + sp.exp(-(a - b)))),
    ("b ** 3 + 2 ** a", b**3 + 2**a),
    ("pow(c, a) - -b", c**a + b),
    ("abs(b) * relu(a) + leaky_relu(b, 0.2)", -b * a + sp.Rational(1, 5) * b),
    ("+a - (b * (c - 1)) ** 2 / 4", a - (b * (c - 1)) ** 2 / 4),
]


@pytest.mark.parametrize(("text", "reference"), SYMPY_CASES, ids=[t for t, _ in SYMPY_CASES])
def test_value_and_gradients_match_sympy(text, reference):
    out, leaves = parse_expression(text, POINT)
    out.backward()
    subs = {a: POINT["a"], b: POINT["b"], c: POINT["c"]}
    assert out.data == pytest.approx(float(reference.subs(subs)), rel=1e-12)
    for symbol, name in ((a, "a"), (b, "b"), (c, "c")):
        expected = float(sp.diff(reference, symbol).subs(subs))
        assert leaves[name].grad == pytest.approx(expected, rel=1e-10, abs=1e-12), name


def test_leaves_are_labelled_and_ordered_and_the_result_is_out():
    out, leaves = parse_expression("a*b + 1", {"b": 2, "a": 3})
    assert list(leaves) == ["b", "a"]
    assert [leaf.label for leaf in leaves.values()] == ["b", "a"]
    assert not any(leaf.parents for leaf in leaves.values())
    assert out.label == "out"
    assert out.parents[0].label == "a*b"  # an intermediate result carries its text


def test_a_constant_exponent_stays_a_constant():
    out, leaves = parse_expression("b ** 2", {"b": -3})
    out.backward()
    assert out.op == "pow_const" and out.op_arg == 2.0
    assert leaves["b"].grad == -6.0  # no log of a negative base involved


def test_constant_parts_are_folded():
    out, leaves = parse_expression("a * (2 * 3 - 1)", {"a": 4})
    out.backward()
    assert out.data == 20.0 and leaves["a"].grad == 5.0
    assert sorted(p.data for p in out.parents) == [4.0, 5.0]


def test_a_bare_variable_and_a_bare_number():
    out, leaves = parse_expression("a", {"a": 2})
    assert out is leaves["a"] and out.label == "a"
    out, leaves = parse_expression(" 1.5 ", {})
    assert out.data == 1.5 and leaves == {}


def test_unused_variables_get_zero_gradient():
    out, leaves = parse_expression("a * a", {"a": 3, "b": 1})
    out.backward()
    assert (leaves["a"].grad, leaves["b"].grad) == (6.0, 0.0)


REFUSED = [
    ("a.real", "attribute access", "a.real"),
    ("a.__class__", "attribute access", "a.__class__"),
    ("a[0]", "subscripts", "a[0]"),
    ("[x for x in a]", "comprehensions", "[x for x in a]"),
    ("sum(x for x in a)", "unknown function", "'sum'"),
    ("(lambda: a)()", "calls to anything but a function name", "(lambda: a)()"),
    ("lambda: a", "lambdas", "lambda: a"),
    ("exp(x=a)", "keyword arguments", "exp(x=a)"),
    ("exp(*a)", "starred", "*a"),
    ("d + a", "unknown name 'd'", "'d'"),
    ("foo(a)", "unknown function 'foo'", "'foo'"),
    ("__import__('os').system('true')", "calls to anything but", "__import__('os').system"),
    ("__import__('os')", "unknown function '__import__'", "'__import__'"),
    ("open('x', 'w')", "unknown function 'open'", "'open'"),
    ("exp", "exp is a function", "exp"),
    ("a // b", "operator //", "a // b"),
    ("a % b", "operator %", "a % b"),
    ("a < b", "comparisons", "a < b"),
    ("a and b", "boolean operators", "a and b"),
    ("not a", "operator not", "not a"),
    ("a if b else c", "conditional", "a if b else c"),
    ("(a := 2)", "assignment", "a := 2"),
    ("'text'", "str", "'text'"),
    ("True", "bool", "True"),
    ("2j", "complex", "2j"),
    ("1e999", "too large", "1e999"),
    ("(a, b)", "tuples", "(a, b)"),
    ("a +", "syntax error", "a +"),
    ("import os", "syntax error", "import os"),
    ("a\nb", "syntax error", "a b"),
    ("", "empty", ""),
    ("exp(a, b)", "takes 1 argument", "exp(a, b)"),
    ("leaky_relu(a, b)", "negative_slope must be a number", "leaky_relu(a, b)"),
    ("log(-1)", "log", "log(-1)"),
    ("a / 0", "division", "a / 0"),
    ("9 ** 9 ** 9 * a", "overflow", "9 ** 9 ** 9"),
    ("exp(exp(a * 100))", "overflow", "exp(a * 100)"),
]


@pytest.mark.parametrize(("text", "reason", "piece"), REFUSED, ids=[r[0] for r in REFUSED])
def test_refusals_name_the_offending_piece_in_one_line(text, reason, piece):
    with pytest.raises(ExpressionError) as info:
        parse_expression(text, {"a": 2.0, "b": -3.0, "c": 1.0})
    message = str(info.value)
    assert "\n" not in message
    assert reason in message
    assert piece in message


def test_expression_error_is_a_value_error():
    assert issubclass(ExpressionError, ValueError)


def test_oversized_input_is_refused():
    with pytest.raises(ExpressionError, match=f"too long: {MAX_LENGTH + 1} characters"):
        parse_expression("a" + " " * MAX_LENGTH, {"a": 1})
    text = "a"
    while text.count("a") * 4 <= MAX_NODES:
        text = f"({text})*({text})"
    assert len(text) <= MAX_LENGTH
    with pytest.raises(ExpressionError, match=f"more than {MAX_NODES} syntax nodes"):
        parse_expression(text, {"a": 1})
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse_expression("-" * 300 + "a", {"a": 1})


@pytest.mark.parametrize(
    ("variables", "error", "match"),
    [
        ({"exp": 1}, ValueError, "function"),
        ({"2x": 1}, ValueError, "not a valid name"),
        ({"lambda": 1}, ValueError, "not a valid name"),
        ({"a": "1"}, TypeError, "real number"),
        ({"a": math.inf}, ValueError, "finite"),
        ([("a", 1)], TypeError, "dict"),
    ],
)
def test_bad_variables_are_refused(variables, error, match):
    with pytest.raises(error, match=match):
        parse_expression("1", variables)


def test_text_must_be_a_string():
    with pytest.raises(TypeError, match="str"):
        parse_expression(b"a", {"a": 1})


# ----- the grammar's functions are the op table's rows -----
FUNCTION_ROWS = [op for op in ops.BUILTIN_OPS if op.function is not None]
CANDIDATES = (0.7, -0.6, 1.3, 0.3)  # away from every kink (0) and edge of a domain


def _inside(x: float, where) -> bool:
    if where is None:
        return True
    lo, hi = (-1.0, 1.0) if where == ops.MODERATE else where
    return lo < x < hi


def _point(op: ops.Op, arg, k: int) -> list[float]:
    """The k-th point of a test: one admissible candidate per input (inputs differ); three
    inputs for a variadic row."""
    ranges = op.ranges(arg, 3 if op.arity == ops.VARIADIC else None)
    point = []
    for i, where in enumerate(ranges):
        admissible = [x for x in CANDIDATES if _inside(x, where)]
        point.append(admissible[(k + i) % len(admissible)])
    return point


def _calls(op: ops.Op) -> list[tuple[str, object]]:
    """``(constant text, constant)`` for each way to call the row: with each example constant,
    and without one when the row has a default."""
    if not op.const:
        return [("", None)]
    calls = [(f", {c!r}", c) for c in op.arg_examples]
    if op.arg_default is not None:
        calls.append(("", op.arg_default))
    return calls


CASES = [
    pytest.param(op, constant, arg, k, id=f"{op.function}(...{constant})-{k}")
    for op in FUNCTION_ROWS
    for constant, arg in _calls(op)
    for k in range(2)
]


def _python_spelling(name: str):
    """The function written with Value methods: ``Value.exp``, or Python's builtin (``abs``,
    ``pow``) that a Value's operator answers; ``None`` if Python has no spelling for it."""
    return getattr(Value, name, None) or getattr(builtins, name, None)


def test_every_row_with_a_function_name_is_in_the_grammar():
    assert set(FUNCTIONS) == {op.function for op in FUNCTION_ROWS}
    assert {"softplus", "leaky_relu", "pow", "abs"} <= set(FUNCTIONS)
    assert all(FUNCTIONS[op.function].op is op for op in FUNCTION_ROWS)


@pytest.mark.parametrize(("op", "constant", "arg", "k"), CASES)
def test_each_function_matches_value_methods_and_central_differences(op, constant, arg, k):
    point = _point(op, arg, k)
    names = ["a", "b", "c"][: len(point)]
    text = f"{op.function}({', '.join(names)}{constant})"
    out, leaves = parse_expression(text, dict(zip(names, point, strict=True)))
    out.backward()
    assert out.op == op.name
    grads = [leaves[name].grad for name in names]

    numeric = numerical_grad(
        lambda *xs: parse_expression(text, dict(zip(names, xs, strict=True)))[0], point
    )
    assert grads == pytest.approx(numeric, rel=1e-6, abs=1e-8)

    spelling = _python_spelling(op.function)
    if spelling is not None:
        xs = [Value(x) for x in point]
        if op.arity == ops.VARIADIC:  # Value.max([x, y, z])
            reference = spelling(xs)
        else:
            reference = spelling(*xs) if arg is None else spelling(*xs, arg)
        reference.backward()
        assert out.data == reference.data
        assert grads == [x.grad for x in xs]

    # on plain numbers the row's forward gives the same, folded into one number
    numbers_only = f"{op.function}({', '.join(map(repr, point))}{constant})"
    folded, _ = parse_expression(numbers_only, {})
    assert folded.op == "" and folded.data == out.data


@pytest.mark.parametrize("op", FUNCTION_ROWS, ids=[op.function for op in FUNCTION_ROWS])
def test_each_function_refuses_a_wrong_number_of_arguments(op):
    if op.arity != ops.VARIADIC:  # a variadic row takes any number but none
        too_many = ", ".join(["a"] * (op.arity + op.const + 1))
        with pytest.raises(ExpressionError, match=rf"{op.function} takes .* got \d"):
            parse_expression(f"{op.function}({too_many})", {"a": 0.5})
    with pytest.raises(ExpressionError, match=f"{op.function} takes"):
        parse_expression(f"{op.function}()", {"a": 0.5})


@pytest.mark.parametrize(
    "op", [op for op in FUNCTION_ROWS if op.const], ids=lambda op: str(op.function)
)
def test_a_constant_argument_that_depends_on_a_variable_is_refused(op):
    inputs = ", ".join(["a"] * op.arity)
    with pytest.raises(ExpressionError, match=f"{op.arg_name} must be a number"):
        parse_expression(f"{op.function}({inputs}, 2 * b)", {"a": 0.5, "b": 0.1})


@pytest.mark.parametrize(
    "op", [op for op in FUNCTION_ROWS if op.input_defaults], ids=lambda op: str(op.function)
)
def test_inputs_left_out_take_the_row_s_defaults(op):
    assert op.function == "hardtanh" and op.input_defaults == (-1.0, 1.0)  # PyTorch's
    n = op.arity - len(op.input_defaults)
    spelled = ", ".join(map(repr, op.input_defaults))
    for a in (-2.5, -0.4, 0.3, 1.7):
        full, leaves = parse_expression(f"{op.function}(a, {spelled})", {"a": a})
        full.backward()
        for given in range(n, op.arity):
            text = ", ".join(["a", *map(repr, op.input_defaults[: given - n])])
            short, short_leaves = parse_expression(f"{op.function}({text})", {"a": a})
            short.backward()
            assert short.data == full.data and short_leaves["a"].grad == leaves["a"].grad
        x = Value(a)
        assert getattr(x, op.function)().data == full.data  # the method's defaults agree
    assert FUNCTIONS[op.function].call_form() == "hardtanh(x0[, x1=-1[, x2=1]])"
    with pytest.raises(ExpressionError, match="takes 1 to 3 arguments, got 4"):
        parse_expression(f"{op.function}(a, a, a, a)", {"a": 0.5})


def test_pow_with_a_number_keeps_a_constant_exponent_or_base():
    out, leaves = parse_expression("pow(b, 2)", {"b": -3})
    out.backward()
    assert (out.op, out.op_arg, leaves["b"].grad) == ("pow_const", 2.0, -6.0)
    out, leaves = parse_expression("pow(2, b)", {"b": 3})
    out.backward()
    assert out.op == "rpow" and leaves["b"].grad == pytest.approx(8 * math.log(2), rel=1e-15)


def test_domain_errors_on_plain_numbers_name_the_op():
    with pytest.raises(ExpressionError, match=r"div: division of 1\.0 by zero in 1 / 0"):
        parse_expression("1 / 0", {})
    with pytest.raises(ExpressionError, match=r"pow: .* in pow\(0, -1\)"):
        parse_expression("pow(0, -1)", {})
    with pytest.raises(ExpressionError, match=r"sqrt: .* in sqrt\(-1\)"):
        parse_expression("sqrt(-1)", {})
