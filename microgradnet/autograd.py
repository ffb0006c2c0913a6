"""Derivatives of whole functions, with ``torch.autograd.functional``'s names and argument
order: :func:`jvp`, :func:`vjp`, :func:`jacobian`, :func:`hessian`, :func:`hvp`.

``fn`` takes ``Value``s positionally and returns a ``Value`` or a sequence of them; ``inputs``
(and ``v``) are sequences of numbers or ``Value``s. Results are floats and lists of them, or,
with ``create_graph=True``, ``Value``s that are graphs and can be differentiated again.

Which mode costs what, for ``fn`` with n inputs and m outputs:

* reverse mode (``backward()``, :func:`vjp`) gives one row of the Jacobian, ∂outputᵢ/∂(every
  input), per pass: m passes for the Jacobian;
* forward mode (:func:`jvp`) gives one column, ∂(every output)/∂inputⱼ, per pass: n passes.

So :func:`jacobian` uses forward mode when there are fewer inputs than outputs, reverse mode
otherwise. A Hessian-vector product is reverse mode over the gradient's graph (built with
``create_graph=True``): it costs a few gradients, whatever the number of inputs.

Example:
    >>> from microgradnet import hessian, jacobian, jvp
    >>> f = lambda x, y: x * x * y
    >>> jacobian(f, [3.0, 2.0])          # [2xy, x²]
    [12.0, 9.0]
    >>> hessian(f, [3.0, 2.0])           # [[2y, 2x], [2x, 0]]
    [[4.0, 6.0], [6.0, 0.0]]
    >>> jvp(f, [3.0, 2.0], [1.0, 0.0])   # (f, ∂f/∂x), in one forward pass
    (18.0, 12.0)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ._forward import forward_order, tangents
from ._grad_mode import enable_grad
from ._numbers import real_or_none
from .engine import Value, grad

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vjp"]

Function = Callable[..., Any]
STRATEGIES = ("auto", "forward-mode", "reverse-mode")


def jvp(
    fn: Function, inputs: Sequence[Any], v: Sequence[Any] | None = None, create_graph: bool = False
) -> tuple[Any, Any]:
    """The Jacobian of ``fn`` at ``inputs`` times the vector ``v``, in one forward pass.

    Args:
        fn: takes ``len(inputs)`` ``Value``s, returns a ``Value`` or a sequence of them.
        inputs: the point, a sequence of numbers (or ``Value``s).
        v: the direction, one number per input; may be omitted for a single input.
        create_graph: return ``Value``s whose graphs can be differentiated again.

    Returns:
        ``(outputs, jvp)``: ``fn``'s outputs and Σⱼ ∂outputᵢ/∂inputⱼ · vⱼ for each output, each
        a float (one output) or a list of floats.

    Example:
        >>> jvp(lambda x, y: [x * y, x + y], [2.0, 3.0], [1.0, 1.0])
        ([6.0, 5.0], [5.0, 2.0])
    """
    with enable_grad():
        xs = _input_nodes(inputs, create_graph, "jvp")
        direction = _vector(v, len(xs), create_graph, "jvp", "input")
        outputs, single = _outputs(fn(*xs), "jvp")
        carried = tangents(
            forward_order(outputs), dict(zip(xs, direction, strict=True)), create_graph
        )
        products = [carried.get(out, 0.0) for out in outputs]
        return _shaped(outputs, single, create_graph), _shaped(products, single, create_graph)


def vjp(
    fn: Function, inputs: Sequence[Any], v: Any = None, create_graph: bool = False
) -> tuple[Any, list[Any]]:
    """The vector ``v`` times the Jacobian of ``fn`` at ``inputs``, in one backward pass.

    Args:
        fn: takes ``len(inputs)`` ``Value``s, returns a ``Value`` or a sequence of them.
        inputs: the point, a sequence of numbers (or ``Value``s).
        v: one number per output (a number for a single output, which may then be omitted).
        create_graph: return ``Value``s whose graphs can be differentiated again.

    Returns:
        ``(outputs, vjp)``: ``fn``'s outputs and, for each input, Σᵢ vᵢ · ∂outputᵢ/∂inputⱼ.

    Example:
        >>> vjp(lambda x, y: [x * y, x + y], [2.0, 3.0], [1.0, 1.0])
        ([6.0, 5.0], [4.0, 3.0])
    """
    with enable_grad():
        xs = _input_nodes(inputs, create_graph, "vjp")
        outputs, single = _outputs(fn(*xs), "vjp")
        if single and (v is None or real_or_none(v) is not None or isinstance(v, Value)):
            v = [1.0 if v is None else v]
        weights = _vector(v, len(outputs), create_graph, "vjp", "output")
        products = grad(Value.dot(weights, outputs), xs, create_graph)
        return _shaped(outputs, single, create_graph), _shaped(products, False, create_graph)


def jacobian(
    fn: Function, inputs: Sequence[Any], create_graph: bool = False, strategy: str = "auto"
) -> list[Any]:
    """The Jacobian of ``fn`` at ``inputs``: ∂outputᵢ/∂inputⱼ, one row per output.

    Args:
        fn: takes ``len(inputs)`` ``Value``s, returns a ``Value`` or a sequence of them.
        inputs: the point, a sequence of numbers (or ``Value``s).
        create_graph: return ``Value``s whose graphs can be differentiated again.
        strategy: ``"reverse-mode"`` (one backward pass per output), ``"forward-mode"`` (one
            forward pass per input) or ``"auto"``: forward mode when there are fewer inputs
            than outputs.

    Returns:
        A list of rows, one per output; a single row (a flat list) when ``fn`` returns a
        ``Value`` rather than a sequence.

    Example:
        >>> jacobian(lambda x, y: [x * y, x + y], [2.0, 3.0])
        [[3.0, 2.0], [1.0, 1.0]]
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"jacobian: strategy={strategy!r}; expected one of {STRATEGIES}")
    with enable_grad():
        xs = _input_nodes(inputs, create_graph, "jacobian")
        outputs, single = _outputs(fn(*xs), "jacobian")
        if strategy == "auto":
            strategy = "forward-mode" if len(xs) < len(outputs) else "reverse-mode"
        if strategy == "reverse-mode":
            rows = [grad(out, xs, create_graph) for out in outputs]
        else:
            order = forward_order(outputs)
            one = Value(1.0) if create_graph else 1.0
            columns = [tangents(order, {x: one}, create_graph) for x in xs]
            rows = [[column.get(out, 0.0) for column in columns] for out in outputs]
        shaped = [_shaped(row, False, create_graph) for row in rows]
        return shaped[0] if single else shaped


