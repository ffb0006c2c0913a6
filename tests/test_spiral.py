"""The two-arm spiral data set: its points lie on the arms the docstring describes."""

from __future__ import annotations

import math

import pytest

from microgradnet.data import make_spiral


@pytest.mark.parametrize("turns", [0.5, 1.0, 1.75])
def test_without_noise_each_point_lies_on_its_arm(turns: float) -> None:
    X, y = make_spiral(41, turns=turns, seed=0)
    assert len(X) == 41 and y.count(0) == 21 and y.count(1) == 20
    for (x0, x1), label in zip(X, y, strict=True):
        radius = math.hypot(x0, x1)
        assert 0.0 < radius <= 1.0 + 1e-12
        # arm k: angle = 2π·turns·r + k·π (modulo a whole turn)
        expected = 2 * math.pi * turns * radius + math.pi * label
        gap = (math.atan2(x1, x0) - expected) % (2 * math.pi)
        assert min(gap, 2 * math.pi - gap) < 1e-9


def test_noise_moves_points_off_the_arms_and_the_seed_repeats_it() -> None:
    clean, labels = make_spiral(200, seed=1)
    noisy, noisy_labels = make_spiral(200, noise=0.1, seed=1)
    assert noisy == make_spiral(200, noise=0.1, seed=1)[0]
    assert noisy != make_spiral(200, noise=0.1, seed=2)[0]
    assert sorted(noisy_labels) == sorted(labels)
    offsets = [math.dist(a, b) for a, b in zip(sorted(clean), sorted(noisy), strict=True)]
    assert max(offsets) > 0.05


def test_signed_labels_and_bad_arguments() -> None:
    assert sorted(set(make_spiral(10, seed=0, signed=True)[1])) == [-1, 1]
    with pytest.raises(ValueError, match=r"n_samples must be >= 2"):
        make_spiral(1)
    with pytest.raises(ValueError, match=r"noise must be finite and >= 0"):
        make_spiral(10, noise=-0.1)
    with pytest.raises(ValueError, match=r"turns must be > 0"):
        make_spiral(10, turns=0.0)
