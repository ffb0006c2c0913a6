"""The API reference: one page per public module, found in the package, not listed by hand."""

from __future__ import annotations

import importlib
import inspect
import json
from pathlib import Path

import microgradnet

__all__ = [
    "PACKAGE",
    "api_page",
    "classes_with_a_page",
    "inherited_from_unlisted",
    "public_modules",
]

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


def _public_classes(module: str) -> list[type]:
    mod = importlib.import_module(module)
    names = getattr(mod, "__all__", [n for n in vars(mod) if not n.startswith("_")])
    return [obj for name in names if inspect.isclass(obj := getattr(mod, name, None))]


def classes_with_a_page() -> set[type]:
    """The classes a public module exports: each is documented on that module's page."""
    return {cls for module in public_modules() for cls in _public_classes(module)}


def inherited_from_unlisted(module: str, documented: set[type] | None = None) -> list[str]:
    """The public members that classes of ``module`` inherit from bases of ours no page
    documents (``Value``'s ``exp`` and ``tanh`` come from ``_functions.ValueFunctions``): the
    module's page shows them, or they would be on no page at all."""
    documented = classes_with_a_page() if documented is None else documented
    names: set[str] = set()
    for cls in _public_classes(module):
        for base in cls.__mro__[1:]:
            if base.__module__.partition(".")[0] == "microgradnet" and base not in documented:
                names.update(name for name in vars(base) if not name.startswith("_"))
    return sorted(names)


def api_page(module: str, documented: set[type] | None = None) -> tuple[str, str]:
    """The page's path in the site and its Markdown."""
    directive = f"::: {module}\n"
    inherited = inherited_from_unlisted(module, documented)
    if inherited:
        directive += f"    options:\n      inherited_members: {json.dumps(inherited)}\n"
    return f"api/{module}.md", f"# `{module}`\n\n{directive}"
