"""Losses and penalties against torch.nn.functional (float64), in value and gradient."""

from __future__ import annotations

import pytest
from conftest import require_module

from microgradnet import Value, functional, losses

TOL = 1e-10


def _check(ours_loss: Value, ours_inputs: list[Value], t_loss, t_inputs) -> None:
    """Backward on both sides; compare the loss and every input gradient."""
    ours_loss.backward()
    t_loss.backward()
    assert ours_loss.data == pytest.approx(t_loss.item(), rel=TOL, abs=TOL)
    for v, g in zip(ours_inputs, t_inputs.grad.tolist(), strict=True):
        assert v.grad == pytest.approx(g, rel=TOL, abs=TOL)


def _pair(torch, data: list[float]):
    return [Value(x) for x in data], torch.tensor(data, dtype=torch.float64, requires_grad=True)


def test_mse_matches_torch() -> None:
    torch = require_module("torch")
    preds, t_preds = _pair(torch, [0.5, -1.5, 2.0, 3.25])
    targets = [1.0, -1.0, 0.0, 3.0]
    _check(
        losses.mse(preds, targets),
        preds,
        torch.nn.functional.mse_loss(t_preds, torch.tensor(targets, dtype=torch.float64)),
        t_preds,
    )


@pytest.mark.parametrize(
    ("probabilities", "targets"),
    [
        ([0.2, 0.9, 0.5, 0.01], [0.0, 1.0, 1.0, 0.3]),
        ([1e-60, 1.0 - 1e-9, 0.7], [1.0, 0.0, 0.25]),
    ],
)
def test_binary_cross_entropy_matches_torch(probabilities, targets) -> None:
    torch = require_module("torch")
    ps, t_ps = _pair(torch, probabilities)
    t_targets = torch.tensor(targets, dtype=torch.float64)
    ours = losses.binary_cross_entropy(ps, targets)
    ours.backward()
    theirs = torch.nn.functional.binary_cross_entropy(t_ps, t_targets)
    theirs.backward()
    assert ours.data == pytest.approx(theirs.item(), rel=TOL)
    for v, g in zip(ps, t_ps.grad.tolist(), strict=True):
        assert v.grad == pytest.approx(g, rel=1e-12)


def test_binary_cross_entropy_saturated_probability_gives_torchs_clamped_value() -> None:
    torch = require_module("torch")
    theirs = torch.nn.functional.binary_cross_entropy(
        torch.tensor([0.0, 1.0], dtype=torch.float64), torch.tensor([1.0, 0.0], dtype=torch.float64)
    )
    assert losses.binary_cross_entropy([0.0, 1.0], [1.0, 0.0]).data == pytest.approx(theirs.item())


@pytest.mark.parametrize(
    "logits", [[0.0, 1.3, -2.2, 4.0], [1000.0, -1000.0, 0.0, 999.0], [-1000.0, 1000.0, 30.0, -30.0]]
)
def test_binary_cross_entropy_with_logits_matches_torch(logits) -> None:
    torch = require_module("torch")
    targets = [1.0, 0.0, 0.5, 1.0]
    xs, t_xs = _pair(torch, logits)
    _check(
        losses.binary_cross_entropy_with_logits(xs, targets),
        xs,
        torch.nn.functional.binary_cross_entropy_with_logits(
            t_xs, torch.tensor(targets, dtype=torch.float64)
        ),
        t_xs,
    )


@pytest.mark.parametrize(
    ("logits", "target"),
    [([0.2, -1.0, 3.0], 0), ([0.2, -1.0, 3.0], 2), ([1000.0, -1000.0, 0.0], 1), ([-1000.0], 0)],
)
def test_cross_entropy_matches_torch(logits, target) -> None:
    torch = require_module("torch")
    xs, t_xs = _pair(torch, logits)
    _check(
        losses.cross_entropy(xs, target),
        xs,
        torch.nn.functional.cross_entropy(t_xs.unsqueeze(0), torch.tensor([target])),
        t_xs,
    )


def test_hinge_matches_torch_max_margin() -> None:
    torch = require_module("torch")
    scores = [0.5, -2.0, 1.5, -0.3, 0.9]
    labels = [1, -1, -1, 1, 1]
    xs, t_xs = _pair(torch, scores)
    t_labels = torch.tensor(labels, dtype=torch.float64)
    _check(losses.hinge(xs, labels), xs, torch.relu(1 - t_labels * t_xs).mean(), t_xs)


def test_penalties_match_torch() -> None:
    torch = require_module("torch")
    data = [0.5, -2.0, 1.5, 0.0]
    ps, t_ps = _pair(torch, data)
    _check(losses.l2_penalty(ps, 1e-2), ps, 1e-2 * (t_ps**2).sum(), t_ps)
    ps, t_ps = _pair(torch, data)
    _check(losses.l1_penalty(ps, 0.3), ps, 0.3 * t_ps.abs().sum(), t_ps)


