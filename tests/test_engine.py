"""The engine's behaviour: construction, operators, backward, grad, no_grad, define_op."""

from __future__ import annotations

import gc
import math
import sys
import threading

import numpy as np
import pytest

from microgradnet import Value, define_op, grad, no_grad, ops
from microgradnet.engine import backward_order

# ----- construction and types -----


@pytest.mark.parametrize(
    "data", [3, 2.5, True, np.float32(1.5), np.float64(-2.0), np.int64(7), np.bool_(True)]
)
def test_real_numbers_are_stored_as_float(data: object) -> None:
    v = Value(data)
    assert type(v.data) is float
    assert v.data == float(data)
    assert v.grad == 0.0
    assert v.op == ""
    assert v.parents == ()


@pytest.mark.parametrize("data", ["1.0", 1 + 2j, None, [1.0], np.array([1.0]), np.array(1.0)])
def test_non_real_data_raises_type_error_naming_the_type(data: object) -> None:
    with pytest.raises(TypeError, match=type(data).__name__):
        Value(data)  # type: ignore[arg-type]


@pytest.mark.parametrize("operand", ["2", 1j, None, [1.0]])
def test_non_real_operands_raise_type_error(operand: object) -> None:
    x = Value(1.0)
    for combine in (
        lambda: x + operand,
        lambda: operand * x,
        lambda: x / operand,
        lambda: x**operand,
        lambda: operand - x,
    ):
        with pytest.raises(TypeError, match=type(operand).__name__):
            combine()


def test_label_must_be_a_string() -> None:
    with pytest.raises(TypeError, match="label"):
        Value(1.0, label=3)  # type: ignore[arg-type]


def test_label_of_a_result_starts_empty_and_can_be_set() -> None:
    y = Value(2.0) * 3
    assert y.label == ""
    y.label = "y"
    assert y.label == "y" and "label='y'" in repr(y)
    with pytest.raises(TypeError, match="label must be a str, got int"):
        y.label = 3  # type: ignore[assignment]
    assert y.label == "y"


def test_repr_is_short_and_shows_the_label() -> None:
    assert repr(Value(2.0, label="x")) == "Value(data=2.0, grad=0.0, label='x')"
    assert repr(Value(1 / 3)) == "Value(data=0.333333, grad=0.0)"


def test_float_and_identity_hashing() -> None:
    a, b = Value(1.0), Value(1.0)
    assert float(a) == 1.0
    assert len({a, b}) == 2
    assert {a: 1}[a] == 1


def test_parents_are_ordered_and_keep_duplicates() -> None:
    x, y = Value(2.0), Value(3.0)
    assert (x * x).parents == (x, x)
    assert (y - x).parents == (y, x)
    assert (x**2).parents == (x,)
    assert (2 * x).parents[1] is x


def test_constant_exponent_is_not_a_node_and_works_for_negative_bases() -> None:
    x = Value(-3.0)
    y = x**2
    y.backward()
    assert y.data == 9.0
    assert x.grad == -6.0
    assert y.op_arg == 2.0


def test_value_exponent_differentiates_in_both_arguments() -> None:
    x, y = Value(2.0), Value(3.0)
    z = x**y
    z.backward()
    assert z.data == 8.0
    assert x.grad == pytest.approx(12.0)
    assert y.grad == pytest.approx(8.0 * math.log(2.0))
    t = Value(1.5)
    (dt,) = grad(2**t, [t])
    assert dt.data == pytest.approx(2**1.5 * math.log(2.0))


def test_negative_base_with_value_exponent_raises_only_when_that_gradient_is_needed() -> None:
    x, y = Value(-2.0), Value(2.0)
    z = x**y
    assert z.data == 4.0
    (dx,) = grad(z, [x])  # the exponent's gradient is not asked for
    assert dx.data == pytest.approx(-4.0)
    with pytest.raises(ValueError, match=r"pow: .*log\(base\).*-2\.0"):
        grad(z, [y])
    with pytest.raises(ValueError, match="pow"):
        z.backward()
    assert x.grad == 0.0 and y.grad == 0.0  # a failed backward changes nothing


