"""Second-order cost: Hessian-vector products and Hessians of an MLP, as multiples of a gradient.

The network is MLP(2, [h, h, 1]) with tanh over a batch of 4 samples, its loss the sum of the
squared outputs. For each width h:

* as a function of its parameters: ``hvp(loss, parameters, v)`` against a gradient
  (``grad(loss(*parameters), parameters)``), both counting the forward pass;
* as a function of its two inputs: ``hessian(f, x)`` (2 x 2) against ``grad(f(*x), x)``.

Rounds are interleaved (gradient, hvp, gradient, hessian) and each figure is the median of the
per-round ratios, so a slow spell of the machine, which hits both sides of a round, does not tilt
it; steps are timed in CPU time of this process (``time.process_time``), which other work on a
shared machine disturbs far less than the wall clock. PyTorch's double backward on the same
network (float64 tensors, weight matrices) is timed the same way when torch is installed, for
reference. Also printed: the nodes of the forward
graph and the nodes the gradient's graph adds (``create_graph=True``).

    .venv/bin/python benchmarks/bench_second_order.py            # report and check the target
    .venv/bin/python benchmarks/bench_second_order.py --no-check # report only
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

TARGET = 6.0  # hvp and hessian within 6x of a gradient at every width
WIDTHS = (8, 16, 32, 64)
BATCH = [[0.1 * i - 0.3, 0.2 - 0.05 * i] for i in range(4)]


def network(width: int) -> tuple[Any, Callable[..., Any], list[float]]:
    """The model, its loss as a function of its parameters (Values), and their values."""
    from microgradnet import Value
    from microgradnet.nn import MLP

    model = MLP(2, [width, width, 1], activation="tanh", seed=0)
    slots = [(n, i) for layer in model.layers for n in layer.neurons for i in range(len(n.w) + 1)]

    def loss(*parameters: Value) -> Value:
        for (neuron, i), p in zip(slots, parameters, strict=True):
            if i < len(neuron.w):
                neuron.w[i] = p
            else:
                neuron.b = p
        return Value.sum([out * out for out in model.map(BATCH)])

    return model, loss, [p.data for p in model.parameters()]


def ours(width: int, rounds: int) -> dict[str, Any]:
    from microgradnet import Value, grad, hessian, hvp
    from microgradnet._graph import topological_order

    model, loss, start = network(width)
    v = [0.5 - (i % 7) / 7 for i in range(len(start))]
    point = [0.3, -0.2]

    def gradient() -> Any:
        xs = [Value(x) for x in start]
        return grad(loss(*xs), xs)

    def gradient_of_inputs() -> Any:
        xs = [Value(x) for x in point]
        return grad(model(xs), xs)

    steps: dict[str, Callable[[], Any]] = {
        "gradient": gradient,
        "hvp": lambda: hvp(loss, start, v),
        "gradient (inputs)": gradient_of_inputs,
        "hessian (inputs)": lambda: hessian(lambda a, b: model([a, b]), point),
    }
    times = _interleaved(steps, rounds)
    xs = [Value(x) for x in start]
    out = loss(*xs)
    forward = set(topological_order([out]))
    added = set(topological_order(grad(out, xs, create_graph=True))) - forward
    return {
        "parameters": len(start),
        "nodes": len(forward),
        "added": len(added),
        "ms": statistics.median(times["gradient"]) * 1e3,
        "hvp": _median_ratio(times["hvp"], times["gradient"]),
        "hessian": _median_ratio(times["hessian (inputs)"], times["gradient (inputs)"]),
    }


def theirs(width: int, rounds: int) -> float | None:
    """PyTorch's hvp / gradient on the same network and batch (weight matrices, float64)."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)  # CPU time of one thread, as ours
    _, _, start = network(width)
    shapes = [(width, 2), (width, width), (1, width)]
    tensors, k = [], 0
    for rows, cols in shapes:
        weights = []
        for _ in range(rows):
            weights.append(start[k : k + cols + 1])
            k += cols + 1
        tensors.append(torch.tensor([w[:-1] for w in weights], dtype=torch.float64))
        tensors.append(torch.tensor([w[-1] for w in weights], dtype=torch.float64))
    x = torch.tensor(BATCH, dtype=torch.float64)

    def loss(*ps: Any) -> Any:
        h = x
        for depth in range(3):
            h = h @ ps[2 * depth].T + ps[2 * depth + 1]
            if depth < 2:
                h = h.tanh()
        return (h * h).sum()

    v = tuple(torch.ones_like(t) * 0.5 for t in tensors)

    def gradient() -> Any:
        ps = [t.clone().requires_grad_() for t in tensors]
        return torch.autograd.grad(loss(*ps), ps)

    steps = {
        "gradient": gradient,
        "hvp": lambda: torch.autograd.functional.hvp(loss, tuple(tensors), v),
    }
    times = _interleaved(steps, rounds)
    return _median_ratio(times["hvp"], times["gradient"])


def _interleaved(steps: dict[str, Callable[[], Any]], rounds: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in steps}
    for round_ in range(rounds + 1):  # the first round warms up
        for name, step in steps.items():
            gc.collect()
            start = time.process_time()
            step()
            elapsed = time.process_time() - start
            if round_:
                times[name].append(elapsed)
    return times


def _median_ratio(numerators: list[float], denominators: list[float]) -> float:
    return statistics.median(a / b for a, b in zip(numerators, denominators, strict=True))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9, help="timed rounds per width")
    parser.add_argument("--widths", type=int, nargs="+", default=list(WIDTHS))
    parser.add_argument("--no-check", action="store_true", help="report without checking")
    args = parser.parse_args()
    print(f"MLP(2, [h, h, 1]), tanh, batch of {len(BATCH)}: medians of {args.rounds} rounds")
    print(
        f"{'h':>3} {'params':>7} {'nodes':>7} {'+grad graph':>12} {'gradient':>9} "
        f"{'hvp':>6} {'hessian':>8} {'torch hvp':>10}"
    )
    missed = []
    for width in args.widths:
        r = ours(width, args.rounds)
        torch_ratio = theirs(width, args.rounds)
        torch_text = "-" if torch_ratio is None else f"{torch_ratio:.1f}x"
        print(
            f"{width:>3} {r['parameters']:>7} {r['nodes']:>7} {r['added']:>12} "
            f"{r['ms']:>7.1f}ms {r['hvp']:>5.1f}x {r['hessian']:>7.1f}x {torch_text:>10}"
        )
        for key in ("hvp", "hessian"):
            if r[key] > TARGET:
                missed.append(f"{key} at h = {width}: {r[key]:.1f}x (target <= {TARGET}x)")
    print("hvp: against a gradient over every parameter; hessian: of the 2 inputs (2 x 2),")
    print("against a gradient over the 2 inputs; torch hvp: PyTorch's, the same way.")
    if args.no_check:
        return 0
    print("all targets met" if not missed else "MISSED: " + "; ".join(missed))
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
