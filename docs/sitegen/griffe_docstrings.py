"""A griffe extension: our docstrings, read as Markdown.

The docstrings are Google style and meant to be read in the source too, so they keep two habits
of Sphinx that Markdown does not know: cross-reference roles (``:func:`compile```) and doctest
examples written straight into an ``Example:`` section. Before griffe parses a docstring, this
extension turns a role into inline code (``~a.b`` into ``b``, as Sphinx shows it) and wraps each
run of doctest lines (``>>>``, ``...`` and the expected output, up to a blank line) in a fenced
``pycon`` block, without ``# doctest:`` flags. The source is not changed.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

__all__ = ["MarkdownDocstrings", "markdown_docstring"]

_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|attr|data|exc|obj|const):`~?([^`]+)`")
_DOCTEST_FLAGS = re.compile(r"\s*#\s*doctest:.*$")


def _role_as_code(match: re.Match[str]) -> str:
    whole = match.group(0)
    target = match.group(1)
    if "`~" in whole:
        target = target.rsplit(".", 1)[-1]
    return f"`{target}`"


def markdown_docstring(text: str) -> str:
    """``text`` with roles as inline code and doctest runs fenced as ``pycon`` blocks."""
    text = _ROLE.sub(_role_as_code, text)
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.lstrip()
        if not (stripped.startswith(">>> ") or stripped == ">>>"):
            out.append(line)
            i += 1
            continue
        indent = line[: len(line) - len(stripped)]
        out.append(f"{indent}```pycon")
        while i < len(lines) and lines[i].strip():
            out.append(_DOCTEST_FLAGS.sub("", lines[i]))
            i += 1
        out.append(f"{indent}```")
    return "\n".join(out)


class MarkdownDocstrings(griffe.Extension):
    """Rewrite every docstring with :func:`markdown_docstring` as griffe loads it."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        docstring = obj.docstring
        if docstring is not None:
            docstring.value = markdown_docstring(docstring.value)
