"""``Module``, the base class of every model part: parameters, state, batching, display.

A module finds its parameters by walking its public attributes in definition order: a ``Value`` is
a parameter, a ``Module`` is walked in turn, lists and tuples by index, dicts by key. Names are
dotted paths (``layers.0.neurons.3.w.1``), and a parameter reachable twice is listed once.

This module sits below the layers (``microgradnet.nn``, ``microgradnet.conv``) and imports none
of them; it is re-exported as ``microgradnet.nn.Module``.
"""

from __future__ import annotations

import html
import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ._serialization import StateDictError, checked_state, read_state, write_state
from .engine import Value

__all__ = ["Module", "StateDictError"]


# Note [one batching hook]
# ~~~~~~~~~~~~~~~~~~~~~~~~
# Running a module over a batch of samples is one hook, ``map(samples)``. The default calls
# ``__call__`` once per sample; ``Layer``, ``MLP`` and ``Sequential`` override it to build the
# same graph faster (a layer reads its weights once per batch). Which of the two a class gets
# is decided once, when the class is created (``Module.__init_subclass__``): a subclass that
# defines its own ``__call__`` but not ``map`` gets the one-sample-at-a-time default back, so
# its own ``__call__`` is what runs, whatever its base class batches.
#
# Inside a chain of modules (``MLP``, ``Sequential``) the hook is reached through
# ``_map_in_chain``, which also tells the next module whether the outputs are a layer's: lists
# of ``Value``s (or single ``Value``s), already checked, which the next ``Layer`` takes without
# checking every element again. The same rule resets ``_map_in_chain`` to the default (plain
# ``map``, vouching for nothing) in a class that defines ``__call__`` or ``map``: its outputs are
# its own.


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
        >>> [out.data for out in Affine().map([1.0, 2.0])]
        [3.0, 5.0]
    """

    training: bool = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Pick the class's batching once (see Note [one batching hook])."""
        super().__init_subclass__(**kwargs)
        own = vars(cls)
        if "__call__" in own and "map" not in own:
            cls.map = Module.map  # type: ignore[method-assign]
        if ("__call__" in own or "map" in own) and "_map_in_chain" not in own:
            cls._map_in_chain = Module._map_in_chain  # type: ignore[method-assign]

    def __call__(self, x: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define __call__")

    def map(self, samples: Iterable[Any]) -> list[Any]:
        """The output for each of ``samples``: ``[module(x) for x in samples]``.

        This is the one batching hook (micrograd's demo writes ``list(map(model, inputs))``).
        ``Layer``, ``MLP`` and ``Sequential`` build the same graph faster: a layer reads its
        weights once for the whole batch. A subclass that defines ``__call__`` but not ``map``
        is run one sample at a time through its own ``__call__``.
        """
        return [self(x) for x in samples]

    def _map_in_chain(
        self, samples: list[Any], checked: bool, owner: str
    ) -> tuple[list[Any], bool]:
        """``map`` inside a chain of modules; returns the outputs and whether they are a layer's
        checked Values. ``checked`` says the samples are; ``owner`` names the model in errors."""
        return self.map(samples), False

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

    def requires_grad_(self, flag: bool = True) -> Module:
        """Freeze (``False``) or unfreeze (``True``) every parameter; returns the module.

        A frozen parameter gets no gradient, and optimisers leave it as it is (PyTorch's
        ``requires_grad_``).

        Example:
            >>> from microgradnet.nn import MLP
            >>> model = MLP(2, [3, 1], seed=0)
            >>> _ = model.layers[0].requires_grad_(False)    # fine-tune the last layer only
            >>> [p.requires_grad for p in model.parameters()].count(False)
            9
        """
        if type(flag) is not bool:
            raise TypeError(f"requires_grad_: flag must be a bool, got {type(flag).__name__}")
        for parameter in self.parameters():
            parameter.requires_grad = flag
        return self

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
            >>> from microgradnet.nn import MLP
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
                f"{os.fspath(path)} (saved from {_article(saved_from)} {saved_from}) does not "
                f"fit this {type(self).__name__}: {error}"
            ) from None
        return self

    # ----- training -----
    def fit(self, X: Any, y: Any, **kwargs: Any) -> Any:
        """Train this model; see :func:`microgradnet.train.fit` for the arguments.

        Returns:
            The ``History`` returned by :func:`microgradnet.train.fit`.
        """
        # Imported here: train knows no Module (it batches any model with a ``map`` method).
        from .train import fit

        return fit(self, X, y, **kwargs)

    def compile(self, example_input: Any, **kwargs: Any) -> Any:
        """This model traced on one sample and compiled to run whole batches with NumPy.

        See :func:`microgradnet.compile` (``kwargs`` are passed on); only this model's
        parameters get gradients.

        Example:
            >>> from microgradnet.nn import MLP
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
        """The summary table, and beside it the network (``viz.draw_network``) when small."""
        try:
            table = _summary_html(self)
        except Exception:
            try:
                return f"<pre>{html.escape(repr(self))}</pre>"
            except Exception:
                return f"<pre>{html.escape(type(self).__name__)}</pre>"
        try:  # imported here: no ``dot`` (or a model that is not layers) shows the table alone
            from .viz._network import network_svg

            svg = network_svg(self)
        except Exception:
            svg = None
        if svg is None:
            return table
        return (
            "<div style='display:flex;gap:1.5em;align-items:flex-start'>"
            f"{table}<div>{svg}</div></div>"
        )


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


def _article(noun: str) -> str:
    """``"an"`` before a vowel, or before an initialism read from a vowel sound (``an MLP``)."""
    initialism = noun[:2].isupper()
    vowel_sound = noun[:1].upper() in ("AEIOUFHLMNRSX" if initialism else "AEIOU")
    return "an" if vowel_sound else "a"
