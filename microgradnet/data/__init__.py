"""Small data sets and data helpers, as plain Python lists.

Samples ``X`` are lists of lists of floats, labels ``y`` are lists of ints. The generators wrap
scikit-learn's (``make_moons``, ``make_circles``, ``make_blobs``, the bundled 8x8 digits) or are
written here (``make_spiral``, ``xor``), so no download is ever needed. Binary generators give
labels in {0, 1}; pass ``signed=True`` (or call :func:`signed_labels`) for {-1, +1}, the labels a
hinge loss expects.

Example:
    >>> X, y = make_moons(100, noise=0.1, seed=0)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, seed=0)
    >>> len(X_train), len(X_test), sorted(set(y))
    (80, 20, [0, 1])
"""

from __future__ import annotations

from ._digits import DIGITS_SPLIT_SEED, DIGITS_TEST_SIZE, load_digits, load_digits_split
from ._generated import GATES, logic_gate, make_blobs, make_circles, make_moons, xor
from ._preprocessing import one_hot, signed_labels, standardize, train_test_split
from ._spiral import make_spiral

__all__ = [
    "DIGITS_SPLIT_SEED",
    "DIGITS_TEST_SIZE",
    "GATES",
    "load_digits",
    "load_digits_split",
    "logic_gate",
    "make_blobs",
    "make_circles",
    "make_moons",
    "make_spiral",
    "one_hot",
    "signed_labels",
    "standardize",
    "train_test_split",
    "xor",
]
