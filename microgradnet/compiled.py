"""Compiled mode: trace a scalar function once, then run it over a whole batch with NumPy.

:func:`compile` calls ``fn`` on ``Value``s built from one example sample, records the graph as a
flat program (op codes from the op table, slots for inputs, parameters and constants), and groups
it so that one NumPy call evaluates a whole layer of neurons for every sample of a batch. The
program's backward pass writes parameter gradients into the ordinary ``.grad``, so the optimisers
of :mod:`microgradnet.optim` work unchanged.

Note [the structure rule]
A program is only valid while the graph ``fn`` builds does not depend on the data. Ops whose
behaviour depends on the sign of their input (``relu``, ``abs``, ``leaky_relu``) are fine: the
program evaluates them per sample. What is not fine is Python control flow on values: an ``if`` on
``.data``, ``max()`` of Values by value, a constant computed from ``.data`` of an input (as the
stable ``logsumexp`` does with its shift). :func:`compile` re-traces ``fn`` on other samples
(``check_inputs``, or a perturbed copy of the example) and raises :class:`TraceError` if the op
sequence, the wiring or a constant differ; :meth:`CompiledFunction.check` repeats the test on real
data. The check samples the data rather than proving anything, so test with samples that take
every branch.

Example:
    >>> import numpy as np
    >>> from microgradnet import Value, compile
    >>> w = Value(2.0)
    >>> f = compile(lambda x: (w * x).tanh(), (0.5,))
    >>> f(np.array([0.0, 0.5])).round(4).tolist()
    [0.0, 0.7616]
    >>> loss = f.backward(np.array([0.0, 0.5]), reduction="sum"); round(w.grad, 4)
    0.21
"""

from __future__ import annotations

import builtins
import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from . import ops
from ._program import Elementwise, Program, Trace, TraceError, compare_traces, trace
from .engine import Value

__all__ = ["CompiledFunction", "CompiledTraining", "TraceError", "compile"]

_REDUCTIONS = ("mean", "sum")


# ----- input checks -----
def _as_floats(x: Any, what: str) -> np.ndarray:
    """``x`` (a number, Value, or nested sequence / array of them) as a float array."""
    if isinstance(x, Value):
        return np.asarray(x.data)
    if isinstance(x, np.ndarray):
        if x.dtype.kind not in "biuf":
            raise TypeError(f"{what} must hold real numbers, got an array of dtype {x.dtype}")
        return x.astype(float)
    if isinstance(x, str | bytes) or x is None:
        raise TypeError(f"{what} must be a real number or a sequence of them, got {type(x)}")
    if isinstance(x, numbers.Real):
        return np.asarray(float(x))
    if not isinstance(x, Sequence):
        raise TypeError(
            f"{what} must be a real number or a sequence of them, got {type(x).__name__}"
        )
    try:
        return np.asarray([_as_floats(v, what) for v in x], dtype=float)
    except ValueError:
        raise ValueError(f"{what} is ragged: every row needs the same length") from None


def _example(example_inputs: Any, what: str) -> list[np.ndarray]:
    if isinstance(example_inputs, Value | numbers.Real | str | bytes | np.ndarray) or not (
        isinstance(example_inputs, Sequence)
    ):
        raise TypeError(
            f"{what} must be a tuple with one entry per argument of fn, e.g. (x,) or (x, y); "
            f"got {type(example_inputs).__name__}"
        )
    return [_as_floats(a, f"{what}[{i}]") for i, a in enumerate(example_inputs)]


