"""Sections of the README, included in pages so that what they say is written once."""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["README", "readme_section"]

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_section(title: str, path: Path = README) -> str:
    """The body of the README's ``## title`` section (up to the next ``##`` heading), its own
    sub-headings moved one level down.

    Raises:
        KeyError: the README has no such section (the build fails, naming it).
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    body: list[str] | None = None
    in_code = False
    for line in lines:
        if line.startswith("```"):
            in_code = not in_code
        if not in_code and line.startswith("## "):
            if body is not None:
                break
            if line[3:].strip() == title:
                body = []
            continue
        if body is not None:
            if not in_code and re.match(r"#{3,} ", line):
                line = "#" + line
            body.append(line)
    if body is None:
        raise KeyError(f"README.md has no section '## {title}'")
    return "\n".join(body).strip() + "\n"
