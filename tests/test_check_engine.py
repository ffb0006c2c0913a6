"""check_engine on real engines: micrograd 0.1.0, a right micrograd of a learner's, the same with
one fault each (tests/broken_engines), an engine with other names, and microgradnet itself.

Every fault must be found, shrunk to an expression of at most three nodes (the recursive sort:
to the depth where it starts), and the gradients the report shows are checked against PyTorch.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from broken_engines.engines import (
    AssignsGradient,
    ForgetsParent,
    RecursiveSort,
    Scalar,
    Value,
    WrongTanh,
)
from conftest import require_module
from hypothesis import settings

import microgradnet
from microgradnet.testing import (
    Adapter,
    EngineCheckError,
    EngineReport,
    check_engine,
)
from microgradnet.testing._cli import main

TESTS = Path(__file__).resolve().parent
# What the right engine of tests/broken_engines has: operators and five methods.
LEARNER_OPS = {"add", "sub", "mul", "div", "neg", "pow_const", "tanh", "exp", "log", "sigmoid"}
LEARNER_OPS |= {"relu"}
# Expressions per op: the CI profile's budget, also under the dev profile (which draws 300).
EXAMPLES = min(60, settings.default.max_examples if settings.default else 60)


@pytest.fixture(scope="module")
def reports() -> dict[str, EngineReport]:
    """Each engine's report, made once: check_engine runs within the Hypothesis profile."""
    engines = {
        "right": Value,
        "wrong tanh": WrongTanh,
        "= for +=": AssignsGradient,
        "forgets a parent": ForgetsParent,
        "recursive sort": RecursiveSort,
    }
    return {name: check_engine(engine, max_examples=EXAMPLES) for name, engine in engines.items()}


def _torch_gradient(fn, inputs):
    xs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in inputs]
    fn(*xs).backward()
    return [0.0 if x.grad is None else x.grad.item() for x in xs]


def _one_failure(report: EngineReport, name: str):
    failures = {check.name: check for check in report.failures}
    assert name in failures, str(report)
    return failures[name]


# ----- a right engine: nothing to find -----
def test_a_right_engine_passes_every_check(reports: dict[str, EngineReport]) -> None:
    report = reports["right"]
    assert report.ok, str(report)
    assert set(report.supported) == LEARNER_OPS
    assert report["deep chain"].status == "pass"
    assert "10,000" in report["deep chain"].detail
    assert "adds the gradients again" in report["second backward()"].detail
    assert "x + y, x + 2, 2 + x" in report["add"].detail
    assert report["tanh"].detail.startswith("x.tanh()")
    assert "pow" in report.unsupported and "sin" in report.unsupported


def test_microgradnet_passes_every_check_of_every_row_it_has() -> None:
    report = check_engine(microgradnet.Value, max_examples=10)
    assert report.ok, str(report)
    assert {"add", "pow", "rpow", "tanh", "leaky_relu", "max", "sum"} <= set(report.supported)
    assert "adds the gradients again" in report["second backward()"].detail


# ----- each fault found and shrunk, its gradients checked against PyTorch -----
def test_a_wrong_tanh_derivative_is_shrunk_to_tanh_of_a_variable(
    reports: dict[str, EngineReport],
) -> None:
    report = reports["wrong tanh"]
    check = _one_failure(report, "tanh")
    match = re.fullmatch(r"tanh\(x(\d)\)", check.expression or "")
    assert match, check.explain()
    assert check.size == 2
    i = int(match.group(1))
    x = check.inputs[i]
    reference = _torch_gradient(lambda *xs: torch.tanh(xs[i]), check.inputs)
    assert check.expected is not None and check.ours is not None and check.gradient is not None
    assert check.expected[i] == pytest.approx(reference[i], rel=1e-6, abs=1e-9)
    assert check.ours[i] == pytest.approx(reference[i], rel=1e-12)
    assert check.gradient[i] == pytest.approx(1 - x**2)  # the fault: the input, not the output
    assert [c.name for c in report.failures] == ["tanh"]


