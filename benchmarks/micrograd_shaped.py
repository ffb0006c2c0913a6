"""micrograd's demo model and loss, written once for any scalar ``Value`` class.

The code follows micrograd's ``nn.py`` and ``demo.ipynb`` line for line, so that micrograd 0.1.0
and microgradnet run exactly the same Python on their own ``Value``.
"""

from __future__ import annotations

import random
from typing import Any


def make_mlp(value_cls: type, nin: int, nouts: list[int], seed: int = 1337) -> Any:
    rng = random.Random(seed)

    class Neuron:
        def __init__(self, nin: int, nonlin: bool = True) -> None:
            self.w = [value_cls(rng.uniform(-1, 1)) for _ in range(nin)]
            self.b = value_cls(0)
            self.nonlin = nonlin

        def __call__(self, x: list) -> Any:
            act = sum((wi * xi for wi, xi in zip(self.w, x, strict=True)), self.b)
            return act.relu() if self.nonlin else act

        def parameters(self) -> list:
            return [*self.w, self.b]

    class Layer:
        def __init__(self, nin: int, nout: int, **kwargs: Any) -> None:
            self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

        def __call__(self, x: list) -> Any:
            out = [n(x) for n in self.neurons]
            return out[0] if len(out) == 1 else out

        def parameters(self) -> list:
            return [p for n in self.neurons for p in n.parameters()]

    class MLP:
        def __init__(self, nin: int, nouts: list[int]) -> None:
            sz = [nin, *nouts]
            self.layers = [
                Layer(sz[i], sz[i + 1], nonlin=i != len(nouts) - 1) for i in range(len(nouts))
            ]

        def __call__(self, x: list) -> Any:
            for layer in self.layers:
                x = layer(x)
            return x

        def parameters(self) -> list:
            return [p for layer in self.layers for p in layer.parameters()]

        def zero_grad(self) -> None:
            for p in self.parameters():
                p.grad = 0

    return MLP(nin, nouts)


def demo_loss(value_cls: type, model: Any, X: list, y: list, alpha: float = 1e-4) -> tuple:
    """micrograd's demo loss: max-margin (SVM) loss, L2 regularisation and accuracy."""
    inputs = [list(map(value_cls, xrow)) for xrow in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores, strict=True)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = alpha * sum(p * p for p in model.parameters())
    total_loss = data_loss + reg_loss
    accuracy = [(yi > 0) == (s.data > 0) for yi, s in zip(y, scores, strict=True)]
    return total_loss, sum(accuracy) / len(accuracy)


def demo_step_keeping_graph(value_cls: type, model: Any, X: list, y: list, lr: float = 0.1) -> Any:
    """One training step of micrograd's demo: forward, backward, SGD update. Returns the loss
    node, so the step's graph lives on until the caller drops it."""
    total_loss, _ = demo_loss(value_cls, model, X, y)
    model.zero_grad()
    total_loss.backward()
    for p in model.parameters():
        p.data -= lr * p.grad
    return total_loss


def demo_step(value_cls: type, model: Any, X: list, y: list, lr: float = 0.1) -> float:
    """One training step of micrograd's demo; the loss. The graph is dropped on return."""
    return demo_step_keeping_graph(value_cls, model, X, y, lr).data
