"""Code blocks run when the site is built, shown with what they print, draw or raise.

A page marks a block with ```` ```python run ````. The block runs (the blocks of one page share
their names, as a notebook's cells do), and the page shows it as an ordinary Python block
followed by its output: what it printed, then the value of its last line as Jupyter would show
it (a ``graphviz.Digraph`` as its SVG, drawn by the real ``dot``; an object with
``_repr_html_``, such as the backward player, as that HTML; a matplotlib figure as SVG; anything
else as its ``repr``). ```` ```python run raises ValueError ```` marks a block that must raise
that error (or a subclass of it), which is shown. A block that raises when it should not, or does
not raise the error it should, fails the build, naming the page and the block.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
import traceback
from typing import Any

__all__ = ["BlockError", "display", "run_blocks"]

_FENCE = re.compile(r"^```python run(?: raises (?P<raises>\w+))?[ \t]*$")


class BlockError(RuntimeError):
    """A ```python run``` block did not behave as its page says."""


def _svg(data: bytes) -> str:
    text = data.decode("utf-8")
    return text[text.index("<svg") :]  # without the XML prolog and the DOCTYPE


def display(value: Any) -> tuple[str, str]:
    """How the page shows a block's last value: ``("html", fragment)`` or ``("text", text)``."""
    if value is None:
        return "text", ""
    if type(value).__name__ == "Digraph" and hasattr(value, "pipe"):
        return "html", f'<div class="mgn-figure">{_svg(value.pipe(format="svg"))}</div>'
    if hasattr(value, "savefig"):  # a matplotlib figure (whose _repr_html_ gives None)
        buffer = io.StringIO()
        value.savefig(buffer, format="svg", bbox_inches="tight")
        import matplotlib.pyplot as plt

        plt.close(value)
        return "html", f'<div class="mgn-figure">{_svg(buffer.getvalue().encode())}</div>'
    shown = value._repr_html_() if hasattr(value, "_repr_html_") else None
    if shown is not None:
        return "html", f'<div class="mgn-figure">{shown}</div>'
    return "text", repr(value)


def _run(code: str, namespace: dict[str, Any], name: str) -> Any:
    """Run ``code``; returns the value of its last line when that line is an expression."""
    tree = ast.parse(code, filename=name)
    namespace.pop("_last_value", None)
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = tree.body[-1]
        target = ast.Name(id="_last_value", ctx=ast.Store())
        tree.body[-1] = ast.copy_location(ast.Assign(targets=[target], value=last.value), last)
        ast.fix_missing_locations(tree)
    exec(compile(tree, name, "exec"), namespace)  # the docs' own examples, as doctest runs them
    return namespace.pop("_last_value", None)


def _output(text: str) -> list[str]:
    if not text.strip():
        return []
    return ["", '```text title="Output"', text.rstrip("\n"), "```"]


def run_blocks(markdown: str, page: str) -> str:
    """``markdown`` with every ```python run``` block run and followed by its output."""
    lines = markdown.split("\n")
    out: list[str] = []
    namespace: dict[str, Any] = {"__name__": "__main__"}
    i = 0
    count = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            out.append(lines[i])
            i += 1
            continue
        end = lines.index("```", i + 1)
        code = "\n".join(lines[i + 1 : end])
        count += 1
        name = f"<{page}, block {count}>"
        stdout = io.StringIO()
        error: BaseException | None = None
        value: Any = None
        with contextlib.redirect_stdout(stdout):
            try:
                value = _run(code, namespace, name)
            except Exception as caught:
                error = caught
        expected = match.group("raises")
        raised = {cls.__name__ for cls in type(error).__mro__} if error is not None else set()
        if error is not None and expected not in raised:
            trace = "".join(traceback.format_exception(error))
            raise BlockError(f"{name} raised an error:\n{code}\n{trace}")
        if error is None and expected:
            raise BlockError(f"{name} should raise {expected} and did not:\n{code}")
        out += ["```python", code, "```"]
        printed = stdout.getvalue()
        if error is not None:
            printed += f"{type(error).__name__}: {error}"
            out += _output(printed)
        else:
            kind, shown = display(value)
            if kind == "text":
                out += _output(printed + shown)
            else:
                out += _output(printed)
                out += ["", shown, ""]
        i = end + 1
    return "\n".join(out)
