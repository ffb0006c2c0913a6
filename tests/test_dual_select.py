"""The dual vocabulary's ``where`` on large float arrays picks bits instead of branching
(Note [a select without branches] in ``microgradnet/_dual.py``): it must equal ``np.where`` to
the last bit, NaN payloads, -0.0 and infinities included."""

from __future__ import annotations

import numpy as np
import pytest

from microgradnet.ops import where

SPECIAL = np.array([np.nan, -np.nan, 0.0, -0.0, np.inf, -np.inf, 5e-324, -1.7976931348623157e308])


@pytest.mark.parametrize("size", [10, 8191, 8192, 50_000])
@pytest.mark.parametrize("seed", [0, 1])
def test_where_on_arrays_is_numpys_to_the_bit(size: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    t, f = rng.standard_normal(size), rng.standard_normal(size)
    t[: len(SPECIAL)], f[-len(SPECIAL) :] = SPECIAL, SPECIAL
    condition = rng.random(size) < 0.5
    for if_true, if_false in ((t, f), (t, 0.0), (-0.0, f), (t, np.float64(np.nan))):
        found = where(condition, if_true, if_false)
        expected = np.where(condition, if_true, if_false)
        assert found.dtype == expected.dtype and found.shape == expected.shape
        assert np.array_equal(found.view(np.int64), expected.view(np.int64))


def test_where_keeps_numpys_result_for_other_types_and_shapes() -> None:
    condition = np.arange(10_000) % 3 == 0
    ints = where(condition, np.arange(10_000), -1)
    assert ints.dtype == np.where(condition, np.arange(10_000), -1).dtype
    wide = where(condition[None, :], np.ones((2, 10_000)), 0.0)  # broadcast past the condition
    assert np.array_equal(wide, np.where(condition[None, :], np.ones((2, 10_000)), 0.0))
