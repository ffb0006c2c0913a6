"""Compiled mode: trace a scalar function once, then run it over a whole batch with NumPy.

:func:`compile` calls ``fn`` on ``Value``s built from one example sample, records the graph as a
flat program (slots for inputs, parameters and constants), and groups it so that one NumPy call
evaluates a whole layer of neurons for every sample of a batch. Every op runs its own row's rules
on arrays (``op.evaluate``, ``op.local_derivatives``), so an op added to the table, or made with
``define_op``, compiles with no extra code. The program's backward pass writes parameter gradients
into the ordinary ``.grad``, so the optimisers of :mod:`microgradnet.optim` work unchanged.

The parts, in the order a call meets them: ``_compile`` (:func:`compile`), ``_trace`` (record the
graph) with ``_guard`` (data-dependent Python caught while tracing), ``_plan`` (group the nodes,
give every value a slot), ``_program`` (the groups as instructions over two stores),
``_kernels`` (an op's NumPy kernel, from its row), ``_instructions`` and ``_operands`` (one op
over a group of nodes and a batch; a layer as one matrix product), ``_function``
(:class:`CompiledFunction`), ``_reference`` (a sample holding a NaN or an infinity, run on the
engine for its values and errors) and ``_training`` (:class:`CompiledTraining`, the step of
``fit(..., compiled=True)``, with the optimiser's update on arrays).

Note [the structure rule]
A program is only valid while the graph ``fn`` builds does not depend on the data. Ops whose
behaviour depends on the sign of their input (``relu``, ``abs``, ``leaky_relu``, ``Value.max``)
are fine: the program evaluates them per sample. What is not fine is Python control flow on
values: an ``if`` on ``.data``, ``float()`` or ``bool()`` of a value, ``max()`` of Values by
value. While ``fn`` is traced, each of these raises :class:`TraceError` naming the line, when
the value depends on the inputs. Library code reads ``.data`` to build nodes, so
:func:`compile` also re-traces ``fn`` on another sample (``check_inputs``, or a perturbed copy of
the example) and raises :class:`TraceError` if the op sequence, the wiring or a constant differ;
:meth:`CompiledFunction.check` repeats that test on real data.

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

from ._compile import compile as compile
from ._function import CompiledFunction as CompiledFunction
from ._guard import TraceError as TraceError
from ._training import CompiledTraining as CompiledTraining

__all__ = ["CompiledFunction", "CompiledTraining", "TraceError", "compile"]
