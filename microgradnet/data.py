"""Small data sets and data helpers, as plain Python lists.

Samples ``X`` are lists of lists of floats, labels ``y`` are lists of ints. The generators wrap
scikit-learn's (``make_moons``, ``make_circles``, ``make_blobs``, the bundled 8x8 digits), so no
download is ever needed. Binary generators give labels in {0, 1}; pass ``signed=True`` (or call
:func:`signed_labels`) for {-1, +1}, the labels a hinge loss expects.

Example:
    >>> X, y = make_moons(100, noise=0.1, seed=0)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, seed=0)
    >>> len(X_train), len(X_test), sorted(set(y))
    (80, 20, [0, 1])
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn import datasets as _datasets
from sklearn import model_selection as _model_selection

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
    "one_hot",
    "signed_labels",
    "standardize",
    "train_test_split",
    "xor",
]

Matrix = list[list[float]]

GATES: dict[str, tuple[int, int, int, int]] = {
    # outputs for the inputs (0, 0), (0, 1), (1, 0), (1, 1)
    "and": (0, 0, 0, 1),
    "or": (0, 1, 1, 1),
    "nand": (1, 1, 1, 0),
    "nor": (1, 0, 0, 0),
    "xor": (0, 1, 1, 0),
}


# ----- argument checks -----
def _int(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


def _non_negative(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or number < 0.0:
        raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
    return number


def _seed(seed: object) -> int | None:
    if seed is None:
        return None
    return _int(seed, "seed", 0)


def _matrix(X: object, name: str = "X") -> Matrix:
    """``X`` as a list of equally long lists of finite floats."""
    if isinstance(X, np.ndarray):
        X = X.tolist()
    if isinstance(X, (str, bytes)) or not isinstance(X, Sequence):
        raise ValueError(f"{name} must be a list of samples, got {type(X).__name__}")
    rows: Matrix = []
    for i, row in enumerate(X):
        if isinstance(row, (str, bytes)) or not isinstance(row, Sequence):
            raise ValueError(f"{name}[{i}] must be a list of numbers, got {type(row).__name__}")
        values = []
        for x in row:
            if isinstance(x, bool) or not isinstance(x, numbers.Real) or not math.isfinite(x):
                raise ValueError(f"{name}[{i}] must hold finite real numbers, got {x!r}")
            values.append(float(x))
        if rows and len(values) != len(rows[0]):
            raise ValueError(
                f"{name}[{i}] has {len(values)} features but {name}[0] has {len(rows[0])}"
            )
        rows.append(values)
    return rows


def _labels(y: object, name: str = "y") -> list[int]:
    if isinstance(y, np.ndarray):
        y = y.tolist()
    if isinstance(y, (str, bytes)) or not isinstance(y, Sequence):
        raise ValueError(f"{name} must be a list of integer labels, got {type(y).__name__}")
    labels = []
    for i, label in enumerate(y):
        if isinstance(label, bool) or not isinstance(label, numbers.Real) or label != int(label):
            raise ValueError(f"{name}[{i}] must be an integer label, got {label!r}")
        labels.append(int(label))
    return labels


def _as_lists(X: np.ndarray, y: np.ndarray, signed: bool) -> tuple[Matrix, list[int]]:
    labels = [int(label) for label in y]
    return X.astype(float).tolist(), signed_labels(labels) if signed else labels


# ----- generated data sets -----
def make_moons(
    n_samples: int = 100, noise: float = 0.0, seed: int | None = None, *, signed: bool = False
) -> tuple[Matrix, list[int]]:
    """Two interleaving half circles (scikit-learn's ``make_moons``).

    Args:
        n_samples: number of points (>= 2), split evenly between the moons.
        noise: standard deviation of the Gaussian noise added to the points (>= 0).
        seed: makes the data reproducible; ``None`` draws fresh data.
        signed: labels in {-1, +1} instead of {0, 1}.

    Returns:
        ``(X, y)``: a list of ``[x0, x1]`` points and their labels.

    Raises:
        ValueError: an argument is out of range (named in the message).

    Example:
        >>> X, y = make_moons(4, seed=0, signed=True)
        >>> sorted(y)
        [-1, -1, 1, 1]
    """
    n = _int(n_samples, "n_samples", 2)
    X, y = _datasets.make_moons(
        n_samples=n, noise=_non_negative(noise, "noise"), random_state=_seed(seed)
    )
    return _as_lists(X, y, signed)


def make_circles(
    n_samples: int = 100,
    noise: float = 0.0,
    factor: float = 0.8,
    seed: int | None = None,
    *,
    signed: bool = False,
) -> tuple[Matrix, list[int]]:
    """A small circle inside a large one (scikit-learn's ``make_circles``); label 1 is inside.

    Args:
        n_samples: number of points (>= 2).
        noise: standard deviation of the Gaussian noise (>= 0).
        factor: radius of the inner circle relative to the outer one, in (0, 1).
        seed: makes the data reproducible.
        signed: labels in {-1, +1} instead of {0, 1}.

    Returns:
        ``(X, y)`` as lists.

    Raises:
        ValueError: an argument is out of range (named in the message).
    """
    n = _int(n_samples, "n_samples", 2)
    ratio = _non_negative(factor, "factor")
    if not 0.0 < ratio < 1.0:
        raise ValueError(f"factor must be in (0, 1), got {factor!r}")
    X, y = _datasets.make_circles(
        n_samples=n, noise=_non_negative(noise, "noise"), factor=ratio, random_state=_seed(seed)
    )
    return _as_lists(X, y, signed)


def make_blobs(
    n_samples: int = 100,
    centers: int = 3,
    n_features: int = 2,
    cluster_std: float = 1.0,
    seed: int | None = None,
) -> tuple[Matrix, list[int]]:
    """Gaussian blobs, one class per blob (scikit-learn's ``make_blobs``).

    Args:
        n_samples: number of points (>= 1).
        centers: number of blobs, i.e. classes (>= 1).
        n_features: dimension of each point (>= 1).
        cluster_std: standard deviation of each blob (> 0).
        seed: makes the data reproducible.

    Returns:
        ``(X, y)`` with labels ``0 .. centers - 1``.

    Raises:
        ValueError: an argument is out of range (named in the message).
    """
    std = _non_negative(cluster_std, "cluster_std")
    if std == 0.0:
        raise ValueError(f"cluster_std must be > 0, got {cluster_std!r}")
    X, y = _datasets.make_blobs(
        n_samples=_int(n_samples, "n_samples", 1),
        centers=_int(centers, "centers", 1),
        n_features=_int(n_features, "n_features", 1),
        cluster_std=std,
        random_state=_seed(seed),
    )
    return _as_lists(X, y, signed=False)


def logic_gate(name: str, *, signed: bool = False) -> tuple[Matrix, list[int]]:
    """The truth table of a two-input logic gate.

    Args:
        name: one of ``"and"``, ``"or"``, ``"nand"``, ``"nor"``, ``"xor"`` (any case).
        signed: labels in {-1, +1} instead of {0, 1}.

    Returns:
        ``(X, y)``: the four inputs ``[0, 0], [0, 1], [1, 0], [1, 1]`` and the gate's outputs.

    Raises:
        ValueError: unknown gate name.

    Example:
        >>> logic_gate("nand")[1]
        [1, 1, 1, 0]
    """
    key = name.lower() if isinstance(name, str) else name
    if key not in GATES:
        raise ValueError(f"unknown logic gate {name!r}; expected one of {', '.join(GATES)}")
    X = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    y = list(GATES[key])
    return X, signed_labels(y) if signed else y


def xor(*, signed: bool = False) -> tuple[Matrix, list[int]]:
    """The XOR truth table, the classic problem a single neuron cannot learn.

    Example:
        >>> xor()
        ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 1, 0])
    """
    return logic_gate("xor", signed=signed)


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
    classes = _int(n_class, "n_class", 1)
    if classes > 10:
        raise ValueError(f"n_class must be <= 10, got {n_class!r}")
    bunch = _datasets.load_digits(n_class=classes)
    pixels = bunch.images / 16.0 if scale else bunch.images.astype(float)
    shape = (1, 8, 8) if images else (64,) if flat else (8, 8)
    X = pixels.reshape(len(pixels), *shape)
    return X.tolist(), [int(label) for label in bunch.target]


DIGITS_TEST_SIZE = 0.25
DIGITS_SPLIT_SEED = 0


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
    if images:
        X_train = [_as_image(row) for row in X_train]
        X_test = [_as_image(row) for row in X_test]
    return X_train, X_test, y_train, y_test


def _as_image(row: list[float]) -> list[list[list[float]]]:
    return [[row[i : i + 8] for i in range(0, 64, 8)]]


# ----- helpers -----
def signed_labels(y: Sequence[int]) -> list[int]:
    """Map labels {0, 1} to {-1, +1} (labels already in {-1, +1} pass unchanged).

    Raises:
        ValueError: a label outside {-1, 0, 1}, or both 0 and -1 present.

    Example:
        >>> signed_labels([0, 1, 1])
        [-1, 1, 1]
    """
    labels = _labels(y)
    present = set(labels)
    if not present <= {-1, 0, 1} or {-1, 0} <= present:
        raise ValueError(f"labels must be in {{0, 1}} or {{-1, 1}}, got {sorted(present)}")
    return [1 if label == 1 else -1 for label in labels]


def train_test_split(
    X: Sequence[Sequence[float]],
    y: Sequence[Any],
    test_size: float = 0.25,
    seed: int | None = None,
    stratify: bool = False,
) -> tuple[Matrix, Matrix, list[Any], list[Any]]:
    """Shuffle and split samples and labels into a training and a test part.

    Args:
        X: the samples.
        y: one label (or target) per sample.
        test_size: the fraction of samples held out, in (0, 1), or their number (an int).
        seed: makes the split reproducible.
        stratify: keep the class proportions of ``y`` in both parts.

    Returns:
        ``(X_train, X_test, y_train, y_test)``, in scikit-learn's order.

    Raises:
        ValueError: ``X`` and ``y`` differ in length, or ``test_size`` is out of range.
    """
    rows = _matrix(X)
    targets = y.tolist() if isinstance(y, np.ndarray) else list(y)
    if len(rows) != len(targets):
        raise ValueError(f"X has {len(rows)} samples but y has {len(targets)}")
    if isinstance(test_size, bool) or not isinstance(test_size, numbers.Real):
        raise ValueError(f"test_size must be a fraction or a count, got {test_size!r}")
    if isinstance(test_size, numbers.Integral):
        if not 1 <= test_size < len(rows):
            raise ValueError(f"test_size must be in [1, {len(rows) - 1}], got {test_size!r}")
    elif not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be in (0, 1), got {test_size!r}")
    index = list(range(len(rows)))
    train, test = _model_selection.train_test_split(
        index,
        test_size=test_size,
        random_state=_seed(seed),
        stratify=_labels(targets) if stratify else None,
    )
    return (
        [rows[i] for i in train],
        [rows[i] for i in test],
        [targets[i] for i in train],
        [targets[i] for i in test],
    )


def standardize(
    X: Sequence[Sequence[float]],
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
) -> tuple[Matrix, list[float], list[float]]:
    """Scale each feature to zero mean and unit variance.

    Compute ``mean`` and ``std`` on the training data, then pass them to standardise test data
    the same way. A constant feature gets ``std`` 1.0, so it maps to 0 instead of dividing by 0.

    Args:
        X: the samples.
        mean: per-feature means to use; computed from ``X`` if omitted.
        std: per-feature standard deviations to use; computed from ``X`` if omitted.

    Returns:
        ``(X_scaled, mean, std)``.

    Raises:
        ValueError: ``X`` is empty or ragged, or ``mean``/``std`` have the wrong length or a
            non-positive ``std``.

    Example:
        >>> standardize([[1.0], [3.0]])
        ([[-1.0], [1.0]], [2.0], [1.0])
    """
    rows = _matrix(X)
    if not rows:
        raise ValueError("X must hold at least one sample")
    array = np.asarray(rows, dtype=float)
    n_features = array.shape[1]
    mu = array.mean(axis=0) if mean is None else np.asarray(_matrix([mean], "mean")[0])
    if std is None:
        sigma = array.std(axis=0)
        sigma[sigma == 0.0] = 1.0
    else:
        sigma = np.asarray(_matrix([std], "std")[0])
        if (sigma <= 0.0).any():
            raise ValueError(f"std must be > 0 for every feature, got {list(std)}")
    for name, values in (("mean", mu), ("std", sigma)):
        if len(values) != n_features:
            raise ValueError(f"{name} has {len(values)} entries but X has {n_features} features")
    return ((array - mu) / sigma).tolist(), mu.tolist(), sigma.tolist()


def one_hot(labels: Sequence[int], n_classes: int) -> Matrix:
    """Each label as a list of ``n_classes`` floats, 1.0 at the label's index.

    Raises:
        ValueError: a label is outside ``0 .. n_classes - 1``.

    Example:
        >>> one_hot([0, 2], 3)
        [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    classes = _int(n_classes, "n_classes", 1)
    rows = []
    for i, label in enumerate(_labels(labels, "labels")):
        if not 0 <= label < classes:
            raise ValueError(f"labels[{i}] = {label} is outside 0 .. {classes - 1}")
        row = [0.0] * classes
        row[label] = 1.0
        rows.append(row)
    return rows
