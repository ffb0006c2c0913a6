"""The notebooks of the tour, found in ``notebooks/`` and titled by their first heading."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["NOTEBOOKS", "notebook_title", "notebooks"]

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def notebook_title(path: Path) -> str:
    """The first ``# `` heading of the notebook's Markdown cells, else its file name."""
    cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    for cell in cells:
        if cell.get("cell_type") != "markdown":
            continue
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        for line in text.splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    return path.stem


def notebooks(folder: Path = NOTEBOOKS) -> list[tuple[str, str]]:
    """``(title, path in the site)`` for every notebook, in file name order."""
    return [(notebook_title(p), f"notebooks/{p.name}") for p in sorted(folder.glob("*.ipynb"))]
