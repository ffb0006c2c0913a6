"""Optimisers, schedules and gradient clipping, step by step against torch.optim in float64."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

import pytest
from conftest import require_module

from microgradnet import Value
from microgradnet.optim import (
    SGD,
    Adagrad,
    Adam,
    AdamW,
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    RMSprop,
    StepLR,
    clip_grad_norm_,
    clip_grad_value_,
)

REL = 1e-12
ABS = 1e-14
N_PARAMS = 5
N_STEPS = 8


def _initial(seed: int = 0) -> list[float]:
    rng = random.Random(seed)
    return [rng.uniform(-2.0, 2.0) for _ in range(N_PARAMS)]


def _gradients(seed: int = 1) -> list[list[float]]:
    # Mixed scales and a zero gradient, so that state updates on a zero gradient are exercised.
    rng = random.Random(seed)
    steps = []
    for _ in range(N_STEPS):
        g = [rng.gauss(0.0, 1.0) * 10.0 ** rng.randint(-2, 1) for _ in range(N_PARAMS)]
        g[2] = 0.0
        steps.append(g)
    return steps


OPTIMISERS: list[tuple[str, type, str, dict[str, Any]]] = [
    ("sgd", SGD, "SGD", {"lr": 0.1}),
    ("sgd-momentum", SGD, "SGD", {"lr": 0.05, "momentum": 0.9}),
    ("sgd-dampening", SGD, "SGD", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3}),
    ("sgd-nesterov", SGD, "SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("sgd-wd", SGD, "SGD", {"lr": 0.1, "momentum": 0.5, "weight_decay": 0.05}),
    ("sgd-maximize", SGD, "SGD", {"lr": 0.1, "momentum": 0.5, "maximize": True}),
    ("adam", Adam, "Adam", {}),
    ("adam-lr", Adam, "Adam", {"lr": 0.05, "betas": (0.8, 0.95), "eps": 1e-6}),
    ("adam-wd", Adam, "Adam", {"lr": 0.01, "weight_decay": 0.1}),
    ("adam-amsgrad", Adam, "Adam", {"lr": 0.02, "amsgrad": True}),
    ("adam-amsgrad-wd", Adam, "Adam", {"lr": 0.02, "amsgrad": True, "weight_decay": 0.01}),
    ("adam-maximize", Adam, "Adam", {"lr": 0.02, "maximize": True}),
    ("adamw", AdamW, "AdamW", {}),
    ("adamw-options", AdamW, "AdamW", {"lr": 0.03, "weight_decay": 0.2, "amsgrad": True}),
    ("rmsprop", RMSprop, "RMSprop", {}),
    ("rmsprop-alpha", RMSprop, "RMSprop", {"lr": 0.003, "alpha": 0.9, "eps": 1e-6}),
    ("rmsprop-momentum", RMSprop, "RMSprop", {"lr": 0.01, "momentum": 0.9}),
    ("rmsprop-centered", RMSprop, "RMSprop", {"lr": 0.01, "centered": True}),
    (
        "rmsprop-all",
        RMSprop,
        "RMSprop",
        {"lr": 0.01, "centered": True, "momentum": 0.7, "weight_decay": 0.1},
    ),
    ("adagrad", Adagrad, "Adagrad", {}),
    ("adagrad-decay", Adagrad, "Adagrad", {"lr": 0.1, "lr_decay": 0.05}),
    (
        "adagrad-all",
        Adagrad,
        "Adagrad",
        {"lr": 0.1, "weight_decay": 0.1, "initial_accumulator_value": 0.3, "eps": 1e-6},
    ),
]


def _torch_params(torch: Any, values: list[float]) -> Any:
    return torch.tensor(values, dtype=torch.float64, requires_grad=True)


@pytest.mark.parametrize(
    ("ours", "torch_name", "kwargs"),
    [pytest.param(o, t, k, id=name) for name, o, t, k in OPTIMISERS],
)
def test_optimiser_matches_torch_step_by_step(
    ours: type, torch_name: str, kwargs: dict[str, Any]
) -> None:
    torch = require_module("torch")
    start = _initial()
    params = [Value(x) for x in start]
    reference = _torch_params(torch, start)
    opt = ours(params, **kwargs)
    torch_opt = getattr(torch.optim, torch_name)([reference], **kwargs)
    for step, grads in enumerate(_gradients()):
        if step == 5:  # a schedule changing lr mid-run reaches both the same way
            opt.lr *= 0.5
            torch_opt.param_groups[0]["lr"] *= 0.5
        for p, g in zip(params, grads, strict=True):
            p.grad = g
        reference.grad = torch.tensor(grads, dtype=torch.float64)
        opt.step()
        torch_opt.step()
        expected = reference.detach().tolist()
        for i, (p, e) in enumerate(zip(params, expected, strict=True)):
            assert p.data == pytest.approx(e, rel=REL, abs=ABS), (step, i)


def test_training_trajectory_matches_torch() -> None:
    """Our engine's gradients plus our Adam follow torch's autograd plus torch's Adam."""
    torch = require_module("torch")
    x, y = Value(-1.2), Value(1.0)
    tx = torch.tensor(-1.2, dtype=torch.float64, requires_grad=True)
    ty = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    opt = Adam([x, y], lr=0.05, amsgrad=True)
    torch_opt = torch.optim.Adam([tx, ty], lr=0.05, amsgrad=True)
    for _ in range(25):
        opt.zero_grad()
        ((1 - x) ** 2 + 100 * (y - x**2) ** 2).backward()
        opt.step()
        torch_opt.zero_grad()
        ((1 - tx) ** 2 + 100 * (ty - tx**2) ** 2).backward()
        torch_opt.step()
    assert x.data == pytest.approx(tx.item(), rel=1e-10)
    assert y.data == pytest.approx(ty.item(), rel=1e-10)


