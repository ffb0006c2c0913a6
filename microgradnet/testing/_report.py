"""The report of :func:`~microgradnet.testing.check_engine`: one :class:`EngineCheck` per op and per
property, printed as a table, with ``.ok``, ``.failures`` and an asserting form."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from ._judge import Outcome

__all__ = ["EngineCheck", "EngineCheckError", "EngineReport", "Status"]

Status = Literal["pass", "fail", "not supported", "property"]
_MARK = {"pass": "ok", "fail": "FAIL", "not supported": "--", "property": "::"}


def _numbers(xs: Sequence[float] | None) -> str:
    if xs is None:
        return "-"
    return "[" + ", ".join(f"{x:.6g}" for x in xs) + "]"


def _wrapped(head: str, names: Sequence[str], width: int = 100) -> list[str]:
    lines, line = [], head
    for i, name in enumerate(names):
        piece = name + ("," if i < len(names) - 1 else "")
        if len(line) + len(piece) + 1 > width and line.strip():
            lines.append(line.rstrip())
            line = " " * len(head)
        line += piece + " "
    lines.append(line.rstrip())
    return lines


@dataclass(frozen=True)
class EngineCheck:
    """One line of the report: an op of the table or a property of the engine.

    Attributes:
        name: the op's name (``"tanh"``) or the property (``"value used twice"``).
        kind: ``"op"`` or ``"property"``.
        status: ``"pass"``, ``"fail"``, ``"not supported"``, or ``"property"`` (what the
            engine does, reported and not judged: a second ``backward()``).
        detail: how the op is written for the engine (``"x.tanh()"``), what was checked, why it
            is not supported, or what the engine does.
        expression: for a failure, the minimal failing expression over ``x0, x1, ...``.
        inputs: the point it fails at.
        gradient: the engine's gradient for each input there (``None``: it raised).
        expected: the reference: central differences of the engine's own forward.
        ours: microgradnet's gradient, the second opinion.
        problem: what is wrong, in words.
        size: the number of nodes of the failing expression (leaves counted where they occur).
        examples: how many expressions were tried.
    """

    name: str
    kind: Literal["op", "property"]
    status: Status
    detail: str = ""
    expression: str | None = None
    inputs: tuple[float, ...] = ()
    gradient: tuple[float, ...] | None = None
    expected: tuple[float, ...] | None = None
    ours: tuple[float, ...] | None = None
    problem: str = ""
    size: int = 0
    examples: int = 0

    @classmethod
    def found(
        cls,
        name: str,
        kind: Literal["op", "property"],
        status: Status,
        detail: str,
        outcome: Outcome,
        examples: int,
    ) -> EngineCheck:
        """The check of ``name`` that judged ``outcome``: its expression, point and gradients."""
        return cls(
            name,
            kind,
            status,
            detail,
            outcome.expression,
            outcome.inputs,
            outcome.gradient,
            outcome.numeric,
            outcome.ours,
            outcome.problem,
            outcome.size,
            examples,
        )

    @property
    def failed(self) -> bool:
        """Whether this check failed."""
        return self.status == "fail"

    def explain(self) -> str:
        """The failure in full: expression, point, the engine's gradient and the references."""
        if not self.failed:
            return f"{self.name}: {self.status}"
        lines = [f"{self.name}: {self.problem}"]
        if self.expression is not None:
            point = ", ".join(f"x{i}={x!r}" for i, x in enumerate(self.inputs))
            lines.append(f"  expression: {self.expression}   at {point}")
        if self.gradient is not None or self.expected is not None:
            lines.append(f"  engine's gradient:       {_numbers(self.gradient)}")
            lines.append(f"  central differences:     {_numbers(self.expected)}")
            lines.append(f"  microgradnet's gradient: {_numbers(self.ours)}")
        if self.detail:
            lines.append(f"  called as {self.detail}" if self.kind == "op" else f"  {self.detail}")
        return "\n".join(lines)


class EngineCheckError(AssertionError):
    """An engine failed :func:`~microgradnet.testing.check_engine`; the message is the report."""

    def __init__(self, report: EngineReport) -> None:
        super().__init__(str(report))
        self.report = report


@dataclass(frozen=True)
class EngineReport:
    """What :func:`~microgradnet.testing.check_engine` found: a :class:`EngineCheck` per op of the
    table and per property.

    Attributes:
        engine: the engine's name (``"micrograd.engine.Value"``).
        checks: every check, ops first in table order, then the properties.
    """

    engine: str
    checks: tuple[EngineCheck, ...]

    @property
    def ok(self) -> bool:
        """No check failed (an op the engine lacks is not a failure)."""
        return not self.failures

    @property
    def failures(self) -> list[EngineCheck]:
        """The failed checks, each with its minimal failing expression where there is one."""
        return [check for check in self.checks if check.failed]

    @property
    def supported(self) -> list[str]:
        """The ops the engine has."""
        return [c.name for c in self.checks if c.kind == "op" and c.status != "not supported"]

    @property
    def unsupported(self) -> list[str]:
        """The ops the engine does not have (each check's ``detail`` says what was tried)."""
        return [c.name for c in self.checks if c.kind == "op" and c.status == "not supported"]

    def __getitem__(self, name: str) -> EngineCheck:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(f"no check named {name!r}; known: {', '.join(c.name for c in self.checks)}")

    def assert_ok(self) -> None:
        """Raise :class:`EngineCheckError` (an ``AssertionError``) if any check failed; its
        message is the whole report, failures explained in full."""
        if not self.ok:
            raise EngineCheckError(self)

    def __str__(self) -> str:
        counts = {s: sum(c.status == s for c in self.checks) for s in _MARK}
        lines = [
            f"check_engine({self.engine}): {'ok' if self.ok else 'FAILED'}: "
            f"{counts['pass']} pass, {counts['fail']} fail, "
            f"{counts['not supported']} not supported"
        ]
        width = max((len(c.name) for c in self.checks), default=0)
        for kind, title in (("op", "ops"), ("property", "properties")):
            lines.append(title)
            for check in (c for c in self.checks if c.kind == kind):
                if kind == "op" and check.status == "not supported":
                    continue  # listed together below, the reasons in each check's detail
                text = check.detail
                if check.failed:
                    short = check.expression and len(check.expression) <= 40
                    text = check.problem + (f" in {check.expression}" if short else "")
                lines.append(f"  {_MARK[check.status]:>4}  {check.name:<{width}}  {text}")
            if kind == "op" and (missing := self.unsupported):
                lines.extend(_wrapped(f"  {_MARK['not supported']:>4}  not supported: ", missing))
        if self.failures:
            lines.append("failures")
            for check in self.failures:
                lines.append("  " + check.explain().replace("\n", "\n  "))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<EngineReport {self.engine}: {len(self.failures)} failures, "
            f"{len(self.supported)} ops supported>"
        )
