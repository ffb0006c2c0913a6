"""Neural-network modules: ``Module``, ``Neuron``, ``Layer``, ``MLP``, ``Sequential``, activations.

A module finds its parameters by walking its public attributes in definition order: a ``Value`` is
a parameter, a ``Module`` is walked in turn, lists and tuples by index, dicts by key. Names are
dotted paths (``layers.0.neurons.3.w.1``), and a parameter reachable twice is listed once.

Example:
    >>> from microgradnet.nn import MLP
    >>> model = MLP(2, [16, 16, 1], seed=0)
    >>> model.num_parameters()
    337
    >>> score = model([0.5, -1.0])          # one Value: the last layer has one neuron
"""

from __future__ import annotations

import html
import numbers
import operator
import os
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from . import init as _init
from ._batched import dots_over_batch
from ._serialization import StateDictError, checked_state, read_state, write_state
from .engine import Value

__all__ = [
    "ACTIVATIONS",
    "MLP",
    "Activation",
    "AvgPool2d",
    "Conv2d",
    "Flatten",
    "Identity",
    "Layer",
    "LeakyReLU",
    "MaxPool2d",
    "Module",
    "Neuron",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "StateDictError",
    "Tanh",
]

LEAKY_RELU_SLOPE = 0.01


def _linear(v: Value) -> Value:
    return v


def _leaky_relu(v: Value) -> Value:
    return v.leaky_relu(LEAKY_RELU_SLOPE)


ACTIVATIONS: dict[str, Callable[[Value], Value]] = {
    "relu": Value.relu,
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    "leaky_relu": _leaky_relu,
    "linear": _linear,
}


def _activation_fn(name: object) -> Callable[[Value], Value]:
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {name!r}; valid activations: {', '.join(map(repr, ACTIVATIONS))}"
        )
    return ACTIVATIONS[name]


def _positive_int(x: object, what: str) -> int:
    if isinstance(x, bool) or not isinstance(x, int):
        raise TypeError(f"{what} must be an int, got {type(x).__name__}")
    if x < 1:
        raise ValueError(f"{what} must be at least 1, got {x}")
    return x


def _value_tuple(x: Sequence[Any]) -> tuple[Value, ...]:
    return tuple([v if type(v) is Value else Value(v) for v in x])


def _as_inputs(x: object, nin: int, owner: str) -> list[Value] | Sequence[Any]:
    """``x`` as a sequence of ``nin`` inputs; one Value or number is accepted when ``nin == 1``."""
    if isinstance(x, Value | numbers.Real) and not isinstance(x, bool):
        x = (x,)
    elif isinstance(x, str | bytes) or not hasattr(x, "__len__"):
        raise TypeError(
            f"{owner} expects a sequence of {nin} Values or numbers, got {type(x).__name__}"
        )
    if len(x) != nin:  # type: ignore[arg-type]
        raise ValueError(f"{owner} expects {nin} inputs, got {len(x)}")  # type: ignore[arg-type]
    return x  # type: ignore[return-value]


