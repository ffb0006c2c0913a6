"""Fuzzing the expression parser, in process: any text gives a graph or one short ExpressionError,
nothing is ever evaluated as Python, and well-formed expressions compute what they say.

Run long with ``HYPOTHESIS_PROFILE=fuzz``; the ``ci`` profile runs a few dozen cases of each.
"""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from microgradnet import Value
from microgradnet.expression import FUNCTIONS, MAX_LENGTH, ExpressionError, parse_expression

VARIABLES = {"a": 0.7, "b": -1.3, "c": 2.0, "x_1": 1e-3}
# A message names the offending piece, shortened (an unknown function's lists the functions).
MAX_MESSAGE = 200 + len(", ".join(FUNCTIONS))

# ----- a tripwire: parsing must not execute code, start processes or write files -----
# An audit hook sees every exec()/eval() of a code object ("exec"), every process started and
# every file opened; the hook stays installed for the process, armed only during a parse.
_FORBIDDEN = ("exec", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork")
_FORBIDDEN += ("subprocess.Popen", "socket.connect", "ctypes.dlopen", "os.remove", "shutil.")
_seen: list[str] = []
_armed = False


def _audit(event: str, args: tuple[object, ...]) -> None:
    if not _armed:
        return
    if event.startswith(_FORBIDDEN) or (
        event == "open" and len(args) > 1 and set(str(args[1])) & set("wax+")
    ):
        _seen.append(event)


sys.addaudithook(_audit)


@contextmanager
def nothing_runs() -> Iterator[None]:
    global _armed
    _seen.clear()
    _armed = True
    try:
        yield
    finally:
        _armed = False
    assert _seen == [], f"parsing ran code: {_seen}"


def parse_or_refuse(text: str) -> Value | None:
    """The graph of ``text``, or ``None`` after checking the refusal is one short line."""
    try:
        with nothing_runs(), warnings.catch_warnings(record=True) as warned:
            warnings.simplefilter("always")
            out, _ = parse_expression(text, VARIABLES)
        assert warned == []  # a warning would be a second line on the command line's stderr
    except ExpressionError as error:
        assert warned == [], [str(w.message) for w in warned]
        message = str(error)
        assert "\n" not in message and 0 < len(message) <= MAX_MESSAGE, message
        return None
    assert isinstance(out, Value) and math.isfinite(out.data)
    return out


def backward_or_refuse(out: Value) -> None:
    try:
        out.backward()
    except (ValueError, ArithmeticError) as error:  # an undefined gradient, named
        assert "\n" not in str(error) and len(str(error)) <= MAX_MESSAGE


# ----- text -----
TOKENS = [
    *VARIABLES, "zz", "_", "__class__", "__import__", "eval", "exec", "open", "getattr",
    "globals", "lambda", "yield", "await", "not", "and", "or", "if", "else", "for", "in",
    *FUNCTIONS, "0", "1", "2.5", "1e308", "1e999", "9" * 400, "0x1f", "1_000", "1j", ".5",
    "nan", "inf", "True", "None", "'s'", 'b"x"', 'f"{a}"', "+", "-", "*", "/", "**", "//",
    "%", "@", "<<", "&", "|", "^", "~", "<", "==", ":=", "(", ")", "[", "]", "{", "}", ",",
    ".", ":", ";", "=", "\\", "#", " ", "\n", "\t", "\x00", "é", "ａ", "\u2028",
]  # fmt: skip
token_soup = st.lists(st.sampled_from(TOKENS), max_size=40).map("".join)


@given(st.text(max_size=200))
@example("(" * 499 + "a" + ")" * 499)
@example("-" * 999 + "a")
@example("a" + "**a" * 333)
@example("exp(" * 199 + "a" + ")" * 199)
@example("a" * (MAX_LENGTH + 1))
@example("z" * MAX_LENGTH)
@example("__import__('os').system('touch pwned')")
@example("(lambda: 0)()")
@example("1if a else 2")
@example("[c for c in ().__class__.__base__.__subclasses__()]")
def test_any_text_is_a_graph_or_one_short_refusal(text: str) -> None:
    out = parse_or_refuse(text)
    if out is not None:
        backward_or_refuse(out)


@given(token_soup)
def test_any_token_soup_is_a_graph_or_one_short_refusal(text: str) -> None:
    out = parse_or_refuse(text)
    if out is not None:
        backward_or_refuse(out)


# ----- well-formed expressions and their values, computed without the parser -----
def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


REFERENCE: dict[str, Callable[[float], float]] = {
    "exp": math.exp, "log": math.log, "sqrt": math.sqrt, "sin": math.sin, "cos": math.cos,
    "tanh": math.tanh, "abs": abs, "relu": lambda x: max(x, 0.0), "sigmoid": _sigmoid,
}  # fmt: skip


def _power(x: float, y: float) -> float:
    result = x**y
    if isinstance(result, complex):  # a negative number to a fractional power
        raise ValueError("no real power")
    return result


BINARY: dict[str, Callable[[float, float], float]] = {
    "+": lambda x, y: x + y, "-": lambda x, y: x - y, "*": lambda x, y: x * y,
    "/": lambda x, y: x / y, "**": _power,
}  # fmt: skip


@dataclass(frozen=True)
class Expr:
    text: str
    value: Callable[[], float]  # raises, as Python's float math does, outside a domain


leaves = st.one_of(
    st.sampled_from(sorted(VARIABLES)).map(lambda n: Expr(n, lambda: VARIABLES[n])),
    st.floats(0, 1e3, allow_nan=False).map(lambda x: Expr(repr(x), lambda: x)),
)


def _finite(x: float) -> float:
    """An intermediate result that overflowed: the parser refuses it, so the reference does."""
    if not math.isfinite(x):
        raise OverflowError(x)
    return x


def _extend(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    def unary(name: str, e: Expr) -> Expr:
        return Expr(f"{name}({e.text})", lambda: _finite(REFERENCE[name](e.value())))

    def binary(symbol: str, left: Expr, right: Expr, space: str) -> Expr:
        return Expr(
            f"({left.text}){space}{symbol}{space}({right.text})",
            lambda: _finite(BINARY[symbol](left.value(), right.value())),
        )

    def negate(e: Expr) -> Expr:
        return Expr(f"-({e.text})", lambda: -e.value())

    return st.one_of(
        st.builds(unary, st.sampled_from(sorted(REFERENCE)), children),
        st.builds(
            binary, st.sampled_from(sorted(BINARY)), children, children, st.sampled_from(["", " "])
        ),
        st.builds(negate, children),
    )


expressions = st.recursive(leaves, _extend, max_leaves=12)


@given(expressions)
@example(Expr("abs((b)**(a))", lambda: abs(_power(VARIABLES["b"], VARIABLES["a"]))))
@example(Expr("cos((b)**(a))", lambda: math.cos(_power(VARIABLES["b"], VARIABLES["a"]))))
@example(Expr("(a)**((exp(1.0))*(exp(709.0)))", lambda: _finite(math.exp(1.0) * math.exp(709.0))))
def test_well_formed_expressions_compute_what_they_say(e: Expr) -> None:
    try:
        expected = e.value()
        defined = math.isfinite(expected)
    except (ValueError, ArithmeticError):
        defined = False
    out = parse_or_refuse(e.text)
    if not defined:
        assert out is None, f"{e.text} should be refused (out of a domain), gave {out}"
        return
    assert out is not None, f"{e.text} was refused; Python gives {expected}"
    assert out.data == pytest.approx(expected, rel=1e-9, abs=1e-12)
    backward_or_refuse(out)


def test_the_tripwire_would_catch_evaluation() -> None:
    with pytest.raises(AssertionError, match="parsing ran code"), nothing_runs():
        eval("1 + 1")
