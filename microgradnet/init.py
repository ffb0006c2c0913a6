"""Weight initialisation schemes and the random generator behind them.

Every scheme draws from a uniform distribution ``U(-bound, bound)``; only the bound differs:

========== ============================== ==============================================
scheme     bound                          suits
========== ============================== ==============================================
he         sqrt(6 / fan_in)               relu, leaky_relu (Kaiming uniform)
xavier     sqrt(6 / (fan_in + fan_out))   tanh, sigmoid, linear (Glorot uniform)
lecun      sqrt(3 / fan_in)               selu-style, unit variance for linear units
uniform    1                              micrograd's ``random.uniform(-1, 1)``
========== ============================== ==============================================

``"auto"`` (the default of every constructor) picks ``"he"`` for relu-like activations and
``"xavier"`` for the others.
"""

from __future__ import annotations

import math
import random
from typing import TypeAlias

__all__ = ["INIT_SCHEMES", "Seed", "bound", "draw", "resolve_init", "resolve_rng"]

Seed: TypeAlias = "int | random.Random | None"

INIT_SCHEMES: tuple[str, ...] = ("auto", "he", "xavier", "lecun", "uniform")

_RELU_LIKE = frozenset({"relu", "leaky_relu"})


def resolve_init(init: str, activation: str) -> str:
    """The concrete scheme for ``init`` (resolving ``"auto"`` from the activation name).

    Raises:
        ValueError: ``init`` is not one of :data:`INIT_SCHEMES`.
    """
    if not isinstance(init, str) or init not in INIT_SCHEMES:
        raise ValueError(
            f"unknown init scheme {init!r}; valid schemes: {', '.join(map(repr, INIT_SCHEMES))}"
        )
    if init == "auto":
        return "he" if activation in _RELU_LIKE else "xavier"
    return init


def bound(scheme: str, fan_in: int, fan_out: int) -> float:
    """Half-width of the uniform distribution that ``scheme`` draws weights from.

    Example:
        >>> bound("xavier", 2, 4)
        1.0
    """
    if scheme == "uniform":
        return 1.0
    if scheme == "he":
        return math.sqrt(6.0 / fan_in)
    if scheme == "xavier":
        return math.sqrt(6.0 / (fan_in + fan_out))
    if scheme == "lecun":
        return math.sqrt(3.0 / fan_in)
    raise ValueError(f"unknown init scheme {scheme!r}")


def resolve_rng(seed: Seed) -> random.Random | None:
    """The generator a model draws its weights from, and hands on to its parts.

    Args:
        seed: ``None`` for Python's global generator (so ``random.seed(0)`` before building a
            model makes it reproducible, as in micrograd), an ``int`` for a fresh
            ``random.Random(seed)``, or a ``random.Random`` to share one stream across models.

    Returns:
        ``None`` (the global generator) or a ``random.Random``.

    Raises:
        TypeError: ``seed`` is anything else (a bool, a float, a str).
    """
    if seed is None or isinstance(seed, random.Random):
        return seed
    if isinstance(seed, int) and not isinstance(seed, bool):
        return random.Random(seed)
    raise TypeError(f"seed must be None, an int or a random.Random, got {type(seed).__name__}")


def draw(rng: random.Random | None, half: float, count: int) -> list[float]:
    """``count`` weights drawn one after another from ``U(-half, half)``.

    Args:
        rng: a generator from :func:`resolve_rng` (``None``: Python's global one).

    Example:
        >>> draw(random.Random(0), 1.0, 2) == draw(random.Random(0), 1.0, 2)
        True
    """
    uniform = random.uniform if rng is None else rng.uniform
    return [uniform(-half, half) for _ in range(count)]
