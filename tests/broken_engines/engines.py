"""A learner's micrograd, right (``Value``) and with one fault each.

``Value`` is micrograd's engine grown a little (``tanh exp log sigmoid relu``, an iterative
topological sort), written the way learners write it: one closure per op. Each broken engine
subclasses it and overrides the one method where its fault is; results are built with
``type(self)``, so a fault spreads through every graph the engine builds.
"""

from __future__ import annotations

import math


class Value:
    """A right engine: ``check_engine`` must find nothing here.

    Unlike micrograd, ``backward()`` starts inner nodes from 0: micrograd passes on again the
    gradients an earlier ``backward()`` left on them, so ``y1.backward(); y2.backward()`` on
    two outputs of one graph gives the leaves more than the sum of both gradients.
    """

    def __init__(self, data, _children=(), _op=""):
        self.data = float(data)
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = tuple(_children)
        self._op = _op

    def _new(self, data, children, op):
        return type(self)(data, children, op)

    def _lift(self, other):
        return other if isinstance(other, Value) else type(self)(other)

    def __add__(self, other):
        other = self._lift(other)
        out = self._new(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = self._lift(other)
        out = self._new(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, exponent):
        assert isinstance(exponent, int | float), "only number exponents"
        out = self._new(self.data**exponent, (self,), f"**{exponent}")

        def _backward():
            self.grad += exponent * self.data ** (exponent - 1) * out.grad

        out._backward = _backward
        return out

    def _unary(self, data, derivative, op):
        # derivative(out) -> d(out)/d(self), read when backward runs
        out = self._new(data, (self,), op)

        def _backward():
            self.grad += derivative(out) * out.grad

        out._backward = _backward
        return out

    def tanh(self):
        return self._unary(math.tanh(self.data), lambda out: 1 - out.data**2, "tanh")

    def exp(self):
        return self._unary(math.exp(self.data), lambda out: out.data, "exp")

    def log(self):
        return self._unary(math.log(self.data), lambda out: 1 / self.data, "log")

    def sigmoid(self):
        s = 1 / (1 + math.exp(-self.data))
        return self._unary(s, lambda out: out.data * (1 - out.data), "sigmoid")

    def relu(self):
        return self._unary(max(self.data, 0.0), lambda out: float(out.data > 0), "relu")

    def _topological_order(self):
        topo, visited, stack = [], set(), [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                topo.append(node)
            elif node not in visited:
                visited.add(node)
                stack.append((node, True))
                stack.extend((child, False) for child in reversed(node._prev))
        return topo

    def backward(self):
        topo = self._topological_order()
        for node in topo:
            if node._prev:  # what an earlier backward() left on inner nodes is not passed on
                node.grad = 0.0
        self.grad += 1.0
        for node in reversed(topo):
            node._backward()

    def __neg__(self):  # -self
        return self * -1

    def __radd__(self, other):  # other + self
        return self + other

    def __sub__(self, other):  # self - other
        return self + (-other)

    def __rsub__(self, other):  # other - self
        return other + (-self)

    def __rmul__(self, other):  # other * self
        return self * other

    def __truediv__(self, other):  # self / other
        return self * other**-1

    def __rtruediv__(self, other):  # other / self
        return other * self**-1

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"


class WrongTanh(Value):
    """tanh's derivative written with the input instead of the output: 1 - x**2."""

    def tanh(self):
        return self._unary(math.tanh(self.data), lambda out: 1 - self.data**2, "tanh")


class AssignsGradient(Value):
    """``=`` for ``+=`` in ``+``'s backward: ``x + x`` gets half its gradient."""

    def __add__(self, other):
        other = self._lift(other)
        out = self._new(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad = out.grad
            other.grad = out.grad

        out._backward = _backward
        return out


class ForgetsParent(Value):
    """tanh's node leaves its input out of its parents: a tanh of a tanh never reaches x."""

    def tanh(self):
        out = self._unary(math.tanh(self.data), lambda out: 1 - out.data**2, "tanh")
        out._prev = ()
        return out


class RecursiveSort(Value):
    """micrograd's recursive topological sort: fine until Python's recursion limit."""

    def _topological_order(self):
        topo, visited = [], set()

        def build(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build(child)
                topo.append(v)

        build(self)
        return topo


class Scalar:
    """A right engine with minitorch's names: ``.derivative``, ``backward(d_output)``, and
    ``sigm`` for the sigmoid."""

    def __init__(self, data, parents=(), local=()):
        self.data = float(data)
        self.derivative = None  # minitorch's: None until a gradient arrives
        self.parents = tuple(parents)
        self.local = tuple(local)  # d(self)/d(parent), one per parent

    @staticmethod
    def _lift(x):
        return x if isinstance(x, Scalar) else Scalar(x)

    def __add__(self, other):
        other = self._lift(other)
        return Scalar(self.data + other.data, (self, other), (1.0, 1.0))

    def __mul__(self, other):
        other = self._lift(other)
        return Scalar(self.data * other.data, (self, other), (other.data, self.data))

    __radd__ = __add__
    __rmul__ = __mul__

    def sigm(self):
        s = 1 / (1 + math.exp(-self.data))
        return Scalar(s, (self,), (s * (1 - s),))

    def backward(self, d_output):
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((p, False) for p in node.parents)
        grads = {id(self): d_output}
        for node in reversed(order):
            g = grads.get(id(node), 0.0)
            for parent, local in zip(node.parents, node.local, strict=True):
                grads[id(parent)] = grads.get(id(parent), 0.0) + local * g
            if not node.parents:
                node.derivative = (node.derivative or 0.0) + g
