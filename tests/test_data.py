"""Data sets and helpers: plain lists out, scikit-learn's data underneath, clear errors."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from sklearn import datasets

from microgradnet import data


def _is_float_matrix(X: Any, n_features: int) -> bool:
    return (
        type(X) is list
        and all(type(row) is list and len(row) == n_features for row in X)
        and all(type(x) is float for row in X for x in row)
    )


@pytest.mark.parametrize(
    ("make", "sklearn_make", "kwargs"),
    [
        (data.make_moons, datasets.make_moons, {"n_samples": 50, "noise": 0.1}),
        (data.make_circles, datasets.make_circles, {"n_samples": 40, "noise": 0.05}),
    ],
)
def test_binary_generators_are_sklearns(make: Any, sklearn_make: Any, kwargs: dict) -> None:
    X, y = make(**kwargs, seed=3)
    X_ref, y_ref = sklearn_make(**kwargs, random_state=3)
    assert _is_float_matrix(X, 2)
    assert X_ref.tolist() == X
    assert y == y_ref.tolist() and all(type(label) is int for label in y)
    assert set(y) == {0, 1}
    X_signed, y_signed = make(**kwargs, seed=3, signed=True)
    assert X_signed == X
    assert y_signed == [2 * label - 1 for label in y]


def test_generators_reproducible_with_seed_and_fresh_without() -> None:
    assert data.make_moons(30, noise=0.2, seed=1) == data.make_moons(30, noise=0.2, seed=1)
    assert data.make_moons(30, noise=0.2, seed=1) != data.make_moons(30, noise=0.2, seed=2)
    assert data.make_moons(30, noise=0.2)[0] != data.make_moons(30, noise=0.2)[0]


def test_make_blobs() -> None:
    X, y = data.make_blobs(60, centers=4, n_features=3, cluster_std=0.5, seed=0)
    X_ref, y_ref = datasets.make_blobs(
        n_samples=60, centers=4, n_features=3, cluster_std=0.5, random_state=0
    )
    assert _is_float_matrix(X, 3)
    assert X_ref.tolist() == X and y == y_ref.tolist()
    assert set(y) == {0, 1, 2, 3}


@pytest.mark.parametrize(
    ("name", "truth"),
    [
        ("and", lambda a, b: a and b),
        ("or", lambda a, b: a or b),
        ("nand", lambda a, b: not (a and b)),
        ("nor", lambda a, b: not (a or b)),
        ("xor", lambda a, b: a != b),
    ],
)
def test_logic_gates(name: str, truth: Any) -> None:
    X, y = data.logic_gate(name.upper())
    assert X == [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    assert y == [int(bool(truth(bool(a), bool(b)))) for a, b in X]
    assert data.logic_gate(name, signed=True)[1] == [2 * label - 1 for label in y]


def test_xor_is_the_xor_gate() -> None:
    assert data.xor() == data.logic_gate("xor")
    assert data.xor(signed=True)[1] == [-1, 1, 1, -1]


def test_load_digits_scaled_flat_and_square() -> None:
    X, y = data.load_digits()
    bunch = datasets.load_digits()
    assert len(X) == len(y) == 1797
    assert _is_float_matrix(X, 64)
    assert min(min(row) for row in X) == 0.0 and max(max(row) for row in X) == 1.0
    assert X[5] == (bunch.images[5].reshape(64) / 16.0).tolist()
    assert y == bunch.target.tolist()
    images, labels = data.load_digits(flat=False, n_class=3, scale=False)
    assert len(images[0]) == 8 and len(images[0][0]) == 8
    assert set(labels) == {0, 1, 2}
    assert max(max(max(r) for r in img) for img in images) == 16.0


def test_train_test_split_partitions_and_is_reproducible() -> None:
    X = [[float(i), float(-i)] for i in range(40)]
    y = [i % 2 for i in range(40)]
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.25, seed=0)
    assert len(X_train) == 30 and len(X_test) == 10
    assert sorted(X_train + X_test) == sorted(X)
    for row, label in zip(X_train + X_test, y_train + y_test, strict=True):
        assert label == int(row[0]) % 2  # pairs stay together
    assert data.train_test_split(X, y, test_size=0.25, seed=0)[1] == X_test
    assert data.train_test_split(X, y, test_size=0.25, seed=1)[1] != X_test
    assert len(data.train_test_split(X, y, test_size=7, seed=0)[1]) == 7


def test_stratified_split_keeps_proportions() -> None:
    X = [[float(i)] for i in range(40)]
    y = [0] * 30 + [1] * 10
    _, _, y_train, y_test = data.train_test_split(X, y, test_size=0.2, seed=4, stratify=True)
    assert y_test.count(1) == 2 and y_test.count(0) == 6
    assert y_train.count(1) == 8


def test_standardize_matches_numpy_and_reuses_statistics() -> None:
    X = [[1.0, 10.0, 5.0], [2.0, 20.0, 5.0], [4.0, 60.0, 5.0]]
    scaled, mean, std = data.standardize(X)
    array = np.array(X)
    assert mean == pytest.approx(array.mean(axis=0).tolist())
    assert std == pytest.approx([*array.std(axis=0)[:2].tolist(), 1.0])  # constant column: 1
    column = [row[1] for row in scaled]
    assert sum(column) == pytest.approx(0.0, abs=1e-12)
    assert math.fsum(c * c for c in column) / 3 == pytest.approx(1.0)
    assert [row[2] for row in scaled] == [0.0, 0.0, 0.0]
    again, _, _ = data.standardize([[3.0, 30.0, 5.0]], mean, std)
    assert again[0][0] == pytest.approx((3.0 - mean[0]) / std[0])


def test_one_hot() -> None:
    assert data.one_hot([2, 0], 3) == [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]


def test_signed_labels() -> None:
    assert data.signed_labels([0, 1, 0]) == [-1, 1, -1]
    assert data.signed_labels([-1, 1]) == [-1, 1]


def test_numpy_inputs_accepted() -> None:
    X = np.arange(8.0).reshape(4, 2)
    y = np.array([0, 1, 0, 1])
    X_train, X_test, _, _ = data.train_test_split(X, y, test_size=0.5, seed=0)
    assert _is_float_matrix(X_train + X_test, 2)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: data.make_moons(1), "n_samples must be >= 2, got 1"),
        (lambda: data.make_moons(10.5), "n_samples must be an int"),
        (lambda: data.make_moons(10, noise=-0.1), "noise must be finite and >= 0"),
        (lambda: data.make_moons(10, seed=-1), "seed must be >= 0"),
        (lambda: data.make_moons(10, seed=2**32), r"seed must be <= 2\*\*32 - 1 = 4294967295"),
        (lambda: data.train_test_split([[1.0]] * 4, [0] * 4, seed=10**5000), "an int of 16610"),
        (lambda: data.standardize([[10**400]]), r"X\[0\] must hold finite real numbers"),
        (lambda: data.one_hot([0.0, 1e300], 3), r"labels\[1\] = an int of 997 bits is outside"),
        (lambda: data.signed_labels([10**5000]), r"labels must be in \{0, 1\} or \{-1, 1\}, got"),
        (lambda: data.logic_gate("x" * 10**6), "unknown logic gate 'xxx"),
        (lambda: data.make_circles(10, factor=1.5), r"factor must be in \(0, 1\)"),
        (lambda: data.make_blobs(10, cluster_std=0), "cluster_std must be > 0"),
        (lambda: data.make_blobs(10, centers=0), "centers must be >= 1"),
        (lambda: data.logic_gate("xnor"), "unknown logic gate 'xnor'"),
        (lambda: data.load_digits(n_class=11), "n_class must be <= 10"),
        (lambda: data.train_test_split([[1.0]] * 3, [0, 1]), "X has 3 samples but y has 2"),
        (lambda: data.train_test_split([[1.0]] * 4, [0] * 4, test_size=1.5), "test_size"),
        (lambda: data.train_test_split([[1.0]] * 4, [0] * 4, test_size=4), "test_size"),
        (lambda: data.train_test_split([[1.0], [1.0, 2.0]], [0, 1]), r"X\[1\] has 2 features"),
        (lambda: data.standardize([]), "at least one sample"),
        (lambda: data.standardize([[1.0, "a"]]), r"X\[0\] must hold finite real numbers"),
        (lambda: data.standardize([[1.0, 2.0]], mean=[0.0]), "mean has 1 entries"),
        (lambda: data.standardize([[1.0]], std=[0.0]), "std must be > 0"),
        (lambda: data.one_hot([0, 3], 3), r"labels\[1\] = 3 is outside 0 .. 2"),
        (lambda: data.one_hot([0.5], 3), "must be an integer label"),
        (lambda: data.one_hot([math.inf], 3), r"labels\[0\] must be an integer label, got inf"),
        (lambda: data.one_hot([0, math.nan], 3), r"labels\[1\] must be an integer label"),
        (lambda: data.signed_labels(["1"]), r"y\[0\] must be an integer label, got '1'"),
        (lambda: data.signed_labels([0, 2]), r"labels must be in \{0, 1\} or \{-1, 1\}"),
    ],
)
def test_bad_arguments_name_the_problem(call: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()
