"""The matplotlib plots: history curves, decision boundaries, a function and its derivative."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from matplotlib.figure import Figure

from microgradnet import Value, is_grad_enabled
from microgradnet.viz import plot_decision_boundary, plot_function_and_gradient, plot_history

HISTORY = {
    "loss": [0.9, 0.5, 0.3, 0.2],
    "val_loss": [1.0, 0.6, 0.45, 0.4],
    "accuracy": [0.5, 0.7, 0.85, 0.9],
    "val_accuracy": [0.45, 0.65, 0.8, 0.82],
}


class History:
    def __init__(self, history):
        self.history = history

    def __getitem__(self, key):
        return self.history[key]


def lines_by_label(ax):
    return {line.get_label(): line for line in ax.get_lines()}


@pytest.mark.parametrize("wrap", [dict, History], ids=["dict", "History"])
def test_history_plots_loss_and_accuracy_panels(wrap):
    fig = plot_history(wrap(HISTORY))
    assert isinstance(fig, Figure)
    loss_ax, accuracy_ax = fig.axes
    assert (loss_ax.get_title(), accuracy_ax.get_title()) == ("loss", "accuracy")
    for ax, key in ((loss_ax, "loss"), (accuracy_ax, "accuracy")):
        lines = lines_by_label(ax)
        assert list(lines["training"].get_ydata()) == HISTORY[key]
        assert list(lines["validation"].get_ydata()) == HISTORY[f"val_{key}"]
        assert list(lines["training"].get_xdata()) == [1, 2, 3, 4]
        assert lines["validation"].get_linestyle() == "--"
    low, high = accuracy_ax.get_ylim()
    assert low <= 0.0 and high >= 1.0


def test_history_with_loss_only_has_one_panel():
    fig = plot_history({"loss": [3.0, 2.0]})
    assert [ax.get_title() for ax in fig.axes] == ["loss"]


@pytest.mark.parametrize(
    ("history", "error", "match"),
    [
        ({}, ValueError, "empty"),
        ({"loss": []}, ValueError, "empty"),
        ([0.1, 0.2], TypeError, "History"),
        ({"loss": "0.1"}, TypeError, "'loss'"),
        ({"loss": [0.1, None]}, TypeError, r"loss\[1\]"),
    ],
)
def test_history_refuses_bad_input(history, error, match):
    with pytest.raises(error, match=match):
        plot_history(history)


def linear_model(point):
    x0, x1 = point
    return Value(x0) * 2.0 - Value(x1) + 0.5  # class 1 where 2 x0 - x1 + 0.5 > 0


def separable_data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(n, 2))
    score = 2 * X[:, 0] - X[:, 1] + 0.5
    keep = np.abs(score) > 0.3
    return X[keep], np.where(score[keep] > 0, 1, -1)


def test_decision_boundary_regions_follow_the_model_sign():
    X, y = separable_data()
    fig = plot_decision_boundary(linear_model, X, y, resolution=25)
    (ax,) = fig.axes
    assert ax.get_title() == "decision boundary (accuracy 100.0%)"
    filled = ax.collections[0]
    assert filled.get_array() is not None
    # the points are coloured by their own labels: 0 for -1, 1 for +1
    points = ax.collections[-1]
    assert sorted(set(points.get_array().tolist())) == [0, 1]
    assert np.array_equal(points.get_array(), (y > 0).astype(int))


def test_decision_boundary_accuracy_counts_mistakes():
    X, y = separable_data()
    flipped = y.copy()
    flipped[:5] *= -1
    fig = plot_decision_boundary(linear_model, X, flipped, resolution=10)
    expected = 1 - 5 / len(y)
    assert fig.axes[0].get_title() == f"decision boundary (accuracy {expected:.1%})"


def test_decision_boundary_uses_argmax_for_logits_and_no_grad():
    modes = []

    def three_classes(point):
        modes.append(is_grad_enabled())
        x0, x1 = (Value(v) for v in point)
        return [x0 * 1.0, x1 * 1.0, -x0 - x1]

    X = np.array([[2.0, 0.0], [0.0, 2.0], [-2.0, -2.0], [1.5, -0.5]])
    y = np.array([0, 1, 2, 0])
    fig = plot_decision_boundary(three_classes, X, y, resolution=8)
    assert fig.axes[0].get_title() == "decision boundary (accuracy 100.0%)"
    assert modes and not any(modes)


def test_decision_boundary_draws_into_given_axes():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    plt.close(fig)
    X, y = separable_data()
    assert plot_decision_boundary(linear_model, X, y, resolution=5, ax=ax) is fig
    # axes in a subfigure: the figure returned is the whole one, which can be saved and shown
    fig = plt.figure()
    plt.close(fig)
    (left, _) = fig.subfigures(1, 2)
    assert plot_decision_boundary(linear_model, X, y, resolution=5, ax=left.subplots()) is fig


@pytest.mark.parametrize(
    ("X", "y", "kwargs", "match"),
    [
        (np.zeros((4, 3)), np.zeros(4), {}, r"shape \(n, 2\)"),
        (np.zeros((4, 2)), np.zeros(3), {}, "4 labels"),
        (np.zeros((4, 2)), np.zeros(4), {"resolution": 1}, "resolution"),
        (np.full((2, 2), np.nan), np.zeros(2), {}, "NaN"),
    ],
)
def test_decision_boundary_refuses_bad_input(X, y, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_decision_boundary(linear_model, X, y, **kwargs)


def test_decision_boundary_refuses_a_model_returning_text():
    with pytest.raises(TypeError, match="must return a Value"):
        plot_decision_boundary(lambda p: "yes", np.zeros((2, 2)), np.zeros(2), resolution=2)


def test_function_and_gradient_match_the_closed_form():
    fig = plot_function_and_gradient(lambda x: x * x.tanh(), (-3, 3), n=101)
    left, right = fig.axes
    xs = left.get_lines()[0].get_xdata()
    assert np.allclose(xs, np.linspace(-3, 3, 101))
    assert np.allclose(left.get_lines()[0].get_ydata(), xs * np.tanh(xs))
    slope = np.tanh(xs) + xs * (1 - np.tanh(xs) ** 2)
    assert np.allclose(right.get_lines()[0].get_ydata(), slope, rtol=1e-12, atol=1e-12)
    assert (left.get_title(), right.get_title()) == ("f(x)", "f'(x)")


def test_function_outside_its_domain_leaves_gaps():
    def log(x):
        return x.log()

    fig = plot_function_and_gradient(log, (-1, 2), n=31)
    ys = fig.axes[1].get_lines()[0].get_ydata()
    xs = fig.axes[1].get_lines()[0].get_xdata()
    assert np.all(np.isnan(ys[xs <= 0]))
    assert np.allclose(ys[xs > 0], 1 / xs[xs > 0])
    assert fig.axes[1].get_title() == "log'(x)"


def test_constant_function_has_zero_derivative():
    fig = plot_function_and_gradient(lambda x: 3, (0, 1), n=5)
    assert list(fig.axes[1].get_lines()[0].get_ydata()) == [0.0] * 5


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ((lambda x: x, (1, 1)), ValueError),
        ((lambda x: x, (0, float("inf"))), ValueError),
        ((lambda x: x, "ab"), ValueError),
        ((lambda x: x, (0, 1), 1), ValueError),
        ((3.0, (0, 1)), TypeError),
        ((lambda x: "x", (0, 1)), TypeError),
    ],
)
def test_function_plot_refuses_bad_input(args, error):
    f, interval, *n = args
    with pytest.raises(error):
        plot_function_and_gradient(f, interval, **({"n": n[0]} if n else {}))


def test_figures_save_as_png(tmp_path):
    target = tmp_path / "history.png"
    plot_history(HISTORY).savefig(target)
    assert target.read_bytes().startswith(b"\x89PNG")


def test_importing_viz_does_not_import_matplotlib():
    code = "import sys, microgradnet.viz; print('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr
