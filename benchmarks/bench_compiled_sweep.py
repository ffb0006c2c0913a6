"""Compiled mode at every size: the compile-time curve, and a step against batched PyTorch.

* ``compile``: trace + compile time against the graph's size for a deep chain (``x = tanh(x w)
  + x`` repeated), a wide MLP (``MLP(2, [h, h, 1])`` with a hinge loss) and a CNN (``Conv2d(1, c,
  3)``, ReLU, ``MaxPool2d(2)``, ``Flatten``, ``Layer(.., 10)`` with cross-entropy on 8x8 images):
  wall time and CPU time (this process's, which a loaded machine disturbs less), per node.
* ``step``: one forward and backward pass over a batch, parameters and gradients kept in arrays
  (as compiled training keeps them: ``CompiledFunction.run(..., load=False)``), against PyTorch
  on the same network and loss (float64, one thread, autograd), for MLP widths 16 to 256 and
  batches of 1 to 512, and for the digits CNN. NumPy's BLAS is held to one thread too. The two
  sides start from the same weights and must agree on the loss and gradients before anything is
  timed; rounds are interleaved and the median of the per-round ratios is reported. Steps are
  timed in CPU time (this process's, which other work on a shared machine disturbs far less than
  the wall clock; both sides run on one thread, so for either it is the time the step takes).

Usage:
    python benchmarks/bench_compiled_sweep.py [--part compile|step|both] [--rounds 7] [--no-check]
        [--cells h128:512 cnn:1 ...]

Exit status 1 if a target is missed (10^5 nodes compiled in under 2 s of CPU time; every step
within 1.5x of PyTorch's time), unless ``--no-check``.
"""

from __future__ import annotations

import os

# before NumPy loads its BLAS: one thread, as PyTorch is given
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch

from microgradnet import Value, compile, losses
from microgradnet.compiled import CompiledFunction
from microgradnet.nn import MLP, Conv2d, Flatten, Layer, MaxPool2d, ReLU, Sequential

TARGET_COMPILE_S = 2.0  # for about 10^5 nodes, CPU time
TARGET_TORCH = 1.5
WIDTHS = (16, 32, 64, 128, 256)
BATCHES = (1, 8, 32, 128, 512)


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


# ----- the compile-time curve -----
def chain(steps: int) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    w = Value(0.5)

    def fn(x: Value) -> Value:
        for _ in range(steps):
            x = (x * w).tanh() + x
        return x

    return fn, (0.1,)


def wide_mlp(h: int) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    model = MLP(2, [h, h, 1], seed=0)
    return (lambda x, t: losses.hinge([model(x)], [t])), ([0.1, -0.2], 1.0)


def cnn(channels: int) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    model = digits_cnn(channels)
    image = np.linspace(-1.0, 1.0, 64).reshape(1, 8, 8)
    return (lambda x, t: losses.cross_entropy([model(x)], [t])), (image, 3.0)


def digits_cnn(channels: int = 8, seed: int = 0) -> Sequential:
    return Sequential(
        Conv2d(1, channels, 3, seed=seed),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Layer(channels * 3 * 3, 10, activation="linear", seed=seed + 1),
    )


CURVES: dict[str, tuple[Callable[[int], Any], tuple[int, ...]]] = {
    "chain": (chain, (1_000, 3_300, 10_000, 33_000)),
    "mlp": (wide_mlp, (16, 64, 128, 256, 316)),
    "cnn": (cnn, (8, 32, 128, 512)),
}


def compile_curve() -> bool:
    print(f"\ntrace + compile ({load()})")
    print(f"{'graph':14} {'nodes':>9} {'wall s':>8} {'CPU s':>8} {'us/node (CPU)':>14}")
    compile(*wide_mlp(4))  # NumPy's and the kernels' first use, not timed
    ok = True
    for name, (make, sizes) in CURVES.items():
        for size in sizes:
            fn, example = make(size)
            gc.collect()  # the previous graph's garbage is not this compile's time
            wall, cpu = time.perf_counter(), time.process_time()
            f = compile(fn, example)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            per_node = 1e6 * cpu / f.num_nodes
            print(
                f"{name + f' {size}':14} {f.num_nodes:9,d} {wall:8.3f} {cpu:8.3f} {per_node:14.1f}"
            )
            if f.num_nodes >= 90_000:
                ok &= cpu < TARGET_COMPILE_S
            del fn, f  # freed before the next compile, not during it
    print(f"10^5 nodes under {TARGET_COMPILE_S:g} s of CPU time: {'ok' if ok else 'MISSED'}")
    return ok