def test_l2_penalty_of_a_shared_parameter_counts_it_twice() -> None:
    p = Value(3.0)
    loss = losses.l2_penalty([p, p], 1.0)
    loss.backward()
    assert loss.data == 18.0
    assert p.grad == 12.0  # d/dp (2 p**2)


def test_single_values_and_numbers_are_accepted() -> None:
    assert losses.mse(Value(3.0), 1.0).data == 4.0
    assert losses.mse(2, 0).data == 4.0
    assert losses.hinge(Value(0.25), 1).data == 0.75


def test_losses_stay_small_graphs() -> None:
    from microgradnet.engine import backward_order

    scores = [Value(0.1 * i) for i in range(50)]
    loss = losses.hinge(scores, [1] * 50)
    # 50 leaves + 50 constants + 50 (1 - s) + 50 relu + sum + n + mean
    assert len(backward_order(loss)) <= 4 * 50 + 3


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: losses.mse([1.0, 2.0], [1.0]), ["2 predictions", "1 targets"]),
        (lambda: losses.hinge([1.0], [1, -1]), ["1 scores", "2 labels"]),
        (lambda: losses.binary_cross_entropy([0.5], [1.0, 0.0]), ["1 probabilities", "2 targets"]),
        (lambda: losses.binary_cross_entropy_with_logits([0.5, 1.0], [1.0]), ["2 logits"]),
        (lambda: losses.hinge([1.0, 2.0], [1, 0]), ["labels[1]", "-1 or +1"]),
        (lambda: losses.binary_cross_entropy([1.5], [1.0]), ["probabilities[0]", "1.5"]),
        (lambda: losses.binary_cross_entropy([0.5], [2.0]), ["targets[0]", "2.0"]),
        (lambda: losses.binary_cross_entropy_with_logits([0.5], [-1.0]), ["targets[0]"]),
        (lambda: losses.cross_entropy([1.0, 2.0], 2), ["target_index 2", "2 logits"]),
        (lambda: losses.cross_entropy([1.0, 2.0], -1), ["target_index -1"]),
        (lambda: losses.mse([], []), ["at least one"]),
        (lambda: losses.l2_penalty([Value(1.0)], -1.0), ["alpha", "-1.0"]),
        (lambda: losses.l1_penalty([Value(1.0)], float("nan")), ["alpha"]),
    ],
)
def test_bad_input_raises_value_error_naming_it(call, words) -> None:
    with pytest.raises(ValueError) as info:
        call()
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize(
    "call",
    [
        lambda: losses.cross_entropy([1.0, 2.0], 1.0),
        lambda: losses.cross_entropy([1.0, 2.0], True),
        lambda: losses.mse("ab", "cd"),
        lambda: losses.l2_penalty([1.0, 2.0], 0.1),
        lambda: losses.hinge([1.0], ["1"]),
    ],
)
def test_wrong_types_raise_type_error(call) -> None:
    with pytest.raises(TypeError):
        call()


# ----- a whole batch, as fit passes it -----
def test_cross_entropy_of_a_batch_matches_torch() -> None:
    torch = require_module("torch")
    logits = [[0.2, -1.0, 3.0], [1000.0, -1000.0, 0.0], [0.5, 0.5, -2.0]]
    targets = [2, 1, 0]
    rows = [[Value(x) for x in row] for row in logits]
    t_logits = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    ours = losses.cross_entropy(rows, targets)
    ours.backward()
    theirs = torch.nn.functional.cross_entropy(t_logits, torch.tensor(targets))
    theirs.backward()
    assert ours.data == pytest.approx(theirs.item(), rel=TOL, abs=TOL)
    grads = [v.grad for row in rows for v in row]
    assert grads == pytest.approx(t_logits.grad.flatten().tolist(), rel=TOL, abs=TOL)


@pytest.mark.parametrize(
    ("name", "targets", "reference"),
    [
        ("mse", [[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]], "mse_loss"),
        ("binary_cross_entropy_with_logits", [[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]],
         "binary_cross_entropy_with_logits"),
        ("hinge", [[1, -1], [-1, 1], [1, 1]], None),
    ],
)  # fmt: skip
def test_element_wise_losses_average_every_output_of_a_batch(name, targets, reference) -> None:
    torch = require_module("torch")
    outputs = [[0.3, -1.2], [2.0, 0.1], [-0.4, 0.9]]
    rows = [[Value(x) for x in row] for row in outputs]
    t_outputs = torch.tensor(outputs, dtype=torch.float64, requires_grad=True)
    t_targets = torch.tensor(targets, dtype=torch.float64)
    ours = getattr(losses, name)(rows, targets)
    if reference is None:  # hinge: relu(1 - y s), the mean over every output of every sample
        theirs = torch.relu(1 - t_targets * t_outputs).mean()
    else:
        theirs = getattr(torch.nn.functional, reference)(t_outputs, t_targets)
    ours.backward()
    theirs.backward()
    assert ours.data == pytest.approx(theirs.item(), rel=TOL, abs=TOL)
    grads = [v.grad for row in rows for v in row]
    assert grads == pytest.approx(t_outputs.grad.flatten().tolist(), rel=TOL, abs=TOL)


