"""Explaining a NaN or an infinity the way the dynamic engine would: with the float rule.

On arrays an op out of its domain gives NaN or an infinity where the dynamic engine raises. When a
program's outputs or gradients are not finite, these functions find the first instruction that
made a non-finite value from finite inputs and run the op's float rule there, through its calling
contract (``op.evaluate``, ``op.local_derivatives``): it raises the engine's error, naming the op
and the value, or gives the same infinity, which is then no error.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..ops import UndefinedGradient
from ._instructions import KernelInstruction

__all__ = ["explain_backward", "explain_forward"]


def explain_forward(instructions: Iterable[KernelInstruction]) -> None:
    """Raise the error of the first op that produced a non-finite value from finite inputs."""
    for instruction in instructions:
        xs, out = instruction.saved
        index = _first_new_non_finite(out, xs)
        if index is not None:
            instruction.op.evaluate(_scalars(xs, out, index), instruction.arg)


def explain_backward(instructions: Iterable[KernelInstruction]) -> None:
    """A gradient is not finite: raise what the dynamic engine raises at the first needed local
    derivative that is not finite where its inputs are (an undefined gradient, a division by
    zero)."""
    for instruction in instructions:
        if not any(instruction.needs_grad):
            continue
        xs, out = instruction.saved
        locals_ = instruction.local_derivatives()
        for j, (local, needed) in enumerate(zip(locals_, instruction.needs_grad, strict=True)):
            if not needed or isinstance(local, UndefinedGradient):
                continue
            index = _first_new_non_finite(np.broadcast_to(local, np.shape(out)), [*xs, out])
            if index is not None:
                _raise_float_error(instruction, _scalars(xs, out, index), float(out[index]), j)


def _raise_float_error(
    instruction: KernelInstruction, inputs: list[float], out: float, j: int
) -> None:
    op = instruction.op
    try:
        found = op.local_derivatives(inputs, out, instruction.arg)
    except (ArithmeticError, ValueError) as error:
        where = ", ".join(map(repr, inputs))
        raise type(error)(f"{op.name}: gradient undefined at input {where}: {error}") from error
    if isinstance(found[j], UndefinedGradient):
        raise ValueError(found[j].message)


def _scalars(xs: list[Any], out: Any, index: tuple[int, ...]) -> list[float]:
    """The inputs at ``index`` of the output, as Python floats (the float rule's input)."""
    return [float(np.broadcast_to(x, np.shape(out))[index]) for x in xs]


def _first_new_non_finite(out: Any, xs: Iterable[Any]) -> tuple[int, ...] | None:
    out = np.asarray(out)
    bad = ~np.isfinite(out)
    for x in xs:
        bad &= np.isfinite(np.broadcast_to(x, out.shape))
    hits = np.argwhere(bad)
    return tuple(int(i) for i in hits[0]) if hits.size else None
