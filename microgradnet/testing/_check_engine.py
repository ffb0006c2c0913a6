"""``check_engine``: the conformance kit for anyone's scalar autograd engine."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, Literal

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis.errors import Flaky, Unsatisfiable

from .. import ops as op_table
from ..ops import Op
from ._bindings import Binding, probe
from ._engine import Adapter, Engine
from ._engine_expressions import WRAPPER_OPS, Sample, samples
from ._judge import Mismatch, Outcome, judge
from ._report import EngineCheck, EngineReport
from ._structure import STRUCTURE_CHECKS, deep_chain, second_backward

__all__ = ["check_engine"]

MIXED = "expressions of every op"


def _rows(chosen: Sequence[str | Op] | None) -> list[Op]:
    if chosen is None:
        return list(op_table.BUILTIN_OPS)
    by_name = {op.name: op for op in op_table.BUILTIN_OPS}
    rows = []
    for item in chosen:
        op = by_name.get(item) if isinstance(item, str) else item
        if not isinstance(op, Op):
            raise ValueError(f"check_engine: unknown op {item!r}; known: {', '.join(by_name)}")
        rows.append(op)
    return rows


def _search(
    engine: Engine,
    bindings: dict[Op, Binding],
    op_list: Sequence[Op],
    usable: Collection[Op],
    max_examples: int,
    **sizes: int,
) -> tuple[Outcome | None, int, str]:
    """Hypothesis looks for an expression the engine gets wrong, and shrinks it.

    Returns the minimal failing outcome (``None`` if none was found), the number of
    expressions judged, and a note when no expression could be drawn at all."""
    judged = 0

    def check(sample: Sample) -> None:
        nonlocal judged
        judged += 1
        outcome = judge(engine, bindings, sample.root, sample.inputs)
        if outcome.problem:
            raise Mismatch(outcome)

    check.__name__ = check.__qualname__ = f"check_engine_{'_'.join(op.name for op in op_list)}"
    test = settings(
        max_examples=max_examples,
        database=None,  # an engine is not a test function: nothing to replay next time
        deadline=None,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        phases=(Phase.generate, Phase.shrink),  # no explaining: the shrunk expression says it
    )(given(samples(op_list, usable, **sizes))(check))
    try:
        test()
    except Mismatch as mismatch:
        return mismatch.outcome, judged, ""
    except Flaky as flaky:  # the engine answered differently on a replay: still a failure
        found = [e for e in getattr(flaky, "exceptions", ()) if isinstance(e, Mismatch)]
        if not found:
            raise
        return found[0].outcome, judged, "the engine's answers changed between runs"
    except Unsatisfiable:
        return None, judged, "no expression could be drawn inside its domain"
    return None, judged, ""


def _as_check(
    name: str, kind: Literal["op", "property"], how: str, found: tuple[Outcome | None, int, str]
) -> EngineCheck:
    outcome, judged, note = found
    if outcome is None:
        status: Literal["pass", "not supported"] = "not supported" if note else "pass"
        detail = f"{how} ({note})" if note else f"{how} ({judged} expressions)"
        return EngineCheck(name, kind, status, detail, examples=judged)
    detail = how + (f" ({note})" if note else "")
    return EngineCheck.found(name, kind, "fail", detail, outcome, judged)


def check_engine(
    value_class: Any,
    *,
    adapter: Adapter | None = None,
    ops: Sequence[str | Op] | None = None,
    max_examples: int | None = None,
    max_depth: int = 10_000,
) -> EngineReport:
    """Check another scalar autograd engine against central differences and microgradnet.

    It finds out what the engine has by probing, as micrograd-style classes are written: a
    value from a float, ``.data``, ``.grad``, ``.backward()``, the operators ``+ - * / **``
    with values and numbers on either side, and methods named as the op table's functions
    (``x.tanh()``, ``x.exp()``, ``x.relu()``, ...). For each op it has, Hypothesis draws
    expressions over that op (kept inside its domain, away from kinks) and compares the
    engine's gradients with central differences of the engine's own forward and with
    microgradnet's; a wrong one is shrunk to a minimal expression. Then come the structure
    checks: a value used twice, a shared subexpression, leaves the output does not depend on,
    two outputs of one graph, random expressions mixing every op that passed, a deep chain (the
    depth where it fails), and what a second ``backward()`` does (reported, not judged).

    Args:
        value_class: the engine's value class, e.g. ``micrograd.engine.Value``.
        adapter: the engine's names where they differ from micrograd's (``grad="derivative"``,
            ``methods={"sigmoid": "sigm"}``).
        ops: the rows to check, by name or ``ops.Op`` (default: every built-in row).
        max_examples: expressions per op (default: the current Hypothesis profile's).
        max_depth: the deepest chain tried.

    Returns:
        An :class:`EngineReport`: ``.ok``, ``.failures``, ``.assert_ok()``; ``print`` it.

    Raises:
        TypeError: ``value_class`` or ``adapter`` has the wrong type.
        ValueError: an unknown op name, or a bad ``max_examples`` or ``max_depth``.

    Example:
        >>> from microgradnet import Value
        >>> check_engine(Value, ops=["add", "tanh"], max_examples=10).ok
        True
    """
    engine = Engine(value_class, adapter)
    engine.check_basics()
    rows = _rows(ops)
    profile = settings.default  # the Hypothesis profile loaded now
    examples = max_examples
    if examples is None:
        examples = 100 if profile is None else profile.max_examples
    if isinstance(examples, bool) or not isinstance(examples, int) or examples < 1:
        raise ValueError(f"check_engine: max_examples={max_examples!r} must be an int >= 1")
    if isinstance(max_depth, bool) or not isinstance(max_depth, int) or max_depth < 1:
        raise ValueError(f"check_engine: max_depth={max_depth!r} must be an int >= 1")

    # The ops wrappers are written with come first, so they are trusted when others need them.
    order = [op for op in WRAPPER_OPS if op in rows] + [op for op in rows if op not in WRAPPER_OPS]
    bindings: dict[Op, Binding] = {}
    passed: list[Op] = []
    by_op: dict[Op, EngineCheck] = {}
    for op in order:
        binding = probe(op, engine)
        if isinstance(binding, str):
            by_op[op] = EngineCheck(op.name, "op", "not supported", binding)
            continue
        bindings[op] = binding
        found = _search(engine, bindings, [op], {*passed, op}, examples, max_leaves=4)
        by_op[op] = _as_check(op.name, "op", binding.how, found)
        if not by_op[op].failed and found[2] == "":
            passed.append(op)

    properties = [check(engine, bindings) for check in STRUCTURE_CHECKS]
    if len(passed) >= 2:
        found = _search(engine, bindings, passed, passed, examples, n_inputs=3, max_leaves=8)
        properties.append(_as_check(MIXED, "property", f"the {len(passed)} ops that pass", found))
    properties.append(deep_chain(engine, bindings, max_depth))
    properties.append(second_backward(engine, bindings))
    checks = [by_op[op] for op in rows] + properties
    return EngineReport(engine.name, tuple(checks))
