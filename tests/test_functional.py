"""softmax, log_softmax, logsumexp, softplus against torch (float64), in value and gradient."""

from __future__ import annotations

import math

import pytest
from conftest import require_module

from microgradnet import Value
from microgradnet.functional import log_softmax, logsumexp, softmax, softplus

TOL = 1e-10

LOGIT_CASES = [
    [0.3, -1.2, 2.5],
    [1000.0, -1000.0, 0.0],
    [-1000.0, -999.0, -1001.0],
    [1000.0, 1000.0],
    [1e16, 1e16, 0.0],
    [-1e300, 1e300, 0.0],
    [5.0],
]


def _weighted_sum(outputs: list[Value], weights: list[float]) -> Value:
    return Value.sum([w * o for w, o in zip(weights, outputs, strict=True)])


@pytest.mark.parametrize("logits", LOGIT_CASES)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_vector_functions_match_torch(name: str, logits: list[float]) -> None:
    torch = require_module("torch")
    ours = {"softmax": softmax, "log_softmax": log_softmax}[name]
    theirs = {"softmax": torch.softmax, "log_softmax": torch.log_softmax}[name]
    # A generic upstream gradient (not all ones: softmax's outputs sum to 1, so that would test
    # nothing), so every entry of the Jacobian counts.
    weights = [0.7 - 0.45 * i for i in range(len(logits))]

    xs = [Value(v) for v in logits]
    out = ours(xs)
    _weighted_sum(out, weights).backward()

    t = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    t_out = theirs(t, dim=0)
    (t_out * torch.tensor(weights, dtype=torch.float64)).sum().backward()

    for o, r in zip(out, t_out.tolist(), strict=True):
        assert math.isfinite(o.data)
        assert o.data == pytest.approx(r, rel=TOL, abs=TOL)
    for x, r in zip(xs, t.grad.tolist(), strict=True):
        assert x.grad == pytest.approx(r, rel=TOL, abs=TOL)


@pytest.mark.parametrize("logits", LOGIT_CASES)
def test_logsumexp_matches_torch(logits: list[float]) -> None:
    torch = require_module("torch")
    xs = [Value(v) for v in logits]
    out = logsumexp(xs)
    out.backward()
    t = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    t_out = torch.logsumexp(t, dim=0)
    t_out.backward()
    assert out.data == pytest.approx(t_out.item(), rel=TOL)
    # torch's gradient is exp(x - logsumexp(x)): at [1e16, 1e16] that is [1, 1], as
    # 1e16 + log 2 rounds to 1e16; the gradient is softmax, which torch gives exactly
    expected = torch.softmax(t.detach(), dim=0).tolist()
    for x, r in zip(xs, expected, strict=True):
        assert x.grad == pytest.approx(r, rel=TOL, abs=TOL)
    if max(abs(v) for v in logits) < 1e15:
        assert t.grad.tolist() == pytest.approx(expected, rel=TOL, abs=TOL)


@pytest.mark.parametrize("x", [-1000.0, -3.0, 0.0, 0.5, 40.0, 1000.0])
def test_softplus_matches_torch(x: float) -> None:
    torch = require_module("torch")
    v = Value(x)
    out = softplus(v)
    out.backward()
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    t_out = torch.nn.functional.softplus(t)
    t_out.backward()
    assert out.data == pytest.approx(t_out.item(), rel=TOL, abs=1e-300)
    assert v.grad == pytest.approx(t.grad.item(), rel=TOL, abs=1e-300)


def test_softplus_second_derivative_against_closed_form() -> None:
    from microgradnet import grad

    x = Value(0.8)
    (g,) = grad(softplus(x), [x], create_graph=True)
    (h,) = grad(g, [x])
    s = 1.0 / (1.0 + math.exp(-0.8))
    assert g.data == pytest.approx(s, rel=1e-12)
    assert h.data == pytest.approx(s * (1.0 - s), rel=1e-12)


def test_numbers_are_accepted_and_results_are_values() -> None:
    out = softmax([1, 2.0, Value(3.0)])
    assert all(isinstance(o, Value) for o in out)
    assert sum(o.data for o in out) == pytest.approx(1.0)
    assert isinstance(logsumexp([0.0, 0.0]), Value)


@pytest.mark.parametrize("fn", [softmax, log_softmax, logsumexp])
def test_empty_input_is_rejected(fn) -> None:
    with pytest.raises(ValueError, match="at least one"):
        fn([])


@pytest.mark.parametrize("fn", [softmax, log_softmax, logsumexp])
def test_non_numbers_are_rejected(fn) -> None:
    with pytest.raises(TypeError, match="str"):
        fn("abc")
    with pytest.raises(TypeError):
        fn([1.0, "x"])


# ----- compiled: the shift is a node, recomputed for every sample -----
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp"])
def test_compiled_functions_keep_their_stability_on_every_sample(name: str) -> None:
    import numpy as np

    from microgradnet import compile, functional, grad

    fn = getattr(functional, name)
    w = Value(1.0)
    weights = [0.7, -0.2, 0.4]

    def per_sample(x: list[Value]) -> Value:
        out = fn([v * w for v in x])
        return out if isinstance(out, Value) else _weighted_sum(out, weights)

    X = np.array([[0.3, -1.2, 2.5], [1000.0, -1000.0, 0.0], [1e16, 1e16, 0.0], [-5.0, 0.0, -1e3]])
    f = compile(per_sample, (X[0],))  # traced on small logits, run on huge ones
    expected, expected_grad = [], 0.0
    for x in X.tolist():
        out = per_sample([Value(v) for v in x])
        expected.append(out.data)
        expected_grad += grad(out, [w])[0].data
    found = f(X)
    assert np.isfinite(found).all()
    np.testing.assert_allclose(found, expected, rtol=1e-12)
    _, grads = f.gradients(X, reduction="sum")
    assert grads[0] == pytest.approx(expected_grad, rel=1e-9)