def test_sigmoid_and_tanh_are_stable_at_extremes() -> None:
    for x in (-1000.0, 1000.0, -1e308, 1e308):
        for f in (Value.sigmoid, Value.tanh):
            v = Value(x)
            out = f(v)
            out.backward()
            assert math.isfinite(out.data) and math.isfinite(v.grad)
    assert Value(1000.0).sigmoid().data == 1.0
    assert Value(-1000.0).sigmoid().data == 0.0


def test_gradient_of_sqrt_at_zero_raises_naming_the_op() -> None:
    x = Value(0.0)
    with pytest.raises(ZeroDivisionError, match=r"^sqrt: .*0\.0"):
        x.sqrt().backward()


# ----- micrograd's README figures -----


def _micrograd_example() -> tuple[Value, Value, Value]:
    a = Value(-4.0)
    b = Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    return a, b, g


def test_micrograd_readme_figures() -> None:
    a, b, g = _micrograd_example()
    g.backward()
    assert f"{g.data:.4f}" == "24.7041"
    assert f"{a.grad:.4f}" == "138.8338"
    assert f"{b.grad:.4f}" == "645.5773"


# ----- backward -----


def test_backward_twice_gives_exactly_twice() -> None:
    a, b, g = _micrograd_example()
    g.backward()
    first = (a.grad, b.grad, g.grad)
    g.backward()
    assert (a.grad, b.grad, g.grad) == tuple(2 * v for v in first)


def test_backward_seed_scales_every_gradient() -> None:
    x = Value(0.5)
    y = x.tanh() * x
    y.backward(3.0)
    expected = 3.0 * ((1 - math.tanh(0.5) ** 2) * 0.5 + math.tanh(0.5))
    assert x.grad == pytest.approx(expected)
    assert y.grad == 3.0
    with pytest.raises(TypeError, match="gradient"):
        y.backward("1")  # type: ignore[arg-type]


def test_backward_adds_to_grad_as_float_addition_does() -> None:
    # .grad gains each gradient as `grad + g` would, the sign of a zero included.
    x = Value(2.0)
    y = x * 3.0
    x.grad = 1.5
    y.backward(-0.0)
    assert math.copysign(1.0, y.grad) == 1.0  # 0.0 + -0.0 is 0.0
    assert x.grad == 1.5
    y.grad = -0.0
    y.backward(-0.0)
    assert math.copysign(1.0, y.grad) == -1.0  # -0.0 + -0.0 is -0.0
    y.grad = 0
    y.backward(2.0)
    assert (y.grad, x.grad) == (2.0, 7.5)
    assert type(y.grad) is float


def test_reused_nodes_accumulate() -> None:
    x = Value(3.0)
    y = x * x + x  # dy/dx = 2x + 1
    y.backward()
    assert x.grad == 7.0


def test_backward_order_puts_every_node_after_its_consumers() -> None:
    _, _, g = _micrograd_example()
    order = backward_order(g)
    position = {node: i for i, node in enumerate(order)}
    assert order[0] is g
    assert len(position) == len(order)
    for node in order:
        for parent in node.parents:
            assert position[parent] > position[node]


def test_chain_of_a_million_nodes_under_the_default_recursion_limit() -> None:
    assert sys.getrecursionlimit() <= 10_000
    x = Value(1.0)
    y = x
    for _ in range(1_000_000):
        y = y * 1.0000001
    y.backward()
    assert x.grad == pytest.approx(1.0000001**1_000_000, rel=1e-9)
    del y  # freeing a deep chain must not overflow the C stack either


def test_dropped_graph_is_freed_without_the_cycle_collector() -> None:
    gc.collect()
    gc.disable()
    try:
        before = len(gc.get_objects())
        x = Value(0.5)
        y = x
        for _ in range(1000):
            y = (y * x).tanh() + 1
        y.backward()
        assert len(gc.get_objects()) > before + 1000
        del x, y
        assert len(gc.get_objects()) <= before + 5
        assert gc.collect() == 0
    finally:
        gc.enable()


# ----- grad -----


def test_grad_does_not_touch_dot_grad() -> None:
    x, y = Value(2.0), Value(-1.0)
    z = x * y + x.exp()
    gx, gy = grad(z, [x, y])
    assert gx.data == pytest.approx(-1.0 + math.exp(2.0))
    assert gy.data == 2.0
    assert x.grad == y.grad == z.grad == 0.0


def test_grad_of_unrelated_input_is_zero() -> None:
    x, unrelated = Value(2.0), Value(5.0)
    assert [g.data for g in grad(x * x, [unrelated, x])] == [0.0, 4.0]


