"""The dynamic engine on one sample: what compiled mode falls back to where a value is not finite.

On arrays, an op out of its domain gives NaN or an infinity where the engine raises, and NaN
spreads where the engine would have skipped it (the engine passes nothing on through a local
derivative or a gradient of exactly 0, even an infinite or undefined one). A program notices
non-finite values in bulk, after the whole batch has run (see
:meth:`~microgradnet.compiled._program.Program.finite_samples`), and hands every sample that
holds one to the engine itself, in order: the first that raises gives the engine's own error,
its message naming the op and the value, with the sample's index in the batch added; the others
give the engine's values and gradients. Finite samples, nearly always all of them, never come
here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import numpy as np

from ..engine import Value, grad
from ._trace import _flatten_outputs, _nest

__all__ = ["SampleResult", "on_engine"]


class SampleResult:
    """One sample on the engine: its outputs and aux (floats) and the gradients asked for."""

    def __init__(self, outputs: list[float], aux: list[float], grads: list[float]) -> None:
        self.outputs, self.aux, self.grads = outputs, aux, grads


def _reraise(error: Exception, index: int) -> NoReturn:
    message = f"{error} (sample {index} of the batch)"
    try:
        named = type(error)(message)
    except Exception:  # an exception type that takes other arguments: keep it as it is
        error.add_note(message)
        raise error from None
    raise named from error


def on_engine(
    fn: Callable[..., Any],
    row: np.ndarray,
    shapes: Sequence[tuple[int, ...]],
    has_aux: bool,
    index: int,
    wrt: Sequence[Value] | str | None,
    output: int = 0,
) -> SampleResult:
    """Run ``fn`` on sample ``index`` (its flat inputs ``row``) with the dynamic engine.

    Args:
        wrt: ``None`` (forward only), ``"inputs"`` (the gradient of output ``output`` with
            respect to the sample's inputs) or parameters (with respect to them).

    Raises:
        whatever the engine raises, its message naming the sample.
    """
    leaves = [Value(x) for x in row.tolist()]
    args, start = [], 0
    for shape in shapes:
        size = math.prod(shape)
        args.append(_nest(leaves[start : start + size], shape))
        start += size
    try:
        result = fn(*args)
        main, aux = result if has_aux else (result, [])
        outputs, _ = _flatten_outputs(main, "the function's output")
        aux_values = _flatten_outputs(aux, "the aux output")[0] if has_aux else []
        grads: list[float] = []
        if wrt is not None:
            targets = leaves if isinstance(wrt, str) else list(wrt)
            # a frozen parameter gets no gradient (grad() refuses one): 0.0, as compiled mode
            live = [t for t in targets if getattr(t, "requires_grad", True)]
            found = {}
            if live:
                found = dict(zip(map(id, live), grad(outputs[output], live), strict=True))
            grads = [found[id(t)].data if id(t) in found else 0.0 for t in targets]
    except (ArithmeticError, ValueError, TypeError) as error:
        _reraise(error, index)
    return SampleResult([v.data for v in outputs], [v.data for v in aux_values], grads)
