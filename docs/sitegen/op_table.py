"""The op table page, generated from the rows of ``microgradnet.ops`` when the site is built.

For every row: its name and symbol; its forward and its local derivatives as formulas, obtained
by running the row's own rules on sympy symbols (the rule as written, with ``out`` standing for
the op's output, then with ``out`` replaced by the forward); its declared domain, what it
raises for when probed, and its kinks; and whether it runs in compiled mode and in forward mode,
found by running it there. A row added to ``BUILTIN_OPS`` appears with no change here.

A rule that reads numbers rather than symbols (a selector such as ``max``, whose rule compares
inputs with the output) does not give its derivative on sympy symbols: the check against sympy's
own derivative of the forward catches that, and the page then shows sympy's derivative of the
forward and says so.
"""

from __future__ import annotations

import ast
import contextlib
import html
import inspect
import math
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sympy as sp
from sympy.printing.mathml import MathMLPresentationPrinter

import microgradnet
from microgradnet import ops
from microgradnet.engine import Value, apply
from microgradnet.ops import MODERATE, VARIADIC, Op

__all__ = ["RowReport", "op_table_markdown", "report_row"]

PROBES = (0.0, -1.0, 1000.0)  # inputs tried one at a time to see what a row refuses
_OUT = sp.Symbol("out", real=True)
_CONST = sp.Symbol("c", real=True)


# ----- formulas -----
_RELATIONS = {">": "&gt;", "<": "&lt;", ">=": "≥", "<=": "≤", "==": "=", "!=": "≠"}


class _Printer(MathMLPresentationPrinter):  # type: ignore[misc]
    """sympy's MathML, with cases drawn as a brace and a table (MathML Core has no piecewise)."""

    def _cases(self, pieces: Sequence[tuple[Any, Any]]) -> Any:
        dom = self.dom
        mrow = dom.createElement("mrow")
        brace = dom.createElement("mo")
        brace.appendChild(dom.createTextNode("{"))
        mrow.appendChild(brace)
        table = dom.createElement("mtable")
        for value, condition in pieces:
            tr = dom.createElement("mtr")
            left = dom.createElement("mtd")
            left.appendChild(self._print(value))
            right = dom.createElement("mtd")
            text = dom.createElement("mtext")
            text.appendChild(dom.createTextNode("otherwise" if condition is True else "if\u00a0"))
            right.appendChild(text)
            if condition is not True:
                right.appendChild(self._print(condition))
            tr.appendChild(left)
            tr.appendChild(right)
            table.appendChild(tr)
        mrow.appendChild(table)
        return mrow

    def _print_Relational(self, expr: Any) -> Any:
        # The base printer writes raw text (for its entities): escape the comparison.
        mrow = self.dom.createElement("mrow")
        mrow.appendChild(self._print(expr.lhs))
        mo = self.dom.createElement("mo")
        mo.appendChild(self.dom.createTextNode(_RELATIONS.get(expr.rel_op, expr.rel_op)))
        mrow.appendChild(mo)
        mrow.appendChild(self._print(expr.rhs))
        return mrow

    def _print_Piecewise(self, expr: Any) -> Any:
        return self._cases(
            [(piece.expr, piece.cond == sp.true or piece.cond) for piece in expr.args]
        )

    def _print_Heaviside(self, expr: Any) -> Any:
        z = expr.args[0]
        positive = sp.Add(*[t for t in sp.Add.make_args(z) if not t.could_extract_minus_sign()])
        negative = -sp.Add(*[t for t in sp.Add.make_args(z) if t.could_extract_minus_sign()])
        gt = sp.StrictGreaterThan(positive, negative, evaluate=False)
        lt = sp.StrictLessThan(positive, negative, evaluate=False)
        return self._cases([(sp.Integer(1), gt), (sp.Integer(0), lt)])


def _mathml(expr: Any) -> str:
    text = str(_Printer({"mul_symbol": "dot"}).doprint(_exact(expr)))
    return text.replace("<mo>-</mo>", "<mo>−</mo>").replace("<mn>-", "<mn>−")


def _math(*parts: str) -> str:
    return f'<math display="inline"><mrow>{"".join(parts)}</mrow></math>'


def _mo(text: str) -> str:
    return f"<mo>{html.escape(text)}</mo>"