def test_grad_with_respect_to_the_output_itself_is_one() -> None:
    x = Value(2.0)
    assert grad(x, [x])[0].data == 1.0


def test_higher_order_gradients_of_x_cubed() -> None:
    x = Value(2.0)
    (g,) = grad(x**3, [x], create_graph=True)
    assert g.data == 12.0
    (h,) = grad(g, [x], create_graph=True)
    assert h.data == 12.0
    (t,) = grad(h, [x])
    assert t.data == 6.0


def test_mixed_second_derivative() -> None:
    x, y = Value(0.3), Value(-0.7)
    f = (x * y).sin() + x.exp() * y
    gx, gy = grad(f, [x, y], create_graph=True)
    (gxy,) = grad(gx, [y])
    (gyx,) = grad(gy, [x])
    expected = math.cos(0.3 * -0.7) - 0.3 * -0.7 * math.sin(0.3 * -0.7) + math.exp(0.3)
    assert gxy.data == pytest.approx(expected)
    assert gyx.data == pytest.approx(expected)


@pytest.mark.parametrize(
    "bad",
    [lambda x: grad(1.0, [x]), lambda x: grad(x * x, x), lambda x: grad(x * x, [x, 2.0])],
)
def test_grad_rejects_non_values(bad) -> None:
    with pytest.raises(TypeError):
        bad(Value(1.0))


# ----- no_grad and detach -----


def test_no_grad_records_no_graph_and_restores() -> None:
    x = Value(2.0)
    with no_grad():
        y = x * x + 1
        with no_grad():
            pass
        z = x.exp()
        w = x * x + x  # the inlined __mul__ and __add__, after an inner block closed
    assert y.parents == () and y.op == "" and y.data == 5.0
    assert z.parents == () and w.parents == ()
    assert (x * x).parents == (x, x)


def test_no_grad_as_decorator_with_and_without_parentheses() -> None:
    @no_grad()
    def f(v: Value) -> Value:
        return v * 2

    @no_grad
    def g(v: Value) -> Value:
        return v * 3

    x = Value(1.0)
    assert f(x).parents == () and g(x).parents == ()
    assert (x * 2).parents != ()


def test_no_grad_in_one_thread_does_not_affect_another() -> None:
    entered, checked = threading.Event(), threading.Event()
    seen: list[tuple[Value, ...]] = []

    def other_thread() -> None:
        entered.wait()
        x = Value(1.0)
        seen.append((x * x).parents)
        checked.set()

    thread = threading.Thread(target=other_thread)
    thread.start()
    with no_grad():
        entered.set()
        checked.wait(timeout=10)
        inside = Value(1.0) * 2
    thread.join()
    assert len(seen[0]) == 2
    assert inside.parents == ()


def test_detach_makes_a_new_leaf() -> None:
    x = Value(2.0, label="x")
    y = (x * 3).detach()
    z = y * x
    z.backward()
    assert y.parents == () and y.data == 6.0
    assert x.grad == 6.0


# ----- define_op -----


@define_op(derivative=lambda x, out: 2 * x)
def square(x: float) -> float:
    return x * x


@define_op(derivative=lambda x, y, out: (y * x ** (y - 1), out * ops.log(x)), name="mypow")
def my_pow(x: float, y: float) -> float:
    return x**y


def test_define_op_first_and_second_order() -> None:
    x = Value(3.0)
    y = square(x)
    y.backward()
    assert (y.data, x.grad, y.op) == (9.0, 6.0, "square")
    (g,) = grad(square(x), [x], create_graph=True)
    assert grad(g, [x])[0].data == 2.0
    assert square(4) == 16.0  # plain numbers in, plain float out


def test_define_op_with_two_inputs_matches_central_differences() -> None:
    x, y = Value(1.7), Value(0.6)
    gx, gy = grad(my_pow(x, y), [x, y])
    h = 1e-6
    assert gx.data == pytest.approx(((1.7 + h) ** 0.6 - (1.7 - h) ** 0.6) / (2 * h), rel=1e-6)
    assert gy.data == pytest.approx((1.7 ** (0.6 + h) - 1.7 ** (0.6 - h)) / (2 * h), rel=1e-6)