def test_assigning_instead_of_adding_a_gradient_is_shrunk_to_x_plus_x(
    reports: dict[str, EngineReport],
) -> None:
    report = reports["= for +="]
    check = _one_failure(report, "add")
    match = re.fullmatch(r"x(\d) \+ x\1", check.expression or "")
    assert match, check.explain()
    assert check.size == 3
    i = int(match.group(1))
    reference = _torch_gradient(lambda *xs: xs[i] + xs[i], check.inputs)
    assert check.expected is not None and check.gradient is not None
    assert reference[i] == 2.0 and check.expected[i] == pytest.approx(2.0)
    assert check.gradient[i] == 1.0  # half of it
    twice = _one_failure(report, "value used twice")
    assert twice.expression == "x0 + x0" and twice.gradient == (1.0, 0.0)


def test_a_node_missing_from_its_parents_is_shrunk_to_a_tanh_of_a_tanh(
    reports: dict[str, EngineReport],
) -> None:
    report = reports["forgets a parent"]
    check = _one_failure(report, "tanh")
    match = re.fullmatch(r"tanh\(tanh\(x(\d)\)\)", check.expression or "")
    assert match, check.explain()
    assert check.size == 3
    i = int(match.group(1))
    reference = _torch_gradient(lambda *xs: torch.tanh(torch.tanh(xs[i])), check.inputs)
    assert check.expected is not None and check.gradient is not None
    assert check.expected[i] == pytest.approx(reference[i], rel=1e-6, abs=1e-9)
    assert check.gradient[i] == 0.0  # the inner tanh never passed its gradient on
    assert [c.name for c in report.failures] == ["tanh"]


def test_a_recursive_sort_fails_at_the_depth_of_the_recursion_limit(
    reports: dict[str, EngineReport],
) -> None:
    report = reports["recursive sort"]
    check = _one_failure(report, "deep chain")
    assert "RecursionError" in check.problem
    depth = int(re.search(r"from depth ([\d,]+)", check.problem).group(1).replace(",", ""))
    assert 100 < depth <= sys.getrecursionlimit()
    assert f"passes at depth {depth - 1:,}" in check.detail  # bisected to the exact depth
    # one node fewer works, one more does not
    x = RecursiveSort(0.5)
    v = x
    for _ in range(depth - 1):
        v = v + 1.0
    v.backward()
    assert x.grad == 1.0
    assert [c.name for c in report.failures] == ["deep chain"]


# ----- micrograd 0.1.0 -----
def test_micrograd_0_1_0() -> None:
    """What check_engine finds in micrograd 0.1.0: its ops are right; two outputs of one graph
    get wrong gradients, a chain dies near Python's recursion limit, and a second backward()
    does not give twice the gradient."""
    engine = require_module("micrograd.engine")
    report = check_engine(engine.Value, max_examples=EXAMPLES)
    assert set(report.supported) == {"add", "sub", "mul", "div", "neg", "pow_const", "relu"}
    assert {"pow", "rpow", "exp", "tanh"} <= set(report.unsupported)
    assert "AssertionError: only supporting int/float powers" in report["pow"].detail
    assert [c.name for c in report.failures] == ["two outputs, one graph", "deep chain"]

    two = report["two outputs, one graph"]
    # y1 = s * 3, y2 = s + x0, s = x0 * x1: the summed gradient, from PyTorch
    reference = _torch_gradient(lambda a, b: a * b * 3 + (a * b + a), two.inputs)
    assert two.expected == pytest.approx(reference, rel=1e-6)
    assert two.ours == pytest.approx(reference, rel=1e-12)
    assert two.gradient == pytest.approx((-13.0, 10.5))  # micrograd's, at (1.5, -2.0)

    deep = report["deep chain"]
    assert "RecursionError" in deep.problem
    assert "neither recomputed (1x) nor added again (2x)" in report["second backward()"].detail


