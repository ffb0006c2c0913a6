"""The 8x8 digits with the engine alone: an MLP and a small CNN, accuracy and training time.

Both models train on the fixed split of ``data.load_digits_split`` (1347 training and 450
held-out images) with the recipes of ``microgradnet train`` (cross-entropy, Adam, cosine
schedule, batches of 32):

* ``mlp``: ``MLP(64, [32, 10])``;
* ``cnn``: ``Conv2d(1, 8, 3)``, ReLU, ``MaxPool2d(2)``, ``Flatten()``, ``Layer(72, 10)``.

Reported per model: held-out accuracy, training time (evaluation excluded), and the size of one
sample's graph (model and loss): all its nodes, and the op nodes among them (the rest are
leaves: parameters, pixels, constants). The machine's load average is printed too, since
timings depend on it.

With ``--compiled`` both train with ``fit(..., compiled=True)`` (the same recipe, the step run
as NumPy over the batch), and the CNN's training time target is 10 s.

Usage:
    python benchmarks/bench_digits.py [--model mlp|cnn|both] [--seed 0] [--compiled]

Exit status 1 if a model misses a target: held-out accuracy >= 96%, training < 5 minutes (the
CNN compiled: < 10 s).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from microgradnet import data, losses
from microgradnet.cli._train import RECIPES, build_model, train_digits
from microgradnet.engine import backward_order

TARGET_ACCURACY = 0.96
TARGET_SECONDS = 300.0
TARGET_SECONDS_COMPILED = {"cnn": 10.0}


def graph_size(name: str) -> tuple[int, int]:
    """(all nodes, op nodes) of one training sample's graph: model output and loss."""
    X_train, _, y_train, _ = data.load_digits_split(images=RECIPES[name].images)
    loss = losses.cross_entropy(build_model(name)(X_train[0]), y_train[0])
    nodes = backward_order(loss)
    return len(nodes), sum(1 for v in nodes if v.op)


def load() -> str:
    try:
        return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover - not on every platform
        return "load average unknown"


def bench(name: str, seed: int, compiled: bool = False) -> bool:
    recipe = RECIPES[name]
    model = build_model(name, seed)
    total, op_nodes = graph_size(name)
    print(f"\n{name}: {model!r}".replace("\n", "\n    "))
    print(
        f"  {model.num_parameters()} parameters; {recipe.epochs} epochs, Adam(lr={recipe.lr}), "
        f"cosine schedule, batches of {recipe.batch_size}; {load()}"
    )

    def report(epoch: int, logs: Any) -> None:
        print(
            f"  epoch {epoch + 1:2d}: loss {logs['loss']:.4f}, "
            f"train accuracy {logs['accuracy']:.1%}",
            flush=True,
        )

    if compiled:
        result = train_digits(name, seed=seed, progress=False, callbacks=[report], compiled=True)
        target_seconds = TARGET_SECONDS_COMPILED.get(name, TARGET_SECONDS)
    else:
        result = train_digits(name, seed=seed, progress=False, callbacks=[report])
        target_seconds = TARGET_SECONDS
    ok_accuracy = result.accuracy >= TARGET_ACCURACY
    ok_time = result.seconds < target_seconds
    print(
        f"  held-out accuracy {result.accuracy:.2%} ({result.correct}/{result.n_test})"
        f" [target >= {TARGET_ACCURACY:.0%}: {'ok' if ok_accuracy else 'MISSED'}]"
    )
    print(
        f"  training time {result.seconds:.1f} s for {result.n_train} images"
        f"{' (compiled)' if compiled else ''}"
        f" [target < {target_seconds:.0f} s: {'ok' if ok_time else 'MISSED'}]; {load()}"
    )
    print(f"  nodes per sample: {total} ({op_nodes} op nodes, {total - op_nodes} leaves)")
    return ok_accuracy and ok_time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=(*RECIPES, "both"), default="both")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compiled", action="store_true", help="fit(..., compiled=True)")
    args = parser.parse_args()
    names = list(RECIPES) if args.model == "both" else [args.model]
    mode = "compiled" if args.compiled else "dynamic"
    print(f"digits benchmark ({mode}), seed {args.seed}, {os.cpu_count()} CPUs, {load()}")
    results = [bench(name, args.seed, args.compiled) for name in names]
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