def test_define_op_wrong_derivative_arity_names_the_op() -> None:
    @define_op(derivative=lambda x, y, out: (1.0,))
    def wrong(x: float, y: float) -> float:
        return x + y

    @define_op(derivative=lambda x, out: (1.0, 2.0))
    def wrong_unary(x: float) -> float:
        return x

    with pytest.raises(TypeError, match=r"'wrong'.*1 value.*2 input"):
        wrong(Value(1.0), Value(2.0)).backward()
    with pytest.raises(TypeError, match=r"'wrong_unary'.*2 values.*1 input"):
        wrong_unary(Value(1.0)).backward()


def test_define_op_rejects_bad_results_and_arguments() -> None:
    @define_op(derivative=lambda x, out: "one")
    def bad_derivative(x: float) -> float:
        return x

    @define_op(derivative=lambda x, out: 1.0)
    def complex_forward(x: float) -> float:
        return 1j * x  # type: ignore[return-value]

    with pytest.raises(TypeError, match=r"bad_derivative.*str"):
        bad_derivative(Value(1.0)).backward()
    with pytest.raises(TypeError, match=r"complex_forward.*complex"):
        complex_forward(Value(1.0))
    with pytest.raises(TypeError, match=r"square.*1 input"):
        square(Value(1.0), Value(2.0))
    with pytest.raises(TypeError, match="derivative must be callable"):
        define_op(derivative=3)  # type: ignore[arg-type]


def test_define_op_forward_domain_error_names_the_op() -> None:
    @define_op(derivative=lambda x, out: 0.5 / out)
    def root(x: float) -> float:
        return math.sqrt(x)

    with pytest.raises(ValueError, match=r"root: .*-4\.0"):
        root(Value(-4.0))


def test_backward_does_not_walk_behind_an_exact_zero() -> None:
    # sqrt's derivative is undefined at 0, but an inactive relu passes no gradient to it:
    # the subgraph behind the relu is not walked, and x gets a gradient of exactly 0.
    x = Value(0.0)
    dead = (x.sqrt() - 1).relu()
    (dead + Value(2.0) * 3).backward()
    assert x.grad == 0.0
    # the same sqrt on a live path is walked, and its undefined derivative is reported
    with pytest.raises(ZeroDivisionError, match="sqrt"):
        (x.sqrt() + 1).relu().backward()
    # the losers of a max receive nothing either
    a, b = Value(1.0), Value(0.0)
    Value.max([a, b.sqrt()]).backward()
    assert (a.grad, b.grad) == (1.0, 0.0)


@pytest.mark.parametrize("x", [-2.0, -0.0, 0.0, 5e-324, 3.5, math.inf, -math.inf])
def test_relu_node_agrees_with_its_op_row_and_the_closed_form(x: float) -> None:
    out = Value(x).relu()
    assert out.data == ops.RELU.forward(x) == max(0.0, x)
    assert out.op == "relu"
    with no_grad():
        assert Value(x).relu().parents == ()


# ----- comparisons -----


@pytest.mark.parametrize("other", ["3", None, [3.0], 1j])
def test_comparing_with_anything_but_a_number_raises_type_error(other: object) -> None:
    x = Value(2.0)
    for compare in (
        lambda: x < other,
        lambda: x <= other,
        lambda: x > other,
        lambda: x >= other,
        lambda: other < x,
        lambda: other >= x,
    ):
        with pytest.raises(TypeError, match="not supported"):
            compare()


def test_comparisons_with_values_and_numbers() -> None:
    x, y = Value(2.0), Value(3.0)
    assert x < y and x <= 2 and y > np.float64(2.5) and y >= True and x > 1
    assert not (x > y) and not (x >= 3)


# ----- grad mode inside grad() -----


def test_create_graph_builds_the_graph_inside_no_grad_as_torch_does() -> None:
    x = Value(2.0)
    y = x**3
    with no_grad():
        (g,) = grad(y, [x], create_graph=True)  # 3x²
        z = g * 2  # grad mode is off again here
    assert g.parents != () and z.parents == ()
    assert grad(g, [x])[0].data == 12.0


def test_enable_grad_inside_no_grad() -> None:
    from microgradnet import enable_grad, is_grad_enabled

    x = Value(2.0)
    with no_grad():
        with enable_grad():
            assert is_grad_enabled()
            y = x * x
        z = x * x
    assert y.parents == (x, x) and z.parents == ()