# ----- an engine with other names -----
def test_an_adapter_covers_other_names() -> None:
    adapter = Adapter(grad="derivative", methods={"sigmoid": "sigm"})
    report = check_engine(Scalar, adapter=adapter, ops=["add", "mul", "sigmoid"], max_examples=20)
    assert report.ok, str(report)
    assert report["sigmoid"].detail.startswith("x.sigm()")
    assert report.supported == ["add", "mul", "sigmoid"]


def test_an_engine_without_grad_is_refused_with_the_adapter_named() -> None:
    with pytest.raises(TypeError, match=r"reading its 'data' and 'grad' failed.*Adapter"):
        check_engine(Scalar)


def test_a_method_the_engine_lacks_is_reported_not_supported() -> None:
    adapter = Adapter(grad="derivative")
    report = check_engine(Scalar, adapter=adapter, ops=["sigmoid", "add"], max_examples=10)
    assert report["sigmoid"].status == "not supported"
    assert "no attribute 'sigmoid'" in report["sigmoid"].detail
    assert report.ok


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown op 'tan_h'"):
        check_engine(Value, ops=["tan_h"])
    with pytest.raises(ValueError, match="max_examples=0"):
        check_engine(Value, max_examples=0)
    with pytest.raises(TypeError, match="adapter must be an Adapter"):
        check_engine(Value, adapter={"grad": "g"})  # type: ignore[arg-type]


# ----- the report -----
def test_the_asserting_form_raises_with_the_report(reports: dict[str, EngineReport]) -> None:
    reports["right"].assert_ok()
    with pytest.raises(EngineCheckError) as caught:
        reports["wrong tanh"].assert_ok()
    assert isinstance(caught.value, AssertionError)
    message = str(caught.value)
    assert "FAIL  tanh" in message and "expression: tanh(x" in message
    assert "central differences:" in message and "microgradnet's gradient:" in message


def test_the_report_prints_one_line_per_check(reports: dict[str, EngineReport]) -> None:
    text = str(reports["wrong tanh"])
    assert text.startswith("check_engine(broken_engines.engines.WrongTanh): FAILED")
    assert re.search(r"^ +ok  add +x \+ y, x \+ 2, 2 \+ x \(\d+ expressions\)$", text, re.M)
    assert re.search(r"^ +--  not supported: pow, rpow,", text, re.M)
    assert re.search(r"^ +::  second backward\(\) +adds the gradients again", text, re.M)
    assert all(len(line) <= 100 for line in text.splitlines() if "not supported" in line)


# ----- the command line -----
def test_the_command_line_exit_status_says_whether_the_engine_passed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    quick = ["--max-examples", "10", "--max-depth", "100"]
    assert main(["check", "broken_engines.engines:WrongTanh", "--ops", "tanh,add", *quick]) == 1
    assert "FAIL  tanh" in capsys.readouterr().out
    assert main(["check", "broken_engines.engines:Value", "--ops", "tanh,add", *quick]) == 0
    adapter = ["--grad", "derivative", "--method", "sigmoid=sigm", "--ops", "sigmoid"]
    assert main(["check", "broken_engines.engines:Scalar", *adapter, *quick]) == 0
    assert "x.sigm()" in capsys.readouterr().out
    assert main(["check", "broken_engines.engines"]) == 2
    assert main(["check", "broken_engines.nowhere:Value"]) == 2
    assert main(["check", "broken_engines.engines:Value", "--method", "sigm"]) == 2
    assert "must be OP=NAME" in capsys.readouterr().err


def test_python_dash_m_runs_the_check() -> None:
    command = ["check", "broken_engines.engines:Value", "--ops", "add", "--max-examples", "5"]
    result = subprocess.run(
        [sys.executable, "-m", "microgradnet.testing", *command, "--max-depth", "100"],
        cwd=TESTS,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "check_engine(broken_engines.engines.Value): ok" in result.stdout
