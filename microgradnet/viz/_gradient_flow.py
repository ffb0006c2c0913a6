"""Where the gradient goes: per-layer gradient sizes now, and over training.

:func:`plot_gradient_flow` draws the mean and largest ``|grad|`` of each layer's parameters
(log scale) after a backward pass; :class:`GradientFlow` is a ``fit`` callback that records each
layer's gradient norm at the end of every epoch and plots them over training. A deep sigmoid
network's first layers get gradients orders of magnitude smaller than its last (the vanishing
gradient); a relu network's stay within a factor of a few.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from .._callbacks import Callback
from ..engine import Value

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["GradientFlow", "LayerGradients", "layer_gradients", "plot_gradient_flow"]


class LayerGradients(NamedTuple):
    """``(layer name, mean |grad|, max |grad|, L2 norm)`` of one layer's parameters."""

    name: str
    mean: float
    max: float
    norm: float


def _layers(model: Any) -> list[tuple[str, list[Value]]]:
    """``(name, parameters)`` of each stage of the model that has parameters, in order."""
    layers = getattr(model, "layers", None)
    if isinstance(layers, list | tuple):
        stages = [(f"layers.{i}", layer) for i, layer in enumerate(layers)]
    elif callable(getattr(model, "named_modules", None)):
        stages = [(n, m) for n, m in model.named_modules() if n and "." not in n] or [("", model)]
    else:
        stages = [("", model)]
    found = []
    for name, stage in stages:
        of = getattr(stage, "parameters", None)
        parameters = [p for p in of() if p.requires_grad] if callable(of) else []
        if parameters:
            found.append((name or type(model).__name__, parameters))
    if not found:
        raise ValueError(
            f"gradient flow: {type(model).__name__} has no layers with trainable parameters"
        )
    return found


def layer_gradients(model: Any) -> list[LayerGradients]:
    """Each layer's mean and largest ``|grad|`` and gradient norm, first layer first.

    Args:
        model: an ``MLP`` or ``Sequential`` (its ``layers``), or any ``Module`` (its direct
            submodules); frozen parameters are left out.

    Raises:
        ValueError: no layer has trainable parameters.
    """
    rows = []
    for name, parameters in _layers(model):
        sizes = [abs(p.grad) for p in parameters]
        norm = math.sqrt(math.fsum(g * g for g in sizes))
        rows.append(LayerGradients(name, math.fsum(sizes) / len(sizes), max(sizes), norm))
    return rows


def _figure(width: float, height: float) -> tuple[Figure, Axes]:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height))
    plt.close(fig)  # shown once, as the cell's result
    return fig, ax


def plot_gradient_flow(model: Any, *, ax: Axes | None = None, title: str | None = None) -> Figure:
    """Bars of each layer's mean and largest ``|grad|``, log scale, first layer on the left.

    Call it after ``loss.backward()``. A gradient of exactly 0 has no bar on a log scale; its
    tick label says so.

    Args:
        model: an ``MLP``, ``Sequential`` or ``Module`` (see :func:`layer_gradients`).
        ax: draw into these axes (e.g. beside another model's) instead of a new figure.
        title: the axes' title (default: the model's class name).

    Returns:
        The matplotlib ``Figure``.

    Example:
        >>> fig = plot_gradient_flow(model)  # doctest: +SKIP
    """
    rows = layer_gradients(model)
    if ax is None:
        fig, ax = _figure(1.2 + 0.9 * len(rows), 3.6)
    else:
        fig = ax.get_figure(root=True)  # type: ignore[assignment]
    positions = range(len(rows))
    tiny = min((v for r in rows for v in (r.mean, r.max) if v > 0), default=1.0)
    ax.bar([i - 0.2 for i in positions], [r.max for r in rows], 0.4, label="max |grad|",
           color="#93c5fd")  # fmt: skip
    ax.bar([i + 0.2 for i in positions], [r.mean for r in rows], 0.4, label="mean |grad|",
           color="#1d4ed8")  # fmt: skip
    ax.set_yscale("log")
    ax.set_ylim(bottom=tiny / 3)
    ax.set_xticks(list(positions))
    ax.set_xticklabels([r.name + ("\n(all 0)" if r.max == 0 else "") for r in rows], fontsize=8)
    ax.set_ylabel("|grad| (log scale)")
    ax.set_title(title if title is not None else f"gradient flow: {type(model).__name__}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


class GradientFlow(Callback):
    """A ``fit`` callback: each layer's gradient norm at the end of every epoch.

    The norms are those of the epoch's last minibatch (what ``backward`` left in ``.grad``).

    Attributes:
        history: ``{layer name: [norm per epoch]}``, first layer first.

    Example:
        >>> flow = GradientFlow()
        >>> fit(model, X, y, loss="mse", optimizer=opt, epochs=5,
        ...     callbacks=[flow])  # doctest: +SKIP
        >>> flow.plot()  # doctest: +SKIP
    """

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self._model: Any = None

    def on_train_begin(self, model: Any) -> None:
        self._model = model

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float]) -> bool | None:
        for row in layer_gradients(self._model):
            self.history.setdefault(row.name, []).append(row.norm)
        return None

    def plot(self, *, ax: Axes | None = None, title: str | None = None) -> Figure:
        """Each layer's gradient norm over the epochs, log scale.

        Raises:
            ValueError: nothing was recorded yet.
        """
        if not any(self.history.values()):
            raise ValueError("GradientFlow.plot: nothing recorded yet; pass it to fit first")
        if ax is None:
            fig, ax = _figure(6.0, 3.6)
        else:
            fig = ax.get_figure(root=True)  # type: ignore[assignment]
        for name, norms in self.history.items():
            epochs = range(1, len(norms) + 1)
            ax.plot(epochs, [n if n > 0 else math.nan for n in norms], label=name)
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("gradient norm (log scale)")
        ax.set_title(title if title is not None else "gradient norm per layer")
        ax.legend(fontsize=8)
        fig.tight_layout()
        return fig
