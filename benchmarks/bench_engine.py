"""Engine benchmark: micrograd's demo step, drop-in, against micrograd 0.1.0 in the same run.

The same micrograd-shaped model code (``micrograd_shaped.py``) runs on ``micrograd.engine.Value``
and on ``microgradnet.Value``; the two are interleaved step by step and medians are reported,
with the cyclic garbage collector on (what users feel; a step includes freeing its graph) and
off (pure interpretive cost; both engines' graphs are freed after the timer, and the time with
freeing counted is printed as well). The speed-up is the median of the per-round ratios, so a
slow spell of the machine, which hits both steps of a round, does not tilt it. Also measured:
bytes and GC-tracked objects per node of a built graph, and a chain of 10^6 nodes.

    .venv/bin/python benchmarks/bench_engine.py            # report and check the targets
    .venv/bin/python benchmarks/bench_engine.py --no-check # report only
"""

from __future__ import annotations

import argparse
import gc
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from micrograd_shaped import demo_loss, demo_step_keeping_graph, make_mlp

TARGETS = {
    "speedup_gc_on": 15.0,
    "speedup_gc_off": 4.0,
    "bytes_per_node": 110.0,
    "tracked_per_node": 1.0,
    "chain_seconds": 10.0,
    "chain_megabytes": 500.0,
}


def moons() -> tuple[list[list[float]], list[float]]:
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=100, noise=0.1, random_state=1)
    return X.tolist(), (y * 2 - 1).astype(float).tolist()


def time_steps(rounds: int, gc_on: bool) -> dict[str, list[float]]:
    """Seconds per demo step for each engine, round by round, the two interleaved.

    With the GC on, a step includes freeing its graph, as in a training loop (micrograd's graph
    is freed by whichever collections run). With the GC off, the graph is freed after the timer
    for both engines: micrograd's reference cycles can only be freed by the collector, at the
    next round's ``gc.collect()``, so timing ours being freed would charge microgradnet alone
    for memory management. That time is kept too, under ``"<engine> freeing"``."""
    import micrograd.engine

    import microgradnet

    X, y = moons()
    engines = {"micrograd": micrograd.engine.Value, "microgradnet": microgradnet.Value}
    models = {name: make_mlp(cls, 2, [16, 16, 1]) for name, cls in engines.items()}
    times: dict[str, list[float]] = {
        key: [] for name in engines for key in (name, f"{name} freeing")
    }
    for round_ in range(rounds + 1):  # the first round warms up
        for name, cls in engines.items():
            gc.collect()
            if not gc_on:
                gc.disable()
            start = time.perf_counter()
            loss = demo_step_keeping_graph(cls, models[name], X, y)
            if gc_on:
                del loss
            stepped = time.perf_counter()
            if not gc_on:
                del loss
            freed = time.perf_counter()
            gc.enable()
            if round_:
                times[name].append(stepped - start)
                times[f"{name} freeing"].append(freed - stepped)
    return times


def graph_memory() -> dict[str, float]:
    """Bytes (tracemalloc) and GC-tracked objects per node of the demo step's graph."""
    import microgradnet
    from microgradnet.engine import backward_order

    X, y = moons()
    model = make_mlp(microgradnet.Value, 2, [16, 16, 1])
    gc.collect()
    gc.disable()
    try:
        tracked_before = len(gc.get_objects())
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        loss, _ = demo_loss(microgradnet.Value, model, X, y)
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        tracked = len(gc.get_objects()) - tracked_before
        nodes = len(backward_order(loss)) - len(model.parameters())
    finally:
        gc.enable()
    return {"nodes": nodes, "bytes_per_node": (after - before) / nodes,
            "tracked_per_node": tracked / nodes}  # fmt: skip


CHAIN = """
import resource, sys, time
from microgradnet import Value
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
x = Value(1.0)
y = x
for _ in range(1_000_000):
    y = y * 1.0000001
y.backward()
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
print(elapsed, peak / 1024, sys.getrecursionlimit())
"""


def chain() -> dict[str, float]:
    """A chain of 10^6 nodes, forward and backward, in a fresh process: seconds and peak MB."""
    out = subprocess.run([sys.executable, "-c", CHAIN], capture_output=True, text=True, check=True)
    seconds, megabytes, limit = out.stdout.split()
    return {"chain_seconds": float(seconds), "chain_megabytes": float(megabytes),
            "recursion_limit": int(limit)}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="timed steps per engine and mode")
    parser.add_argument("--no-check", action="store_true", help="report without checking targets")
    args = parser.parse_args()

    results: dict[str, float] = {}
    print(f"micrograd demo step, drop-in, medians of {args.rounds} interleaved steps")
    print(f"{'GC':<22} {'micrograd (ms)':>15} {'microgradnet (ms)':>18} {'speed-up':>9}")

    def report(label: str, theirs: list[float], ours: list[float]) -> float:
        # The median of each round's ratio: a slow spell of the machine hits both of a pair.
        ratio = statistics.median(t / o for t, o in zip(theirs, ours, strict=True))
        print(f"{label:<22} {statistics.median(theirs) * 1e3:>15.1f} "
              f"{statistics.median(ours) * 1e3:>18.1f} {ratio:>8.1f}x")  # fmt: skip
        return ratio

    for gc_on in (True, False):
        times = time_steps(args.rounds, gc_on)
        label = "on" if gc_on else "off (graphs freed after)"
        ratio = report(label, times["micrograd"], times["microgradnet"])
        results["speedup_gc_on" if gc_on else "speedup_gc_off"] = ratio
        if not gc_on:  # for the record: the same steps with each graph's freeing counted
            with_freeing = {
                name: [a + b for a, b in zip(times[name], times[f"{name} freeing"], strict=True)]
                for name in ("micrograd", "microgradnet")
            }
            report("off, freeing counted", with_freeing["micrograd"], with_freeing["microgradnet"])
    memory = graph_memory()
    results.update(memory)
    print(f"graph of {memory['nodes']:.0f} nodes: {memory['bytes_per_node']:.1f} bytes/node, "
          f"{memory['tracked_per_node']:.2f} GC-tracked objects/node")  # fmt: skip
    deep = chain()
    results.update(deep)
    print(f"chain of 10^6 nodes: {deep['chain_seconds']:.2f} s, {deep['chain_megabytes']:.0f} MB "
          f"peak, recursion limit {deep['recursion_limit']}")  # fmt: skip

    if args.no_check:
        return 0
    missed = []
    for key, target in TARGETS.items():
        higher_is_better = key.startswith("speedup")
        ok = results[key] >= target if higher_is_better else results[key] <= target
        if not ok:
            missed.append(
                f"{key} = {results[key]:.2f} (target {'>=' if higher_is_better else '<='} {target})"
            )
    print("all targets met" if not missed else "MISSED: " + "; ".join(missed))
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
