"""fit's counts: a number too large to count with is a ValueError naming the argument, in a
message of bounded length, never an OverflowError from deep inside the loop."""

from __future__ import annotations

import sys

import pytest

from microgradnet import losses
from microgradnet.nn import MLP
from microgradnet.optim import SGD
from microgradnet.train import EarlyStopping, fit

X = [[0.0, 1.0], [1.0, 0.0]]
Y = [1.0, 0.0]


def _fit(**options: object) -> None:
    model = MLP(2, [2, 1], seed=0)
    arguments: dict[str, object] = {
        "loss": losses.mse,
        "optimizer": SGD(model.parameters(), lr=0.1),
        "epochs": 1,
        "progress": False,
    }
    fit(model, X, Y, **{**arguments, **options})  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["epochs", "batch_size"])
@pytest.mark.parametrize(
    "value", [sys.maxsize + 1, 10**30, 10**5000], ids=["maxsize+1", "10**30", "10**5000"]
)
def test_a_count_too_large_is_a_short_value_error_naming_it(name: str, value: int) -> None:
    with pytest.raises(ValueError, match=f"^{name} must be at most") as info:
        _fit(**{name: value})
    assert len(str(info.value)) < 120


def test_patience_too_large_is_a_value_error_naming_it() -> None:
    with pytest.raises(ValueError, match=r"^patience must be at most"):
        EarlyStopping(patience=10**30)


def test_the_largest_count_is_accepted() -> None:
    _fit(batch_size=sys.maxsize)  # one batch holding every sample
