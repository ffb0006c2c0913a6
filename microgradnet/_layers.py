"""The dense building blocks: ``Neuron``, ``Layer``, ``MLP`` and ``Sequential``.

Re-exported by :mod:`microgradnet.nn`. A layer builds its weighted sums as fused dot nodes, and
``Layer``, ``MLP`` and ``Sequential`` override the batching hook ``map`` to build a whole batch's
graph with each weight read once (see Note [one batching hook] in ``_module.py``).
"""

from __future__ import annotations

import numbers
import operator
import random
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from . import init as _init
from ._activations import activation_fn
from ._batched import dots_over_batch
from ._module import Module
from .engine import Value

__all__ = ["MLP", "Layer", "Neuron", "Sequential"]

Sample = Sequence[Value | float] | Value | float


def _positive_int(x: object, what: str) -> int:
    if isinstance(x, bool) or not isinstance(x, int):
        raise TypeError(f"{what} must be an int, got {type(x).__name__}")
    if x < 1:
        raise ValueError(f"{what} must be at least 1, got {x}")
    return x


def _value_tuple(x: Sequence[Any]) -> tuple[Value, ...]:
    return tuple([v if type(v) is Value else Value(v) for v in x])


def _as_inputs(x: Any, nin: int, owner: str) -> Sequence[Any]:
    """``x`` as a sequence of ``nin`` inputs (a list, a tuple, a NumPy array...); one Value or
    number is accepted when ``nin == 1``."""
    if isinstance(x, Value | numbers.Real) and not isinstance(x, bool):
        x = (x,)
    elif isinstance(x, str | bytes) or not hasattr(x, "__len__"):
        raise TypeError(
            f"{owner} expects a sequence of {nin} Values or numbers, got {type(x).__name__}"
        )
    if len(x) != nin:
        raise ValueError(f"{owner} expects {nin} inputs, got {len(x)}")
    return x  # type: ignore[no-any-return]


class Neuron(Module):
    """One neuron: ``activation(w·x + b)``, the weighted sum computed as one fused graph node.

    Args:
        nin: number of inputs.
        activation: ``"relu"``, ``"tanh"``, ``"sigmoid"``, ``"leaky_relu"`` (slope 0.01) or
            ``"linear"``.
        init: weight initialisation, ``"auto"`` (``"he"`` for relu-like activations, else
            ``"xavier"``), ``"he"``, ``"xavier"``, ``"lecun"`` or ``"uniform"`` (micrograd's
            ``U(-1, 1)``). The bias starts at 0.
        seed: ``None`` (Python's global ``random``), an ``int`` or a ``random.Random``.
        fan_out: outputs of the layer this neuron belongs to (only ``"xavier"`` uses it).

    Raises:
        TypeError / ValueError: a bad ``nin``, activation, init scheme or seed.

    Example:
        >>> n = Neuron(3, "tanh", seed=0)
        >>> out = n([1.0, 2.0, 3.0])
        >>> out.op, out.parents[0].op
        ('tanh', 'dot')
    """

    def __init__(
        self,
        nin: int,
        activation: str = "relu",
        *,
        init: str = "auto",
        seed: int | random.Random | None = None,
        fan_out: int = 1,
    ) -> None:
        nin = _positive_int(nin, "nin")
        self._act = activation_fn(activation)
        self._activation = activation
        scheme = _init.resolve_init(init, activation)
        half = _init.bound(scheme, nin, _positive_int(fan_out, "fan_out"))
        self.w = [Value(v) for v in _init.draw(_init.resolve_rng(seed), half, nin)]
        self.b = Value(0.0)
        self._weights_seen: list[Value] = []
        self._row: tuple[Value, ...] = ()

    def _checked_row(self) -> tuple[Value, ...] | None:
        """``(*w, b)`` for ``dots_over_batch``; ``None`` if an entry is not a ``Value``.

        Cached until ``w`` or ``b`` changes, so a batch's dot nodes share one tuple (and the
        weights are checked once per change rather than once per sample). Comparing the lists
        costs little: elements compare by identity first."""
        if not self._row or self.w != self._weights_seen or self.b is not self._row[-1]:
            row = (*self.w, self.b)
            if any(type(v) is not Value for v in row):
                return None
            self._weights_seen = list(self.w)
            self._row = row
        return self._row

    @property
    def activation(self) -> str:
        """Name of the activation; assigning a new name switches it."""
        return self._activation

    @activation.setter
    def activation(self, name: str) -> None:
        self._act = activation_fn(name)
        self._activation = name

    @property
    def nin(self) -> int:
        return len(self.w)

    def __call__(self, x: Sample) -> Value:
        inputs = _as_inputs(x, len(self.w), "Neuron")
        return self._act(Value.dot(self.w, inputs, self.b))

    def extra_repr(self) -> str:
        return f"{len(self.w)}, activation={self._activation!r}"


