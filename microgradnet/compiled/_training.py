"""The compiled training step of ``fit(..., compiled=True)``: the whole step in arrays.

The model and the loss are traced per sample, ``loss_fn([model(x)], [t])``, whose mean over a
batch is the batch loss for every library loss (each is a mean over samples), with the target
an input of the program. While training runs, the parameters, their gradients and the
optimiser's state live in arrays (the program's stores), and the optimiser's own update runs on
them (:mod:`microgradnet._optimizer_arrays`). They are written back into the ``Value``s
whenever a user can look: before callbacks and validation, at the end of ``fit`` (also when it
stops on an error), and ``optimizer.state`` on access.

Where that cannot be done (an optimiser with its own ``step``, an update that does not run on
arrays, a loss whose graph depends on the target), each step writes the gradients into
``.grad`` and calls ``optimizer.step()``, as the dynamic ``fit`` does. Either way no parameter
is ever set to a value that is not finite: a step that would do so raises instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._clipping import clip_grad_norm_
from .._optimizer_arrays import ArrayUpdate, runs_on_arrays
from ..engine import Value, no_grad
from ._compile import compile, no_cyclic_collection
from ._function import CompiledFunction
from ._guard import TraceError
from ._inputs import as_floats
from ._layout import parameter_layout
from ._program import Program
from ._trace import compare_traces, trace

__all__ = ["CompiledTraining"]

_MAX_STATIC_TARGETS = 16


def _key(target: Any) -> Any:
    if isinstance(target, Sequence) and not isinstance(target, str | bytes):
        return tuple(_key(t) for t in target)
    return target


def _not_finite(what: str, rows: np.ndarray | None = None, batch: Any = None) -> Exception:
    where = ""
    if rows is not None:
        bad = [int(batch[i]) for i in np.flatnonzero(~np.isfinite(rows).all(axis=1))[:5]]
        where = f"; samples {bad} of X give a value that is not finite" if bad else ""
    return FloatingPointError(
        f"fit(compiled=True): {what} is not finite on this minibatch{where}, so no parameter "
        "was changed"
    )


class CompiledTraining:
    """The training step of :func:`microgradnet.train.fit` with ``compiled=True``.

    Args:
        model: the model, called on one sample.
        loss_fn: ``loss_fn(predictions, targets) -> Value``, a mean over the batch.
        samples: every training sample; targets: their targets.
        parameters: the parameters that get gradients (the model's).
        custom_loss: ``loss_fn`` is the user's: check once that it is a per-sample mean.
        optimizer: the optimiser :meth:`train` steps.

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
        optimizer: Any = None,
    ) -> None:
        self._model, self._loss_fn, self._optimizer = model, loss_fn, optimizer
        self._samples, self._targets = samples, targets
        self._parameters = parameters
        self._unchecked = custom_loss
        self._X = as_floats(samples, "X")
        self._shared: CompiledFunction | None = None
        self._arrays: ArrayUpdate | None = None
        self._trusted: bool | None = None
        self._dirty, self._stale = False, False
        self._active: np.ndarray | None = None
        keys = [_key(t) for t in targets]

        def sample_loss(x: Any, t: Any) -> Any:
            output = model(x)
            return loss_fn([output], [t]), output

        self._sample_loss = sample_loss
        self._check_targets(keys)
        with no_cyclic_collection():
            try:
                self._T = as_floats(targets, "y")
                self._shared = self._compile_shared(keys)
                return
            except (TraceError, TypeError, ValueError):
                pass  # the graph depends on the target: one program per target value
            self._compile_per_target(keys)

    def _check_targets(self, keys: list[Any]) -> None:
        """Every distinct target checked by the loss itself, as the dynamic ``fit`` checks each
        minibatch's (a label outside {-1, +1}, a class index out of range): the compiled program
        takes the targets as data and would not."""
        firsts = sorted({k: i for i, k in reversed(list(enumerate(keys)))}.values())
        with no_grad():
            output = self._model(self._samples[0])
            try:
                self._loss_fn([output] * len(firsts), [self._targets[i] for i in firsts])
            except (ArithmeticError, ValueError, TypeError):
                for i in firsts:  # which one: its error, naming the sample
                    try:
                        self._loss_fn([output], [self._targets[i]])
                    except (ArithmeticError, ValueError, TypeError) as error:
                        raise type(error)(f"{error} (y[{i}])") from error
                raise

    # ----- compiling -----
    def _compile_shared(self, keys: list[Any]) -> CompiledFunction:
        """One program with the target as an input, its parameters laid out as the optimiser
        lists them (so that they are the first slots of the program's shared store)."""
        X, T = self._X, self._T
        other = next((i for i, k in enumerate(keys) if k != keys[0]), len(keys) - 1)
        example = [X[0], T[0]]
        first = trace(self._sample_loss, example, True)
        second = trace(self._sample_loss, [X[other], T[other]], True, guard=False)
        persistent = compare_traces(first, second, f"sample {other}")
        node_of = {id(first.values[i]): i for i in persistent}
        # The optimiser's parameters take the first slots (its arrays are a view of them), each
        # group laid out for speed (Note [weights as matrices])
        stepped = list(self._optimizer.params) if runs_on_arrays(self._optimizer) else []
        graded = [p for p in self._parameters if id(p) in node_of]
        order: list[Value] = []
        taken: set[int] = set()
        for group in (stepped, graded, [first.values[i] for i in persistent]):
            chosen = {node_of[id(p)] for p in group if id(p) in node_of and id(p) not in taken}
            laid_out = parameter_layout(first, chosen, group)
            laid_out += [p for p in group if id(p) not in node_of and id(p) not in taken]
            order += laid_out
            taken.update(id(p) for p in laid_out)
        wanted = {id(p) for p in (*stepped, *graded)}
        n_inputs = X[0].size + T[0].size
        program = Program(first, n_inputs, order, [id(p) in wanted for p in order])
        self._inputs = np.concatenate([X.reshape(len(X), -1), T.reshape(len(T), -1)], axis=1)
        self._n_stepped = len(stepped)
        self._stepped = order[: len(stepped)]
        n_grad = len(wanted)
        self._graded = order[:n_grad]
        clipped = {id(p) for p in self._parameters}
        self._clipped = np.array([id(p) in clipped for p in self._graded])
        return CompiledFunction(self._sample_loss, example, first, program, self._graded, True)

    def _compile_per_target(self, keys: list[Any]) -> None:
        distinct = list(dict.fromkeys(keys))
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
            picks = members[np.linspace(0, len(members) - 1, min(len(members), 2)).astype(int)]
            target = self._targets[int(members[0])]
            try:
                program = compile(
                    lambda x, t=target: self._sample_loss(x, t),
                    (self._X[picks[0]],),
                    parameters=self._parameters,
                    check_inputs=[(self._X[i],) for i in picks[1:]],
                    has_aux=True,
                )
            except TraceError as error:
                raise TraceError(f"fit(compiled=True), target {key!r}: {error}") from error
            self._programs.append(program)

    # ----- one step -----
    def step(self, batch: list[int]) -> tuple[float, list[Any]]:
        """Add the gradient of the batch's mean loss into ``.grad``; return the loss and the
        model's outputs (floats, or lists of floats) in batch order."""
        self.sync()
        index = np.asarray(batch)
        if self._shared is not None:
            loss, aux = self._shared.backward(self._X[index], self._T[index])
            outputs = aux.tolist()
        else:
            # each program adds its samples' share of the batch mean
            loss, outputs, scale = 0.0, [None] * len(batch), 1.0 / len(batch)
            codes = self._codes[index]
            for code in np.unique(codes):
                where = np.flatnonzero(codes == code)
                program = self._programs[int(code)]
                part, aux = program.backward(self._X[index[where]], reduction="sum", gradient=scale)
                loss += part * scale
                for j, value in zip(where.tolist(), aux.tolist(), strict=True):
                    outputs[j] = value
        if self._unchecked:
            self._check_mean(batch, loss)
        return loss, outputs

    def train(self, batch: list[int], max_norm: float | None) -> tuple[float, list[Any]]:
        """One training step on ``batch``: forward, backward, clipping to ``max_norm`` (if
        given) and the optimiser's update. Returns the loss and the model's outputs."""
        if self._shared is not None and self._trusted is not False and self._arrays_ready():
            result = self._train_on_arrays(batch, max_norm)
            if result is not None:
                return result
        optimizer = self._optimizer
        optimizer.zero_grad()
        loss, outputs = self.step(batch)
        grads = np.array([p.grad for p in self._parameters])
        if not np.isfinite(grads).all():
            raise _not_finite("the gradient")
        if max_norm is not None:
            clip_grad_norm_(self._parameters, max_norm)
        params = list(getattr(optimizer, "params", ()))
        before = [p.data for p in params]
        optimizer.step()
        if not all(math.isfinite(p.data) for p in params):
            for p, data in zip(params, before, strict=True):
                p.data = data
            raise FloatingPointError(
                "fit(compiled=True): the optimiser's step gave a parameter a value that is not "
                "finite, so no parameter was changed"
            )
        return loss, outputs

    def _arrays_ready(self) -> bool:
        if self._arrays is None:
            if not runs_on_arrays(self._optimizer):
                self._trusted = False
                return False
            program = self._program
            n = self._n_stepped
            self._arrays = ArrayUpdate(
                self._optimizer, self._stepped, program.S[:n], program.GS[:n]
            )
            self._stale = True
        return True

    @property
    def _program(self) -> Program:
        assert self._shared is not None
        return self._shared._program

    def _train_on_arrays(
        self, batch: list[int], max_norm: float | None
    ) -> tuple[float, list[Any]] | None:
        arrays, program, shared = self._arrays, self._program, self._shared
        assert arrays is not None and shared is not None
        if self._stale:
            self._reload()
        index = np.asarray(batch)
        n = len(batch)
        run = shared.run(self._inputs[index], np.full(n, 1.0 / n), load=False)
        n_grad = len(self._graded)
        G = program.GS[:n_grad]
        if not np.shares_memory(run.grads, program.GS):  # a sample went through the engine
            G[:] = run.grads[:n_grad]
        if self._active is not None:
            arrays.G[~self._active] = 0.0  # a frozen parameter gets no gradient
        with np.errstate(over="ignore"):  # losses past 1e308: an infinite mean, reported as such
            loss = float(run.outputs[:, 0].mean())
        if not np.isfinite(G).all():
            raise _not_finite("the gradient", run.outputs, index)
        if self._unchecked:
            self._check_mean(batch, loss)
        if max_norm is not None:
            clipped = G[self._clipped]
            norm = float(np.linalg.norm(clipped))
            G[self._clipped] = clipped * min(max_norm / (norm + 1e-6), 1.0)
        if self._trusted is None:
            self._trusted = arrays.agrees(self._active)
            if not self._trusted:
                return None  # this step and the next ones run the ordinary way
        arrays.step(self._active)
        self._dirty = True
        assert run.aux is not None
        outputs: list[Any] = shared._shape(run.aux, shared._aux_shape).tolist()
        return loss, outputs

    def _reload(self) -> None:
        """Read the parameters from the ``Value``s (a callback may have changed them), and
        which are frozen."""
        program = self._program
        program.load()
        flags = [getattr(p, "requires_grad", True) for p in self._stepped]
        self._active = None if all(flags) else np.array(flags, dtype=bool)
        self._stale = False

    def _grads_into_values(self) -> None:
        grads = self._program.GS[: len(self._graded)].tolist()
        for p, g in zip(self._graded, grads, strict=True):
            p.grad = g if getattr(p, "requires_grad", True) else 0.0

    def sync(self) -> None:
        """Write the parameters and gradients kept in arrays into the ``Value``s (a no-op when
        they are already there); the next array step reads them back first."""
        if not self._dirty:
            return
        program = self._program
        values = program.S[: self._n_stepped].tolist()
        for p, data in zip(self._stepped, values, strict=True):
            p.data = data
        self._grads_into_values()
        self._dirty, self._stale = False, True

    def _check_mean(self, batch: list[int], loss: float) -> None:
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
