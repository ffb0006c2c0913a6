"""micrograd's demo training step, microgradnet's MLP + losses vs micrograd 0.1.0, in one process.

The step: MLP(2, [16, 16, 1]) on 100 two-moons points (``make_moons(100, noise=0.1,
random_state=1)``), max-margin loss + 1e-4 L2, backward, SGD ``p.data -= 0.1 * p.grad``.
micrograd runs micrograd's own code (``micrograd_shaped.py``, whose scores are
``list(map(model, inputs))``); microgradnet runs ``nn.MLP``, ``losses.hinge`` and
``losses.l2_penalty``, its scores ``model.map(X)``, the library's batch form of that line (the
same graph, each layer's weights read once per batch). The same step with the scores computed
one sample at a time, ``[model(x) for x in X]``, is timed alongside and reported, unchecked.
All models start from the same weights, and the first losses are checked to agree before
anything is timed.

Steps are interleaved, medians reported with the cyclic GC on and off; the speed-ups are the
medians of the per-round ratios. Peak memory of one step is measured with tracemalloc in
separate runs.

Usage:
    python benchmarks/bench_nn.py [--rounds 15] [--no-check] [--profile]

Exit status 1 if a target is missed (>= 70x GC on, >= 12x GC off, peak memory >= 25x lower),
unless ``--no-check``.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from micrograd.engine import Value as MicrogradValue
from micrograd_shaped import demo_loss, demo_step_keeping_graph, make_mlp
from sklearn.datasets import make_moons

from microgradnet import losses
from microgradnet.engine import backward_order
from microgradnet.nn import MLP

TARGET_GC_ON = 70.0
TARGET_GC_OFF = 12.0
TARGET_MEMORY = 25.0
SEED = 1337
LR = 0.1
ALPHA = 1e-4


def moons() -> tuple[list[list[float]], list[float]]:
    X, y = make_moons(100, noise=0.1, random_state=1)
    return X.tolist(), [float(2 * label - 1) for label in y]


def our_loss(model: MLP, X: list[list[float]], y: list[float], per_sample: bool = False) -> Any:
    scores = [model(x) for x in X] if per_sample else model.map(X)
    return losses.hinge(scores, y) + losses.l2_penalty(model.parameters(), ALPHA)


def our_step(model: MLP, X: list[list[float]], y: list[float], per_sample: bool = False) -> Any:
    """One training step; returns the loss node, so its graph lives until the caller drops it."""
    total_loss = our_loss(model, X, y, per_sample)
    model.zero_grad()
    total_loss.backward()
    for p in model.parameters():
        p.data -= LR * p.grad
    return total_loss


def micrograd_nodes(root: Any) -> int:
    seen = {root}
    stack = [root]
    while stack:
        for child in stack.pop()._prev:
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return len(seen)


def timed(step: Callable[[], object]) -> tuple[float, float]:
    """Seconds of one step and of freeing its graph afterwards.

    With the GC on, the step's time includes freeing its graph, as in a training loop. With it
    off, the graph is freed after the timer for both sides (micrograd's reference cycles wait
    for the next ``gc.collect()``), and the time that took is returned on its own."""
    gc.collect()
    start = time.perf_counter()
    graph = step()
    if gc.isenabled():
        del graph
    stepped = time.perf_counter()
    graph = None
    return stepped - start, time.perf_counter() - stepped


def peak_memory(step: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - base


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="timed steps per side and GC mode")
    parser.add_argument("--no-check", action="store_true", help="report only, never fail")
    parser.add_argument("--profile", action="store_true", help="profile microgradnet's step")
    args = parser.parse_args(argv)

    X, y = moons()
    theirs = make_mlp(MicrogradValue, 2, [16, 16, 1], seed=SEED)
    ours = MLP(2, [16, 16, 1], init="uniform", seed=SEED)
    ours_per_sample = MLP(2, [16, 16, 1], init="uniform", seed=SEED)
    steps: dict[str, Callable[[], float]] = {
        "micrograd": lambda: demo_step_keeping_graph(MicrogradValue, theirs, X, y),
        "microgradnet": lambda: our_step(ours, X, y),
        "per sample": lambda: our_step(ours_per_sample, X, y, per_sample=True),
    }

    # Same weights, same data: the first losses must agree, or the comparison is meaningless.
    first = {side: step().data for side, step in steps.items()}
    for side in ("microgradnet", "per sample"):
        if abs(first["micrograd"] - first[side]) > 1e-9 * max(1.0, abs(first["micrograd"])):
            print(f"loss mismatch: micrograd {first['micrograd']!r}, {side} {first[side]!r}")
            return 1

    their_nodes = micrograd_nodes(demo_loss(MicrogradValue, theirs, X, y)[0])
    our_nodes = len(backward_order(our_loss(ours, X, y)))

    times: dict[tuple[str, bool], list[float]] = {}
    gc_was_enabled = gc.isenabled()
    try:
        for gc_on in (True, False):
            (gc.enable if gc_on else gc.disable)()
            for _ in range(args.rounds):
                for side, step in steps.items():
                    stepped, freed = timed(step)
                    times.setdefault((side, gc_on), []).append(stepped)
                    times.setdefault((f"{side} freeing", gc_on), []).append(freed)
    finally:
        (gc.enable if gc_was_enabled else gc.disable)()

    their_memory = peak_memory(steps["micrograd"])
    our_memory = peak_memory(steps["microgradnet"])

    def median_ms(side: str, gc_on: bool) -> float:
        return 1e3 * statistics.median(times[(side, gc_on)])

    def paired_ratio(side: str, gc_on: bool, theirs: str = "micrograd") -> float:
        # The median of each round's ratio: a slow spell of the machine hits both of a pair.
        pairs = zip(times[(theirs, gc_on)], times[(side, gc_on)], strict=True)
        return statistics.median(t / o for t, o in pairs)

    # For the record: GC off with each graph's freeing counted in its step.
    for side in steps:
        times[(f"{side} + freeing", False)] = [
            a + b
            for a, b in zip(times[(side, False)], times[(f"{side} freeing", False)], strict=True)
        ]
    sides = [("microgradnet", "model.map(X)"), ("per sample", "per sample")]
    print(f"{'step (ms)':42} {'micrograd':>10} {'microgradnet':>13} {'speed-up':>9}")
    for side, gc_on, what in [
        *[(side, True, f"GC on, {what}") for side, what in sides],
        *[(side, False, f"GC off, {what}, graphs freed after") for side, what in sides],
        ("microgradnet + freeing", False, "GC off, model.map(X), freeing counted"),
    ]:
        theirs = "micrograd + freeing" if side.endswith("+ freeing") else "micrograd"
        print(
            f"{what:42} {median_ms(theirs, gc_on):10.1f} {median_ms(side, gc_on):13.1f} "
            f"{paired_ratio(side, gc_on, theirs):8.1f}x"
        )
    rows = [
        ("peak memory per step (KiB)", their_memory / 1024, our_memory / 1024),
        ("graph nodes per step", their_nodes, our_nodes),
    ]
    for name, theirs_value, ours_value in rows:
        ratio = theirs_value / ours_value
        print(f"{name:42} {theirs_value:10.1f} {ours_value:13.1f} {ratio:8.1f}x")
    print("(ms: medians; speed-up: median of the per-round ratios)")

    checks = [
        ("speed, GC on", paired_ratio("microgradnet", True), TARGET_GC_ON),
        ("speed, GC off", paired_ratio("microgradnet", False), TARGET_GC_OFF),
        ("peak memory", their_memory / our_memory, TARGET_MEMORY),
    ]
    missed = []
    print()
    for name, ratio, target in checks:
        verdict = "ok" if ratio >= target else "MISSED"
        print(f"{name:14} {ratio:7.1f}x  (target >= {target:g}x)  {verdict}")
        if ratio < target:
            missed.append(name)

    if args.profile:
        gc.disable()
        profiler = cProfile.Profile()
        profiler.runcall(lambda: [our_step(ours, X, y) for _ in range(5)])
        gc.enable()
        print("\nmicrogradnet step, 5 runs, by internal time:")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(12)

    return 1 if missed and not args.no_check else 0


if __name__ == "__main__":
    raise SystemExit(main())