def _partial(symbol: Any) -> str:
    return (
        "<mfrac><mrow><mo>∂</mo><mi>out</mi></mrow>"
        f"<mrow><mo>∂</mo>{_mathml(symbol)}</mrow></mfrac>"
    )


def _simple(expr: Any) -> bool:
    return all(abs(r.p) <= 1000 and r.q <= 100 for r in expr.atoms(sp.Rational))


def _nice_float(x: float) -> Any:
    """A float of a rule as a reader would write it: ``0.5`` as ½, ``0.6931…`` as log 2 (when
    sympy finds a short exact form with π or e), else as the decimal written in the code."""
    if not math.isfinite(x):
        return sp.Float(x)
    for q in (1, 2, 3, 4, 6, 8, 12):
        if float(x * q).is_integer():
            return sp.Rational(round(x * q), q)
    found = sp.nsimplify(x, [sp.pi, sp.E], tolerance=1e-14)
    if _simple(found) and sp.count_ops(found) <= 8:
        return found
    return sp.Float(repr(x), min(len(repr(x).lstrip("-0.")), 6))


def _exact(x: Any) -> Any:
    """A rule's result with its floats as a reader would write them (see ``_nice_float``)."""
    if isinstance(x, bool):
        return sp.Integer(int(x))
    if isinstance(x, float | int):
        return _nice_float(float(x))
    if isinstance(x, sp.Basic):
        return x.xreplace({f: _nice_float(float(f)) for f in x.atoms(sp.Float)})
    return x


# ----- points, symbols and probes -----
def n_inputs(op: Op) -> int:
    """How many inputs the page shows a row with: its arity, or 3 for a variadic row (5 for a
    dot: two weights, two inputs and a bias)."""
    if op.arity != VARIADIC:
        return op.arity
    return 5 if op.bilinear else 3


def constant(op: Op) -> float | None:
    """The constant argument the page runs a row with: its first example, or its default."""
    if not op.const:
        return None
    if op.arg_examples:
        return op.arg_examples[0]
    return 1.0 if op.arg_default is None else op.arg_default


def input_symbols(op: Op) -> list[Any]:
    """``x`` for one input, ``x, y`` for two, ``x₁, x₂, x₃`` (``w₁, w₂, x₁, x₂, b``) for more."""
    n = n_inputs(op)
    if op.arity == 1:
        names = ["x"]
    elif op.arity == 2:
        names = ["x", "y"]
    elif op.bilinear:
        half = (n - 1) // 2
        names = [f"w_{i + 1}" for i in range(half)] + [f"x_{i + 1}" for i in range(half)] + ["b"]
    else:
        names = [f"x_{i + 1}" for i in range(n)]
    return [sp.Symbol(name, real=True) for name in names]


def sample_point(op: Op, shift: float = 0.0) -> list[float]:
    """Inputs inside the row's ranges and away from its kinks and ties."""
    xs = []
    for i, where in enumerate(op.ranges(constant(op), n_inputs(op))):
        base = 0.3 + 0.4 * i + shift
        if where is None:
            xs.append(base - 0.9 if i % 2 else base)  # both signs
        elif where == MODERATE:
            xs.append(base / 2)
        else:
            assert isinstance(where, tuple)
            low, high = where
            xs.append(low + 0.5 + abs(base) if high == math.inf else (low + high) / 2 + base / 10)
    return xs


_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def symbol_text(symbol: Any) -> str:
    """A symbol as plain text: ``x_1`` as ``x₁``."""
    name, _, index = str(symbol).partition("_")
    return name + index.translate(_SUBSCRIPTS)


def _number(x: float) -> str:
    """``x`` as text; a simple multiple of π (tan's domain) as one."""
    if x in (math.inf, -math.inf):
        return "∞" if x > 0 else "−∞"
    for q in range(1, 13):
        p = x / math.pi * q
        if round(p) != 0 and abs(p - round(p)) < 1e-9 and not float(x * 1000).is_integer():
            top = {1: "π", -1: "−π"}.get(round(p), f"{round(p)}π".replace("-", "−"))
            return top if q == 1 else f"{top}/{q}"
    return f"{x:g}".replace("-", "−")


def _interval(interval: tuple[float, float] | None) -> str:
    if interval is None:
        return "ℝ"
    low, high = interval
    return f"({_number(low)}, {_number(high)})"


