"""Shared test set-up: hypothesis profiles, a headless matplotlib, optional-tool guards."""

from __future__ import annotations

import functools
import importlib
import os
import random
import shutil
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

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
# "fuzz": the fuzzing suite (tests/test_fuzz_*.py) run long, hunting for new failures
# (HYPOTHESIS_PROFILE=fuzz .venv/bin/python -m pytest tests/test_fuzz_*.py).
settings.register_profile(
    "fuzz",
    deadline=None,
    max_examples=10_000,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

IN_CI = bool(os.environ.get("CI"))


def require_module(name: str) -> ModuleType:
    """Import an optional dependency; skip without it locally, but fail in CI (never hide it)."""
    if IN_CI:
        return importlib.import_module(name)
    return pytest.importorskip(name)


def sympy_number(expression: Any, point: dict[Any, Any]) -> float:
    """A sympy expression's value at ``point`` as a float. A step's or a spike's argument is
    evaluated first: sympy leaves ``DiracDelta(tan(1.4 * tanh(2)))`` unevaluated, as it cannot
    prove the argument nonzero; a derivative sympy left unevaluated is taken over the reals."""
    sp = require_module("sympy")
    if expression.has(sp.Derivative):  # d sign(u)/dx: sympy takes it only over the reals
        real = {s: sp.Symbol(s.name, real=True) for s in point}
        expression = expression.xreplace(real).doit()
        point = {real[s]: x for s, x in point.items()}
    at_point = expression.xreplace({s: sp.Float(x, 30) for s, x in point.items()})
    at_point = at_point.replace(
        lambda node: isinstance(node, sp.DiracDelta | sp.Heaviside),
        # the real part: sympy may evaluate a real atan2 with a stray imaginary 1e-176
        lambda node: node.func(*(sp.re(sp.N(arg, 30)) for arg in node.args)),
    )
    return float(sp.N(at_point, 30))


def require_dot() -> None:
    """Graphviz's `dot` must be installed (scripts/setup.sh does it); in CI a missing one fails."""
    if shutil.which("dot") is None:
        if IN_CI:
            pytest.fail("Graphviz's `dot` is not installed: run scripts/setup.sh")
        pytest.skip("Graphviz's `dot` is not installed")


@functools.cache
def _unshare_prefix() -> tuple[str, ...] | None:
    """How to run a command in a mount namespace of its own, if this machine allows it."""
    if shutil.which("unshare") is None:
        return None
    for prefix in (("unshare", "--mount"), ("unshare", "--user", "--map-root-user", "--mount")):
        probe = [*prefix, "sh", "-c", "mount -t tmpfs -o size=16k tmpfs /mnt 2>/dev/null"]
        if subprocess.run(probe, capture_output=True, check=False).returncode == 0:
            return prefix
    return None


def in_small_filesystem(folder: Path, size_kib: int, command: list[str]) -> list[str]:
    """``command`` run with ``folder`` a fresh file system of ``size_kib`` KiB: a disk that fills
    up for real. The mount lives in a namespace of the command's own and goes with it. Skips
    where mounting is not allowed (no root and no user namespaces)."""
    prefix = _unshare_prefix()
    if prefix is None:
        pytest.skip("cannot mount a small tmpfs here (needs root or user namespaces)")
    mount = f'mount -t tmpfs -o size={size_kib}k tmpfs "$0" && cd "$0" && exec "$@"'
    return [*prefix, "sh", "-c", mount, str(folder), *command]


@pytest.fixture(autouse=True)
def _seed_random() -> None:
    random.seed(0)