# ----- a step against PyTorch -----
def torch_layers(model: Any) -> list[torch.Tensor]:
    """The model's weights as float64 tensors requiring gradients (Linear and Conv2d layers)."""
    tensors = []
    for layer in model.layers:
        if isinstance(layer, Conv2d):
            w = [[[[v.data for v in row] for row in c] for c in f] for f in layer.weight]
            tensors += [_t(w), _t([b.data for b in layer.bias or []])]
        elif hasattr(layer, "neurons"):
            tensors.append(_t([[v.data for v in n.w] for n in layer.neurons]))
            tensors.append(_t([n.b.data for n in layer.neurons]))
    for t in tensors:
        t.requires_grad_(True)
    return tensors


def _t(data: Any) -> torch.Tensor:
    return torch.tensor(data, dtype=torch.float64)


def torch_mlp_loss(t: list[torch.Tensor], X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    w1, b1, w2, b2, w3, b3 = t
    h = torch.relu(X @ w1.T + b1)
    h = torch.relu(h @ w2.T + b2)
    return torch.relu(1 - y * (h @ w3.T + b3)[:, 0]).mean()


def torch_cnn_loss(t: list[torch.Tensor], X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    wc, bc, wl, bl = t
    h = torch.max_pool2d(torch.relu(torch.conv2d(X, wc, bc)), 2)
    return torch.nn.functional.cross_entropy(h.flatten(1) @ wl.T + bl, y)


class Pair:
    """One configuration, both sides, checked to agree."""

    def __init__(
        self, model: Any, per_sample: Callable[..., Any], torch_loss: Any, X: Any, y: Any
    ) -> None:
        other = (X[1 % len(X)], y[1 % len(X)])
        parameters = model.parameters()
        self.f: CompiledFunction = compile(
            per_sample, (X[0], y[0]), parameters=parameters, check_inputs=[other]
        )
        self.f._program.load()  # the parameters stay in the program's arrays from here on
        columns = [X.reshape(len(X), -1), np.asarray(y, float).reshape(len(y), 1)]
        self.inputs = np.concatenate(columns, axis=1)
        self.seed = np.full(len(X), 1.0 / len(X))
        self.tensors = torch_layers(model)
        self.torch_loss = torch_loss
        self.X = torch.tensor(X)
        classes = torch_loss is torch_cnn_loss
        self.y = torch.tensor(y) if classes else torch.tensor(y, dtype=torch.float64)
        self.check(model)

    def ours(self) -> Any:
        return self.f.run(self.inputs, self.seed, load=False)

    def theirs(self) -> torch.Tensor:
        for t in self.tensors:
            t.grad = None
        loss = self.torch_loss(self.tensors, self.X, self.y)
        loss.backward()
        return loss

    def check(self, model: Any) -> None:
        run = self.ours()
        loss = self.theirs()
        ours_grads = run.grads[self.f._grad_index]  # in model.parameters() order
        theirs = torch.cat([t.grad.flatten() for t in self.tensors]).numpy()
        names = [name for name, _ in model.named_parameters()]
        keys = _torch_order(names)
        order = sorted(range(len(keys)), key=keys.__getitem__)
        assert abs(float(run.outputs[:, 0].mean()) - loss.item()) < 1e-9 * max(1.0, loss.item())
        np.testing.assert_allclose(ours_grads[order], theirs, rtol=1e-7, atol=1e-12)


def _torch_order(names: list[str]) -> list[tuple[int, int, int, int]]:
    """For each of our parameter names, its position in torch's flattened tensors."""
    keys = []
    for name in names:
        parts = name.split(".")
        layer = int(parts[1])
        if parts[2] == "weight":  # conv: layers.0.weight.o.c.a.b
            keys.append((layer, 0, *map(int, parts[3:7])))
        elif parts[2] == "bias":
            keys.append((layer, 1, int(parts[3]), 0, 0, 0))
        else:  # layers.i.neurons.j.w.k / .b
            neuron = int(parts[3])
            is_bias = parts[4] == "b"
            keys.append((layer, int(is_bias), neuron, 0 if is_bias else int(parts[5]), 0, 0))
    return keys


def median_ratio(pair: Pair, rounds: int) -> tuple[float, float, float]:
    """Median per-round ratio ours/theirs and the median times (ms) of each side."""
    repeats = max(1, int(0.05 / max(_once(pair.ours), _once(pair.theirs), 1e-5)))
    ratios, ours, theirs = [], [], []
    for _ in range(rounds):
        a = _timed(pair.ours, repeats)
        b = _timed(pair.theirs, repeats)
        ours.append(a)
        theirs.append(b)
        ratios.append(a / b)
    return statistics.median(ratios), 1e3 * statistics.median(ours), 1e3 * statistics.median(theirs)


def _once(step: Callable[[], Any]) -> float:
    start = time.process_time()
    step()
    return time.process_time() - start


def _timed(step: Callable[[], Any], repeats: int) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for _ in range(repeats):
            step()
        best = min(best, (time.process_time() - start) / repeats)
    return best


def step_sweep(rounds: int, only: set[str] | None = None) -> bool:
    """The table of step ratios; ``only``: the cells to measure (``"h128:512"``, ``"cnn:1"``),
    the others shown as ``-``."""
    torch.set_num_threads(1)
    print(f"\nforward + backward, compiled / PyTorch CPU time, median of {rounds} rounds, {load()}")
    print(f"{'MLP(2, [h, h, 1])':18}" + "".join(f"{f'batch {n}':>11}" for n in BATCHES))
    worst = 0.0
    rng = np.random.default_rng(0)
    for h in WIDTHS:
        cells = []
        for n in BATCHES:
            if only is not None and f"h{h}:{n}" not in only:
                cells.append(f"{'-':>11}")
                continue
            model = MLP(2, [h, h, 1], seed=h)
            X = rng.normal(size=(max(n, 2), 2))[:n] if n > 1 else rng.normal(size=(1, 2))
            y = np.where(X[:, 0] * X[:, 1] > 0, 1.0, -1.0)
            pair = Pair(
                model, lambda x, t, m=model: losses.hinge([m(x)], [t]), torch_mlp_loss, X, y
            )
            ratio, _, _ = median_ratio(pair, rounds)
            worst = max(worst, ratio)
            cells.append(f"{ratio:10.2f}x")
        print(f"{f'h = {h}':18}" + " ".join(cells))
    from microgradnet import data

    images, _, labels, _ = data.load_digits_split(images=True)
    images = np.asarray(images, float)
    print(f"{'digits CNN':18}", end="")
    for n in BATCHES:
        if only is not None and f"cnn:{n}" not in only:
            print(f"{'-':>11}", end=" ")
            continue
        model = digits_cnn()
        X, y = images[:n], np.asarray(labels[:n])
        pair = Pair(
            model, lambda x, t, m=model: losses.cross_entropy([m(x)], [t]), torch_cnn_loss, X, y
        )
        ratio, _, _ = median_ratio(pair, rounds)
        worst = max(worst, ratio)
        print(f"{ratio:10.2f}x", end=" ", flush=True)
    print(f"\nworst ratio {worst:.2f}x [target <= {TARGET_TORCH:g}x: "
          f"{'ok' if worst <= TARGET_TORCH else 'MISSED'}]")  # fmt: skip
    return worst <= TARGET_TORCH


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("compile", "step", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--no-check", action="store_true", help="report only, never fail")
    parser.add_argument(
        "--cells", nargs="+", metavar="CELL", help="step cells to measure only: h128:512 cnn:1 ..."
    )
    args = parser.parse_args(argv)
    known = {f"h{h}:{n}" for h in WIDTHS for n in BATCHES} | {f"cnn:{n}" for n in BATCHES}
    unknown = sorted(set(args.cells or ()) - known)
    if unknown:
        parser.error(f"unknown cells {unknown}: each is h<width>:<batch> or cnn:<batch>, "
                     f"widths {list(WIDTHS)}, batches {list(BATCHES)}")  # fmt: skip
    print(f"compiled mode sweep, {os.cpu_count()} CPUs, {load()}")
    ok = True
    if args.part in ("compile", "both"):
        ok &= compile_curve()
    if args.part in ("step", "both"):
        ok &= step_sweep(args.rounds, set(args.cells) if args.cells else None)
    return 0 if ok or args.no_check else 1


if __name__ == "__main__":
    raise SystemExit(main())
