"""Neural-network modules: ``Module``, ``Neuron``, ``Layer``, ``MLP``, ``Sequential``, activations,
convolution and pooling, all importable from here.

The code lives in modules of one job each: ``_module.py`` (``Module``: parameters, state,
batching, display), ``_layers.py`` (the dense layers), ``_activations.py`` and ``conv.py``.

A module finds its parameters by walking its public attributes in definition order: a ``Value`` is
a parameter, a ``Module`` is walked in turn, lists and tuples by index, dicts by key. Names are
dotted paths (``layers.0.neurons.3.w.1``), and a parameter reachable twice is listed once.
``model(x)`` runs one sample; ``model.map(X)`` runs a batch, the one batching hook (see
:meth:`Module.map`).

Example:
    >>> from microgradnet.nn import MLP
    >>> model = MLP(2, [16, 16, 1], seed=0)
    >>> model.num_parameters()
    337
    >>> score = model([0.5, -1.0])          # one Value: the last layer has one neuron
    >>> [s.data for s in model.map([[0.5, -1.0]])] == [score.data]
    True
"""

from __future__ import annotations

from ._activations import (
    ACTIVATIONS,
    ELU,
    GELU,
    LEAKY_RELU_SLOPE,
    Activation,
    Hardtanh,
    Identity,
    LeakyReLU,
    ReLU,
    Sigmoid,
    SiLU,
    Softsign,
    Tanh,
)
from ._layers import MLP, Layer, Neuron, Sequential
from ._module import Module, StateDictError
from .conv import AvgPool2d, Conv2d, Flatten, MaxPool2d

__all__ = [
    "ACTIVATIONS",
    "ELU",
    "GELU",
    "LEAKY_RELU_SLOPE",
    "MLP",
    "Activation",
    "AvgPool2d",
    "Conv2d",
    "Flatten",
    "Hardtanh",
    "Identity",
    "Layer",
    "LeakyReLU",
    "MaxPool2d",
    "Module",
    "Neuron",
    "ReLU",
    "Sequential",
    "SiLU",
    "Sigmoid",
    "Softsign",
    "StateDictError",
    "Tanh",
]
