"""`microgradnet demo --out DIR`: train the two-moons MLP and write its pictures.

Trains ``MLP(2, [16, 16, 1])`` with a hinge loss and Adam on scikit-learn's two moons (noise
0.1), holding a quarter of the points out, with a progress bar; prints the final training and
held-out accuracy; writes ``loss.png`` (the training curves), ``decision_boundary.png`` and
``neuron.svg`` (the graph of one neuron's output on one sample, after backward), ``network.svg``
(the trained network, one edge per weight) and ``training.gif`` (the decision boundary and the
loss as training goes, about ten frames) into ``DIR``.
"""

from __future__ import annotations

import argparse
import time
from functools import partial

from .._files import atomic_file
from ._common import (
    MAX_EPOCHS,
    MAX_SEED,
    CommandError,
    OutputFolder,
    Subparsers,
    cannot_write,
    integer_in,
    output_folder,
)

__all__ = ["add_parser", "run"]

N_SAMPLES = 400
LAYERS = [16, 16, 1]
LEARNING_RATE = 0.02
BATCH_SIZE = 16
FILM_FRAMES = 10  # frames after the first, at most
FILM_RESOLUTION = 30


def add_parser(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="train an MLP on two moons and write its loss curve, decision boundary, graphs "
        "and training film",
        description=(
            "Train MLP(2, [16, 16, 1]) on the two-moons data set with a progress bar, print "
            "the training and held-out accuracy, and write loss.png, decision_boundary.png, "
            "neuron.svg, network.svg and training.gif into DIR."
        ),
        epilog="example: microgradnet demo --out demo-output",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory")
    parser.add_argument(
        "--epochs",
        type=integer_in(1, MAX_EPOCHS),
        default=40,
        metavar="N",
        help="training epochs (default 40)",
    )
    parser.add_argument(
        "--seed",
        type=integer_in(0, MAX_SEED),
        default=0,
        metavar="S",
        help="data, init and shuffle seed (default 0)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # The folder is made and checked writable before training; a failure removes what was made.
    with output_folder(args.out) as folder:
        return _train_and_draw(args, folder)


def _train_and_draw(args: argparse.Namespace, folder: OutputFolder) -> int:
    names = ("loss.png", "decision_boundary.png", "neuron.svg", "network.svg", "training.gif")
    loss_path, boundary_path, neuron_path, network_path, film_path = (
        folder.file(name) for name in names
    )
    import matplotlib

    matplotlib.use("Agg")  # files only; no window, whatever the environment
    import matplotlib.pyplot as plt

    from .. import data, losses, viz
    from ..engine import Value
    from ..nn import MLP
    from ..optim import Adam
    from ..train import evaluate, fit

    X, y = data.make_moons(N_SAMPLES, noise=0.1, seed=args.seed, signed=True)
    X_train, X_test, y_train, y_test = data.train_test_split(
        X, y, test_size=0.25, seed=args.seed, stratify=True
    )
    model = MLP(2, LAYERS, seed=args.seed)
    print(
        f"two moons: {len(X_train)} training and {len(X_test)} held-out points; "
        f"MLP(2, {LAYERS}) with {model.num_parameters()} parameters; hinge loss, "
        f"Adam(lr={LEARNING_RATE}), batches of {BATCH_SIZE}, {args.epochs} epochs"
    )
    film = viz.TrainingFilm(
        X_train, y_train, every=max(1, args.epochs // FILM_FRAMES), resolution=FILM_RESOLUTION
    )
    start = time.perf_counter()
    history = fit(
        model,
        X_train,
        y_train,
        loss=losses.hinge,
        optimizer=Adam(model.parameters(), lr=LEARNING_RATE),
        epochs=args.epochs,
        batch_size=BATCH_SIZE,
        seed=args.seed,
        validation_data=(X_test, y_test),
        progress=not args.no_progress,
        callbacks=[film],
    )
    seconds = time.perf_counter() - start
    train_accuracy = evaluate(model, X_train, y_train)["accuracy"]
    test_accuracy = evaluate(model, X_test, y_test)["accuracy"]
    print(f"trained in {seconds:.1f} s")
    print(f"train accuracy: {train_accuracy:.1%}")
    print(f"held-out accuracy: {test_accuracy:.1%}")

    for path, draw in (
        (loss_path, partial(viz.plot_history, history)),
        (boundary_path, partial(viz.plot_decision_boundary, model, X, y)),
    ):
        figure = draw()
        try:
            with atomic_file(path) as file:
                figure.savefig(file, format="png", dpi=100)
        except OSError as error:
            raise cannot_write(error) from None
        finally:
            plt.close(figure)
        folder.wrote(path)

    # The first hidden neuron active on the first held-out sample, so gradients flow through it.
    sample = X_test[0]
    neurons = model.layers[0].neurons
    neuron = next((n for n in neurons if n(sample).data > 0.0), neurons[0])
    for i, w in enumerate(neuron.w):
        w.label = f"w{i}"
    neuron.b.label = "b"
    output = neuron([Value(x, label=f"x{i}") for i, x in enumerate(sample)])
    output.label = "out"
    output.backward()
    try:
        viz.render(output, neuron_path)
    except RuntimeError as error:
        raise CommandError(str(error).splitlines()[0]) from None
    except OSError as error:
        raise cannot_write(error) from None
    folder.wrote(neuron_path)
    try:
        viz.render(viz.draw_network(model), network_path)
        folder.wrote(network_path)
        film.save(film_path)
        folder.wrote(film_path)
    except RuntimeError as error:
        raise CommandError(str(error).splitlines()[0]) from None
    except OSError as error:
        raise cannot_write(error) from None
    print("wrote " + ", ".join(str(folder.path / name) for name in names))
    return 0
