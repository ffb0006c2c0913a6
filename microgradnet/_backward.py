"""The backward walk tuned for speed: what ``Value.backward()`` and ``grad()`` run.

It computes what :func:`microgradnet.engine.backward_reference` computes (the test suite checks
the two against each other on random expressions and networks), with the tricks below. It knows
how a node stores its inputs (two slots, see ``Value.__slots__``) but never the ``Value`` class.

Note [what the walk skips]
A leaf passes nothing on, so leaves are left out of the order; their gradients are read from the
dict. A gradient of exactly 0 passes nothing on, so such a node is skipped; and so does a local
derivative of exactly 0. Two kinds of row say where theirs are 0 without calling the rule, and
the order does not even descend there: a gating op (relu) wherever its output is 0, a selecting
op (max) for every input but the one it chose. What lies only behind such a node keeps
a gradient of 0. An undefined local derivative (``ops.UndefinedGradient``) spreads through sums
and products and is reported only if it reaches a gradient that is actually returned.

Note [iterative walk]
Graphs can be a million nodes deep, far past Python's recursion limit, so the order comes from
an explicit stack, as in :func:`microgradnet._graph.topological_order` and in the same order: a
node is pushed back under an _EMIT marker before its parents (last parent on top) and emitted
when the marker resurfaces. The last parent, which would be pushed and at once popped, is
expanded straight away instead. The same dict serves as the visited set and holds the gradients,
each entry created at 0.0 when the node is expanded so that the walk can add in place.

Note [fused nodes]
A dot node keeps its weights (with the bias) and its inputs as two tuples, which the neurons of
a layer share: each tuple is looked through once per walk. ``add`` passes its gradient on
without multiplying by 1, ``mul`` and ``dot`` use their operands as their local derivatives
(``bilinear``), and ops with constant derivatives (``linear``) read them from the row rather than
calling the rule.

Note [watched walks]
Hooks, frozen leaves and anomaly detection are rare, and the tuned walks never look for them:
``accumulate`` and ``gradients`` ask once per call whether a live node carries a hook or is
frozen, or anomaly detection is on in this thread, and only then take ``_walk_watched``. It
leaves frozen leaves, and what lies only behind them, out of the walk (as ``grad()`` leaves out
what does not lead to its inputs) and drops their gradients. It cuts the order at each node with
hooks, so that they are called with the node's complete gradient before it is passed on
(leaves' last). With hooks or frozen leaves, its order also goes behind a relu at 0 and a
max's losers (PyTorch calls their hooks, with a gradient of 0; and what lies only behind frozen
leaves can only be told from the whole graph). Under ``detect_anomaly`` every step is taken by
:func:`microgradnet.anomaly.checked_walk`, which checks it.

With ``create_graph=True`` the gradients are built by ``_backward_graph.walk_building_graph``,
as graphs of fused nodes (Note [fused gradients] there).

Note [warm loops]
CPython 3.11 specializes a function's bytecode once a warm-up counter fed by calls and by
JUMP_BACKWARD runs out, but a `while cond:` loop jumps back with POP_JUMP_BACKWARD_IF_TRUE, which
does not feed it. A walk called once on a big graph would then run unspecialized, about 1.5x
slower. `while True:` with an explicit break jumps back with JUMP_BACKWARD.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

from . import anomaly
from ._backward_graph import walk_building_graph
from ._graph import leading_to
from ._value_extras import NodeNotes, frozen_ids, hooked_notes, run_hooks, watched_nodes_exist
from .ops import UndefinedGradient

__all__ = ["accumulate", "gradient_error", "gradients", "order_and_grads"]

_EMIT = object()


def accumulate(root: Any, seed: float) -> None:
    """``root.backward(seed)``: add d(root)/d(node) * seed into every node's ``.grad``."""
    if watched_nodes_exist() or anomaly.is_anomaly_enabled():
        grads = _walk_watched(root, seed, None, False)
    else:
        order, grads = order_and_grads(root)
        grads[root] = seed
        _walk_floats(order, grads)
    # Summing floats runs in C, and an UndefinedGradient anywhere spreads into the sum.
    if type(sum(grads.values(), 0.0)) is not float:
        _check_defined(grads.values())
    root.grad += grads.pop(root)  # the seed, which may be -0.0
    for node, g in grads.items():
        # Every other gradient is a sum started at 0.0, so never -0.0, and 0.0 + g is then
        # exactly g: where .grad is 0 (nearly always), storing g itself allocates no float.
        if node.grad:
            node.grad += g
        else:
            node.grad = g


