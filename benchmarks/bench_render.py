"""Rendering graphs at network scale: collapsed drawings of large graphs beside plain ones.

* **collapsed**: micrograd's demo step (MLP(2, [16, 16, 1]) on 100 moons, hinge loss and L2
  regularisation, built with microgradnet's ``Value``: about 65,800 values), drawn with
  ``draw_dot(loss, collapse="neuron", group_by="module", parameters=model)`` and laid out to
  SVG by ``dot``;
* **plain**: the uncollapsed graph of one sample through MLP(2, [4, 4, 1]) (about 60 values),
  drawn with ``draw_dot`` and laid out the same way;
* **network**: ``draw_network(MLP(2, [16, 16, 1]))``, 337 weights and biases, laid out to SVG.

Each round times the three in turn (wall clock: ``dot`` is another process); the figures are
medians over the rounds, with the collapsed drawing's time as a multiple of the plain one's (a
ratio from the same rounds, so a slow spell of the machine hits both). Also printed: the values
walked and the boxes drawn. The target: the 65,800-value step collapses and renders within
``TARGET`` seconds (median).

    .venv/bin/python benchmarks/bench_render.py            # report and check the target
    .venv/bin/python benchmarks/bench_render.py --no-check # report only
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import micrograd_shaped

from microgradnet import Value, data
from microgradnet.nn import MLP
from microgradnet.viz import draw_dot, draw_network

TARGET = 10.0  # seconds to collapse and render micrograd's demo step, median


def _demo_step() -> tuple[Value, object]:
    X, y = data.make_moons(100, noise=0.1, seed=0, signed=True)
    model = micrograd_shaped.make_mlp(Value, 2, [16, 16, 1])
    return micrograd_shaped.demo_step_keeping_graph(Value, model, X, y), model


def _timed(draw: object) -> tuple[float, float, str]:
    """Seconds to build the drawing, seconds to lay it out as SVG, and its DOT source."""
    start = time.perf_counter()
    digraph = draw()  # type: ignore[operator]
    built = time.perf_counter()
    digraph.pipe(format="svg")
    return built - start, time.perf_counter() - built, digraph.source


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-check", action="store_true", help="report only")
    args = parser.parse_args()

    root, model = _demo_step()
    small = MLP(2, [4, 4, 1], seed=0)
    out = small([0.5, -1.0])
    out.backward()
    network = MLP(2, [16, 16, 1], seed=0)
    rows: dict[str, list[float]] = {"collapsed": [], "build": [], "plain": [], "network": []}
    ratios = []
    source = plain_source = ""
    for _ in range(args.rounds):
        build, layout, source = _timed(
            lambda: draw_dot(root, collapse="neuron", group_by="module", parameters=model)
        )
        b2, l2, plain_source = _timed(lambda: draw_dot(out))
        b3, l3, _ = _timed(lambda: draw_network(network))
        rows["collapsed"].append(build + layout)
        rows["build"].append(build)
        rows["plain"].append(b2 + l2)
        rows["network"].append(b3 + l3)
        ratios.append((build + layout) / (b2 + l2))
    walked, boxes = re.search(r'"([\d,]+) values drawn as ([\d,]+) boxes"', source).groups()  # type: ignore[union-attr]
    plain_values = plain_source.count("| grad ")
    median = {k: statistics.median(v) for k, v in rows.items()}
    print(f"rounds: {args.rounds} (medians; wall clock, dot included)")
    print(f"collapsed demo step: {walked} values -> {boxes} boxes: {median['collapsed']:.2f} s "
          f"({median['build']:.2f} s walking and collapsing)")  # fmt: skip
    print(f"plain graph of MLP(2, [4, 4, 1]) on one sample: {plain_values} values: "
          f"{median['plain']:.3f} s")  # fmt: skip
    print(f"collapsed / plain: {statistics.median(ratios):.1f}x")
    print(f"draw_network(MLP(2, [16, 16, 1])), 337 parameters: {median['network']:.2f} s")
    if args.no_check:
        return 0
    ok = median["collapsed"] <= TARGET
    print(f"target: collapsed demo step within {TARGET:.0f} s: {'ok' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
