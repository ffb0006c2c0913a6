"""Whole training runs: ``fit(..., compiled=True)`` against the same training loop in PyTorch.

* ``mlp``: ``MLP(2, [128, 128, 1])`` (17,025 parameters) on 1,024 two-moons points with labels
  +-1, hinge loss, ``SGD(lr=0.05)``, 20 epochs of batches of 32 (640 steps);
* ``cnn``: the digits CNN (``Conv2d(1, 8, 3)``, ReLU, ``MaxPool2d(2)``, ``Flatten``,
  ``Layer(72, 10)``) on the 1,347 training images, cross-entropy, ``Adam(lr=0.01)`` with a
  cosine schedule, 15 epochs of batches of 32 (the recipe of ``microgradnet train``).

Both sides start from the same weights and see the same batches in the same order (``fit``'s
own shuffle, ``random.Random(seed)``), in float64 on one thread (NumPy's BLAS too). The PyTorch
loop is the plain one: per batch ``zero_grad``, forward, loss, ``backward``, ``step`` and
``loss.item()``. ``fit`` is timed whole, tracing and compiling included (reported apart too),
with ``metrics=()`` and no progress bar. Each run, on either side, starts after a garbage
collection (earlier runs' garbage is not its time). The first epoch's losses must agree before
the times count. Runs are interleaved; the median of the per-round ratios is reported, for CPU
time (this process's, which other work on a shared machine disturbs less) and for wall time.

Usage:
    python benchmarks/bench_compiled_fit.py [--model mlp|cnn|both] [--rounds 3] [--no-check]

Exit status 1 if a target is missed (CPU-time ratio: mlp <= 1.5x, cnn <= 2x), unless
``--no-check``.
"""

from __future__ import annotations

import os

# before NumPy loads its BLAS: one thread, as PyTorch is given
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import gc
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch
from bench_compiled_sweep import digits_cnn, torch_cnn_loss, torch_layers, torch_mlp_loss

from microgradnet import data, losses
from microgradnet.nn import MLP
from microgradnet.optim import SGD, Adam
from microgradnet.schedulers import CosineAnnealingLR
from microgradnet.train import fit

TARGETS = {"mlp": 1.5, "cnn": 2.0}
SEED = 0


@dataclass
class Task:
    """One training run, described once for both sides."""

    name: str
    make_model: Callable[[], Any]
    X: np.ndarray
    y: np.ndarray
    loss: Any  # ours
    torch_loss: Callable[..., torch.Tensor]
    adam: bool
    lr: float
    epochs: int
    batch_size: int = 32


def mlp_task() -> Task:
    X, y = data.make_moons(1024, noise=0.1, seed=SEED, signed=True)
    return Task(
        "mlp",
        lambda: MLP(2, [128, 128, 1], seed=SEED),
        np.asarray(X, float),
        np.asarray(y, float),
        losses.hinge,
        torch_mlp_loss,
        adam=False,
        lr=0.05,
        epochs=20,
    )


def cnn_task() -> Task:
    X, _, y, _ = data.load_digits_split(images=True)
    return Task(
        "cnn",
        lambda: digits_cnn(seed=SEED),
        np.asarray(X, float),
        np.asarray(y),
        losses.cross_entropy,
        torch_cnn_loss,
        adam=True,
        lr=0.01,
        epochs=15,
    )


def ours(task: Task, epochs: int | None = None) -> tuple[float, float, list[float], Any]:
    """Wall and CPU seconds of ``fit(compiled=True)``, its epoch losses, and the model."""
    model = task.make_model()
    params = model.parameters()
    optimizer = Adam(params, lr=task.lr) if task.adam else SGD(params, lr=task.lr)
    n = task.epochs if epochs is None else epochs
    scheduler = CosineAnnealingLR(optimizer, T_max=max(n, 1)) if task.adam else None
    X, y = task.X.tolist(), task.y.tolist()
    gc.collect()  # earlier runs' garbage is not this run's time
    wall, cpu = time.perf_counter(), time.process_time()
    history = fit(
        model, X, y, loss=task.loss, optimizer=optimizer, epochs=n,
        batch_size=task.batch_size, seed=SEED, progress=False, metrics=(), scheduler=scheduler,
        compiled=True,
    )  # fmt: skip
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return wall, cpu, list(history["loss"]) if n else [], model


