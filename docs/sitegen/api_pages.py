"""The API reference: one page per public module, found in the package, not listed by hand."""

from __future__ import annotations

from pathlib import Path

import microgradnet

__all__ = ["PACKAGE", "api_page", "public_modules"]

PACKAGE = Path(microgradnet.__file__).resolve().parent

# The order a reader meets them in; a public module missing here comes after, by name.
READING_ORDER = (
    "microgradnet",
    "microgradnet.engine",
    "microgradnet.ops",
    "microgradnet.nn",
    "microgradnet.conv",
    "microgradnet.losses",
    "microgradnet.functional",
    "microgradnet.optim",
    "microgradnet.schedulers",
    "microgradnet.init",
    "microgradnet.train",
    "microgradnet.data",
    "microgradnet.interop",
    "microgradnet.compiled",
    "microgradnet.viz",
    "microgradnet.gradcheck",
    "microgradnet.testing",
    "microgradnet.expression",
    "microgradnet.cli",
)


def public_modules(package: Path = PACKAGE) -> list[str]:
    """Every module and package of ``microgradnet`` with no ``_`` in its dotted path."""
    names = ["microgradnet"]
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts and not any(part.startswith("_") for part in parts):
            names.append(".".join(("microgradnet", *parts)))
    rank = {name: i for i, name in enumerate(READING_ORDER)}
    return sorted(names, key=lambda name: (rank.get(name, len(rank)), name))


def api_page(module: str) -> tuple[str, str]:
    """The page's path in the site and its Markdown."""
    return f"api/{module}.md", f"# `{module}`\n\n::: {module}\n"
