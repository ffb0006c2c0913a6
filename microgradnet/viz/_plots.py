"""Matplotlib plots: training curves, 2-D decision boundaries, a function and its derivative.

matplotlib and NumPy are imported inside the functions, so importing this module is quick.
Each function returns its ``Figure``, already detached from pyplot: in Jupyter it shows once as
the cell's result, and ``fig.savefig(path)`` writes it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..engine import Value, grad, no_grad

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_decision_boundary", "plot_function_and_gradient", "plot_history"]


def _new_figure(ncols: int, width: float, height: float) -> tuple[Figure, list[Axes]]:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, ncols, figsize=(width, height), squeeze=False)
    # Closed at once: pyplot would otherwise show it a second time at the end of a notebook cell.
    plt.close(fig)
    return fig, list(axes[0])


def _series(history: object) -> dict[str, list[float]]:
    data = getattr(history, "history", history)
    if not isinstance(data, Mapping):
        raise TypeError(
            "plot_history: expected a History, its .history dict or a dict of lists, "
            f"got {type(history).__name__}"
        )
    if not data:
        raise ValueError("plot_history: the history is empty (no metrics recorded)")
    series = {}
    for key, values in data.items():
        if not isinstance(key, str):
            raise TypeError(f"plot_history: metric names must be str, got {type(key).__name__}")
        if isinstance(values, str | bytes) or not isinstance(values, Sequence):
            raise TypeError(
                f"plot_history: {key!r} must be a list of numbers, got {type(values).__name__}"
            )
        for i, v in enumerate(values):
            if isinstance(v, bool) or not isinstance(v, numbers.Real | Value):
                raise TypeError(
                    f"plot_history: {key}[{i}] must be a number, got {type(v).__name__}"
                )
        series[key] = [float(v) for v in values]
    if not any(series.values()):
        raise ValueError("plot_history: every metric in the history is empty")
    return series


def plot_history(history: Any) -> Figure:
    """Training curves: loss in one panel, accuracy in another (validation curves dashed).

    Args:
        history: what ``fit`` returned (a ``History``), its ``.history`` dict, or any dict
            mapping metric names (``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``, ...)
            to one number per epoch. ``val_x`` shares the panel of ``x``; every other metric
            gets its own panel.

    Returns:
        The matplotlib ``Figure``.

    Raises:
        TypeError: not a history, or a value that is not a number.
        ValueError: no values recorded.

    Example:
        >>> fig = plot_history({"loss": [0.9, 0.5, 0.3], "accuracy": [0.6, 0.8, 0.9]})
        >>> [ax.get_title() for ax in fig.axes]
        ['loss', 'accuracy']
    """
    import numpy as np
    from matplotlib.ticker import MaxNLocator

    series = _series(history)
    panels: dict[str, list[str]] = {}
    for key in series:
        base = key.removeprefix("val_")
        panels.setdefault(base, []).append(key)
    fig, axes = _new_figure(len(panels), 5.0 * len(panels), 3.6)
    for ax, (base, keys) in zip(axes, panels.items(), strict=True):
        for key in sorted(keys, key=lambda k: k.startswith("val_")):
            values = series[key]
            epochs = np.arange(1, len(values) + 1)
            validation = key.startswith("val_")
            ax.plot(
                epochs,
                values,
                linestyle="--" if validation else "-",
                marker="o" if len(values) <= 30 else None,
                markersize=3,
                label="validation" if validation else "training",
            )
        ax.set_title(base)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(base)
        ax.grid(True, alpha=0.3)
        if "accuracy" in base:
            ax.set_ylim(min(0.0, ax.get_ylim()[0]), max(1.0, ax.get_ylim()[1]))
        ax.legend()
    fig.tight_layout()
    return fig


def _class_of(score: object) -> int:
    """The predicted class: ``score > 0`` for one score, the argmax for a list of logits."""
    if isinstance(score, Value | numbers.Real):
        return int(float(score) > 0.0)
    if (
        isinstance(score, Sequence)
        and not isinstance(score, str)
        and score
        and all(isinstance(s, Value | numbers.Real) for s in score)
    ):
        values = [float(s) for s in score]
        return values.index(max(values))
    raise TypeError(
        "plot_decision_boundary: the model must return a Value (a score: class = score > 0) "
        f"or a list of Values (logits: class = argmax), got {type(score).__name__}"
    )


def _label_indices(y: np.ndarray, n_classes: int) -> np.ndarray:
    """Each label as a class index: 0..k-1 as is, {-1, +1} as 0 and 1, else by sorted rank."""
    import numpy as np

    labels = np.unique(y)
    if np.all(np.isin(labels, np.arange(max(n_classes, len(labels))))):
        return y.astype(int)
    if n_classes <= 2 and np.all(np.isin(labels, [-1, 1])):
        return (y > 0).astype(int)
    return np.searchsorted(labels, y)


def plot_decision_boundary(
    model: Callable[[list[float]], Any],
    X: Any,
    y: Any,
    *,
    resolution: int = 100,
    margin: float = 0.5,
    ax: Axes | None = None,
) -> Figure:
    """The regions a 2-D classifier assigns to each class, with the data points on top.

    The model is evaluated under ``no_grad`` at every point of a ``resolution`` x
    ``resolution`` grid covering the data (plus ``margin``).

    Args:
        model: called with one point ``[x0, x1]``; returns one ``Value`` score (class 1 when
            the score is positive, as with a hinge or logistic loss) or a list of logits
            (class = argmax).
        X: the points, shape ``(n, 2)``.
        y: their labels, ``n`` of them: ``0..k-1``, or ``-1``/``+1`` for a score.
        resolution: grid points per axis (at least 2).
        margin: space around the data, in data units.
        ax: draw into these axes instead of a new figure.

    Returns:
        The matplotlib ``Figure``. The title gives the accuracy on ``X``.

    Raises:
        ValueError: ``X`` is not ``(n, 2)``, ``y`` has another length, or a bad ``resolution``.
        TypeError: the model returns something other than a Value or a list of Values.

    Example:
        >>> fig = plot_decision_boundary(model, X, y)  # doctest: +SKIP
    """
    import numpy as np

    points = np.asarray(X, dtype=float)
    labels = np.asarray(y)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
        raise ValueError(f"plot_decision_boundary: X must have shape (n, 2), got {points.shape}")
    if labels.shape != (len(points),):
        raise ValueError(
            f"plot_decision_boundary: y must hold {len(points)} labels (one per point), "
            f"got shape {labels.shape}"
        )
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
        raise ValueError(
            f"plot_decision_boundary: resolution must be an int >= 2, got {resolution!r}"
        )
    if not np.all(np.isfinite(points)):
        raise ValueError("plot_decision_boundary: X contains NaN or infinite values")

    (x_min, y_min), (x_max, y_max) = points.min(axis=0) - margin, points.max(axis=0) + margin
    xs, ys = np.linspace(x_min, x_max, resolution), np.linspace(y_min, y_max, resolution)
    with no_grad():
        grid = np.array(
            [[_class_of(model([float(a), float(b)])) for a in xs] for b in ys], dtype=int
        )
        predicted = np.array([_class_of(model([float(a), float(b)])) for a, b in points])
    n_classes = max(2, int(grid.max()) + 1, int(predicted.max()) + 1)
    truth = _label_indices(labels, n_classes)
    n_classes = max(n_classes, int(truth.max()) + 1)

    from matplotlib.colors import ListedColormap

    colors = [f"C{i}" for i in range(n_classes)]
    cmap = ListedColormap(colors)
    if ax is None:
        fig, (ax,) = _new_figure(1, 5.5, 4.8)
    else:
        root = ax.get_figure(root=True)  # the whole figure, also for axes in a subfigure
        if root is None:
            raise ValueError("plot_decision_boundary: ax belongs to no figure")
        fig = root
    levels = np.arange(-0.5, n_classes, 1.0)
    ax.contourf(xs, ys, grid, levels=levels, cmap=cmap, alpha=0.25)
    ax.contour(xs, ys, grid, levels=levels[1:-1], colors="k", linewidths=0.8)
    ax.scatter(
        points[:, 0],
        points[:, 1],
        c=truth,
        cmap=cmap,
        vmin=-0.5,
        vmax=n_classes - 0.5,
        s=18,
        edgecolors="k",
        linewidths=0.5,
    )
    accuracy = float(np.mean(predicted == truth))
    ax.set_title(f"decision boundary (accuracy {accuracy:.1%})")
    ax.set_xlabel("x0")
    ax.set_ylabel("x1")
    ax.set_xlim(x_min, x_max)
    ax.set_ylim(y_min, y_max)
    fig.tight_layout()
    return fig


def _value_and_derivative(f: Callable[[Value], Any], t: float) -> tuple[float, float]:
    x = Value(t, label="x")
    try:
        out = f(x)
        if isinstance(out, Value):
            return out.data, grad(out, [x])[0].data
    except (ArithmeticError, ValueError):
        return math.nan, math.nan  # outside the function's domain: a gap in the curve
    if isinstance(out, numbers.Real) and not isinstance(out, bool):
        return float(out), 0.0  # a constant function
    raise TypeError(
        f"plot_function_and_gradient: f must return a Value or a number, got {type(out).__name__}"
    )


def plot_function_and_gradient(
    f: Callable[[Value], Any], range: tuple[float, float] = (-3.0, 3.0), *, n: int = 200
) -> Figure:
    """A 1-D function and its derivative side by side; the derivative comes from ``grad``.

    Args:
        f: takes a ``Value`` and returns a ``Value`` (e.g. ``lambda x: x.tanh()``). Points
            outside its domain (``log`` of a negative number) are left out of the curves.
        range: the interval ``(low, high)`` of x.
        n: number of points (at least 2).

    Returns:
        The matplotlib ``Figure`` with two panels: f(x) and f'(x).

    Raises:
        ValueError: an empty or non-finite ``range``, or ``n < 2``.
        TypeError: ``f`` is not callable or returns something other than a number.

    Example:
        >>> fig = plot_function_and_gradient(lambda x: x.tanh(), (-3, 3))
        >>> [ax.get_title() for ax in fig.axes][1]
        "f'(x)"
    """
    if not callable(f):
        raise TypeError(f"plot_function_and_gradient: f must be callable, got {type(f).__name__}")
    try:
        low, high = (float(v) for v in range)
    except (TypeError, ValueError):
        raise ValueError(
            f"plot_function_and_gradient: range must be two numbers (low, high), got {range!r}"
        ) from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(
            f"plot_function_and_gradient: range must satisfy low < high, got {range!r}"
        )
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"plot_function_and_gradient: n must be an int >= 2, got {n!r}")

    import numpy as np

    xs = np.linspace(low, high, n)
    values, slopes = zip(*(_value_and_derivative(f, float(t)) for t in xs), strict=True)
    name = getattr(f, "__name__", "f")
    name = "f" if name == "<lambda>" else name
    fig, (left, right) = _new_figure(2, 10.0, 3.6)
    left.plot(xs, values, color="C0")
    left.set_title(f"{name}(x)")
    right.plot(xs, slopes, color="C3")
    right.set_title(f"{name}'(x)")
    for ax in (left, right):
        ax.set_xlabel("x")
        ax.axhline(0.0, color="k", linewidth=0.6, alpha=0.5)
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return fig
