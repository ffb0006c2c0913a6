"""Compiled mode: trace a scalar function once, then run it over a whole batch with NumPy.

:func:`compile` calls ``fn`` on ``Value``s built from one example sample, records the graph as a
flat program (slots for inputs, parameters and constants), and groups it so that one NumPy call
evaluates a whole layer of neurons for every sample of a batch. Every op runs its own row's rules
on arrays (``op.evaluate``, ``op.local_derivatives``), so an op added to the table, or made with
``define_op``, compiles with no extra code. The program's backward pass writes parameter gradients
into the ordinary ``.grad``, so the optimisers of :mod:`microgradnet.optim` work unchanged.

The parts, in the order a call meets them: ``_trace`` (record the graph), ``_program`` (group it
into instructions over two stores), ``_kernels`` (an op's NumPy kernel, from its row),
``_instructions`` (one op over a group of nodes and a batch), ``_explain`` (a NaN explained with
the float rule), ``_function`` (:class:`CompiledFunction` and :func:`compile`) and ``_training``
(:class:`CompiledTraining`, the step of ``fit(..., compiled=True)``).

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

from ._function import CompiledFunction as CompiledFunction
from ._function import compile as compile
from ._trace import TraceError as TraceError
from ._training import CompiledTraining as CompiledTraining

__all__ = ["CompiledFunction", "CompiledTraining", "TraceError", "compile"]
