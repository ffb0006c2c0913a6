"""The compiled function: a program over batches, made by :func:`~microgradnet.compile`.

:class:`CompiledFunction` runs a :class:`~microgradnet.compiled._program.Program` over whole
batches: its forward alone, forward and backward with the parameter gradients added into the
ordinary ``.grad`` (so the optimisers of :mod:`microgradnet.optim` work unchanged), the
gradients as an array, or the gradients with respect to the inputs (saliency). A sample holding
a value that is not finite is handed to the dynamic engine (:mod:`._reference`), so the results
and the errors are the engine's.
"""

from __future__ import annotations

import builtins
import math
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from .._numbers import to_float
from .._value_extras import any_frozen
from ..engine import Value
from ..ops import Op
from ._inputs import batch_array
from ._program import Program
from ._reference import on_engine
from ._trace import Trace, compare_traces, trace

__all__ = ["CompiledFunction", "Run"]

_REDUCTIONS = ("mean", "sum")


class Run:
    """What one run of a program over a batch gives: per-sample outputs ``(N, n_outputs)`` and
    aux, and with a seed the parameter gradients (``Σ seed_i d(output_i)/dp``) and the inputs'
    gradients ``(N, n_inputs)`` (each sample's own)."""

    def __init__(
        self, outputs: np.ndarray, aux: np.ndarray | None, grads: Any, input_grads: Any
    ) -> None:
        self.outputs, self.aux, self.grads, self.input_grads = outputs, aux, grads, input_grads


