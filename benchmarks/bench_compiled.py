"""micrograd's demo step in compiled mode vs micrograd 0.1.0 and batched PyTorch, in one process.

The step: MLP(2, [16, 16, 1]) on 100 two-moons points (``make_moons(100, noise=0.1,
random_state=1)``), max-margin loss + 1e-4 L2, backward, SGD ``p.data -= 0.1 * p.grad``.

* micrograd runs micrograd's own code (``micrograd_shaped.py``);
* compiled runs ``microgradnet.compile`` on the per-sample loss ``relu(1 - y * model(x)) +
  l2_penalty(parameters, 1e-4)`` (its batch mean is the demo loss), then ``backward`` over the
  batch and the same SGD loop over the model's ``Value`` parameters;
* PyTorch runs the same network as three batched float64 matrix products on one thread, with
  autograd and the same update.

All three start from the same weights; the first losses must agree before anything is timed.
Steps are interleaved, medians reported, micrograd with the cyclic GC on and off. Tracing and
compiling is timed separately (fresh compile each round).

Usage:
    python benchmarks/bench_compiled.py [--rounds 7] [--no-check]

Exit status 1 if a target is missed (>= 400x micrograd with GC on, >= 60x with GC off, within 3x
of PyTorch, trace + compile < 0.2 s), unless ``--no-check``.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch
from micrograd.engine import Value as MicrogradValue
from micrograd_shaped import demo_step, make_mlp
from sklearn.datasets import make_moons

from microgradnet import compile, losses
from microgradnet.compiled import CompiledFunction
from microgradnet.nn import MLP

TARGET_GC_ON = 400.0
TARGET_GC_OFF = 60.0
TARGET_TORCH = 3.0
TARGET_COMPILE_S = 0.2
SEED = 1337
LR = 0.1
ALPHA = 1e-4


def moons() -> tuple[np.ndarray, np.ndarray]:
    X, y = make_moons(100, noise=0.1, random_state=1)
    return X, 2.0 * y - 1.0


# ----- compiled microgradnet -----
def compile_demo(model: MLP, X: np.ndarray, y: np.ndarray) -> CompiledFunction:
    parameters = model.parameters()

    def sample_loss(x: list, label: Any) -> Any:
        return (1 + -label * model(x)).relu() + losses.l2_penalty(parameters, ALPHA)

    return compile(sample_loss, (X[0], y[0]), check_inputs=[(X[i], y[i]) for i in (1, 2, 3)])


def compiled_step(step: CompiledFunction, parameters: list, X: np.ndarray, y: np.ndarray) -> float:
    for p in parameters:
        p.grad = 0.0
    loss = step.backward(X, y)
    for p in parameters:
        p.data -= LR * p.grad
    return loss


# ----- batched PyTorch -----
def torch_model(model: MLP) -> list[torch.Tensor]:
    tensors = []
    for layer in model.layers:
        w = [[v.data for v in n.w] for n in layer.neurons]
        b = [n.b.data for n in layer.neurons]
        tensors += [torch.tensor(w, dtype=torch.float64), torch.tensor(b, dtype=torch.float64)]
    for t in tensors:
        t.requires_grad_(True)
    return tensors


def torch_step(tensors: list[torch.Tensor], X: torch.Tensor, y: torch.Tensor) -> float:
    w1, b1, w2, b2, w3, b3 = tensors
    h = torch.relu(X @ w1.T + b1)
    h = torch.relu(h @ w2.T + b2)
    scores = (h @ w3.T + b3)[:, 0]
    loss = torch.relu(1 - y * scores).mean() + ALPHA * sum((t * t).sum() for t in tensors)
    for t in tensors:
        t.grad = None
    loss.backward()
    with torch.no_grad():
        for t in tensors:
            t -= LR * t.grad
    return loss.item()


def timed(step: Callable[[], object]) -> float:
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="timed micrograd steps per GC mode")
    parser.add_argument("--no-check", action="store_true", help="report only, never fail")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    X, y = moons()
    Xl, yl = X.tolist(), y.tolist()
    Xt, yt = torch.tensor(X), torch.tensor(y)
    theirs = make_mlp(MicrogradValue, 2, [16, 16, 1], seed=SEED)
    ours = MLP(2, [16, 16, 1], init="uniform", seed=SEED)
    tensors = torch_model(ours)
    parameters = ours.parameters()

    compile_times = []
    for _ in range(args.rounds):
        gc.collect()
        compile_times.append(timed(lambda: compile_demo(ours, X, y)))
    step = compile_demo(ours, X, y)

    # Same weights, same data: the first losses must agree, or the comparison is meaningless.
    first = {
        "micrograd": demo_step(MicrogradValue, theirs, Xl, yl),
        "compiled": compiled_step(step, parameters, X, y),
        "torch": torch_step(tensors, Xt, yt),
    }
    if max(first.values()) - min(first.values()) > 1e-9 * max(1.0, abs(first["micrograd"])):
        print(f"first losses disagree: {first}")
        return 1

    sides: dict[str, Callable[[], object]] = {
        "micrograd": lambda: demo_step(MicrogradValue, theirs, Xl, yl),
        "compiled": lambda: compiled_step(step, parameters, X, y),
        "torch": lambda: torch_step(tensors, Xt, yt),
    }
    # The fast sides repeat more often per round, so their medians are as steady as micrograd's.
    repeats = {"micrograd": 1, "compiled": 20, "torch": 20}
    times: dict[tuple[str, bool], list[float]] = {}
    gc_was_enabled = gc.isenabled()
    try:
        for gc_on in (True, False):
            (gc.enable if gc_on else gc.disable)()
            for _ in range(args.rounds):
                for name, run in sides.items():
                    gc.collect()
                    for _ in range(repeats[name]):
                        times.setdefault((name, gc_on), []).append(timed(run))
    finally:
        (gc.enable if gc_was_enabled else gc.disable)()

    def median_ms(side: str, gc_on: bool) -> float:
        return 1e3 * statistics.median(times[(side, gc_on)])

    print(
        f"first loss: micrograd {first['micrograd']:.12f}, compiled {first['compiled']:.12f}, "
        f"torch {first['torch']:.12f}"
    )
    print(f"program: {step}")
    print()
    print(
        f"{'step (ms, median)':22} {'micrograd':>10} {'compiled':>10} {'torch':>10} "
        f"{'vs micrograd':>13} {'vs torch':>9}"
    )
    for gc_on in (True, False):
        m, c, t = (median_ms(s, gc_on) for s in ("micrograd", "compiled", "torch"))
        print(
            f"{'GC on' if gc_on else 'GC off':22} {m:10.3f} {c:10.3f} {t:10.3f} "
            f"{m / c:12.1f}x {c / t:8.2f}x"
        )
    compile_s = statistics.median(compile_times)
    print(f"{'trace + compile (ms)':22} {'':10} {1e3 * compile_s:10.1f}")

    checks = [
        (
            "vs micrograd, GC on",
            median_ms("micrograd", True) / median_ms("compiled", True),
            TARGET_GC_ON,
            ">=",
        ),
        (
            "vs micrograd, GC off",
            median_ms("micrograd", False) / median_ms("compiled", False),
            TARGET_GC_OFF,
            ">=",
        ),
        (
            "time vs torch",
            median_ms("compiled", True) / median_ms("torch", True),
            TARGET_TORCH,
            "<=",
        ),
        ("trace + compile (s)", compile_s, TARGET_COMPILE_S, "<"),
    ]
    missed = []
    print()
    for name, value, target, sense in checks:
        ok = (
            value >= target
            if sense == ">="
            else value <= target
            if sense == "<="
            else (value < target)
        )
        print(f"{name:22} {value:9.3f}  (target {sense} {target:g})  {'ok' if ok else 'MISSED'}")
        if not ok:
            missed.append(name)
    return 1 if missed and not args.no_check else 0


if __name__ == "__main__":
    raise SystemExit(main())