def gradients(output: Any, seed: Any, inputs: Sequence[Any], create_graph: bool) -> list[Any]:
    """d(output)/d(input) * seed for each input (``None`` where no gradient reaches it)."""
    if watched_nodes_exist() or anomaly.is_anomaly_enabled():
        grads = _walk_watched(output, seed, inputs, create_graph)
    else:
        order, grads = order_and_grads(output)
        # Only paths that reach an input are walked: a gradient nobody asked for is never
        # computed.
        leads = leading_to(order, inputs)
        order = [node for node in order if node in leads]
        if create_graph:
            grads = walk_building_graph(order, output, seed, inputs)
        else:
            grads[output] = seed
            _walk_floats(order, grads)
    results = [grads.get(x) for x in inputs]
    _check_defined(results)
    return results


# ----- when nodes carry hooks or are frozen, or anomaly detection is on -----
def _walk_watched(
    root: Any, seed: Any, inputs: Sequence[Any] | None, create_graph: bool
) -> dict[Any, Any]:
    """The gradients ``accumulate`` (``inputs`` None) or ``gradients`` computes, with hooks
    called, frozen leaves and what lies only behind them left out, and (under
    ``detect_anomaly``) every step checked: Note [watched walks]."""
    order, grads = order_and_grads(root)
    notes = hooked_notes()
    hooked = _watched_among(grads, notes)
    any_frozen = frozen_ids()
    frozen = _watched_among(grads, any_frozen)
    # A hooked node may lie behind a relu at 0 or a max's loser; and what lies only behind
    # frozen leaves can only be told from the whole graph (a max's losers included).
    if len(hooked) < len(notes) or (frozen and inputs is None):
        order, grads = order_and_grads(root, (), prune=False)
        hooked = _watched_among(grads, notes)
        frozen = _watched_among(grads, any_frozen)
    skip: set[Any] = set()
    if inputs is not None:  # only what leads to an input
        for i, x in enumerate(inputs):
            if any_frozen and not x.requires_grad:
                raise RuntimeError(
                    f"grad: inputs[{i}] does not require a gradient (requires_grad is False)"
                )
        leads = leading_to(order, inputs)
        order = [node for node in order if node in leads]
        skip = set(grads).difference(leads)
    elif frozen:  # not what lies only behind frozen leaves
        skip = _behind_frozen_leaves_only(order, frozen)
        if root in skip:
            raise RuntimeError(
                "backward: this value does not require a gradient: it is a frozen leaf, or every "
                "leaf behind it is (requires_grad is False)"
            )
        order = [node for node in order if node not in skip]
    hooked = {node: notes for node, notes in hooked.items() if node not in skip}
    lift = type(seed) if create_graph else None

    def hooks(node: Any, g: Any) -> Any:
        notes = hooked.get(node)
        return g if notes is None else run_hooks(notes, g, lift)

    if anomaly.is_anomaly_enabled():
        grads = anomaly.checked_walk(order, grads, root, seed, create_graph, hooks, skip)
    elif create_graph:  # only grad() builds graphs: inputs are given
        grads = walk_building_graph(order, root, seed, inputs or (), hooks if hooked else None)
    else:
        grads[root] = seed
        _walk_floats_with_hooks(order, grads, hooked)
    for node in skip:
        grads.pop(node, None)
    return grads