def test_a_batch_of_rows_needs_a_row_of_targets_per_sample() -> None:
    with pytest.raises(ValueError, match=r"a row of targets per sample.*targets\[0\] is 2"):
        losses.mse([[1.0, 2.0], [3.0, 4.0]], [2, 0])
    with pytest.raises(ValueError, match="2 rows of logits but 1 target indices"):
        losses.cross_entropy([[1.0, 2.0], [3.0, 4.0]], [1])
    with pytest.raises(TypeError, match="target_index must be an int, got float"):
        losses.cross_entropy([[1.0, 2.0]], [1.0])


def test_every_library_loss_declares_what_it_is() -> None:
    from microgradnet._loss_kinds import recognise, recording

    calls = {
        "mse": ([0.5], [1.0], "estimates"),
        "hinge": ([0.5], [1], "scores"),
        "binary_cross_entropy": ([0.5], [1.0], "probabilities"),
        "binary_cross_entropy_with_logits": ([0.5], [1.0], "logits"),
        "cross_entropy": ([0.5, 1.0], 0, "logits"),
    }
    for name, (predictions, targets, kind) in calls.items():
        with recording() as records:
            value = getattr(losses, name)(predictions, targets)
        recognised = recognise(records, value)
        assert recognised.exact and recognised.kind.name == name
        assert (recognised.kind.reduction, recognised.kind.predictions) == ("mean", kind)
    assert losses.hinge([0.5], [1]).data == 0.5  # outside a recording, nothing is kept


# ----- at the clamps and the extremes, as PyTorch gives them -----
EDGES = [0.0, 5e-324, 1e-300, 3e-44, 1e-20, 1e-13, 1e-12, 0.3, 0.5, 1.0 - 1e-16, 1.0]


@pytest.mark.parametrize("target", [0.0, 1.0, 0.3, 0.999])
@pytest.mark.parametrize("probability", EDGES)
def test_binary_cross_entropy_at_its_clamps_is_torchs(probability: float, target: float) -> None:
    # torch clamps each log at -100 and divides the gradient by max(p (1 - p), 1e-12): at p = 0,
    # t = 1 the gradient is -1e12; with a soft target it is -t 1e12. The target's gradient too.
    torch = require_module("torch")
    p, t = Value(probability), Value(target)
    ours = losses.binary_cross_entropy([p], [t])
    ours.backward()
    t_p = torch.tensor([probability], dtype=torch.float64, requires_grad=True)
    t_t = torch.tensor([target], dtype=torch.float64, requires_grad=True)
    theirs = torch.nn.functional.binary_cross_entropy(t_p, t_t)
    theirs.backward()
    assert ours.data == pytest.approx(theirs.item(), rel=1e-12, abs=1e-300)
    assert p.grad == pytest.approx(t_p.grad.item(), rel=1e-12)
    assert t.grad == pytest.approx(t_t.grad.item(), rel=1e-12)


def test_binary_cross_entropy_at_zero_is_minus_a_trillion() -> None:
    p = Value(0.0)
    losses.binary_cross_entropy([p], [1.0]).backward()
    assert p.grad == pytest.approx(-1e12, rel=1e-8)  # 1 / 1e-12 as a float32, as PyTorch's


def test_cross_entropy_of_huge_equal_logits_is_log_2() -> None:
    # x - logsumexp(x) loses log 2 to rounding at 1e16; (x - max) - log Σ exp(x - max) does not
    import math

    assert losses.cross_entropy([1e16, 1e16], 0).data == pytest.approx(math.log(2), rel=1e-15)
    assert [v.data for v in functional.log_softmax([1e16, 1e16])] == [-math.log(2)] * 2