def test_step_returns_closure_loss_and_zero_grad_clears() -> None:
    w = Value(2.0)
    opt = SGD([w], lr=0.25)

    def closure() -> Value:
        opt.zero_grad()
        loss = w * w
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss is not None and loss.data == 4.0
    assert w.data == 2.0 - 0.25 * 4.0
    opt.zero_grad()
    assert w.grad == 0.0


def test_state_is_per_parameter() -> None:
    a, b = Value(1.0), Value(2.0)
    opt = Adam([a, b], lr=0.1)
    a.grad, b.grad = 1.0, -3.0
    opt.step()
    assert opt.state[a]["step"] == 1.0
    assert opt.state[a]["exp_avg"] == pytest.approx(0.1)
    assert opt.state[b]["exp_avg"] == pytest.approx(-0.3)


def test_params_deduplicated_and_any_iterable() -> None:
    a, b = Value(1.0), Value(2.0)
    opt = SGD((p for p in [a, b, a, b, a]), lr=1.0)
    assert opt.params == [a, b]
    a.grad = 1.0
    opt.step()
    assert a.data == 0.0  # updated once, not three times


def test_lr_is_mutable() -> None:
    w = Value(0.0)
    opt = SGD([w], lr=1.0)
    opt.lr = 0.5
    w.grad = 1.0
    opt.step()
    assert w.data == -0.5


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ([], ValueError, "empty parameter list"),
        (Value(1.0), TypeError, "single Value"),
        ([Value(1.0), 2.0], TypeError, r"params\[1\] must be a Value, got float"),
        (3, TypeError, "iterable of Values, got int"),
    ],
)
def test_bad_params_rejected(params: Any, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        SGD(params, lr=0.1)


def test_module_instead_of_parameters_rejected() -> None:
    class Model:
        def parameters(self) -> list[Value]:
            return [Value(1.0)]

    with pytest.raises(TypeError, match=r"model\.parameters\(\)"):
        Adam(Model())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("factory", "match"),
    [
        (lambda p: SGD(p, lr=-0.1), "lr value: -0.1"),
        (lambda p: SGD(p, lr=0.1, momentum=-0.5), "momentum value: -0.5"),
        (lambda p: SGD(p, lr=0.1, weight_decay=-1), "weight_decay value: -1"),
        (lambda p: SGD(p, lr=0.1, nesterov=True), "Nesterov momentum requires"),
        (lambda p: SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "dampening=0.1"),
        (lambda p: SGD(p, lr=float("nan")), "lr value: nan"),
        (lambda p: Adam(p, lr=-1e-3), "lr value: -0.001"),
        (lambda p: Adam(p, betas=(1.0, 0.999)), "beta parameter at index 0 value: 1.0"),
        (lambda p: Adam(p, betas=(0.9, -0.1)), "beta parameter at index 1 value: -0.1"),
        (lambda p: Adam(p, betas=0.9), "betas must be a pair"),
        (lambda p: Adam(p, eps=-1e-8), "epsilon value: -1e-08"),
        (lambda p: Adam(p, weight_decay=-0.1), "weight_decay value: -0.1"),
        (lambda p: AdamW(p, weight_decay=-0.1), "weight_decay value: -0.1"),
        (lambda p: RMSprop(p, alpha=-0.9), "alpha value: -0.9"),
        (lambda p: RMSprop(p, momentum=-1), "momentum value: -1"),
        (lambda p: RMSprop(p, eps=-1), "epsilon value: -1"),
        (lambda p: Adagrad(p, lr_decay=-0.1), "lr_decay value: -0.1"),
        (lambda p: Adagrad(p, initial_accumulator_value=-1), "initial_accumulator_value"),
        (lambda p: Adagrad(p, eps=-1), "epsilon value: -1"),
    ],
)
def test_bad_hyperparameters_rejected(factory: Callable[[list[Value]], Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        factory([Value(1.0)])


def test_non_numeric_hyperparameter_is_type_error() -> None:
    with pytest.raises(TypeError, match="lr must be a real number, got str"):
        SGD([Value(1.0)], lr="0.1")  # type: ignore[arg-type]


# ----- schedules -----
SCHEDULES: list[tuple[str, Callable[..., Any], str, dict[str, Any]]] = [
    ("step", StepLR, "StepLR", {"step_size": 3, "gamma": 0.5}),
    ("step-default-gamma", StepLR, "StepLR", {"step_size": 4}),
    ("exponential", ExponentialLR, "ExponentialLR", {"gamma": 0.9}),
    ("cosine", CosineAnnealingLR, "CosineAnnealingLR", {"T_max": 7}),
    ("cosine-eta-min", CosineAnnealingLR, "CosineAnnealingLR", {"T_max": 5, "eta_min": 0.01}),
    ("lambda", LambdaLR, "LambdaLR", {"lr_lambda": lambda t: 1.0 / (1.0 + t)}),
    ("lambda-warmup", LambdaLR, "LambdaLR", {"lr_lambda": lambda t: min(1.0, (t + 1) / 4)}),
]


@pytest.mark.parametrize(
    ("ours", "torch_name", "kwargs"),
    [pytest.param(o, t, k, id=name) for name, o, t, k in SCHEDULES],
)
def test_schedule_matches_torch(ours: Callable[..., Any], torch_name: str, kwargs: dict) -> None:
    torch = require_module("torch")
    opt = SGD([Value(1.0)], lr=0.2)
    reference = _torch_params(torch, [1.0])
    torch_opt = torch.optim.SGD([reference], lr=0.2)
    sched = ours(opt, **kwargs)
    torch_sched = getattr(torch.optim.lr_scheduler, torch_name)(torch_opt, **kwargs)
    assert sched.get_last_lr() == pytest.approx(torch_sched.get_last_lr(), rel=1e-12)
    # 23 steps: past T_max, where the cosine rises again and its recursive form changes branch
    for step in range(23):
        opt.step()
        torch_opt.step()
        sched.step()
        torch_sched.step()
        expected = torch_sched.get_last_lr()[0]
        assert sched.get_last_lr() == [pytest.approx(expected, rel=1e-12, abs=1e-15)], step
        assert opt.lr == pytest.approx(torch_opt.param_groups[0]["lr"], rel=1e-12, abs=1e-15)


def test_schedule_drives_the_optimiser_update() -> None:
    w = Value(0.0)
    opt = SGD([w], lr=1.0)
    sched = StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):
        w.grad = 1.0
        opt.step()
        sched.step()
    assert w.data == -(1.0 + 0.5 + 0.25)


@pytest.mark.parametrize(
    ("factory", "error", "match"),
    [
        (lambda o: StepLR(o, step_size=0), ValueError, "step_size must be a positive integer"),
        (lambda o: StepLR(o, step_size=2.5), ValueError, "step_size must be a positive integer"),
        (lambda o: StepLR(o, step_size=2, gamma=-1), ValueError, "gamma value: -1"),
        (lambda o: ExponentialLR(o, gamma=float("inf")), ValueError, "gamma value: inf"),
        (lambda o: CosineAnnealingLR(o, T_max=0), ValueError, "T_max must be a positive"),
        (lambda o: CosineAnnealingLR(o, T_max=3, eta_min=-1), ValueError, "eta_min value: -1"),
        (lambda o: LambdaLR(o, lr_lambda=0.5), TypeError, "lr_lambda must be callable"),
        (lambda o: LambdaLR(o, lr_lambda=lambda t: "x"), TypeError, r"lr_lambda\(0\) must"),
        (lambda o: StepLR(object(), step_size=1), TypeError, "numeric lr attribute"),
    ],
)
def test_bad_schedule_arguments(factory: Callable[[Any], Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        factory(SGD([Value(1.0)], lr=0.1))


# ----- clipping -----
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(norm_type: float, max_norm: float) -> None:
    torch = require_module("torch")
    grads = _gradients(seed=7)[0]
    params = [Value(0.0) for _ in grads]
    tensors = [_torch_params(torch, [0.0]) for _ in grads]
    for p, t, g in zip(params, tensors, grads, strict=True):
        p.grad = g
        t.grad = torch.tensor([g], dtype=torch.float64)
    total = clip_grad_norm_(params, max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(tensors, max_norm, norm_type)
    assert total == pytest.approx(expected.item(), rel=1e-12)
    for p, t in zip(params, tensors, strict=True):
        assert p.grad == pytest.approx(t.grad.item(), rel=1e-12, abs=1e-15)


def test_clip_grad_value_matches_torch() -> None:
    torch = require_module("torch")
    grads = _gradients(seed=3)[1]
    params = [Value(0.0) for _ in grads]
    tensor = _torch_params(torch, [0.0] * len(grads))
    for p, g in zip(params, grads, strict=True):
        p.grad = g
    tensor.grad = torch.tensor(grads, dtype=torch.float64)
    clip_grad_value_(params, 0.1)
    torch.nn.utils.clip_grad_value_([tensor], 0.1)
    assert [p.grad for p in params] == tensor.grad.tolist()


def test_clip_grad_norm_scales_to_the_limit() -> None:
    a, b = Value(0.0), Value(0.0)
    a.grad, b.grad = 3.0, 4.0
    assert clip_grad_norm_([a, b], 1.0) == 5.0
    assert math.hypot(a.grad, b.grad) == pytest.approx(1.0, rel=1e-5)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda p: clip_grad_norm_(p, -1.0), "max_norm value: -1.0"),
        (lambda p: clip_grad_norm_(p, 1.0, norm_type=0), "norm_type value: 0"),
        (lambda p: clip_grad_value_(p, -0.5), "clip_value value: -0.5"),
        (lambda p: clip_grad_norm_([], 1.0), "empty parameter list"),
    ],
)
def test_bad_clipping_arguments(call: Callable[[list[Value]], Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call([Value(1.0)])


def test_repr_shows_settings() -> None:
    text = repr(SGD([Value(1.0)], lr=0.1, momentum=0.9))
    assert text.startswith("SGD(1 parameters, lr=0.1, momentum=0.9")