def _watched_among(nodes: Iterable[Any], watched: Mapping[int, Any] | set[int]) -> dict[Any, Any]:
    """The nodes among ``nodes`` whose ids are in ``watched`` (with what it maps them to): a
    comparison of ids in C first, a look at each node only on a match (Note [finding the
    watched nodes] in _value_extras.py)."""
    if not watched:
        return {}
    nodes = list(nodes)
    if set(map(id, nodes)).isdisjoint(watched):
        return {}
    if isinstance(watched, set):
        return {node: True for node in nodes if id(node) in watched}
    return {node: watched[id(node)] for node in nodes if id(node) in watched}


def _behind_frozen_leaves_only(order: list[Any], frozen: Mapping[Any, Any]) -> set[Any]:
    """The frozen leaves, and the nodes of ``order`` (each after its inputs) all of whose inputs
    are among them. A node whose inputs the order did not go behind (a relu at 0) is not."""
    only = set(frozen)
    for node in order:
        op = node._op
        if op.arity == 2:
            if node._x in only and node._y in only:
                only.add(node)
        elif op.arity == 1:
            if node._x in only:
                only.add(node)
        elif only.issuperset(node.parents):
            only.add(node)
    return only


def _walk_floats_with_hooks(
    order: list[Any], grads: dict[Any, Any], hooked: dict[Any, NodeNotes]
) -> None:
    # _walk_floats, stopping at each node with hooks once all its consumers are done: the
    # order is cut at those nodes and walked piece by piece, a piece's consumers first.
    end = len(order)
    cuts = []
    if any(node._op is not None for node in hooked):
        cuts = [i for i, node in enumerate(order) if node in hooked]
    for i in reversed(cuts):
        _walk_floats(order[i + 1 : end], grads)
        grads[order[i]] = run_hooks(hooked[order[i]], grads[order[i]], None)
        end = i + 1
    _walk_floats(order[:end], grads)
    for node, notes in hooked.items():  # leaves: their gradients are complete only now
        if node._op is None and node in grads:
            grads[node] = run_hooks(notes, grads[node], None)


def order_and_grads(
    root: Any, skip: Collection[Any] = (), prune: bool = True
) -> tuple[list[Any], dict[Any, Any]]:
    """The nodes a backward walk from ``root`` takes, each after all its parents, and a dict
    holding 0.0 for each of them and for every input they pass a gradient to.

    Left out of the order (Note [what the walk skips]): leaves, ``skip`` and what lies only
    below it, and (if ``prune``) what lies only behind a local derivative of exactly 0 through
    a gating or selecting op."""
    order: list[Any] = []
    grads: dict[Any, Any] = dict.fromkeys(skip, 0.0)
    tuples_seen: set[int] = set()
    stack: list[Any] = [root] if root._op is not None else []
    push, pop, emit = stack.append, stack.pop, order.append
    while True:  # Note [warm loops]
        try:  # cheaper than testing `if stack:` on every pass; a try costs nothing in 3.11
            node = pop()
        except IndexError:
            break
        if node is _EMIT:
            emit(pop())
            continue
        if node in grads:
            continue
        while True:  # expand node, then go straight on to its last parent still to expand
            grads[node] = 0.0
            op = node._op
            push(node)
            push(_EMIT)
            arity = op.arity
            if arity == 2:
                x = node._x
                if x not in grads:
                    if x._op is None:
                        grads[x] = 0.0
                    else:
                        push(x)
                x = node._y
            elif arity == 1:
                x = node._x
                if op.gates and not node.data and x not in grads and prune:
                    break  # a relu whose output is 0 passes nothing on
            else:
                _push_variadic_inputs(node, op, grads, tuples_seen, push, prune)
                break
            # x: the parent a push and a pop would have made the next node to expand
            if x in grads:
                break
            if x._op is None:
                grads[x] = 0.0
                break
            node = x
    grads[root] = 0.0
    return order, grads


