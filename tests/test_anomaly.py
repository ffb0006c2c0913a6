"""detect_anomaly: a backward producing NaN or an infinity raises, naming the op, its inputs and
the user's line that made the node; off, nothing is noted or checked."""

from __future__ import annotations

import math
import threading
from pathlib import Path

import pytest

from microgradnet import Value, detect_anomaly, grad, is_anomaly_enabled, no_grad
from microgradnet._value_extras import creation_site, notes_of
from microgradnet.nn import MLP, Neuron

HERE = Path(__file__).name


def _line_of(text: str) -> int:
    """The line of this file holding ``text`` (so that the tests survive edits above them)."""
    lines = Path(__file__).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line and "_line_of" not in line)


def test_an_infinite_gradient_names_the_op_its_input_and_the_line() -> None:
    x = Value(1e-310)  # 1/x overflows
    with detect_anomaly():
        y = x.log()  # the log node
        with pytest.raises(FloatingPointError) as caught:
            y.backward()
    message = str(caught.value)
    assert "backward of 'log' produced inf for its input 0" in message
    assert "inputs: 1e-310" in message
    assert f"{HERE}:{_line_of('y = x.log()  # the log node')}" in message
    assert "y = x.log()" in message
    assert x.grad == 0.0  # a failed backward changes nothing


def test_a_nan_gradient() -> None:
    x = Value(math.inf)
    with detect_anomaly():
        y = (x * 0.0).exp()  # inf * 0 is NaN already in the forward
        with pytest.raises(FloatingPointError, match=r"backward of 'exp' produced nan"):
            y.backward()


def test_a_sum_that_overflows_blames_the_step_that_made_it() -> None:
    a = Value(1.0)
    with detect_anomaly():
        y = a * 1e308 + a * 1e308
        with pytest.raises(
            FloatingPointError, match=r"'mul' made the gradient of its input 0 inf \(adding 1e\+308"
        ):
            y.backward()


def test_without_it_the_infinity_is_silent() -> None:
    x = Value(1e-310)
    y = x.log()
    assert notes_of(y) is None  # nothing noted when off
    y.backward()
    assert x.grad == math.inf
    assert not is_anomaly_enabled()


def test_the_site_is_the_users_line_not_the_librarys() -> None:
    neuron = Neuron(1, activation="linear", seed=0)
    neuron.w[0] = Value(1e308)
    with detect_anomaly():
        out = neuron([Value(1.0)]) * 10.0  # the dot node is made inside the library
        with pytest.raises(FloatingPointError) as caught:
            out.backward()
    message = str(caught.value)
    assert "backward of 'dot' produced inf" in message
    assert f"{HERE}:{_line_of('out = neuron([Value(1.0)]) * 10.0')}" in message
    site = creation_site(out.parents[0])
    assert site == (
        __file__,
        _line_of("out = neuron([Value(1.0)])"),
        "test_the_site_is_the_users_line_not_the_librarys",
    )


def test_a_node_made_outside_is_reported_without_a_site() -> None:
    x = Value(1e-310)
    y = x.log()
    unknown = "where the 'log' node was made is unknown"
    with detect_anomaly(), pytest.raises(FloatingPointError, match=unknown):
        y.backward()


def test_grad_and_create_graph_are_checked_too() -> None:
    x = Value(1e-310)
    with detect_anomaly():
        y = x.log() * 2.0
        with pytest.raises(FloatingPointError, match="'log'"):
            grad(y, [x])
        with pytest.raises(FloatingPointError, match="'log'"):
            grad(y, [x], create_graph=True)
        assert grad(Value(2.0) * x, [x])[0].data == 2.0  # finite: no error


def test_frozen_leaves_are_not_checked_as_they_are_not_walked() -> None:
    w, x = Value(1e-310), Value(2.0)
    w.requires_grad = False
    with detect_anomaly():
        y = w.log() * x
        y.backward()
    assert x.grad == math.log(1e-310) and w.grad == 0.0


def test_as_a_decorator_and_per_thread() -> None:
    @detect_anomaly
    def without_parentheses() -> bool:
        return is_anomaly_enabled()

    @detect_anomaly()
    def with_parentheses() -> bool:
        return is_anomaly_enabled()

    assert without_parentheses() and with_parentheses() and not is_anomaly_enabled()
    seen: list[bool] = []
    with detect_anomaly():
        thread = threading.Thread(target=lambda: seen.append(is_anomaly_enabled()))
        thread.start()
        thread.join()
    assert seen == [False]


def test_no_grad_inside_still_records_nothing() -> None:
    x = Value(2.0)
    with detect_anomaly(), no_grad():
        y = x * x
    assert y.parents == () and notes_of(y) is None


def test_a_node_with_no_site_is_placed_by_the_node_reading_it() -> None:
    model = MLP(1, [2, 1], activation="relu", seed=0)  # a batched layer notes no sites
    model.layers[0].neurons[0].w[0] = Value(1e308)
    model.layers[1].neurons[0].w[0] = Value(1.0)
    with detect_anomaly():
        out = model([Value(1.0)]) * 1e10  # the mul reading the network's output
        with pytest.raises(FloatingPointError) as caught:
            out.backward()
    message = str(caught.value)
    assert "backward of 'dot' produced inf" in message
    # the dot node's own line once batched layers note sites, else the line of the node reading it
    assert f"{HERE}:{_line_of('out = model([Value(1.0)]) * 1e10')}" in message
