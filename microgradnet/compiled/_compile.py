""":func:`compile`: trace a function of one sample, check the trace, and make its program.

``compile`` traces ``fn`` on the example (:mod:`~microgradnet.compiled._trace`, with
data-dependent Python caught by :mod:`~microgradnet.compiled._guard`), traces it once more on
another sample to check that its graph does not depend on the data and to tell parameters (the
same ``Value`` in both traces) from constants made during the call, and plans the program.
Everything is linear in the size of the graph (Note [no cyclic collection while compiling]).

Note [no cyclic collection while compiling]
Compiling makes a few objects per node (the trace's lists, a group's arrays, an instruction per
group), none of them in a reference cycle worth collecting. Python's cyclic collector runs after
every 700 or so allocations, and its oldest generation is walked again and again as the objects
pile up, which made compiling a deep chain grow faster than its length (2.5 s for 30,000 nodes,
9.5 s for 99,000). It is paused while compiling, and resumed as it was.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from ..engine import Value
from ._function import CompiledFunction
from ._inputs import example_arrays, perturbed
from ._layout import parameter_layout
from ._program import Program
from ._trace import Trace, compare_traces, trace

__all__ = ["compile", "no_cyclic_collection"]


@contextlib.contextmanager
def no_cyclic_collection() -> Iterator[None]:
    """Pause Python's cyclic garbage collector (Note [no cyclic collection while compiling])."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


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
        parameters: if given, only these leaves get gradients (others are still read live), in
            this order (:attr:`CompiledFunction.grad_parameters`).
        check_inputs: other samples (tuples like ``example_inputs``) to re-trace on; by default a
            perturbed copy of the example.
        has_aux: ``fn`` returns ``(loss, aux)``; ``aux`` (Values, e.g. the model's output) is
            returned alongside but not differentiated.

    Returns:
        A :class:`CompiledFunction`.

    Raises:
        TraceError: the graph depends on the data (a Python ``if``, ``float()`` or comparison
            on a traced value names the line), ``fn`` returns no Values, or tracing happens
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
    with no_cyclic_collection():
        return _compile(fn, example_inputs, parameters, check_inputs, has_aux)


def _compile(
    fn: Callable[..., Any],
    example_inputs: Sequence[Any],
    parameters: Iterable[Value] | None,
    check_inputs: Iterable[Sequence[Any]] | None,
    has_aux: bool,
) -> CompiledFunction:
    example = example_arrays(example_inputs, "example_inputs")
    grad_filter = _parameter_list(parameters)
    first = trace(fn, example, has_aux)
    persistent = _persistent_leaves(fn, first, example, check_inputs, has_aux)
    live = parameter_layout(first, persistent, grad_filter or ())
    if grad_filter is None:
        grad_parameters = live
    else:
        # in the caller's order, so that gradients line up with it; one fn does not reach
        # still gets a slot, and a gradient of 0
        grad_parameters = list({id(p): p for p in grad_filter}.values())
        reached = {id(p) for p in live}
        live = live + [p for p in grad_parameters if id(p) not in reached]
    wanted = {id(p) for p in grad_parameters}
    n_inputs = sum(a.size for a in example)
    program = Program(first, n_inputs, live, [id(p) in wanted for p in live])
    return CompiledFunction(fn, example, first, program, grad_parameters, has_aux)


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
    traces = [
        (trace(fn, o, has_aux, guard=False), f"check_inputs[{i}]") for i, o in enumerate(others)
    ]
    if not traces:
        for candidate in [*perturbed(example), example]:
            try:
                traces = [
                    (trace(fn, candidate, has_aux, guard=False), "a perturbed copy of the example")
                ]
                break
            except (ArithmeticError, ValueError, TypeError):  # out of the function's domain
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
