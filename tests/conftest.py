"""Shared test set-up: hypothesis profiles, a headless matplotlib, optional-tool guards."""

from __future__ import annotations

import importlib
import os
import random
import shutil
from types import ModuleType

import matplotlib
import pytest
from hypothesis import HealthCheck, settings

matplotlib.use("Agg")

# "ci": reproducible (derandomized) and fast enough for every run of the suite;
# "dev": more examples with fresh randomness, for local runs (HYPOTHESIS_PROFILE=dev).
settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile(
    "dev", deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

IN_CI = bool(os.environ.get("CI"))


def require_module(name: str) -> ModuleType:
    """Import an optional dependency; skip without it locally, but fail in CI (never hide it)."""
    if IN_CI:
        return importlib.import_module(name)
    return pytest.importorskip(name)


def require_dot() -> None:
    """Graphviz's `dot` must be installed (scripts/setup.sh does it); in CI a missing one fails."""
    if shutil.which("dot") is None:
        if IN_CI:
            pytest.fail("Graphviz's `dot` is not installed: run scripts/setup.sh")
        pytest.skip("Graphviz's `dot` is not installed")


@pytest.fixture(autouse=True)
def _seed_random() -> None:
    random.seed(0)
