"""Every runnable example in the package's docstrings gives the output it shows."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import microgradnet

MODULES = sorted(
    name
    for _, name, _ in pkgutil.walk_packages(microgradnet.__path__, "microgradnet.")
    if not name.endswith("__main__")
)


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    # Examples marked "# doctest: +SKIP" only illustrate (they need a model or write a file).
    failed, _attempted = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert failed == 0, f"{failed} docstring example(s) of {name} failed (output above)"


def test_the_engine_and_network_modules_have_examples() -> None:
    for name in ("microgradnet.engine", "microgradnet.nn", "microgradnet.losses"):
        finder = doctest.DocTestFinder()
        examples = sum(len(t.examples) for t in finder.find(importlib.import_module(name)))
        assert examples >= 3, name