def _perturbed(example: list[np.ndarray]) -> list[list[np.ndarray]]:
    # Candidate second samples: one flips most signs (to expose `if x.data > 0`), one keeps the
    # signs (for functions defined on a half-line). The first that traces is used.
    return [[-1.3 * a + 0.1 for a in example], [1.1 * a + 0.05 for a in example]]


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
        self._grad_index = np.array(
            [i for i, p in enumerate(program.parameters) if any(p is q for q in grad_parameters)],
            dtype=int,
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

    def __repr__(self) -> str:
        name = getattr(self._fn, "__name__", type(self._fn).__name__)
        return (
            f"CompiledFunction({name}, inputs={self.input_shapes}, output={self.output_shape}, "
            f"nodes={self.num_nodes}, instructions={self.num_instructions}, "
            f"parameters={len(self.parameters)})"
        )

    # ----- batches -----
    def _batch(self, args: tuple[Any, ...]) -> np.ndarray:
        """The arguments of a call as one ``(N, n_inputs)`` array, after every check."""
        shapes = self.input_shapes
        if len(args) != len(shapes):
            raise TypeError(
                f"compiled function takes {len(shapes)} batch array(s), one per example input, "
                f"got {len(args)}"
            )
        columns = []
        size = None
        for i, (arg, shape) in enumerate(zip(args, shapes, strict=True)):
            a = _as_floats(arg, f"batch input {i}")
            if a.ndim and not a.shape[0]:
                raise ValueError(f"batch input {i} is empty: at least one sample is needed")
            if a.ndim == 0 or a.shape[1:] != shape:
                raise ValueError(
                    f"batch input {i} must have shape (N, {', '.join(map(str, shape))}) "
                    f"(a batch of the example's shape {shape}), got {a.shape}".replace(", )", ")")
                )
            if size is None:
                size = a.shape[0]
            elif a.shape[0] != size:
                raise ValueError(
                    f"batch inputs disagree on the batch size: input 0 has {size} samples, "
                    f"input {i} has {a.shape[0]}"
                )
            columns.append(a.reshape(a.shape[0], -1))
        if not size:
            raise ValueError("the batch is empty: at least one sample is needed")
        return np.concatenate(columns, axis=1) if len(columns) > 1 else columns[0]

    def _shape(self, flat: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        return flat.reshape((flat.shape[0], *shape))

    def _forward(self, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray, Any, Any]:
        program = self._program
        S, B = program.load(inputs)
        with np.errstate(all="ignore"):
            program.forward(S, B)
        outputs = program.read(program.output_slots, S, B)
        aux = program.read(program.aux_slots, S, B) if self._has_aux else None
        finite = np.isfinite(outputs).all() and (aux is None or np.isfinite(aux).all())
        if not finite:
            with np.errstate(all="ignore"):
                _explain_forward(program)
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
        _, _, outputs, aux = self._forward(self._batch(batch))
        result = self._shape(outputs, self.output_shape)
        if self._has_aux:
            return result, self._shape(aux, self._aux_shape)
        return result

    def backward(self, *batch: Any, reduction: str = "mean") -> Any:
        """Forward and backward over a batch; parameter gradients are added into ``.grad``.

        The loss is the per-sample output reduced over the batch: its ``"mean"`` (default) or
        ``"sum"``. As with ``Value.backward()``, gradients accumulate: zero them first.

        Args:
            *batch: one array per argument of ``fn``, shaped ``(N, *example_shape)``.
            reduction: ``"mean"`` or ``"sum"`` over the samples.

        Returns:
            The reduced loss as a float; with ``has_aux``, the pair ``(loss, aux)``.

        Raises:
            ValueError: ``fn`` does not return one scalar per sample, or ``reduction`` is unknown;
                or a gradient is undefined (as ``Value.backward()`` would raise).
        """
        if reduction not in _REDUCTIONS:
            raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
        inputs = self._batch(batch)
        n = inputs.shape[0]
        loss, aux = self._run(inputs, 1.0 / n if reduction == "mean" else 1.0)
        total = float(loss.sum())
        return (total, aux) if self._has_aux else total

    def _run(self, inputs: np.ndarray, scale: float) -> tuple[np.ndarray, Any]:
        """Per-sample losses and aux; adds ``scale * Σ d(loss_i)/dp`` into every ``p.grad``."""
        if self.output_shape != ():
            raise ValueError(
                "backward needs fn to return one scalar (the loss) per sample, got output shape "
                f"{self.output_shape}; reduce it inside fn or use has_aux=True"
            )
        program = self._program
        S, B, outputs, aux = self._forward(inputs)
        seed = np.full((inputs.shape[0], 1), scale)
        with np.errstate(all="ignore"):
            grads = program.backward(S, B, seed)
        wanted = grads[self._grad_index]
        if not np.isfinite(wanted).all():
            with np.errstate(all="ignore"):
                _explain_backward(program)
        for p, g in zip(self._grad_parameters, wanted.tolist(), strict=True):
            p.grad += g
        aux_out = self._shape(aux, self._aux_shape) if self._has_aux else None
        return outputs[:, 0] * scale, aux_out

    def check(self, *batch: Any, samples: int = 8) -> None:
        """Re-trace ``fn`` on up to ``samples`` samples of a batch, spread across it, and raise
        :class:`TraceError` if any builds a different graph (see Note [the structure rule])."""
        inputs = self._batch(batch)
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


def _explain_forward(program: Program) -> None:
    """An op produced a non-finite value: rerun its float rule there, which raises the same
    error as the dynamic engine (or returns the same inf, which is then no error)."""
    for instruction in program.instructions:
        if not isinstance(instruction, Elementwise):
            continue
        xs, out = instruction.saved
        index = _first_new_non_finite(out, xs)
        if index is not None:
            scalars = [float(np.broadcast_to(x, np.shape(out))[index]) for x in xs]
            op = instruction.op
            if op.const:
                op.forward(*scalars, instruction.arg)
            else:
                op.forward(*scalars)


def _explain_backward(program: Program) -> None:
    """A gradient is not finite: find the first local derivative that is not, and raise what the
    dynamic engine raises there (an undefined gradient, a division by zero)."""
    for instruction in program.instructions:
        if not isinstance(instruction, Elementwise) or not any(instruction.needs_grad):
            continue
        xs, out = instruction.saved
        locals_ = instruction.local_derivatives()
        for local, needed in zip(locals_, instruction.needs_grad, strict=True):
            if not needed:
                continue
            index = _first_new_non_finite(np.broadcast_to(local, np.shape(out)), [*xs, out])
            if index is None:
                continue
            op = instruction.op
            scalars = [float(np.broadcast_to(x, np.shape(out))[index]) for x in xs]
            where = ", ".join(map(repr, scalars))
            try:
                args = [*scalars, float(out[index])]
                found = op.derivative(*args, instruction.arg) if op.const else op.derivative(*args)
            except (ArithmeticError, ValueError) as error:
                raise type(error)(
                    f"{op.name}: gradient undefined at input {where}: {error}"
                ) from error
            for d in found if isinstance(found, tuple) else (found,):
                if isinstance(d, ops.UndefinedGradient):
                    raise ValueError(d.message)


def _first_new_non_finite(out: Any, xs: Iterable[Any]) -> tuple[int, ...] | None:
    out = np.asarray(out)
    bad = ~np.isfinite(out)
    for x in xs:
        bad &= np.isfinite(np.broadcast_to(x, out.shape))
    hits = np.argwhere(bad)
    return tuple(int(i) for i in hits[0]) if hits.size else None


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
    ``1.0 - x``) are constants of the program. See Note [the structure rule] in this module for
    what ``fn`` must not do.

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
    example = _example(example_inputs, "example_inputs")
    grad_filter = _parameter_list(parameters)
    first = trace(fn, example, has_aux)

    if check_inputs is not None:
        others = [_example(c, f"check_inputs[{i}]") for i, c in enumerate(check_inputs)]
        for i, other in enumerate(others):
            if [a.shape for a in other] != [a.shape for a in example]:
                raise ValueError(
                    f"check_inputs[{i}] has shapes {[a.shape for a in other]}, the example "
                    f"{[a.shape for a in example]}"
                )
        traces = [(trace(fn, o, has_aux), f"check_inputs[{i}]") for i, o in enumerate(others)]
    else:
        traces = []
    if not traces:
        for candidate in [*_perturbed(example), example]:
            try:
                traces = [(trace(fn, candidate, has_aux), "a perturbed copy of the example")]
                break
            except (ArithmeticError, ValueError):
                continue
    persistent: set[int] | None = None
    for other, where in traces:
        same = compare_traces(first, other, where)
        persistent = same if persistent is None else persistent & same

    live = [n.value for i, n in enumerate(first.nodes) if persistent and i in persistent]
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


# ----- training with fit(..., compiled=True) -----
_MAX_STATIC_TARGETS = 16


def _key(target: Any) -> Any:
    if isinstance(target, Sequence) and not isinstance(target, str | bytes):
        return tuple(_key(t) for t in target)
    return target


class CompiledTraining:
    """The training step of :func:`microgradnet.train.fit` with ``compiled=True``.

    The model and the loss are traced per sample: ``loss_fn([model(x)], [t])``, whose mean over
    a batch is the batch loss for every library loss (each is a mean over samples). Targets enter
    as inputs when the graph does not depend on them; when it does (``hinge`` picks a branch by
    label), one program is compiled per distinct target value, up to 16.

    Args:
        model: the model, called on one sample.
        loss_fn: ``loss_fn(predictions, targets) -> Value``, a mean over the batch.
        samples: every training sample; targets: their targets.
        parameters: the parameters that get gradients.
        custom_loss: ``loss_fn`` is the user's: check once that it is a per-sample mean.

    Raises:
        TraceError: the model or the loss builds a graph that depends on the data.
    """

    def __init__(
        self,
        model: Callable[[Any], Any],
        loss_fn: Callable[[list[Any], list[Any]], Value],
        samples: list[Any],
        targets: list[Any],
        parameters: list[Value],
        custom_loss: bool,
    ) -> None:
        self._model, self._loss_fn = model, loss_fn
        self._samples, self._targets = samples, targets
        self._unchecked = custom_loss
        self._X = _as_floats(samples, "X")
        keys = [_key(t) for t in targets]
        distinct = list(dict.fromkeys(keys))
        spread = sorted({0, len(samples) // 3, 2 * len(samples) // 3, len(samples) - 1})
        firsts = [keys.index(k) for k in distinct[:8]]
        checks = list(dict.fromkeys([*firsts, *spread]))

        def sample_loss(x: Any, t: Any) -> Any:
            output = model(x)
            return loss_fn([output], [t]), output

        self._shared: CompiledFunction | None = None
        try:
            self._T = _as_floats(targets, "y")
            self._shared = compile(
                sample_loss,
                (self._X[checks[0]], self._T[checks[0]]),
                parameters=parameters,
                check_inputs=[(self._X[i], self._T[i]) for i in checks[1:]],
                has_aux=True,
            )
            return
        except (TraceError, TypeError, ValueError):
            pass  # the graph depends on the target: one program per target value
        if len(distinct) > _MAX_STATIC_TARGETS:
            raise TraceError(
                f"fit(compiled=True): the loss builds a different graph for different targets, "
                f"and there are {len(distinct)} distinct targets (at most {_MAX_STATIC_TARGETS} "
                "can be compiled one by one); use compiled=False"
            )
        self._codes = np.array([distinct.index(k) for k in keys])
        self._programs: list[CompiledFunction] = []
        for code, key in enumerate(distinct):
            members = np.flatnonzero(self._codes == code)
            picks = members[np.linspace(0, len(members) - 1, min(len(members), 4)).astype(int)]
            target = targets[int(members[0])]
            try:
                program = compile(
                    lambda x, t=target: sample_loss(x, t),
                    (self._X[picks[0]],),
                    parameters=parameters,
                    check_inputs=[(self._X[i],) for i in picks[1:]],
                    has_aux=True,
                )
            except TraceError as error:
                raise TraceError(f"fit(compiled=True), target {key!r}: {error}") from error
            self._programs.append(program)

    def step(self, batch: list[int]) -> tuple[float, list[Any]]:
        """Add the gradient of the batch's mean loss into ``.grad``; return the loss and the
        model's outputs (floats, or lists of floats) in batch order."""
        index = np.asarray(batch)
        scale = 1.0 / len(batch)
        if self._shared is not None:
            program = self._shared
            losses, aux = program._run(program._batch((self._X[index], self._T[index])), scale)
            loss, outputs = float(losses.sum()), aux.tolist()
        else:
            loss, outputs = 0.0, [None] * len(batch)
            codes = self._codes[index]
            for code in np.unique(codes):
                where = np.flatnonzero(codes == code)
                program = self._programs[int(code)]
                losses, aux = program._run(program._batch((self._X[index[where]],)), scale)
                loss += float(losses.sum())
                for j, value in zip(where.tolist(), aux.tolist(), strict=True):
                    outputs[j] = value
        if self._unchecked:
            self._check_mean(batch, loss)
        return loss, outputs

    def _check_mean(self, batch: list[int], loss: float) -> None:
        from .engine import no_grad

        self._unchecked = False
        with no_grad():
            predictions = [self._model(self._samples[i]) for i in batch]
            expected = self._loss_fn(predictions, [self._targets[i] for i in batch]).data
        if not math.isclose(loss, expected, rel_tol=1e-9, abs_tol=1e-12):
            raise TraceError(
                f"fit(compiled=True) needs a loss that is the mean of per-sample terms (as every "
                f"library loss is): on the first batch the mean of per-sample losses is {loss!r} "
                f"but the loss of the batch is {expected!r}; use compiled=False"
            )
