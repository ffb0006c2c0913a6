"""The compiled function: a program over batches, and :func:`compile`, which makes one.

:func:`compile` traces ``fn`` on one sample (:mod:`~microgradnet.compiled._trace`), re-traces it
on others to check that its graph does not depend on the data, and groups the trace into a
:class:`~microgradnet.compiled._program.Program`. :class:`CompiledFunction` runs that program
over whole batches: its forward alone, or forward and backward with the parameter gradients added
into the ordinary ``.grad``, so the optimisers of :mod:`microgradnet.optim` work unchanged.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from .._numbers import to_float
from ..engine import Value
from ..ops import Op
from ._explain import explain_backward, explain_forward
from ._inputs import batch_array, example_arrays, perturbed
from ._program import Program
from ._trace import Trace, compare_traces, trace

__all__ = ["CompiledFunction", "compile"]

_REDUCTIONS = ("mean", "sum")


# ----- the compiled function -----
class CompiledFunction:
    """A traced function evaluated over batches; made by :func:`compile`.

    Calling it runs the forward pass only; :meth:`backward` runs forward and backward and adds the
    parameter gradients into ``.grad``.

    Attributes:
        parameters: the leaves read live at every call (persistent ``Value``s the function
            closes over, e.g. a model's weights), in slot order.
        input_shapes: the shape of each argument of one sample.
        output_shape: the shape of one sample's output.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        example: list[np.ndarray],
        first: Trace,
        program: Program,
        grad_parameters: list[Value],
        has_aux: bool,
        output_shape: tuple[int, ...],
        aux_shape: tuple[int, ...],
    ) -> None:
        self._fn = fn
        self._trace = first
        self._program = program
        self._grad_parameters = grad_parameters
        wanted = {id(p) for p in grad_parameters}
        index = [i for i, p in enumerate(program.parameters) if id(p) in wanted]
        # compile puts the parameters that get gradients first: usually a plain slice
        self._grad_index: slice | np.ndarray = (
            slice(0, len(index)) if index == list(range(len(index))) else np.array(index, int)
        )
        self._has_aux = has_aux
        self.parameters = program.parameters
        self.input_shapes = [a.shape for a in example]
        self.output_shape = output_shape
        self._aux_shape = aux_shape

    @property
    def num_nodes(self) -> int:
        """Nodes of the traced graph (inputs, parameters and constants included)."""
        return len(self._trace.nodes)

    @property
    def num_instructions(self) -> int:
        """Vectorised instructions one forward pass runs."""
        return len(self._program.instructions)

    @property
    def kernel_kinds(self) -> dict[Op, str]:
        """How each op of the program runs: ``"vectorised"`` (its row's rules on whole arrays),
        ``"element-wise"`` (its float rules, one element at a time: a ``define_op`` whose
        functions do not run on NumPy arrays) or ``"bilinear"`` (``dot``: matrix products).

        Example:
            >>> from microgradnet import Value, compile
            >>> w = Value(2.0)
            >>> f = compile(lambda x: (w * x).tanh(), (0.5,))
            >>> {op.name: kind for op, kind in f.kernel_kinds.items()}
            {'mul': 'vectorised', 'tanh': 'vectorised'}
        """
        return self._program.kernel_kinds()

    def __repr__(self) -> str:
        name = getattr(self._fn, "__name__", type(self._fn).__name__)
        return (
            f"CompiledFunction({name}, inputs={self.input_shapes}, output={self.output_shape}, "
            f"nodes={self.num_nodes}, instructions={self.num_instructions}, "
            f"parameters={len(self.parameters)})"
        )

    def _shape(self, flat: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        return flat.reshape((flat.shape[0], *shape))

    def _forward(self, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray, Any, Any]:
        """The stores, outputs and aux of a batch; run under ``np.errstate(all="ignore")``: a
        NaN or an infinity is explained with the float rules, not warned about."""
        program = self._program
        S, B = program.load(inputs)
        program.forward(S, B)
        outputs = program.read(program.output_slots, S, B)
        aux = program.read(program.aux_slots, S, B) if self._has_aux else None
        finite = np.isfinite(outputs).all() and (aux is None or np.isfinite(aux).all())
        if not finite:
            explain_forward(program.kernel_instructions())
        return S, B, outputs, aux

    def __call__(self, *batch: Any) -> Any:
        """The outputs for every sample of a batch.

        Args:
            *batch: one array per argument of ``fn``, shaped ``(N, *example_shape)``.

        Returns:
            An array ``(N, *output_shape)``; with ``has_aux``, the pair ``(losses, aux)``.

        Raises:
            TypeError / ValueError: a wrong number of arrays or a wrong shape (named).
            ValueError / ZeroDivisionError / OverflowError: an op out of its domain on some sample,
                as the dynamic engine would raise.
        """
        inputs = batch_array(batch, self.input_shapes)
        with np.errstate(all="ignore"):
            _, _, outputs, aux = self._forward(inputs)
        result = self._shape(outputs, self.output_shape)
        if self._has_aux:
            return result, self._shape(aux, self._aux_shape)
        return result

    def backward(self, *batch: Any, reduction: str = "mean", gradient: float = 1.0) -> Any:
        """Forward and backward over a batch; parameter gradients are added into ``.grad``.

        The loss is the per-sample output reduced over the batch: its ``"mean"`` (default) or
        ``"sum"``. As with ``Value.backward(gradient)``, each ``.grad`` gains ``gradient`` times
        the loss's derivative, and gradients accumulate: zero them first. A batch split over
        several programs (``fit`` compiles one per target value when the loss branches on it)
        adds up to the whole batch's mean with ``reduction="sum", gradient=1 / batch_size``.

        Args:
            *batch: one array per argument of ``fn``, shaped ``(N, *example_shape)``.
            reduction: ``"mean"`` or ``"sum"`` over the samples.
            gradient: the derivative of the final result with respect to this loss.

        Returns:
            The reduced loss as a float (not multiplied by ``gradient``); with ``has_aux``, the
            pair ``(loss, aux)``, ``aux`` shaped ``(N, *aux_shape)``.

        Raises:
            ValueError: ``fn`` does not return one scalar per sample, or ``reduction`` is unknown;
                or a gradient is undefined (as ``Value.backward()`` would raise).
            TypeError: ``gradient`` is not a real number.
        """
        if reduction not in _REDUCTIONS:
            raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
        seed = to_float(gradient, "gradient")
        inputs = batch_array(batch, self.input_shapes)
        weight = 1.0 / inputs.shape[0] if reduction == "mean" else 1.0
        loss, aux = self._run(inputs, weight, weight * seed)
        total = float(loss.sum())
        return (total, aux) if self._has_aux else total

    def _run(self, inputs: np.ndarray, weight: float, scale: float) -> tuple[np.ndarray, Any]:
        """Per-sample losses times ``weight``, and aux; adds ``scale * Σ d(loss_i)/dp`` into
        every ``p.grad``."""
        if self.output_shape != ():
            raise ValueError(
                "backward needs fn to return one scalar (the loss) per sample, got output shape "
                f"{self.output_shape}; reduce it inside fn or use has_aux=True"
            )
        program = self._program
        with np.errstate(all="ignore"):
            S, B, outputs, aux = self._forward(inputs)
            grads = program.backward(S, B, np.full((inputs.shape[0], 1), scale))
            wanted = grads[self._grad_index]
            if not np.isfinite(wanted).all():
                explain_backward(program.kernel_instructions())
        for p, g in zip(self._grad_parameters, wanted.tolist(), strict=True):
            p.grad += g
        aux_out = self._shape(aux, self._aux_shape) if self._has_aux else None
        return outputs[:, 0] * weight, aux_out

    def check(self, *batch: Any, samples: int = 8) -> None:
        """Re-trace ``fn`` on up to ``samples`` samples of a batch, spread across it, and raise
        :class:`TraceError` if any builds a different graph (see Note [the structure rule])."""
        inputs = batch_array(batch, self.input_shapes)
        n = inputs.shape[0]
        picks = sorted({round(i * (n - 1) / builtins.max(samples - 1, 1)) for i in range(samples)})
        picks = [i for i in picks if i < n]
        splits = np.cumsum([math.prod(s) for s in self.input_shapes])[:-1]
        for i in picks:
            args = [
                a.reshape(shape)
                for a, shape in zip(np.split(inputs[i], splits), self.input_shapes, strict=True)
            ]
            other = trace(self._fn, args, self._has_aux)
            compare_traces(self._trace, other, f"sample {i} of the batch")


# ----- compiling -----
def compile(  # shadows the builtin on purpose: the name users expect
    fn: Callable[..., Any],
    example_inputs: Sequence[Any],
    *,
    parameters: Iterable[Value] | None = None,
    check_inputs: Iterable[Sequence[Any]] | None = None,
    has_aux: bool = False,
) -> CompiledFunction:
    """Trace ``fn`` on one sample and compile it to a program that runs whole batches.

    ``fn`` takes one sample (each argument a number or a list of numbers, passed as ``Value``s)
    and returns its output: one ``Value`` (a per-sample loss, a score) or a list of them. The
    compiled function maps a batch (one array per argument, with a leading batch axis) to the
    outputs of every sample, and its :meth:`~CompiledFunction.backward` adds the gradient of the
    batch's mean (or sum) loss into each parameter's ``.grad``. A term that depends only on the
    parameters (an L2 penalty added to every sample's loss) is computed once per batch, so the
    mean of ``loss_i + penalty`` costs no more than the dynamic ``mean(loss_i) + penalty``.

    Parameters are the persistent leaves ``fn`` reaches (a model's weights, any ``Value`` it
    closes over): they are read live at every call. Leaves made during the call (the ``1.0`` of
    ``1.0 - x``) are constants of the program. See Note [the structure rule] in
    :mod:`microgradnet.compiled` for what ``fn`` must not do.

    Args:
        fn: the function of one sample.
        example_inputs: one sample, a tuple with one entry per argument of ``fn``: ``(x,)`` or
            ``(x, y)``, each a number or a (nested) list of numbers.
        parameters: if given, only these leaves get gradients (others are still read live).
        check_inputs: other samples (tuples like ``example_inputs``) to re-trace on; by default a
            perturbed copy of the example.
        has_aux: ``fn`` returns ``(loss, aux)``; ``aux`` (Values, e.g. the model's output) is
            returned alongside but not differentiated.

    Returns:
        A :class:`CompiledFunction`.

    Raises:
        TraceError: the graph depends on the data, ``fn`` returns no Values, or tracing happens
            inside ``no_grad()``.
        TypeError / ValueError: malformed example inputs or parameters (named).

    Example:
        >>> import numpy as np
        >>> from microgradnet import compile
        >>> from microgradnet.nn import MLP
        >>> model = MLP(2, [8, 1], seed=0)
        >>> step = compile(lambda x, y: (1 - y * model(x)).relu(), ([0.0, 0.0], 1.0))
        >>> model.zero_grad()
        >>> loss = step.backward(np.zeros((4, 2)), np.ones(4))   # mean over 4 samples
    """
    if not callable(fn):
        raise TypeError(f"compile: fn must be callable, got {type(fn).__name__}")
    example = example_arrays(example_inputs, "example_inputs")
    grad_filter = _parameter_list(parameters)
    first = trace(fn, example, has_aux)

    persistent = _persistent_leaves(fn, first, example, check_inputs, has_aux)

    live = [n.value for i, n in enumerate(first.nodes) if i in persistent]
    if grad_filter is None:
        grad_parameters = live
    else:
        # the caller's order first (so gradients line up with it), then the rest in trace order
        reached = {id(p) for p in live}
        grad_parameters = list({id(p): p for p in grad_filter if id(p) in reached}.values())
        wanted = {id(p) for p in grad_parameters}
        live = grad_parameters + [p for p in live if id(p) not in wanted]
    wants = {id(p) for p in grad_parameters}
    n_inputs = sum(a.size for a in example)
    program = Program(first, n_inputs, live, [id(p) in wants for p in live])
    return CompiledFunction(
        fn, example, first, program, grad_parameters, has_aux, first.output_shape, first.aux_shape
    )


def _persistent_leaves(
    fn: Callable[..., Any],
    first: Trace,
    example: list[np.ndarray],
    check_inputs: Iterable[Sequence[Any]] | None,
    has_aux: bool,
) -> set[int]:
    """Re-trace ``fn`` on ``check_inputs`` (or a perturbed example), raise ``TraceError`` if a
    graph differs from ``first``, and return the leaves every trace shares: the parameters."""
    others = [example_arrays(c, f"check_inputs[{i}]") for i, c in enumerate(check_inputs or ())]
    for i, other in enumerate(others):
        if [a.shape for a in other] != [a.shape for a in example]:
            raise ValueError(
                f"check_inputs[{i}] has shapes {[a.shape for a in other]}, the example "
                f"{[a.shape for a in example]}"
            )
    traces = [(trace(fn, o, has_aux), f"check_inputs[{i}]") for i, o in enumerate(others)]
    if not traces:
        for candidate in [*perturbed(example), example]:
            try:
                traces = [(trace(fn, candidate, has_aux), "a perturbed copy of the example")]
                break
            except (ArithmeticError, ValueError):
                continue
    persistent: set[int] | None = None
    for second, where in traces:
        same = compare_traces(first, second, where)
        persistent = same if persistent is None else persistent & same
    return persistent or set()


def _parameter_list(parameters: Iterable[Value] | None) -> list[Value] | None:
    if parameters is None:
        return None
    if isinstance(parameters, Value):
        raise TypeError("parameters must be an iterable of Values, got a single Value")
    items = list(parameters)
    for i, p in enumerate(items):
        if not isinstance(p, Value):
            raise TypeError(f"parameters[{i}] must be a Value, got {type(p).__name__}")
    return items