class CompiledFunction:
    """A traced function evaluated over batches; made by :func:`compile`.

    Calling it runs the forward pass only; :meth:`backward` runs forward and backward and adds the
    parameter gradients into ``.grad``; :meth:`gradients` returns them as an array;
    :meth:`input_gradients` gives each sample's gradient with respect to its own inputs.

    Attributes:
        parameters: the leaves read live at every call (persistent ``Value``s the function
            closes over, e.g. a model's weights), in slot order.
        grad_parameters: the parameters that get gradients, in the order :meth:`gradients`
            returns them (the order given to :func:`compile`).
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
    ) -> None:
        self._fn = fn
        self._trace = first
        self._program = program
        self._saliency: Program | None = None
        self._saliency_output = 0
        self._has_aux = has_aux
        self._lock = threading.Lock()  # the program's stores are shared by every call
        self.parameters = program.parameters
        self.grad_parameters = grad_parameters
        slot_of = {id(p): i for i, p in enumerate(program.parameters)}
        # where each gradient asked for is among the program's (Note [weights as matrices])
        self._grad_index = np.array([slot_of[id(p)] for p in grad_parameters], dtype=np.int64)
        self.input_shapes = [a.shape for a in example]
        self.output_shape = first.output_shape
        self._aux_shape = first.aux_shape

    @property
    def num_nodes(self) -> int:
        """Nodes of the traced graph (inputs, parameters and constants included)."""
        return len(self._trace.values)

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

    # ----- running -----
    def run(
        self,
        inputs: np.ndarray,
        seed: np.ndarray | None = None,
        *,
        program: Program | None = None,
        load: bool = True,
    ) -> Run:
        """Run the program on ``inputs`` ``(N, n_inputs)``; with ``seed`` ``(N,)``, backward too.

        Errors are the engine's, and a sample whose values are not all finite gets the engine's
        values and gradients (see :mod:`microgradnet.compiled._reference`). ``load=False``
        leaves the parameters' slots as they are (compiled training keeps them there).
        """
        program = program or self._program
        with self._lock, np.errstate(all="ignore"):
            if load:
                program.load()
            B = program.forward(inputs)
            GB = None if seed is None else program.backward(B, seed[:, None])
            finite = program.finite_samples(B, GB, parameters=load)
            if finite is None:
                return self._collect(program, B, GB)
            return self._with_engine(program, inputs, seed, finite)

    def _collect(self, program: Program, B: np.ndarray, GB: np.ndarray | None) -> Run:
        outputs = program.outputs(B)
        aux = program.aux(B) if self._has_aux else None
        if GB is None:
            return Run(outputs, aux, None, None)
        grads = program.GS[: len(program.parameters)]  # a view: the next run overwrites it
        return Run(outputs, aux, grads, GB[: program.n_inputs].T.copy())

    def _with_engine(
        self, program: Program, inputs: np.ndarray, seed: np.ndarray | None, finite: np.ndarray
    ) -> Run:
        """Samples with a non-finite value on the engine, the others on the program again."""
        good = np.flatnonzero(finite)
        outputs = np.empty((inputs.shape[0], len(program.output_slots)))
        aux = np.empty((inputs.shape[0], len(program.aux_slots))) if self._has_aux else None
        grads = np.zeros(len(program.parameters)) if seed is not None else None
        input_grads = np.zeros(inputs.shape) if seed is not None else None
        saliency = program is self._saliency
        wrt: Any = None
        if seed is not None:
            wrt = "inputs" if saliency else program.parameters
        output = self._saliency_output if saliency else 0
        for index in np.flatnonzero(~finite).tolist():  # in order: the first error is raised
            found = on_engine(
                self._fn, inputs[index], self.input_shapes, self._has_aux, index, wrt, output
            )
            outputs[index] = found.outputs
            if aux is not None:
                aux[index] = found.aux
            if seed is not None and saliency and input_grads is not None:
                input_grads[index] = np.multiply(seed[index], found.grads)
            elif seed is not None and grads is not None:
                grads += np.multiply(seed[index], found.grads)
        if good.size:
            B = program.forward(inputs[good])
            GB = None if seed is None else program.backward(B, seed[good, None])
            part = self._collect(program, B, GB)
            outputs[good] = part.outputs
            if aux is not None:
                aux[good] = part.aux
            if grads is not None:
                grads += part.grads
            if input_grads is not None:
                input_grads[good] = part.input_grads
        return Run(outputs, aux, grads, input_grads)

    def __call__(self, *batch: Any) -> Any:
        """The outputs for every sample of a batch.

        Args:
            *batch: one array per argument of ``fn``, shaped ``(N, *example_shape)``.

        Returns:
            An array ``(N, *output_shape)``; with ``has_aux``, the pair ``(outputs, aux)``.

        Raises:
            TypeError / ValueError: a wrong number of arrays or a wrong shape (named).
            ValueError / ZeroDivisionError / OverflowError: an op out of its domain on some
                sample, as the dynamic engine raises it, naming the sample.
        """
        result = self.run(batch_array(batch, self.input_shapes))
        outputs = self._shape(result.outputs, self.output_shape)
        if self._has_aux:
            assert result.aux is not None
            return outputs, self._shape(result.aux, self._aux_shape)
        return outputs

    def _seeded(self, batch: tuple[Any, ...], reduction: str, gradient: float) -> Any:
        if reduction not in _REDUCTIONS:
            raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
        if self.output_shape != ():
            raise ValueError(
                "backward needs fn to return one scalar (the loss) per sample, got output shape "
                f"{self.output_shape}; reduce it inside fn or use has_aux=True"
            )
        seed = to_float(gradient, "gradient")
        inputs = batch_array(batch, self.input_shapes)
        weight = 1.0 / inputs.shape[0] if reduction == "mean" else 1.0
        result = self.run(inputs, np.full(inputs.shape[0], weight * seed))
        with np.errstate(over="ignore"):  # losses summing past 1e308 make an infinite total
            total = float(result.outputs[:, 0].sum()) * weight
        return total, result

    def backward(self, *batch: Any, reduction: str = "mean", gradient: float = 1.0) -> Any:
        """Forward and backward over a batch; parameter gradients are added into ``.grad``.

        The loss is the per-sample output reduced over the batch: its ``"mean"`` (default) or
        ``"sum"``. As with ``Value.backward(gradient)``, each ``.grad`` gains ``gradient`` times
        the loss's derivative, and gradients accumulate: zero them first. A parameter whose
        ``requires_grad`` is false gets none.

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
        total, result = self._seeded(batch, reduction, gradient)
        grads = result.grads[self._grad_index].tolist()
        check = any_frozen()
        for p, g in zip(self.grad_parameters, grads, strict=True):
            if not check or getattr(p, "requires_grad", True):
                p.grad += g
        if self._has_aux:
            return total, self._shape(result.aux, self._aux_shape)
        return total

    def gradients(self, *batch: Any, reduction: str = "mean") -> tuple[float, np.ndarray]:
        """The reduced loss and its gradient with respect to :attr:`grad_parameters`, as an
        array, without touching any ``.grad``: the same numbers :meth:`backward` adds.

        Example:
            >>> import numpy as np
            >>> from microgradnet import Value, compile
            >>> w = Value(2.0)
            >>> f = compile(lambda x: w * x * x, (1.0,))
            >>> f.gradients(np.array([1.0, 2.0]))
            (5.0, array([2.5]))
        """
        total, result = self._seeded(batch, reduction, 1.0)
        grads: np.ndarray = result.grads[self._grad_index]
        for i, p in enumerate(self.grad_parameters if any_frozen() else ()):
            if not getattr(p, "requires_grad", True):
                grads[i] = 0.0  # frozen: no gradient
        return total, grads

    def input_gradients(self, *batch: Any, output: int | None = None) -> Any:
        """Each sample's gradient with respect to its own inputs: saliency, which input moves the
        output (a pixel, the loss).

        Args:
            *batch: one array per argument of ``fn``, shaped ``(N, *example_shape)``.
            output: for a function with several outputs per sample, which one (flat index).

        Returns:
            An array shaped like the batch (a tuple of them for several arguments).

        Example:
            >>> import numpy as np
            >>> from microgradnet import Value, compile
            >>> w = Value(3.0)
            >>> f = compile(lambda x: w * x[0] * x[1], ([1.0, 1.0],))
            >>> f.input_gradients(np.array([[1.0, 2.0]]))
            array([[6., 3.]])
        """
        inputs = batch_array(batch, self.input_shapes)
        n_outputs = math.prod(self.output_shape)
        if output is None and n_outputs != 1:
            raise ValueError(f"fn has {n_outputs} outputs per sample: choose one with output=index")
        index = 0 if output is None else int(output)
        if not 0 <= index < n_outputs:
            raise ValueError(f"output must be in [0, {n_outputs}), got {output!r}")
        program = self._saliency_program(index)
        result = self.run(inputs, np.ones(inputs.shape[0]), program=program)
        flat = result.input_grads
        splits = np.cumsum([math.prod(s) for s in self.input_shapes])[:-1]
        parts = [
            self._shape(part, shape)
            for part, shape in zip(np.split(flat, splits, axis=1), self.input_shapes, strict=True)
        ]
        return parts[0] if len(parts) == 1 else tuple(parts)

    def _saliency_program(self, output: int) -> Program:
        if self._saliency is None or self._saliency_output != output:
            first = self._trace
            chosen = Trace(
                first.values,
                first.ops,
                first.args,
                first.parents,
                first.position,
                [first.outputs[output]],
                first.aux,
                (),
                first.aux_shape,
            )
            n_inputs = sum(math.prod(s) for s in self.input_shapes)
            params = self.parameters
            self._saliency = Program(chosen, n_inputs, params, [False] * len(params), True)
            self._saliency_output = output
        return self._saliency

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
