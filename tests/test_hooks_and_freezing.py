"""Gradient hooks, requires_grad and Module.requires_grad_, side by side with PyTorch."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from conftest import require_module

from microgradnet import Value, grad
from microgradnet._value_extras import hooked_notes
from microgradnet.nn import MLP

torch = require_module("torch")


def _pair(*data: float) -> tuple[list[Value], list[Any]]:
    ours = [Value(x) for x in data]
    theirs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in data]
    return ours, theirs


def _item(g: Any) -> float | None:
    return None if g is None else float(g)


# ----- hooks -----
def _hooked_graph(x: Any, calls: list[tuple[str, float]]) -> tuple[Any, Any, list[Any]]:
    """y = (3x)² with hooks that record and change the gradients on its way."""
    h = x * 3
    y = h * h
    handles = [
        x.register_hook(lambda g: calls.append(("x", float(g))) or g * 10),
        h.register_hook(lambda g: calls.append(("h", float(g))) or g + 1),
        y.register_hook(lambda g: calls.append(("y", float(g)))),
    ]
    return h, y, handles


def test_hooks_see_and_replace_gradients_as_in_torch() -> None:
    (x,), (tx,) = _pair(2.0)
    ours: list[tuple[str, float]] = []
    theirs: list[tuple[str, float]] = []
    h, y, _ = _hooked_graph(x, ours)
    th, ty, _ = _hooked_graph(tx, theirs)
    y.backward()
    ty.backward(retain_graph=True)
    assert ours == theirs == [("y", 1.0), ("h", 12.0), ("x", 39.0)]
    assert x.grad == tx.grad.item() == 390.0
    ours.clear(), theirs.clear()
    # grad(): the hooks on the way run, and an input's gradient is the one after its hooks
    assert grad(y, [x])[0].data == torch.autograd.grad(ty, [tx], retain_graph=True)[0].item()
    assert ours == theirs
    ours.clear(), theirs.clear()
    assert grad(y, [h])[0].data == torch.autograd.grad(ty, [th], retain_graph=True)[0].item()
    assert ours == theirs == [("y", 1.0), ("h", 12.0)]  # x lies behind h: not walked


def _gated(a: Any, calls: list[tuple[str, float]]) -> Any:
    b = a * 2
    b.register_hook(lambda g: calls.append(("b", float(g))))
    c = a * 1
    c.register_hook(lambda g: calls.append(("c", float(g))))
    return b.relu() + (c * 0.0 + c).relu() * 0.0 + torch_or_value_max(c, a)


def torch_or_value_max(c: Any, a: Any) -> Any:
    if isinstance(c, Value):
        return Value.max([c, a + 5.0])
    return torch.maximum(c, a + 5.0)


def test_hooks_behind_a_dead_relu_and_a_losing_max_input_get_zero_as_in_torch() -> None:
    (a,), (ta,) = _pair(-1.0)
    ours: list[tuple[str, float]] = []
    theirs: list[tuple[str, float]] = []
    _gated(a, ours).backward()
    _gated(ta, theirs).backward()
    assert sorted(ours) == sorted(theirs)
    assert ("b", 0.0) in ours
    assert a.grad == ta.grad.item()


def test_several_hooks_chain_in_order_and_remove() -> None:
    for leaf in _pair(1.0):
        x = leaf[0]
        double = x.register_hook(lambda g: g * 2)
        x.register_hook(lambda g: g + 1)
        (x * 1).backward()
        assert float(x.grad) == 3.0
        double.remove()
        double.remove()  # removing twice does nothing
        x.grad = None if not isinstance(x, Value) else 0.0
        (x * 1).backward()
        assert float(x.grad) == 2.0


def test_hooks_on_the_root_and_on_a_leaf_root() -> None:
    for data in _pair(1.0, 1.0):
        x, leaf = data
        y = x * 5
        y.register_hook(lambda g: g * 0)
        y.backward()
        assert float(x.grad) == 0.0
        leaf.register_hook(lambda g: g * 7)
        leaf.backward()
        assert float(leaf.grad) == 7.0


def test_hooks_with_create_graph() -> None:
    (x,), (tx,) = _pair(2.0)
    x.register_hook(lambda g: g * 2)
    tx.register_hook(lambda g: g * 2)
    (g,) = grad(x**3, [x], create_graph=True)
    (tg,) = torch.autograd.grad(tx**3, [tx], create_graph=True)
    assert g.data == tg.item() == 24.0
    assert grad(g, [x])[0].data == torch.autograd.grad(tg, [tx])[0].item()


def test_a_hook_must_return_a_number_or_none() -> None:
    x = Value(1.0)
    x.register_hook(lambda g: "big")
    with pytest.raises(TypeError, match="returned str"):
        (x * 2).backward()
    with pytest.raises(TypeError, match="expected a function"):
        x.register_hook(3)  # type: ignore[arg-type]


def test_a_dropped_node_takes_its_hooks_along() -> None:
    before = len(hooked_notes())
    x = Value(1.0)
    y = x * 2
    handle = y.register_hook(lambda g: g)
    assert len(hooked_notes()) == before + 1
    del x, y
    assert len(hooked_notes()) == before  # freed by reference counting, no collection needed
    handle.remove()  # the node is gone: nothing to do


def test_labels_survive_hooks() -> None:
    x = Value(1.0, label="x")
    x.register_hook(lambda g: None)
    assert x.label == "x"
    x.label = "renamed"
    assert x.label == "renamed" and "renamed" in repr(x)


# ----- requires_grad -----
def test_a_frozen_leaf_gets_no_gradient_as_in_torch() -> None:
    (x, y), (tx, ty) = _pair(-2.0, 2.0)
    y.requires_grad = False
    ty.requires_grad_(False)
    (x**y).backward()  # d/dy needs log(-2): undefined, but y is frozen, so never computed
    (tx**ty).backward()
    assert x.grad == tx.grad.item() == -4.0
    assert y.grad == 0.0 and ty.grad is None
    assert not y.requires_grad and x.requires_grad
    assert (x * y).requires_grad and not (y * y).requires_grad


def test_frozen_errors_as_in_torch() -> None:
    (x, f), (tx, tf) = _pair(2.0, 1.0)
    f.requires_grad = False
    tf.requires_grad_(False)
    checks: list[tuple[Callable[[], Any], Callable[[], Any], str]] = [
        (lambda: f.register_hook(print), lambda: tf.register_hook(print), "hook"),
        (lambda: grad(x * f, [f]), lambda: torch.autograd.grad(tx * tf, [tf]), "require"),
        (lambda: (f * f).backward(), lambda: (tf * tf).backward(), "require"),
        (lambda: f.backward(), lambda: tf.backward(), "require"),
    ]
    for ours, theirs, match in checks:
        with pytest.raises(RuntimeError):
            theirs()
        with pytest.raises(RuntimeError, match=match):
            ours()
    for flag in (True, False):  # only a leaf's flag can change
        with pytest.raises(RuntimeError):
            (tx * 2).requires_grad = flag
        with pytest.raises(RuntimeError, match="leaf"):
            (x * 2).requires_grad = flag
    with pytest.raises(TypeError, match="bool"):
        x.requires_grad = 1  # type: ignore[assignment]


def test_what_lies_only_behind_frozen_leaves_is_not_walked() -> None:
    w, x = Value(2.0), Value(3.0)
    w.requires_grad = False
    zero = (w * w - w * w).sqrt()  # sqrt's derivative at 0 is undefined: walked, it raises
    out = zero * x + w * x
    out.backward()
    assert (x.grad, w.grad) == (2.0, 0.0)
    w.requires_grad = True
    with pytest.raises(ZeroDivisionError, match="sqrt"):
        out.backward()


def test_unfreezing_restores_gradients() -> None:
    w = Value(2.0)
    w.requires_grad = False
    w.requires_grad = False  # twice: still one frozen leaf
    w.requires_grad = True
    (w * w).backward()
    assert w.grad == 4.0 and w.requires_grad


def test_freezing_a_layer_matches_torch() -> None:
    model = MLP(2, [4, 3, 1], activation="tanh", seed=5)
    reference = [p.data for p in model.parameters()]
    model.layers[0].requires_grad_(False)
    assert model.requires_grad_(True) is model  # unfreeze all, then freeze the first again
    model.layers[0].requires_grad_(False)
    batch = [[0.5, -1.0], [1.5, 0.3]]
    loss = Value.sum([model(x) ** 2 for x in batch])
    loss.backward()

    params = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in reference]
    first_layer = 4 * 3
    for p in params[:first_layer]:
        p.requires_grad_(False)
    total = torch.tensor(0.0, dtype=torch.float64)
    for x in batch:
        h, k = [torch.tensor(v, dtype=torch.float64) for v in x], 0
        for depth, (nin, nout) in enumerate([(2, 4), (4, 3), (3, 1)]):
            rows = []
            for _ in range(nout):
                rows.append(
                    sum(
                        (w * v for w, v in zip(params[k : k + nin], h, strict=True)),
                        params[k + nin],
                    )
                )
                k += nin + 1
            h = [r.tanh() for r in rows] if depth < 2 else rows
        total = total + h[0] ** 2
    total.backward()
    for ours, theirs in zip(model.parameters(), params, strict=True):
        assert ours.requires_grad == theirs.requires_grad
        want = 0.0 if theirs.grad is None else theirs.grad.item()
        assert ours.grad == pytest.approx(want, rel=1e-12, abs=1e-15)
    assert all(p.grad == 0.0 for p in model.parameters()[:first_layer])
    with pytest.raises(TypeError, match="bool"):
        model.requires_grad_("no")  # type: ignore[arg-type]
    model.requires_grad_()
    assert all(p.requires_grad for p in model.parameters())


def test_a_copy_keeps_requires_grad_but_not_hooks_as_in_torch() -> None:
    model = MLP(2, [3, 1], seed=0)
    model.layers[0].requires_grad_(False)
    twin = copy.deepcopy(model)
    assert [p.requires_grad for p in twin.parameters()] == [
        p.requires_grad for p in model.parameters()
    ]
    twin([0.5, -1.0]).backward()
    assert all(p.grad == 0.0 for p in twin.layers[0].parameters())
    assert any(p.grad != 0.0 for p in twin.layers[1].parameters())
    for ours in (Value(1.0, label="x"), torch.tensor(1.0, requires_grad=True)):
        ours.register_hook(lambda g: g * 5)
        copied = copy.deepcopy(ours)
        (copied * 1).backward()
        assert float(copied.grad) == 1.0
    assert copy.copy(Value(2.0, label="x")).label == "x"


def _frozen_leaves(*data: float) -> list[Value]:
    leaves = [Value(x) for x in data]
    for x in leaves:
        x.requires_grad = False
    return leaves


@pytest.mark.parametrize("kind", ["max", "clamp", "min"])
def test_backward_from_a_selection_of_frozen_leaves_is_refused_as_in_pytorch(kind: str) -> None:
    a, b, c = _frozen_leaves(0.5, -1.0, 1.0)
    out = {"max": Value.max([a, b, c]), "min": Value.min([a, b, c]), "clamp": a.clamp(b, c)}[kind]
    assert out.requires_grad is False
    with pytest.raises(RuntimeError, match="does not require a gradient"):
        out.backward()
    ta, tb, tc = (torch.tensor(v, dtype=torch.float64) for v in (0.5, -1.0, 1.0))
    t_out = {
        "max": torch.stack([ta, tb, tc]).max(),
        "min": torch.stack([ta, tb, tc]).min(),
        "clamp": torch.clamp(ta, tb, tc),
    }[kind]
    with pytest.raises(RuntimeError, match="does not require grad"):
        t_out.backward()


def test_a_selection_of_frozen_leaves_inside_a_graph_gets_no_gradient() -> None:
    a, b, c = _frozen_leaves(0.5, -1.0, 1.0)
    m = Value.max([a * b, a.exp(), a.clamp(b, c)])
    x = Value(0.7)
    (m * x).backward()
    assert x.grad == m.data
    assert m.grad == 0.0  # like every value that requires no gradient (PyTorch: grad None)
