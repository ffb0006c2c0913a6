"""`microgradnet train --dataset digits --model {mlp,cnn}`: train a classifier, save it.

Trains on scikit-learn's 8x8 digits with the fixed train/test split of
:func:`microgradnet.data.load_digits_split` (1347 training and 450 held-out images), with
cross-entropy, Adam and a cosine learning-rate schedule, showing a progress bar. Prints the
held-out accuracy and the training time, and saves the parameters as JSON
(``Module.save``) to ``DIR/digits-{mlp,cnn}.json``. The two models:

* ``mlp``: ``MLP(64, [32, 10])``, ReLU hidden layer, 2410 parameters;
* ``cnn``: ``Conv2d(1, 8, 3)``, ReLU, ``MaxPool2d(2)``, ``Flatten()``, ``Layer(72, 10)``
  (linear), 810 parameters.

To use a saved model, build it the same way and load the file::

    model = build_model("cnn")
    model.load("train-output/digits-cnn.json")
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..nn import MLP, Conv2d, Flatten, Layer, MaxPool2d, Module, ReLU, Sequential
from ._common import MAX_EPOCHS, MAX_SEED, Subparsers, cannot_write, integer_in, output_folder

if TYPE_CHECKING:
    from ..train import History

__all__ = ["RECIPES", "Recipe", "add_parser", "build_model", "run", "train_digits"]

DATASETS = ("digits",)


@dataclass(frozen=True)
class Recipe:
    """How a model is trained by default."""

    epochs: int
    lr: float
    batch_size: int
    images: bool  # samples as [1][8][8] images rather than 64 floats


RECIPES: dict[str, Recipe] = {
    "mlp": Recipe(epochs=20, lr=0.01, batch_size=32, images=False),
    "cnn": Recipe(epochs=15, lr=0.01, batch_size=32, images=True),
}


def build_model(name: str, seed: int = 0) -> Module:
    """A fresh digits classifier: ``"mlp"`` or ``"cnn"`` (see the module docstring).

    Raises:
        ValueError: an unknown model name.
    """
    if name == "mlp":
        return MLP(64, [32, 10], seed=seed)
    if name == "cnn":
        return Sequential(
            Conv2d(1, 8, 3, seed=seed),
            ReLU(),
            MaxPool2d(2),
            Flatten(),
            Layer(8 * 3 * 3, 10, activation="linear", seed=seed + 1),
        )
    raise ValueError(f"unknown model {name!r}; expected one of {', '.join(RECIPES)}")


@dataclass
class TrainResult:
    """A trained model, its held-out accuracy and the training time (not evaluation)."""

    model: Module
    accuracy: float
    correct: int
    n_test: int
    n_train: int
    seconds: float
    history: History


def train_digits(
    name: str,
    *,
    epochs: int | None = None,
    seed: int = 0,
    limit: int | None = None,
    lr: float | None = None,
    batch_size: int | None = None,
    progress: bool = True,
    callbacks: Sequence[Any] = (),
    compiled: bool = False,
) -> TrainResult:
    """Train the ``name`` model on the digits' fixed split; returns it and its held-out accuracy.

    Args:
        name: ``"mlp"`` or ``"cnn"``.
        epochs, lr, batch_size: override the model's :data:`RECIPES` entry.
        seed: initialisation and shuffling seed (the split itself is fixed).
        limit: train on the first ``limit`` training images only (a quick try).
        progress: show a progress bar.
        callbacks: passed to :func:`microgradnet.train.fit`.
        compiled: train with ``fit(..., compiled=True)``.
    """
    from .. import data, losses
    from ..optim import Adam
    from ..schedulers import CosineAnnealingLR
    from ..train import evaluate, fit

    recipe = RECIPES[name]
    n_epochs = recipe.epochs if epochs is None else epochs
    X_train, X_test, y_train, y_test = data.load_digits_split(images=recipe.images)
    if limit is not None:
        X_train, y_train = X_train[:limit], y_train[:limit]
    model = build_model(name, seed)
    optimizer = Adam(model.parameters(), lr=recipe.lr if lr is None else lr)
    start = time.perf_counter()
    history = fit(
        model,
        X_train,
        y_train,
        loss=losses.cross_entropy,
        optimizer=optimizer,
        epochs=n_epochs,
        batch_size=recipe.batch_size if batch_size is None else batch_size,
        seed=seed,
        scheduler=CosineAnnealingLR(optimizer, T_max=max(n_epochs, 1)),
        progress=progress,
        callbacks=callbacks,
        compiled=compiled,
    )
    seconds = time.perf_counter() - start
    accuracy = evaluate(model, X_test, y_test)["accuracy"]
    return TrainResult(
        model=model,
        accuracy=accuracy,
        correct=round(accuracy * len(y_test)),
        n_test=len(y_test),
        n_train=len(y_train),
        seconds=seconds,
        history=history,
    )


# ----- the command -----
def add_parser(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train an MLP or a small CNN on the 8x8 digits and save it",
        description=(
            "Train a classifier on scikit-learn's 8x8 digits (fixed split: 1347 training and "
            "450 held-out images) with a progress bar, print the held-out accuracy and save "
            "the model as JSON to DIR/digits-MODEL.json."
        ),
        epilog="example: microgradnet train --dataset digits --model cnn --out train-output",
    )
    parser.add_argument(
        "--dataset", choices=DATASETS, default="digits", help="data set (default digits)"
    )
    parser.add_argument("--model", choices=tuple(RECIPES), required=True, help="model to train")
    parser.add_argument(
        "--epochs",
        type=integer_in(1, MAX_EPOCHS),
        metavar="N",
        help=", ".join(f"{k}: {r.epochs}" for k, r in RECIPES.items()).join(
            ("training epochs (default ", ")")
        ),
    )
    parser.add_argument(
        "--seed",
        type=integer_in(0, MAX_SEED),
        default=0,
        metavar="S",
        help="init and shuffle seed (default 0)",
    )
    parser.add_argument(
        "--out", default="train-output", metavar="DIR", help="output directory (train-output)"
    )
    parser.add_argument(
        "--limit",
        type=integer_in(1),
        metavar="N",
        help="train on the first N training images only (a quick try)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # The folder is made and checked writable before training; a failure removes what was made.
    with output_folder(args.out) as folder:
        return _train_and_save(args, folder.file(f"digits-{args.model}.json"), folder.wrote)


def _train_and_save(args: argparse.Namespace, path: Path, wrote: Callable[[Path], None]) -> int:
    from .. import data

    recipe = RECIPES[args.model]
    epochs = recipe.epochs if args.epochs is None else args.epochs
    model = build_model(args.model, args.seed)
    X_train, X_test, _, _ = data.load_digits_split()
    n_train = f"{len(X_train)}" if args.limit is None else f"{min(args.limit, len(X_train))}"
    print(
        f"digits: {n_train} training and {len(X_test)} held-out images; {args.model}: "
        f"{model.num_parameters()} parameters; cross-entropy, Adam(lr={recipe.lr}) with a "
        f"cosine schedule, batches of {recipe.batch_size}, "
        f"{epochs} epoch{'s' if epochs != 1 else ''}",
        flush=True,
    )
    result = train_digits(
        args.model,
        epochs=epochs,
        seed=args.seed,
        limit=args.limit,
        progress=not args.no_progress,
    )
    print(f"trained in {result.seconds:.1f} s")
    print(f"final training loss: {result.history['loss'][-1]:.4f}")
    print(f"held-out accuracy: {result.accuracy:.1%} ({result.correct}/{result.n_test} images)")
    try:
        result.model.save(path)
    except OSError as error:
        raise cannot_write(error) from None
    wrote(path)
    print(f"wrote {path}")
    return 0