def _push_variadic_inputs(
    node: Any,
    op: Any,
    grads: dict[Any, Any],
    tuples_seen: set[int],
    push: Callable[..., None],
    prune: bool,
) -> None:
    """order_and_grads for a node of any number of inputs (sum, max, dot), in input order."""
    inputs: Iterable[Any]
    if op.selects and prune:
        parents = node.parents
        local = op.local_derivatives([x.data for x in parents], node.data)
        inputs = [x for x, d in zip(parents, local, strict=True) if d]
    elif op.bilinear:  # Note [fused nodes]: weights, then inputs, then the bias
        weights, xs = node._x, node._y
        new_weights = id(weights) not in tuples_seen
        new_inputs = id(xs) not in tuples_seen
        if not (new_weights or new_inputs):
            return  # the common case in a batch: both tuples already looked through
        tuples_seen.add(id(weights))
        tuples_seen.add(id(xs))
        n = len(xs)
        inputs = (weights[:n] if new_weights else ()) + (xs if new_inputs else ())
        if new_weights:
            inputs += weights[n:]
    else:
        inputs = node._x
    for x in inputs:
        if x not in grads:
            if x._op is None:
                grads[x] = 0.0
            else:
                push(x)


def _walk_floats(order: list[Any], grads: dict[Any, Any]) -> None:
    # The hot loop of every backward(): local derivatives on floats, each added in place into
    # the input's entry. One case per kind of node, so that no tuple is built for the most
    # common ones (Note [fused nodes]); a zero gradient or local derivative passes nothing on.
    node = None
    try:
        for node in reversed(order):  # consumers first
            g = grads[node]
            if not g:
                continue
            op = node._op
            arity = op.arity
            if arity == 2:
                x = node._x
                y = node._y
                if op.bilinear:  # x * y
                    dx = y.data
                    dy = x.data
                elif op.passes_gradient_on:  # x + y
                    grads[x] += g
                    grads[y] += g
                    continue
                elif (fixed := op.fixed_derivative) is not None:
                    dx, dy = fixed
                else:
                    dx, dy = op.local_derivatives((x.data, y.data), node.data)
                if dx:
                    grads[x] += dx * g
                if dy:
                    grads[y] += dy * g
            elif arity == 1:
                if op.gates and not node.data:
                    continue  # Note [what the walk skips]
                x = node._x
                (dx,) = op.local_derivatives((x.data,), node.data, node._y)
                if dx:
                    grads[x] += dx * g
            elif op.bilinear:  # w·x + b: each weight's local derivative is its input, and back
                weights = node._x
                inputs = node._y
                for w, x in zip(weights, inputs, strict=False):  # the bias, if any, is left out
                    d = x.data
                    if d:
                        grads[w] += d * g
                    d = w.data
                    if d:
                        grads[x] += d * g
                if len(weights) != len(inputs):
                    grads[weights[-1]] += g
            else:
                parents = node._x
                local = op.local_derivatives([p.data for p in parents], node.data)
                for x, dx in zip(parents, local, strict=True):
                    if dx:
                        grads[x] += dx * g
    except (ArithmeticError, ValueError) as error:
        raise gradient_error(node, error) from error


def _check_defined(gradients: Iterable[Any]) -> None:
    gradients = list(gradients)
    if UndefinedGradient in map(type, gradients):  # one pass in C over every gradient
        g = next(g for g in gradients if type(g) is UndefinedGradient)
        raise ValueError(g.message)


def gradient_error(node: Any, error: Exception) -> Exception:
    """The same error, its message naming the op whose derivative failed and its inputs."""
    if node is None or node.op == "" or str(error).startswith(f"{node.op}:"):
        return error
    inputs = ", ".join(repr(p.data) for p in node.parents)
    return type(error)(f"{node.op}: gradient undefined at input {inputs}: {error}")
