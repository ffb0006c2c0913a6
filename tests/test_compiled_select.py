"""Compiled mode's relu runs the dual vocabulary's ``where`` with +0.0 on one side, which picks
bits with a single AND (Note [a zero branch] in ``microgradnet/_select.py``): it must equal
``np.where`` to the last bit, NaN payloads, -0.0 and infinities included."""

from __future__ import annotations

import numpy as np
import pytest

from microgradnet.ops import where

SPECIAL = np.array([np.nan, -np.nan, 0.0, -0.0, np.inf, -np.inf, 5e-324, -1.7976931348623157e308])


@pytest.mark.parametrize("seed", [0, 1])
def test_a_zero_branch_is_numpys_to_the_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    size = 3 * 8192
    x = rng.standard_normal((3, 8192))
    x.ravel()[: len(SPECIAL)] = SPECIAL
    condition = rng.random((3, 8192)) < 0.5
    row = rng.standard_normal(8192)  # a branch broadcast along the condition's first axis
    pairs = [(0.0, x), (x, 0.0), (0.0, 1.0), (1.0, 0.0), (0.0, -0.0), (-0.0, 0.0), (0.0, row)]
    pairs += [(0.0, np.float64(np.nan)), (np.float64(np.inf), 0.0), (0.0, 0.0)]
    for if_true, if_false in pairs:
        found = where(condition, if_true, if_false)
        expected = np.where(condition, if_true, if_false)
        assert found.dtype == expected.dtype and found.shape == expected.shape == (3, 8192)
        assert np.array_equal(found.view(np.int64), expected.view(np.int64)), (if_true, if_false)
    assert x.size == size


def test_relu_and_its_derivative_on_a_layer_are_numpys() -> None:
    x = np.random.default_rng(2).standard_normal((64, 512))
    x[0, :8] = SPECIAL
    relu = where(x < 0.0, 0.0, x)
    derivative = where(x <= 0.0, 0.0, 1.0)
    assert np.array_equal(relu.view(np.int64), np.where(x < 0.0, 0.0, x).view(np.int64))
    assert np.array_equal(derivative, np.where(x <= 0.0, 0.0, 1.0))


@pytest.mark.parametrize("shape", [(), (1,), (10, 1), (3, 7), (128, 512)])
def test_a_select_of_ones_and_zeros_is_numpys_at_every_size(shape: tuple[int, ...]) -> None:
    # Note [ones and zeros]: the condition itself as floats, -0.0 branches kept apart
    x = np.random.default_rng(3).standard_normal(shape)
    x.ravel()[: min(x.size, len(SPECIAL))] = SPECIAL[: x.size]
    for condition in (np.asarray(x <= 0.0), np.asarray(x > 0.0)):
        for if_true, if_false in [(0.0, 1.0), (1.0, 0.0), (-0.0, 1.0), (1.0, -0.0), (2.0, 0.0)]:
            found = where(condition, if_true, if_false)
            expected = np.where(condition, if_true, if_false)
            assert found.dtype == expected.dtype and found.shape == expected.shape
            assert np.array_equal(found.view(np.int64), expected.view(np.int64))