def hessian(fn: Function, inputs: Sequence[Any], create_graph: bool = False) -> list[list[Any]]:
    """The Hessian of ``fn`` at ``inputs``: ∂²f/∂inputᵢ∂inputⱼ, a square list of lists.

    The gradient is built once as a graph; each row is then one backward pass through it.

    Args:
        fn: takes ``len(inputs)`` ``Value``s and returns one ``Value``.
        inputs: the point, a sequence of numbers (or ``Value``s).
        create_graph: return ``Value``s whose graphs can be differentiated again.

    Example:
        >>> hessian(lambda x, y: x * x * y, [3.0, 2.0])
        [[4.0, 6.0], [6.0, 0.0]]
    """
    with enable_grad():
        xs = _input_nodes(inputs, create_graph, "hessian")
        gradient = grad(_one_output(fn(*xs), "hessian"), xs, create_graph=True)
        return [_shaped(grad(g, xs, create_graph), False, create_graph) for g in gradient]


def hvp(
    fn: Function, inputs: Sequence[Any], v: Sequence[Any] | None = None, create_graph: bool = False
) -> tuple[Any, list[Any]]:
    """The Hessian of ``fn`` at ``inputs`` times the vector ``v``, without the Hessian.

    Reverse mode twice: the gradient g is built as a graph, then one backward pass through
    Σᵢ gᵢ·vᵢ gives H·v, at the cost of a few gradients whatever the number of inputs.

    Args:
        fn: takes ``len(inputs)`` ``Value``s and returns one ``Value``.
        inputs: the point, a sequence of numbers (or ``Value``s).
        v: one number per input; may be omitted for a single input.
        create_graph: return ``Value``s whose graphs can be differentiated again.

    Returns:
        ``(output, hvp)``: ``fn``'s output and H·v, one entry per input.

    Example:
        >>> hvp(lambda x, y: x * x * y, [3.0, 2.0], [1.0, 0.0])
        (18.0, [4.0, 6.0])
    """
    with enable_grad():
        xs = _input_nodes(inputs, create_graph, "hvp")
        direction = _vector(v, len(xs), create_graph, "hvp", "input")
        out = _one_output(fn(*xs), "hvp")
        gradient = grad(out, xs, create_graph=True)
        product = grad(Value.dot(gradient, direction), xs, create_graph)
        return _shaped([out], True, create_graph), _shaped(product, False, create_graph)