class Layer(Module):
    """A layer of ``nout`` neurons reading the same ``nin`` inputs.

    Args:
        nin: number of inputs.
        nout: number of neurons (outputs).
        activation: activation name of every neuron (see :class:`Neuron`).
        init: initialisation scheme (see :class:`Neuron`).
        seed: ``None``, an ``int`` or a ``random.Random`` shared by the neurons.

    Returns (when called):
        A list of ``nout`` Values, or one ``Value`` when ``nout == 1``.

    Example:
        >>> layer = Layer(2, 3, activation="tanh", seed=0)
        >>> len(layer([1.0, -1.0]))
        3
    """

    def __init__(
        self,
        nin: int,
        nout: int,
        activation: str = "relu",
        *,
        init: str = "auto",
        seed: int | random.Random | None = None,
    ) -> None:
        nout = _positive_int(nout, "nout")
        rng = _init.resolve_rng(seed)
        self.neurons = [
            Neuron(nin, activation, init=init, seed=rng, fan_out=nout) for _ in range(nout)
        ]

    @property
    def nin(self) -> int:
        return len(self.neurons[0].w)

    @property
    def nout(self) -> int:
        return len(self.neurons)

    @property
    def activation(self) -> str:
        """The neurons' activation name (``"mixed"`` if they were changed one by one)."""
        names = {n.activation for n in self.neurons}
        return names.pop() if len(names) == 1 else "mixed"

    def __call__(self, x: Sample) -> Any:
        return self._outputs([_value_tuple(_as_inputs(x, self.nin, "Layer"))])[0]

    def map(self, samples: Iterable[Sample]) -> list[Any]:
        """``[layer(x) for x in samples]``, the same graph built faster: the weights are read
        once for the whole batch rather than once per sample."""
        return self._outputs(self._checked_batch(list(samples), False, "Layer"))

    def _map_in_chain(
        self, samples: list[Any], checked: bool, owner: str
    ) -> tuple[list[Any], bool]:
        return self._outputs(self._checked_batch(samples, checked, owner)), True

    def _checked_batch(
        self, samples: list[Any], checked: bool, owner: str
    ) -> list[tuple[Value, ...]]:
        """Each sample as a tuple of input Values; a layer's outputs (``checked``: lists of
        Values, or one Value) are taken as they are, anything else is checked and lifted."""
        if checked:
            return [tuple(out) if type(out) is list else (out,) for out in samples]
        nin = self.nin
        return [_value_tuple(_as_inputs(x, nin, owner)) for x in samples]

    def _outputs(self, batch: list[tuple[Value, ...]]) -> list[Any]:
        """The layer's output for each tuple of input Values in ``batch``."""
        neurons = self.neurons
        if batch and len(batch[0]) != len(neurons[0].w):
            raise ValueError(f"Layer expects {len(neurons[0].w)} inputs, got {len(batch[0])}")
        rows = [n._checked_row() for n in neurons]
        complete = [row for row in rows if row is not None]
        if batch and (
            len(complete) < len(rows) or {len(r) for r in complete} != {len(batch[0]) + 1}
        ):
            # numbers among the weights, or a neuron of another size: Value.matvec lifts the
            # numbers, or raises naming the row
            weights, biases = [n.w for n in neurons], [n.b for n in neurons]
            sums_per_sample = [Value.matvec(weights, x, biases) for x in batch]
        else:
            sums_per_sample = dots_over_batch(complete, batch)
        activations = [n._act for n in neurons]
        if len(activations) == 1:
            (activation,) = activations
            return [activation(sums[0]) for sums in sums_per_sample]
        return [list(map(operator.call, activations, sums)) for sums in sums_per_sample]

    def extra_repr(self) -> str:
        return f"{self.nin}, {self.nout}, activation={self.activation!r}"

    def _repr_children(self) -> list[tuple[str, Module]]:
        return []  # the neurons are summarised by extra_repr