def _range_text(where: Any) -> str:
    if where == MODERATE:
        return "moderate (squashed into (−1, 1))"
    return _interval(where)


# ----- one row -----
@dataclass
class RowReport:
    """Everything the page says about one row, as HTML fragments and plain text."""

    op: Op
    forward: str
    derivatives: list[str]
    from_sympy: bool  # the derivatives shown are sympy's of the forward, not the row's rule
    domain: str
    raises: list[tuple[str, str]]  # (the probed input, the error it raised)
    kinks: str
    compiled: str
    forward_mode: str
    ranges: str
    source: str


def _derivative_forms(op: Op, symbols: list[Any]) -> tuple[str, list[str], bool]:
    """The forward and one line per local derivative, as MathML."""
    arg = _CONST if op.const else None
    try:
        forward = op.evaluate(list(symbols), arg)
    except Exception:  # a forward written with math.*: no symbolic form
        return "<em>no symbolic form</em>", [], False
    derivatives = [sp.diff(forward, s) for s in symbols]
    try:
        raw = [sp.sympify(d) for d in op.local_derivatives(list(symbols), _OUT, arg)]
        agrees = all(
            _same(r.xreplace({_OUT: forward}), d, op, symbols)
            for r, d in zip(raw, derivatives, strict=True)
        )
        rule_with_out = [_exact(d) for d in raw]  # written as a reader would, for display only
        rule = [d.xreplace({_OUT: _exact(forward)}) for d in rule_with_out]
    except Exception:  # a rule that cannot run on symbols
        agrees = False
    forward = _exact(forward)
    forward_html = _math("<mi>out</mi>", _mo("="), _mathml(forward))
    lines = []
    for i, symbol in enumerate(symbols):
        # One <math> per "= ..." so that a long line can wrap between them.
        if agrees:
            parts = [_math(_partial(symbol), _mo("="), _mathml(rule_with_out[i]))]
            if sp.sympify(rule_with_out[i]).has(_OUT):
                parts.append(_math(_mo("="), _mathml(rule[i])))
        else:
            parts = [_math(_partial(symbol), _mo("="), _mathml(derivatives[i]))]
        lines.append(" ".join(parts))
    return forward_html, lines, not agrees


def _same(rule: Any, derivative: Any, op: Op, symbols: list[Any]) -> bool:
    """The rule equals sympy's derivative at a few points inside the row's ranges."""
    arg = constant(op)
    for shift in (0.0, 0.05, 0.37):
        at: dict[Any, Any] = dict(
            zip(symbols, map(sp.Rational, sample_point(op, shift)), strict=True)
        )
        if arg is not None:
            at[_CONST] = sp.Rational(arg)
        a, b = complex(sp.N(rule.subs(at))), complex(sp.N(derivative.subs(at)))
        if not abs(a - b) <= 1e-9 * max(1.0, abs(b)):
            return False
    return True


def _probe(op: Op, symbols: list[Any]) -> list[tuple[str, str]]:
    """What the float forward raises for, trying each input at each of ``PROBES``."""
    base = sample_point(op)
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i, symbol in enumerate(symbols):
        for probe in PROBES:
            xs = list(base)
            xs[i] = probe
            try:
                op.evaluate(xs, constant(op))
            except (ValueError, ArithmeticError) as error:
                message = f"{type(error).__name__}: {error}"
                if message not in seen:
                    seen.add(message)
                    found.append((f"{symbol_text(symbol)} = {probe:g}".replace("-", "−"), message))
    return found


def _node(op: Op, inputs: Sequence[Value]) -> Value:
    return apply(op, *inputs, arg=constant(op))


def _compiled_support(op: Op) -> str:
    """How the row runs in compiled mode, checked against the engine on a small batch."""
    import numpy as np

    xs = sample_point(op)
    w = Value(0.9)

    def f(inputs: list[Value]) -> Value:
        return _node(op, [v * w for v in inputs])  # through a parameter: gradients are needed

    try:
        compiled = microgradnet.compile(f, (xs,))
        kind = compiled.kernel_kinds[op]
        batch = np.array([xs, sample_point(op, 0.05)])
        compiled_out = compiled(batch)
        compiled.backward(batch, reduction="sum")
        compiled_grad, w.grad = w.grad, 0.0
        expected = [f([Value(x) for x in row]) for row in batch.tolist()]
        Value.sum(expected).backward()
        if not np.allclose(compiled_out, [e.data for e in expected], rtol=1e-9, atol=0.0):
            return "no: its forward differs from the engine's"
        if not math.isclose(compiled_grad, w.grad, rel_tol=1e-9, abs_tol=1e-12):
            return "no: its gradient differs from the engine's"
    except Exception as error:
        return f"no: {type(error).__name__}: {error}"
    return {"bilinear": "yes, matrix products", "element-wise": "yes, element by element"}.get(
        kind, f"yes, {kind}"
    )