# ----- the module base -----
class Module:
    """Base class of every model part; subclasses store parameters as plain attributes.

    Attributes whose name starts with ``_`` are private and never walked.

    Example:
        >>> class Affine(Module):
        ...     def __init__(self):
        ...         self.w, self.b = Value(2.0), Value(1.0)
        ...     def __call__(self, x):
        ...         return self.w * x + self.b
        >>> [name for name, _ in Affine().named_parameters()]
        ['w', 'b']
    """

    training: bool = True

    def __call__(self, x: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define __call__")

    def map(self, samples: Iterable[Any]) -> list[Any]:
        """The output for each of ``samples``, as ``[module(x) for x in samples]`` (micrograd's
        demo writes ``list(map(model, inputs))``). ``Layer`` and ``MLP`` build the same graph
        faster: they read their weights once for the whole batch.

        Example:
            >>> model = MLP(2, [3, 1], seed=0)
            >>> X = [[1.0, 2.0], [0.5, -1.0]]
            >>> [out.data for out in model.map(X)] == [model(x).data for x in X]
            True
        """
        return [self(x) for x in samples]

    # ----- walking the tree -----
    def named_parameters(self) -> list[tuple[str, Value]]:
        """``(dotted name, parameter)`` pairs in definition order, shared parameters once."""
        found: list[tuple[str, Value]] = []
        seen: set[int] = set()
        _walk(self, "", found, seen, set(), None)
        return found

    def parameters(self) -> list[Value]:
        """Every parameter once, in definition order (micrograd's and PyTorch's verb)."""
        return [p for _, p in self.named_parameters()]

    def num_parameters(self) -> int:
        """How many distinct parameters the module has."""
        return len(self.named_parameters())

    def named_modules(self) -> list[tuple[str, Module]]:
        """``(dotted name, module)`` for this module (name ``""``) and every submodule, once."""
        found: list[tuple[str, Module]] = [("", self)]
        _walk(self, "", None, set(), {id(self)}, found)
        return found

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to ``0.0``."""
        for p in self.parameters():
            p.grad = 0.0

    def train(self, mode: bool = True) -> Module:
        """Set the ``training`` flag on this module and every submodule; returns ``self``."""
        for _, module in self.named_modules():
            module.training = bool(mode)
        return self

    def eval(self) -> Module:
        """Same as ``train(False)``."""
        return self.train(False)

    # ----- state -----
    def state_dict(self) -> dict[str, float]:
        """``{dotted name: parameter value}`` in definition order."""
        return {name: p.data for name, p in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, float]) -> None:
        """Set every parameter from ``state``, all or nothing.

        Args:
            state: ``{dotted name: real number}``, exactly the names of :meth:`state_dict`.

        Raises:
            TypeError: ``state`` is not a mapping.
            StateDictError: (a ``ValueError``) one message listing every missing key, unexpected
                key and non-finite or non-numeric value. The model is left unchanged.

        Example:
            >>> a, b = MLP(2, [3, 1], seed=0), MLP(2, [3, 1], seed=1)
            >>> b.load_state_dict(a.state_dict())
            >>> a.state_dict() == b.state_dict()
            True
        """
        named = self.named_parameters()
        values = checked_state([name for name, _ in named], state, type(self).__name__)
        for name, p in named:
            p.data = values[name]

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the parameters to a JSON file, atomically (an old file survives a failed save).

        Raises:
            ValueError: a parameter is NaN or infinite.
            OSError: the file cannot be written.
        """
        write_state(path, type(self).__name__, self.state_dict())

    def load(self, path: str | os.PathLike[str]) -> Module:
        """Load parameters saved by :meth:`save` into this model, in place; returns ``self``.

        Raises:
            OSError: the file cannot be read.
            StateDictError: the file is corrupt, of another format, or does not fit this model
                (the message names the path). The model is left unchanged.
        """
        parameters, saved_from = read_state(path)
        try:
            self.load_state_dict(parameters)
        except StateDictError as error:
            raise StateDictError(
                f"{os.fspath(path)} (saved from a {saved_from}) does not fit this "
                f"{type(self).__name__}: {error}"
            ) from None
        return self

    # ----- training -----
    def fit(self, X: Any, y: Any, **kwargs: Any) -> Any:
        """Train this model; see :func:`microgradnet.train.fit` for the arguments.

        Returns:
            The ``History`` returned by :func:`microgradnet.train.fit`.
        """
        from .train import fit

        return fit(self, X, y, **kwargs)

    def compile(self, example_input: Any, **kwargs: Any) -> Any:
        """This model traced on one sample and compiled to run whole batches with NumPy.

        See :func:`microgradnet.compile` (``kwargs`` are passed on); only this model's
        parameters get gradients.

        Example:
            >>> fast = MLP(2, [8, 1], seed=0).compile([0.0, 0.0])
            >>> fast([[0.0, 0.0]] * 5).shape
            (5,)
        """
        from .compiled import compile

        return compile(self, (example_input,), parameters=self.parameters(), **kwargs)

    # ----- display -----
    def extra_repr(self) -> str:
        """Text shown inside the parentheses of ``repr`` (constructor arguments)."""
        return ""

    def _repr_children(self) -> list[tuple[str, Module]]:
        children: list[tuple[str, Module]] = []
        _walk(self, "", None, set(), {id(self)}, children, depth=1)
        return children

    def __repr__(self) -> str:
        head = f"{type(self).__name__}({self.extra_repr()}"
        children = self._repr_children()
        if not children:
            return head + ")"
        lines = [head if head.endswith("(") else head + ","]
        for name, child in children:
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        return "\n".join(lines) + "\n)"

    def _repr_html_(self) -> str:
        try:
            return _summary_html(self)
        except Exception:
            try:
                return f"<pre>{html.escape(repr(self))}</pre>"
            except Exception:
                return f"<pre>{html.escape(type(self).__name__)}</pre>"


def _walk(
    obj: Any,
    prefix: str,
    parameters: list[tuple[str, Value]] | None,
    seen: set[int],
    modules_seen: set[int],
    modules: list[tuple[str, Module]] | None,
    depth: int | None = None,
) -> None:
    """Collect parameters and/or submodules below ``obj`` (see the module docstring)."""
    if isinstance(obj, Module):
        items: Iterator[tuple[Any, Any]] = (
            (k, v) for k, v in vars(obj).items() if not k.startswith("_")
        )
    elif isinstance(obj, list | tuple):
        items = iter(enumerate(obj))
    else:  # dict
        items = iter(obj.items())
    for key, value in items:
        name = f"{prefix}{key}"
        if type(value) is Value:
            if parameters is not None and id(value) not in seen:
                seen.add(id(value))
                parameters.append((name, value))
        elif isinstance(value, Module):
            if id(value) in modules_seen:
                continue
            modules_seen.add(id(value))
            if modules is not None:
                modules.append((name, value))
            if depth != 1:
                _walk(value, name + ".", parameters, seen, modules_seen, modules, depth)
        elif isinstance(value, list | tuple | dict) and id(value) not in modules_seen:
            modules_seen.add(id(value))  # guards against a container holding itself
            _walk(value, name + ".", parameters, seen, modules_seen, modules, depth)


def _summary_html(module: Module) -> str:
    rows = []
    for name, child in module._repr_children():
        rows.append(
            f"<tr><td><code>{html.escape(name)}</code></td>"
            f"<td><code>{html.escape(_one_line(child))}</code></td>"
            f"<td style='text-align:right'>{child.num_parameters():,}</td></tr>"
        )
    table = ""
    if rows:
        table = (
            "<table><thead><tr><th>name</th><th>module</th><th>parameters</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
        )
    extra = module.extra_repr()
    title = html.escape(f"{type(module).__name__}({extra})" if extra else type(module).__name__)
    total = module.num_parameters()
    return (
        f"<div><strong><code>{title}</code></strong> "
        f"&mdash; {total:,} parameter{'s' if total != 1 else ''}{table}</div>"
    )


def _one_line(module: Module) -> str:
    text = repr(module)
    return text if "\n" not in text else f"{type(module).__name__}({module.extra_repr()})"


# ----- building blocks -----
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
        self._act = _activation_fn(activation)
        self._activation = activation
        scheme = _init.resolve_init(init, activation)
        half = _init.bound(scheme, nin, _positive_int(fan_out, "fan_out"))
        rng = _init.resolve_rng(seed)
        self.w = [Value(rng.uniform(-half, half)) for _ in range(nin)]
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
        self._act = _activation_fn(name)
        self._activation = name

    @property
    def nin(self) -> int:
        return len(self.w)

    def __call__(self, x: Sequence[Value | float] | Value | float) -> Value:
        x = _as_inputs(x, len(self.w), "Neuron")
        return self._act(Value.dot(self.w, x, self.b))

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

    def __call__(self, x: Sequence[Value | float] | Value | float) -> Value | list[Value]:
        return self._outputs([_value_tuple(_as_inputs(x, self.nin, "Layer"))])[0]

    def map(self, samples: Iterable[Sequence[Value | float] | Value | float]) -> list[Any]:
        """``[layer(x) for x in samples]``, the same graph built faster: the weights are read
        once for the whole batch rather than once per sample."""
        if type(self).__call__ is not Layer.__call__:  # a subclass's own __call__ must run
            return super().map(samples)
        nin = self.nin
        return self._outputs([_value_tuple(_as_inputs(x, nin, "Layer")) for x in samples])

    def _outputs(self, batch: list[tuple[Value, ...]]) -> list[Any]:
        """The layer's output for each tuple of input Values in ``batch``."""
        neurons = self.neurons
        if batch and len(batch[0]) != len(neurons[0].w):
            raise ValueError(f"Layer expects {len(neurons[0].w)} inputs, got {len(batch[0])}")
        rows = [n._checked_row() for n in neurons]
        if batch and (None in rows or set(map(len, rows)) != {len(batch[0]) + 1}):
            # numbers among the weights, or a neuron of another size: Value.matvec lifts the
            # numbers, or raises naming the row
            weights, biases = [n.w for n in neurons], [n.b for n in neurons]
            sums_per_sample = [Value.matvec(weights, x, biases) for x in batch]
        else:
            sums_per_sample = dots_over_batch(rows, batch)  # type: ignore[arg-type]
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
        _activation_fn(activation)
        _activation_fn(output_activation)
        rng = _init.resolve_rng(seed)
        last = len(nouts) - 1
        self.layers = [
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

    def __call__(self, x: Sequence[Value | float] | Value | float) -> Value | list[Value]:
        return self._outputs([x])[0]

    def map(self, samples: Iterable[Sequence[Value | float] | Value | float]) -> list[Any]:
        """``[model(x) for x in samples]``, the same graph built faster: each layer reads its
        weights once for the whole batch rather than once per sample."""
        if type(self).__call__ is not MLP.__call__:  # a subclass's own __call__ must run
            return super().map(samples)
        return self._outputs(list(samples))

    def _outputs(self, samples: list[Any]) -> list[Any]:
        """The model's output for each of ``samples``, the layers run over the whole batch."""
        outputs = samples
        from_a_layer = False  # whether outputs came from a Layer: Values, already checked
        for i, layer in enumerate(self.layers):
            if type(layer).__call__ is not Layer.__call__:  # a module put in by hand
                outputs = (
                    layer.map(outputs) if isinstance(layer, Module) else list(map(layer, outputs))
                )
                from_a_layer = False
                continue
            if from_a_layer:
                batch = [tuple(out) if type(out) is list else (out,) for out in outputs]
            else:
                owner, nin = "MLP" if i == 0 else "Layer", layer.nin
                batch = [_value_tuple(_as_inputs(x, nin, owner)) for x in outputs]
            outputs = layer._outputs(batch)
            from_a_layer = True
        return outputs

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
        if type(self).__call__ is not Sequential.__call__:  # a subclass's own __call__ must run
            return super().map(samples)
        outputs = list(samples)
        for module in self.layers:
            outputs = module.map(outputs)
        return outputs

    def __getitem__(self, index: int) -> Module:
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)


# ----- activation modules, for Sequential -----
def _elementwise(fn: Callable[[Value], Value], x: Any) -> Any:
    # Nested lists too: a convolution's output is [channels][height][width].
    if isinstance(x, list | tuple):
        return [_elementwise(fn, v) for v in x]
    return fn(x if type(x) is Value else Value(x))


class Activation(Module):
    """An activation applied to one ``Value`` or to each of a list of them.

    Args:
        name: one of :data:`ACTIVATIONS`.
    """

    def __init__(self, name: str) -> None:
        self._fn = _activation_fn(name)
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def __call__(self, x: Any) -> Any:
        """Apply the activation to one value, or elementwise to a (nested) list of them."""
        return _elementwise(self._fn, x)

    def extra_repr(self) -> str:
        return "" if type(self) is not Activation else repr(self._name)


class ReLU(Activation):
    """``max(0, x)`` elementwise."""

    def __init__(self) -> None:
        super().__init__("relu")


class Tanh(Activation):
    """``tanh(x)`` elementwise."""

    def __init__(self) -> None:
        super().__init__("tanh")


class Sigmoid(Activation):
    """``1 / (1 + exp(-x))`` elementwise."""

    def __init__(self) -> None:
        super().__init__("sigmoid")


class LeakyReLU(Activation):
    """``x`` for ``x > 0``, else ``0.01 * x``, elementwise."""

    def __init__(self) -> None:
        super().__init__("leaky_relu")


class Identity(Activation):
    """Returns its input unchanged (the ``"linear"`` activation)."""

    def __init__(self) -> None:
        super().__init__("linear")


# ----- convolution and pooling (defined in microgradnet.conv) -----
# conv builds on Module and so imports this module: its names are re-exported lazily (PEP 562),
# which works whichever of the two modules is imported first.
from . import conv as _conv  # noqa: E402

_CONV_NAMES = ("AvgPool2d", "Conv2d", "Flatten", "MaxPool2d")

if TYPE_CHECKING:
    from .conv import AvgPool2d, Conv2d, Flatten, MaxPool2d


def __getattr__(name: str) -> Any:
    if name in _CONV_NAMES:
        return getattr(_conv, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