# ----- arguments and results -----
def _input_nodes(inputs: Any, create_graph: bool, who: str) -> list[Value]:
    """A node per input: a new leaf, or (a ``Value`` with ``create_graph``) a node whose
    gradient flows back into that ``Value``, so that results can be differentiated through."""
    if isinstance(inputs, str | bytes | Value) or not hasattr(inputs, "__iter__"):
        raise TypeError(
            f"{who}: inputs must be a sequence of numbers or Values (e.g. [2.0, -1.0]), "
            f"got {type(inputs).__name__}"
        )
    nodes = []
    for i, x in enumerate(inputs):
        if isinstance(x, Value):
            nodes.append(x * 1.0 if create_graph and x.requires_grad else Value(x.data))
            continue
        number = real_or_none(x)
        if number is None:
            raise TypeError(
                f"{who}: inputs[{i}] must be a number or a Value, got {type(x).__name__}"
            )
        nodes.append(Value(number))
    return nodes


def _vector(v: Any, n: int, create_graph: bool, who: str, per: str) -> list[Any]:
    """``v`` as ``n`` numbers (``Value``s with ``create_graph``); ``None`` means 1.0 when
    ``n == 1``."""
    if v is None:
        if n != 1:
            raise TypeError(f"{who}: v is needed (one number per {per}) when there are {n}")
        v = [1.0]
    if isinstance(v, str | bytes | Value) or not hasattr(v, "__iter__"):
        raise TypeError(f"{who}: v must be a sequence of numbers, one per {per}")
    items = list(v)
    if len(items) != n:
        raise ValueError(f"{who}: v has {len(items)} entries for {n} {per}s")
    vector: list[Any] = []
    for i, x in enumerate(items):
        if isinstance(x, Value):
            vector.append(x if create_graph else x.data)
            continue
        number = real_or_none(x)
        if number is None:
            raise TypeError(f"{who}: v[{i}] must be a number or a Value, got {type(x).__name__}")
        vector.append(Value(number) if create_graph else number)
    return vector


def _outputs(result: Any, who: str) -> tuple[list[Value], bool]:
    """``fn``'s result as a list of nodes, and whether it was a single ``Value``."""
    if isinstance(result, Value):
        return [result], True
    number = real_or_none(result)
    if number is not None:
        return [Value(number)], True  # a constant: its derivatives are 0
    if isinstance(result, str | bytes) or not hasattr(result, "__iter__"):
        raise TypeError(
            f"{who}: fn must return a Value or a sequence of them, got {type(result).__name__}"
        )
    outputs = []
    for i, out in enumerate(result):
        if not isinstance(out, Value) and real_or_none(out) is None:
            raise TypeError(f"{who}: fn's output {i} is a {type(out).__name__}, not a Value")
        outputs.append(out if isinstance(out, Value) else Value(out))
    return outputs, False


def _one_output(result: Any, who: str) -> Value:
    outputs, single = _outputs(result, who)
    if not single:
        raise TypeError(f"{who}: fn must return one Value, got a sequence of {len(outputs)}")
    return outputs[0]


def _shaped(values: list[Any], single: bool, create_graph: bool) -> Any:
    """Floats (or ``Value``s with ``create_graph``): one, or a list."""
    shaped: list[Any] = []
    for v in values:
        if not isinstance(v, Value):
            number = real_or_none(v)
            if number is None:  # an undefined derivative, which carries its own message
                raise ValueError(getattr(v, "message", f"undefined derivative: {v!r}"))
            v = Value(number)
        shaped.append(v if create_graph else v.data)
    return shaped[0] if single else shaped