def theirs(task: Task, epochs: int | None = None) -> tuple[float, float, list[float]]:
    """Wall and CPU seconds of the same training loop in PyTorch, and its epoch losses."""
    tensors = torch_layers(task.make_model())
    optimizer: torch.optim.Optimizer
    if task.adam:
        optimizer = torch.optim.Adam(tensors, lr=task.lr)
    else:
        optimizer = torch.optim.SGD(tensors, lr=task.lr)
    n = task.epochs if epochs is None else epochs
    scheduler = (
        torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(n, 1))
        if task.adam
        else None
    )
    X = torch.tensor(task.X)
    y = torch.tensor(task.y)
    rng = random.Random(SEED)
    order = list(range(len(X)))
    epoch_losses = []
    gc.collect()  # earlier runs' garbage is not this run's time
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        rng.shuffle(order)
        total = 0.0
        for start in range(0, len(order), task.batch_size):
            batch = torch.tensor(order[start : start + task.batch_size])
            optimizer.zero_grad()
            loss = task.torch_loss(tensors, X[batch], y[batch])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        if scheduler is not None:
            scheduler.step()
        epoch_losses.append(total / len(order))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return wall, cpu, epoch_losses


def compile_seconds(task: Task) -> float:
    """CPU seconds of ``fit(compiled=True)`` with no epochs: tracing and compiling alone."""
    return ours(task, epochs=0)[1]


def held_out_accuracy(model: Any) -> float:
    _, X_test, _, y_test = data.load_digits_split(images=True)
    from microgradnet.train import evaluate

    return float(evaluate(model, X_test, y_test)["accuracy"])


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def bench(task: Task, rounds: int) -> bool:
    print(f"\n{task.name}: {task.epochs} epochs, batches of {task.batch_size}, {len(task.X)} "
          f"samples; {load()}")  # fmt: skip
    _, _, first_ours, _ = ours(task, epochs=1)
    _, _, first_theirs = theirs(task, epochs=1)
    assert abs(first_ours[0] - first_theirs[0]) <= 1e-9 * max(1.0, abs(first_theirs[0])), (
        f"first epoch's loss differs: {first_ours[0]!r} (fit) vs {first_theirs[0]!r} (PyTorch)"
    )
    cpu_ratios, wall_ratios, rows = [], [], []
    model = None
    for _ in range(rounds):
        wall_a, cpu_a, losses_a, model = ours(task)
        wall_b, cpu_b, losses_b = theirs(task)
        cpu_ratios.append(cpu_a / cpu_b)
        wall_ratios.append(wall_a / wall_b)
        rows.append((cpu_a, cpu_b, wall_a, wall_b, losses_a[-1], losses_b[-1]))
    compiling = compile_seconds(task)
    for cpu_a, cpu_b, wall_a, wall_b, loss_a, loss_b in rows:
        print(f"  fit(compiled=True) {cpu_a:6.2f} s CPU ({wall_a:6.2f} s wall), final loss "
              f"{loss_a:.6f} | PyTorch {cpu_b:6.2f} s CPU ({wall_b:6.2f} s wall), final loss "
              f"{loss_b:.6f}")  # fmt: skip
    ratio = statistics.median(cpu_ratios)
    target = TARGETS[task.name]
    print(f"  of which tracing and compiling: {compiling:.2f} s CPU")
    if task.name == "cnn" and model is not None:
        print(f"  held-out accuracy (last run): {held_out_accuracy(model):.2%}")
    print(f"  fit(compiled=True) / PyTorch: {ratio:.2f}x CPU time, "
          f"{statistics.median(wall_ratios):.2f}x wall time [target <= {target:g}x: "
          f"{'ok' if ratio <= target else 'MISSED'}]; {load()}")  # fmt: skip
    return ratio <= target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("mlp", "cnn", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-check", action="store_true", help="report only, never fail")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(f"compiled training against PyTorch, {os.cpu_count()} CPUs, {load()}")
    tasks = {"mlp": mlp_task, "cnn": cnn_task}
    names = list(tasks) if args.model == "both" else [args.model]
    ok = all([bench(tasks[name](), args.rounds) for name in names])
    return 0 if ok or args.no_check else 1


if __name__ == "__main__":
    raise SystemExit(main())
