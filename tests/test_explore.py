"""``viz.explore``'s Python side: sliders recompute the graph in place, checked against plain math
and central differences (the page is driven in a real browser in ``test_widgets_browser.py``)."""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from typing import Any

import graphviz
import pytest
from conftest import require_dot, require_module

require_module("anywidget")  # the jupyter extra: needed here, and in CI never skipped


from microgradnet.engine import Value  # noqa: E402
from microgradnet.expression import ExpressionError  # noqa: E402
from microgradnet.viz import _explore  # noqa: E402
from microgradnet.viz._explore import MAX_SLIDERS, Explorer, slider_range  # noqa: E402


def _central(f: Callable[..., float], values: dict[str, float], name: str) -> float:
    h = 1e-6
    up, down = dict(values), dict(values)
    up[name] += h
    down[name] -= h
    return (f(**up) - f(**down)) / (2 * h)


def _check(ex: Explorer, f: Callable[..., float]) -> None:
    values = {name: float(v) for name, v in ex.values.items()}
    assert ex.output == pytest.approx(f(**values), rel=1e-12)
    assert ex.root.data == ex.output
    for name in ex.names:
        expected = _central(f, values, name)
        assert ex.grads[name] == pytest.approx(expected, rel=1e-6, abs=1e-8), name
        assert ex.leaves[name].grad == ex.grads[name]


def test_an_expression_gets_a_slider_per_variable_in_order_of_use() -> None:
    def f(a: float, b: float, c: float) -> float:
        return math.tanh(a * b + c) * math.exp(-a)

    ex = Explorer("tanh(a*b + c) * exp(-a)", {"b": -0.5})
    assert ex.names == ["a", "b", "c"]
    assert ex.values == {"a": 1.0, "b": -0.5, "c": 1.0}  # a variable not given starts at 1
    _check(ex, f)
    revision = ex.revision
    ex.set(a=0.3, c=-2.0)
    assert ex.revision == revision + 1
    _check(ex, f)
    ex.set_state({"values": {"a": -1.25, "b": 2.0, "c": 0.5}})  # as the page sends a drag
    _check(ex, f)


def test_a_value_graph_is_recomputed_in_place() -> None:
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    out = (a * b + a**2).relu() + (a / b).exp()

    ex = Explorer(out, {"a": 3.0, "b": -2.0})  # relu's input 3: away from its kink
    assert ex.names == ["a", "b"] and ex.root is out

    def g(a: float, b: float) -> float:
        return max(a * b + a**2, 0.0) + math.exp(a / b)

    _check(ex, g)
    assert out.data == pytest.approx(g(3.0, -2.0)) and a.data == 3.0
    ex.set(b=-1.0, a=1.5)
    _check(ex, g)
    assert a.grad == ex.grads["a"]


def test_unlabelled_leaves_and_repeated_labels_get_names() -> None:
    x = Value(1.0, label="x")
    y = Value(2.0, label="x")
    out = x * y + 3.0  # the constant 3 is a leaf too
    ex = Explorer(out, {})
    assert sorted(ex.names) == ["leaf0", "x", "x_2"]
    assert ex.leaves["leaf0"].data == 3.0 and {ex.leaves["x"], ex.leaves["x_2"]} == {x, y}


def test_a_value_outside_the_domain_keeps_the_last_good_graph() -> None:
    ex = Explorer("log(x) * y", {"x": 2.0, "y": 3.0})
    before = (ex.output, dict(ex.grads), ex.svg)
    ex.set(x=-1.0)
    assert "log: undefined for non-positive value -1.0" in ex.error
    assert (ex.output, ex.grads, ex.svg) == before
    assert ex.leaves["x"].data == 2.0  # the graph itself was not touched
    ex.set(x=4.0)
    assert ex.error == "" and ex.output == pytest.approx(math.log(4.0) * 3.0)


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match=r"no leaf called 'z'; the leaves are a, b"):
        Explorer("a + b", {"z": 1.0})
    with pytest.raises(TypeError, match=r"value of 'a' must be a number"):
        Explorer("a + b", {"a": "one"})
    with pytest.raises(ExpressionError, match=r"unknown function '__import__'"):
        Explorer("__import__('os')", {})
    with pytest.raises(ExpressionError, match=r"not allowed"):
        Explorer("a.__class__", {})
    with pytest.raises(TypeError, match=r"expected a Value or an expression string"):
        Explorer(3.0, {})  # type: ignore[arg-type]
    many = Value.sum([Value(float(i)) for i in range(MAX_SLIDERS + 1)])
    with pytest.raises(ValueError, match=rf"has {MAX_SLIDERS + 1} leaves; sliders are for small"):
        Explorer(many, {})
    ex = Explorer("a * 2", {})
    with pytest.raises(ValueError, match=r"must be finite"):
        ex.set(a=math.inf)
    with pytest.raises(ValueError, match=r"no leaf called 'b'"):
        ex.set(b=1.0)


def test_the_drawing_shows_the_data_and_gradients() -> None:
    require_dot()
    ex = Explorer("a * b", {"a": 2.0, "b": -3.0})
    text = html.unescape(ex.svg)  # Graphviz writes a minus sign as &#45;
    assert ex.svg.startswith("<svg") and "grad -3" in text and "data -6" in text
    ex.set(b=5.0)
    text = html.unescape(ex.svg)
    assert "grad 5" in text and "data 10" in text and "data -6" not in text


def test_without_dot_the_table_still_follows(monkeypatch: Any) -> None:
    def missing(*args: Any, **kwargs: Any) -> bytes:
        raise graphviz.ExecutableNotFound(["dot"])

    monkeypatch.setattr(graphviz.Digraph, "pipe", missing)
    ex = Explorer("a * b", {"a": 2.0, "b": -3.0})
    assert ex.svg == "" and "apt-get install graphviz" in ex.note
    ex.set(a=4.0)
    assert ex.grads == {"a": -3.0, "b": 4.0}


def test_slider_ranges_hold_zero_and_the_value() -> None:
    for value in (0.0, 2.0, -3.0, 10.0, -0.25, 123.4):
        low, high, step = slider_range(value)
        assert low <= min(0.0, value) and high >= max(0.0, value) and low == -high
        assert (high - low) / step >= 300 and math.log10(step).is_integer()
    assert _explore.DEFAULT_VALUE == 1.0