@pytest.mark.parametrize(
    "logits",
    [
        [1e16, 1e16, 0.0],
        [1e300, -1e300, 0.0],
        [-1e300, -1e300, -1e300],
        [1000.0, 999.0, -1000.0],
        [0.0, 0.0, 0.0],
        [1e-300, -1e-300, 0.0],
        [5e-324, 0.0, -5e-324],
    ],
)
@pytest.mark.parametrize("target", [0, 1, 2])
def test_cross_entropy_at_extremes_is_torchs(logits: list[float], target: int) -> None:
    torch = require_module("torch")
    xs, t_xs = _pair(torch, logits)
    ours = losses.cross_entropy(xs, target)
    ours.backward()
    theirs = torch.nn.functional.cross_entropy(t_xs.unsqueeze(0), torch.tensor([target]))
    theirs.backward()
    assert ours.data == pytest.approx(theirs.item(), rel=1e-12, abs=1e-300)
    # The shift is a max node, so its gradient 1 - Σ softmax (zero up to rounding) reaches the
    # largest logit: a few units in the last place at most.
    for v, g in zip(xs, t_xs.grad.tolist(), strict=True):
        assert v.grad == pytest.approx(g, rel=1e-12, abs=4e-16)


@pytest.mark.parametrize("logit", [-1e300, -1000.0, -40.0, 0.0, 40.0, 1000.0, 1e300])
@pytest.mark.parametrize("target", [0.0, 1.0, 0.25])
def test_binary_cross_entropy_with_logits_at_extremes_is_torchs(
    logit: float, target: float
) -> None:
    torch = require_module("torch")
    xs, t_xs = _pair(torch, [logit])
    ours = losses.binary_cross_entropy_with_logits(xs, [target])
    ours.backward()
    t_target = torch.tensor([target], dtype=torch.float64)
    theirs = torch.nn.functional.binary_cross_entropy_with_logits(t_xs, t_target)
    theirs.backward()
    assert ours.data == pytest.approx(theirs.item(), rel=1e-12)
    assert xs[0].grad == pytest.approx(t_xs.grad.item(), rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("score", [-1e300, -1.0, 0.0, 1.0, 1e300])
@pytest.mark.parametrize("label", [-1, 1])
def test_hinge_and_mse_at_extremes_are_torchs(score: float, label: int) -> None:
    # hinge at its kinks (the margin, y s = 1) takes torch's relu convention: gradient 0 there
    torch = require_module("torch")
    xs, t_xs = _pair(torch, [score])
    losses.hinge(xs, [label]).backward()
    torch.relu(1 - label * t_xs).mean().backward()
    assert xs[0].grad == t_xs.grad.item()
    xs, t_xs = _pair(torch, [score * 1e-160])  # squares below the overflow
    ours = losses.mse(xs, [float(label)])
    ours.backward()
    theirs = torch.nn.functional.mse_loss(t_xs, torch.tensor([float(label)], dtype=torch.float64))
    theirs.backward()
    assert ours.data == pytest.approx(theirs.item(), rel=1e-12)
    assert xs[0].grad == pytest.approx(t_xs.grad.item(), rel=1e-12)


@pytest.mark.parametrize(
    ("name", "targets", "outputs"),
    [
        ("mse", [0.5, 1.0, -1.0], 1),
        ("hinge", [1.0, -1.0, 1.0], 1),
        ("binary_cross_entropy", [1.0, 0.0, 0.5], 1),
        ("binary_cross_entropy_with_logits", [1.0, 0.0, 0.5], 1),
        ("cross_entropy", [0.0, 2.0, 1.0], 3),
    ],
)
def test_engine_and_compiled_mode_agree_when_the_data_holds_a_nan(
    name: str, targets: list[float], outputs: int
) -> None:
    import numpy as np

    from microgradnet import compile, grad
    from microgradnet.nn import MLP

    last = "sigmoid" if name == "binary_cross_entropy" else "linear"
    model = MLP(2, [3, outputs], output_activation=last, seed=1)
    loss = getattr(losses, name)
    X = np.array([[0.5, -1.0], [np.nan, 2.0], [1.0, 1.0]])
    T = np.array(targets)

    def per_sample(x: list[Value], t: Value) -> Value:
        return loss([model(x)], [t])

    f = compile(per_sample, (X[0], T[0]), parameters=model.parameters())
    expected, expected_grads, error = [], np.zeros(len(model.parameters())), None
    for i, (x, t) in enumerate(zip(X.tolist(), T.tolist(), strict=True)):
        try:
            out = per_sample([Value(v) for v in x], Value(t))
        except ValueError as raised:  # binary_cross_entropy refuses a NaN probability
            error = error or f"{raised} (sample {i} of the batch)"
            continue
        expected.append(out.data)
        expected_grads += [g.data for g in grad(out, model.parameters())]
    if error is not None:
        with pytest.raises(ValueError) as info:
            f(X, T)
        assert str(info.value) == error
        return
    np.testing.assert_allclose(f(X, T), expected, rtol=1e-12, equal_nan=True)
    _, grads = f.gradients(X, T, reduction="sum")
    np.testing.assert_allclose(grads, expected_grads, rtol=1e-12, equal_nan=True)
    assert np.isnan(expected[1]) and np.isnan(grads).any()
