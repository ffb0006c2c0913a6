"""Hooks in the backward walk, against PyTorch: what mutants of ``_backward.py`` changed and the
rest of the suite let through (``benchmarks/mutation/mutate_rules.py``).

A hook runs once per walk with the node's whole gradient; a hook of a leaf that ``grad()`` does
not need is not run; a number a hook returns without ``create_graph`` stays a number.
"""

from __future__ import annotations

import pytest
import torch

from microgradnet import Value, grad


def _tensor(x: float) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.float64, requires_grad=True)


def test_a_hook_on_an_inner_node_runs_once_with_its_whole_gradient() -> None:
    x, calls = Value(1.5), []
    h = x * 2.0
    h.register_hook(lambda g: calls.append(g))
    (h * 3.0 + h).backward()

    tx, torch_calls = _tensor(1.5), []
    th = tx * 2.0
    th.register_hook(lambda g: torch_calls.append(g.item()))
    (th * 3.0 + th).backward()
    assert calls == torch_calls == [4.0]
    assert x.grad == tx.grad.item() == 8.0


def test_grad_runs_no_hook_of_a_leaf_it_does_not_need() -> None:
    x, z, calls = Value(1.5), Value(-2.0), []
    z.register_hook(lambda g: calls.append(g))
    (gx,) = grad(x * z + z, [x])

    tx, tz, torch_calls = _tensor(1.5), _tensor(-2.0), []
    tz.register_hook(lambda g: torch_calls.append(g.item()))
    (tgx,) = torch.autograd.grad(tx * tz + tz, [tx])
    assert calls == torch_calls == []
    assert gx.data == tgx.item() == -2.0


def test_a_number_returned_by_a_hook_stays_a_number_without_create_graph() -> None:
    x, z = Value(1.5), Value(-2.0)
    h = x * z
    h.register_hook(lambda g: 2.0 * float(g))
    (gx,) = grad(h * h + z, [x])
    y = x * x
    y.register_hook(lambda g: 2.0 * float(g))
    y.backward()

    tx, tz = _tensor(1.5), _tensor(-2.0)
    th = tx * tz
    th.register_hook(lambda g: 2.0 * g)
    (tgx,) = torch.autograd.grad(th * th + tz, [tx])
    assert gx.data == pytest.approx(tgx.item()) and gx.op == "" and gx.parents == ()
    assert type(x.grad) is float and x.grad == 6.0  # 2 * d(x*x)/dx


def test_a_hook_on_a_leaf_runs_once_and_its_number_is_the_gradient() -> None:
    x, calls = Value(1.5), []
    x.register_hook(lambda g: calls.append(g) or 2.0 * g)
    (x * x + x).backward()

    tx, torch_calls = _tensor(1.5), []
    tx.register_hook(lambda g: torch_calls.append(g.item()) or 2.0 * g)
    (tx * tx + tx).backward()
    assert calls == torch_calls == [4.0]
    assert x.grad == tx.grad.item() == 8.0
