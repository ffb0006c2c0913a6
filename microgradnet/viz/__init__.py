"""Seeing backpropagation: graph drawings, a step-through backward player and plots.

At network scale: :func:`draw_network` (neurons and weights), ``draw_dot(root,
group_by="module", collapse="neuron")``, :func:`plot_gradient_flow` with the :class:`GradientFlow`
callback, and :func:`animate_training` (a :class:`TrainingFilm` of the decision boundary).

Drawing needs Graphviz's ``dot`` program only to render (``.source`` always works); the plots
import matplotlib when first called, so ``import microgradnet.viz`` stays quick. The notebook
widgets, :func:`playground` and :func:`explore`, import anywidget (the ``jupyter`` extra) only
when called.

Example:
    >>> from microgradnet import Value
    >>> from microgradnet.viz import draw_dot
    >>> x = Value(2.0, label="x")
    >>> y = (x * x).tanh(); y.backward()
    >>> draw_dot(y).source.count("| grad ")    # x, x * x and the tanh
    3
"""

from typing import Any

from ._film import TrainingFilm as TrainingFilm
from ._film import animate_training as animate_training
from ._gradient_flow import GradientFlow as GradientFlow
from ._gradient_flow import layer_gradients as layer_gradients
from ._gradient_flow import plot_gradient_flow as plot_gradient_flow
from ._graph import DEFAULT_MAX_NODES as DEFAULT_MAX_NODES
from ._graph import INLINE_MAX_NODES as INLINE_MAX_NODES
from ._graph import GraphTooLargeError as GraphTooLargeError
from ._graph import draw_dot as draw_dot
from ._graph import render as render
from ._graph import value_mimebundle as value_mimebundle
from ._network import draw_network as draw_network
from ._notebook import explore as explore
from ._notebook import playground as playground
from ._player import BackpropPlayer as BackpropPlayer
from ._player import backprop_frames as backprop_frames
from ._player import backprop_html as backprop_html
from ._player import backprop_player as backprop_player
from ._plots import plot_decision_boundary as plot_decision_boundary
from ._plots import plot_function_and_gradient as plot_function_and_gradient
from ._plots import plot_history as plot_history
from ._steps import BackwardStep as BackwardStep
from ._steps import backward_steps as backward_steps

__all__ = [
    "DEFAULT_MAX_NODES",
    "INLINE_MAX_NODES",
    "BackpropPlayer",
    "BackwardStep",
    "Explorer",
    "GradientFlow",
    "GraphTooLargeError",
    "Playground",
    "TrainingFilm",
    "animate_training",
    "backprop_frames",
    "backprop_html",
    "backprop_player",
    "backward_steps",
    "draw_dot",
    "draw_network",
    "explore",
    "layer_gradients",
    "playground",
    "plot_decision_boundary",
    "plot_function_and_gradient",
    "plot_gradient_flow",
    "plot_history",
    "render",
    "value_mimebundle",
]


def __getattr__(name: str) -> Any:
    # The widget classes import anywidget (the jupyter extra): loaded when first asked for.
    if name == "Playground":
        from ._playground import Playground

        return Playground
    if name == "Explorer":
        from ._explore import Explorer

        return Explorer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