class MLP(Module):
    """A multi-layer perceptron: ``Layer``s of sizes ``nouts`` applied in turn.

    Args:
        nin: number of inputs.
        nouts: sizes of the layers, the last one being the output size.
        activation: activation of the hidden layers (default ``"relu"``, as micrograd).
        output_activation: activation of the last layer (default ``"linear"``).
        init: initialisation scheme (see :class:`Neuron`).
        seed: ``None``, an ``int`` or a ``random.Random``; one stream for the whole model.

    Returns (when called):
        A list of Values, or one ``Value`` when the last layer has one neuron.

    Example:
        >>> model = MLP(2, [16, 16, 1], seed=0)
        >>> model.num_parameters(), model.layers[0].neurons[0].w[1].data != 0
        (337, True)
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: str = "relu",
        output_activation: str = "linear",
        *,
        init: str = "auto",
        seed: int | random.Random | None = None,
    ) -> None:
        if isinstance(nouts, int | str) or not isinstance(nouts, Sequence):
            raise TypeError(f"nouts must be a list of layer sizes, got {type(nouts).__name__}")
        if not nouts:
            raise ValueError("nouts must name at least one layer size, got an empty list")
        sizes = [_positive_int(nin, "nin")] + [
            _positive_int(n, f"nouts[{i}]") for i, n in enumerate(nouts)
        ]
        activation_fn(activation)
        activation_fn(output_activation)
        rng = _init.resolve_rng(seed)
        last = len(nouts) - 1
        self.layers: list[Layer] = [
            Layer(
                sizes[i],
                sizes[i + 1],
                output_activation if i == last else activation,
                init=init,
                seed=rng,
            )
            for i in range(len(nouts))
        ]

    @property
    def nin(self) -> int:
        return self.layers[0].nin

    @property
    def nouts(self) -> list[int]:
        return [layer.nout for layer in self.layers]

    def __call__(self, x: Sample) -> Any:
        return self._through_layers([x], False)[0][0]

    def map(self, samples: Iterable[Sample]) -> list[Any]:
        """``[model(x) for x in samples]``, the same graph built faster: each layer reads its
        weights once for the whole batch rather than once per sample."""
        return self._through_layers(list(samples), False)[0]

    def _map_in_chain(
        self, samples: list[Any], checked: bool, owner: str
    ) -> tuple[list[Any], bool]:
        return self._through_layers(samples, checked)

    def _through_layers(self, samples: list[Any], checked: bool) -> tuple[list[Any], bool]:
        """The outputs for ``samples``, each layer run over the whole batch in turn."""
        outputs = samples
        for i, layer in enumerate(self.layers):
            if isinstance(layer, Module):
                owner = "MLP" if i == 0 else "Layer"
                outputs, checked = layer._map_in_chain(outputs, checked, owner)
            else:  # a plain function put among the layers by hand
                outputs, checked = [layer(x) for x in outputs], False
        return outputs, checked

    def extra_repr(self) -> str:
        return ""


class Sequential(Module):
    """Modules applied one after another: ``Sequential(Layer(2, 8), Tanh(), Layer(8, 1))``.

    Args:
        *modules: the modules, each called on the previous one's output.

    Raises:
        TypeError: an argument is not a ``Module``.
    """

    def __init__(self, *modules: Module) -> None:
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(
                    f"Sequential: argument {i} must be a Module, got {type(m).__name__}"
                )
        self.layers = list(modules)

    def __call__(self, x: Any) -> Any:
        for module in self.layers:
            x = module(x)
        return x

    def map(self, samples: Iterable[Any]) -> list[Any]:
        """``[model(x) for x in samples]``: each module's ``map`` over the previous outputs."""
        return self._through_modules(list(samples), False)[0]

    def _map_in_chain(
        self, samples: list[Any], checked: bool, owner: str
    ) -> tuple[list[Any], bool]:
        return self._through_modules(samples, checked)

    def _through_modules(self, samples: list[Any], checked: bool) -> tuple[list[Any], bool]:
        outputs = samples
        for module in self.layers:
            outputs, checked = module._map_in_chain(outputs, checked, type(module).__name__)
        return outputs, checked

    def __getitem__(self, index: int) -> Module:
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)
