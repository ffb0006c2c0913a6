"""scikit-learn's bundled 8x8 handwritten digits, and the fixed split models are compared on."""

from __future__ import annotations

from typing import Any

from sklearn import datasets as _datasets

from ._checks import integer, shown
from ._preprocessing import train_test_split

__all__ = ["DIGITS_SPLIT_SEED", "DIGITS_TEST_SIZE", "load_digits", "load_digits_split"]

DIGITS_TEST_SIZE = 0.25  # the held-out fraction of the fixed split
DIGITS_SPLIT_SEED = 0  # the seed that chose it, once for all


def load_digits(
    *, flat: bool = True, n_class: int = 10, scale: bool = True, images: bool = False
) -> tuple[list[Any], list[int]]:
    """scikit-learn's bundled 8x8 handwritten digits (1797 images, no download).

    Args:
        flat: each image as 64 floats; ``False`` gives 8 rows of 8.
        n_class: keep only the digits ``0 .. n_class - 1`` (1 to 10).
        scale: pixel values scaled from 0..16 to [0, 1].
        images: each image as one channel ``[1][8][8]``, the input of ``nn.Conv2d``
            (``flat`` is then ignored).

    Returns:
        ``(X, y)``: the images and their digits.

    Raises:
        ValueError: ``n_class`` is out of range.

    Example:
        >>> X, y = load_digits(images=True)
        >>> len(X), len(X[0]), len(X[0][0]), len(X[0][0][0])
        (1797, 1, 8, 8)
    """
    classes = integer(n_class, "n_class", 1)
    if classes > 10:
        raise ValueError(f"n_class must be <= 10, got {shown(n_class)}")
    bunch = _datasets.load_digits(n_class=classes)
    pixels = bunch.images / 16.0 if scale else bunch.images.astype(float)
    shape = (1, 8, 8) if images else (64,) if flat else (8, 8)
    X = pixels.reshape(len(pixels), *shape)
    return X.tolist(), [int(label) for label in bunch.target]


def load_digits_split(
    *, images: bool = False, n_class: int = 10, scale: bool = True
) -> tuple[list[Any], list[Any], list[int], list[int]]:
    """The digits with a fixed, stratified train/test split, the same on every call.

    A quarter of the images (450 of 1797) is held out, chosen once with
    :data:`DIGITS_SPLIT_SEED`, so results of different models and runs are comparable.

    Args:
        images: samples as ``[1][8][8]`` images instead of 64 floats.
        n_class: keep only the digits ``0 .. n_class - 1`` (1 to 10).
        scale: pixel values scaled from 0..16 to [0, 1].

    Returns:
        ``(X_train, X_test, y_train, y_test)``, in scikit-learn's order.

    Raises:
        ValueError: ``n_class`` is out of range.

    Example:
        >>> X_train, X_test, y_train, y_test = load_digits_split()
        >>> len(X_train), len(X_test)
        (1347, 450)
    """
    X, y = load_digits(n_class=n_class, scale=scale)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=DIGITS_TEST_SIZE, seed=DIGITS_SPLIT_SEED, stratify=True
    )
    if not images:
        return X_train, X_test, y_train, y_test
    return [_as_image(row) for row in X_train], [_as_image(row) for row in X_test], y_train, y_test


def _as_image(row: list[float]) -> list[list[list[float]]]:
    return [[row[i : i + 8] for i in range(0, 64, 8)]]
