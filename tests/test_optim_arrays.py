"""Optimisers and frozen parameters (PyTorch side by side), and each optimiser's update on arrays
(compiled training) against the same optimiser stepping ``Value``s one by one."""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np
import pytest
from conftest import require_module
from test_optim import OPTIMISERS

from microgradnet import Value
from microgradnet._optimizer_arrays import ArrayUpdate, runs_on_arrays
from microgradnet.nn import MLP
from microgradnet.optim import SGD, Adam, Optimizer

CASES = [pytest.param(o, t, k, id=name) for name, o, t, k in OPTIMISERS]
N, STEPS = 6, 7


def _gradients(step: int) -> list[float]:
    rng = random.Random(step)
    return [rng.gauss(0.0, 1.0) * 10.0 ** rng.randint(-2, 1) for _ in range(N)]


def _frozen_at(step: int) -> set[int]:
    """Parameters 1 and 4 start frozen; 4 thaws at step 3; 0 freezes at step 5."""
    frozen = {1, 4} if step < 3 else {1}
    return frozen | {0} if step >= 5 else frozen


@pytest.mark.parametrize(("ours", "torch_name", "kwargs"), CASES)
def test_frozen_parameters_are_skipped_as_torch_skips_them(
    ours: type, torch_name: str, kwargs: dict[str, Any]
) -> None:
    torch = require_module("torch")
    start = [0.5 * i - 1.2 for i in range(N)]
    params = [Value(x) for x in start]
    reference = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in start]
    opt = ours(params, **kwargs)
    torch_opt = getattr(torch.optim, torch_name)(reference, **kwargs)
    for step in range(STEPS):
        frozen = _frozen_at(step)
        for i, (p, t, g) in enumerate(zip(params, reference, _gradients(step), strict=True)):
            p.requires_grad = i not in frozen
            p.grad = g  # a frozen parameter's gradient is ignored, whatever it holds
            t.requires_grad_(i not in frozen)
            t.grad = None if i in frozen else torch.tensor(g, dtype=torch.float64)
        opt.step()
        torch_opt.step()
        for i, (p, t) in enumerate(zip(params, reference, strict=True)):
            assert p.data == pytest.approx(t.item(), rel=1e-12, abs=1e-14), (step, i)
    # no state for a parameter that never took a step (torch keeps none either, but Adagrad's,
    # made for every parameter when it is built); a thawed one has the state of the others
    assert opt.state[params[1]] == {}
    assert opt.state[params[4]].keys() == opt.state[params[2]].keys()


@pytest.mark.parametrize(("ours", "torch_name", "kwargs"), CASES)
def test_the_update_on_arrays_is_the_update_on_each_value(
    ours: type, torch_name: str, kwargs: dict[str, Any]
) -> None:
    start = [0.5 * i - 1.2 for i in range(N)]
    values = [Value(x) for x in start]
    scalar = ours(values, **kwargs)
    P, G = np.array(start), np.zeros(N)
    arrays = ours([Value(x) for x in start], **kwargs)
    on_arrays = ArrayUpdate(arrays, arrays.params, P, G)
    assert runs_on_arrays(arrays) and on_arrays.agrees(None)
    for step in range(STEPS):
        frozen = _frozen_at(step)
        grads = _gradients(step)
        for i, (p, g) in enumerate(zip(values, grads, strict=True)):
            p.requires_grad = i not in frozen
            p.grad = g
        scalar.step()
        G[:] = grads
        active = np.array([i not in frozen for i in range(N)])
        on_arrays.step(None if active.all() else active)
        np.testing.assert_allclose(P, [p.data for p in values], rtol=1e-15, atol=0)
    # the arrays' state, written back on access, is the scalar path's
    for mine, theirs in zip(arrays.params, values, strict=True):
        assert arrays.state[mine].keys() == scalar.state[theirs].keys()
        for key, value in scalar.state[theirs].items():
            assert arrays.state[mine][key] == pytest.approx(value, rel=1e-15, abs=0)


class _WithMath(Optimizer):
    """An update written with math: it raises on arrays."""

    def _update(self, param: Any, grad: Any, state: dict[str, Any], lr: float) -> Any:
        return param - lr * grad / math.sqrt(1.0 + grad * grad)


class _OwnStep(SGD):
    def step(self, closure: Any = None) -> Any:  # e.g. to log something
        return super().step(closure)


@pytest.mark.parametrize("optimizer", [_WithMath, _OwnStep, SGD, Adam])
def test_fit_compiled_with_any_optimiser_trains_like_the_dynamic_fit(optimizer: type) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(48, 2))
    y = np.where(X[:, 0] * X[:, 1] > 0, 1, -1)
    results = []
    for compiled in (False, True):
        model = MLP(2, [6, 1], seed=3)
        model.layers[0].neurons[2].requires_grad_(False)  # a frozen neuron, in both runs
        opt = optimizer(model.parameters(), lr=0.05)
        model.fit(X, y, loss="hinge", optimizer=opt, epochs=3, batch_size=16, seed=1,
                  progress=False, compiled=compiled)  # fmt: skip
        state = [sorted(opt.state[p].items()) for p in model.parameters()]
        results.append(
            ([p.data for p in model.parameters()], [p.grad for p in model.parameters()], state)
        )
        # and the optimiser carries on the ordinary way, from the state the arrays kept
        opt.step()
        results[-1] += ([p.data for p in model.parameters()],)
    (d_params, d_grads, d_state, d_next), (c_params, c_grads, c_state, c_next) = results
    np.testing.assert_allclose(c_params, d_params, rtol=1e-9)
    np.testing.assert_allclose(c_grads, d_grads, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(c_next, d_next, rtol=1e-9)
    assert [[k for k, _ in s] for s in c_state] == [[k for k, _ in s] for s in d_state]
    assert not runs_on_arrays(_OwnStep([Value(1.0)], lr=0.1))