def _forward_mode_support(op: Op) -> str:
    """Whether ``microgradnet.jvp`` (forward mode) differentiates the row: "not yet" until the
    library has it; then its product against the row's local derivatives."""
    jvp: Callable[..., Any] | None = getattr(microgradnet, "jvp", None)
    if jvp is None:
        return "not yet"
    xs = sample_point(op)
    tangent = [1.0] * len(xs)
    try:
        _, product = jvp(lambda *inputs: _node(op, inputs), xs, tangent)
        if isinstance(product, list | tuple):
            (product,) = product
        out = op.evaluate(xs, constant(op))
        expected = sum(float(d) for d in op.local_derivatives(xs, out, constant(op)))
        if not math.isclose(float(product), expected, rel_tol=1e-9, abs_tol=1e-12):
            return f"no: jvp gives {float(product):.6g}, the row's rule {expected:.6g}"
    except Exception as error:
        return f"no: {type(error).__name__}: {error}"
    return "yes"


def _row_source(op: Op) -> str:
    """The statement that defines the row in its module (``FOO = Op("foo", ...)``), else the
    source of its derivative rule."""
    module = inspect.getmodule(op.derivative) or ops
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError):
        return ""
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and node.value.args
            and isinstance(node.value.args[0], ast.Constant)
            and node.value.args[0].value == op.name
        ):
            text = ast.get_source_segment(source, node) or ""
            helper = op.derivative
            if not getattr(helper, "__name__", "<lambda>").startswith("<"):
                with contextlib.suppress(OSError, TypeError):
                    text = inspect.getsource(helper).rstrip() + "\n\n\n" + text
            return textwrap.dedent(text)
    try:
        return textwrap.dedent(inspect.getsource(op.derivative))
    except (OSError, TypeError):
        return ""


def report_row(op: Op) -> RowReport:
    """Run one row through every check the page shows."""
    symbols = input_symbols(op)
    forward, derivatives, from_sympy = _derivative_forms(op, symbols)
    kinks = ", ".join(f"x = {k:g}" for k in op.kinks)
    if op.ties_are_kinks:
        kinks = ", ".join(filter(None, [kinks, "where two inputs tie"]))
    ranges = op.ranges(constant(op), len(symbols))
    return RowReport(
        op=op,
        forward=forward,
        derivatives=derivatives,
        from_sympy=from_sympy,
        domain=_interval(op.domain) if op.arity == 1 else "—",
        raises=_probe(op, symbols),
        kinks=kinks or "none",
        compiled=_compiled_support(op),
        forward_mode=_forward_mode_support(op),
        ranges=", ".join(
            f"{symbol_text(s)} ∈ {_range_text(r)}" for s, r in zip(symbols, ranges, strict=True)
        ),
        source=_row_source(op),
    )


# ----- the page -----
def _flags(op: Op) -> str:
    names = ["linear", "bilinear", "gates", "selects", "nonexpansive", "ties_are_kinks", "const"]
    on = [f"`{name}`" for name in [*names, "arg_first"] if getattr(op, name)]
    if op.numpy_reduction:
        on.append(f"`numpy_reduction={op.numpy_reduction!r}`")
    return ", ".join(on) or "none"


def _cell(text: str) -> str:
    return f"<td>{text}</td>"


def _code(text: str) -> str:
    return f"<code>{html.escape(text)}</code>"


def _domain_cell(report: RowReport) -> str:
    parts = []
    if report.op.arity == 1:
        parts.append(f"{html.escape(report.domain)}")
    if report.raises:
        probed = ", ".join(html.escape(where) for where, _ in report.raises)
        parts.append(f"raises at {probed}")
    return "<br>".join(parts) or "—"


def _table(reports: Iterable[RowReport]) -> str:
    head = ["Op", "Forward", "Local derivatives", "Domain and kinks", "Runs in"]
    rows = ['<table class="mgn-ops">', "<thead><tr>"]
    rows += [f"<th>{h}</th>" for h in head]
    rows.append("</tr></thead><tbody>")
    for r in reports:
        name = r.op.name
        derivatives = "<br>".join(r.derivatives)
        if r.from_sympy:
            derivatives += "<br><small>sympy's derivative of the forward (see below)</small>"
        domain = _domain_cell(r)
        if r.kinks != "none":
            domain += f"<br>kinks: {html.escape(r.kinks)}"
        runs = (
            f"compiled mode: {html.escape(r.compiled)}<br>"
            f"forward mode: {html.escape(r.forward_mode)}"
        )
        cells = [
            f'<a href="#op-{name}">{_code(name)}</a><br>{_code(r.op.symbol or r.op.name)}',
            r.forward,
            derivatives,
            domain,
            runs,
        ]
        rows.append(f'<tr id="row-{name}">' + "".join(map(_cell, cells)) + "</tr>")
    rows.append("</tbody></table>")
    return "\n".join(rows)


def _details(r: RowReport) -> str:
    op = r.op
    lines = [f"### `{op.name}` {{ #op-{op.name} }}", ""]
    lines.append(f"- Forward: {r.forward}")
    lines.append(
        "- Local derivatives: " + ", ".join(r.derivatives) + ("." if r.derivatives else "")
    )
    if op.const:
        examples = ", ".join(f"{a:g}" for a in op.arg_examples)
        lines.append(
            f"- Constant argument: the {op.arg_name}, shown as *c*"
            + (f"; tests draw it from {examples}" if examples else "")
            + (f"; the `graph` command's default is {op.arg_default:g}" if op.arg_default else "")
            + f"; the page's examples use c = {constant(op):g}."
        )
    if op.arity == VARIADIC:
        lines.append(f"- Any number of inputs; shown here with {len(input_symbols(op))}.")
    lines.append(f"- Where test generators draw its inputs: {r.ranges}.")
    lines.append(f"- Flags: {_flags(op)}.")
    if op.function:
        lines.append(f"- In the `graph` command's expressions: `{op.function}(...)`.")
    if r.raises:
        lines.append("- What it raises for, each input probed at 0, −1 and 1000:")
        lines += [f"    - {where}: `{message}`" for where, message in r.raises]
    if r.from_sympy:
        lines.append(
            "- The derivatives above are sympy's derivatives of the forward: this row's rule "
            "reads numbers (it compares them), so it has no symbolic form; it is the source "
            "below."
        )
    if r.compiled.startswith("no:") or r.forward_mode.startswith("no:"):
        lines.append(f"- Compiled mode: {r.compiled}. Forward mode: {r.forward_mode}.")
    if r.source:
        lines += ["", "```python", r.source.rstrip(), "```"]
    lines.append("")
    return "\n".join(lines)


def op_table_markdown(rows: Sequence[Op] | None = None) -> str:
    """The generated part of the op table page: the table, then one section per row.

    Args:
        rows: the rows to show; ``ops.BUILTIN_OPS`` (read when called) by default.

    Returns:
        Markdown with an HTML table (MathML formulas), ready for MkDocs.
    """
    reports = [report_row(op) for op in (ops.BUILTIN_OPS if rows is None else rows)]
    jvp_note = (
        "Forward mode runs `microgradnet.jvp` on each row and compares its product with the "
        "row's local derivatives."
        if hasattr(microgradnet, "jvp")
        else "Forward mode (`microgradnet.jvp`) is not in the library yet: the column fills in "
        "when it is."
    )
    intro = (
        f"{len(reports)} rows, generated from `microgradnet.ops.BUILTIN_OPS` when this site was "
        "built. Compiled mode compiles `lambda x: op(w * x)` with `microgradnet.compile` and "
        "compares its forward and its gradient with the engine's on a batch of two samples, and "
        f"reads how it ran from `CompiledFunction.kernel_kinds`. {jvp_note} The domain gives "
        "a one-input op's declared `domain` and the inputs (each tried alone at 0, −1 and 1000) "
        "at which its forward raises."
    )
    return "\n\n".join([intro, _table(reports), "## The rows", *map(_details, reports)])
