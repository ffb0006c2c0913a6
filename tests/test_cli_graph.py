"""`microgradnet graph`: printed gradients, written files, and one-line refusals."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import pytest
from conftest import require_dot

from microgradnet import Value, ops
from microgradnet.cli import main
from microgradnet.expression import FUNCTIONS


def printed(text: str) -> dict[str, float]:
    values = {}
    for line in text.strip().splitlines():
        if line.startswith("wrote "):
            continue
        name, number = line.split(" = ")
        values[name] = float(number)
    return values


def engine_reference() -> tuple[float, dict[str, float]]:
    a, b, c = Value(2.0), Value(-3.0), Value(0.5)
    out = (a * b + c.exp()).tanh() + a**2 / c
    out.backward()
    return out.data, {"a": a.grad, "b": b.grad, "c": c.grad}


ARGS = ["graph", "tanh(a*b + exp(c)) + a**2 / c", "--var", "a=2", "--var", "b=-3", "--var", "c=0.5"]


def test_printed_gradients_match_the_engine(capsys):
    assert main(ARGS) == 0
    captured = capsys.readouterr()
    values = printed(captured.out)
    data, grads = engine_reference()
    assert list(values) == ["out", "d out / d a", "d out / d b", "d out / d c"]
    assert values["out"] == pytest.approx(data, rel=1e-9)
    for name, g in grads.items():
        assert values[f"d out / d {name}"] == pytest.approx(g, rel=1e-9)
    # and against central differences, independently of the engine
    f = lambda a, b, c: math.tanh(a * b + math.exp(c)) + a**2 / c
    numeric = (f(2.0, -3.0, 0.5 + 1e-6) - f(2.0, -3.0, 0.5 - 1e-6)) / 2e-6
    assert values["d out / d c"] == pytest.approx(numeric, rel=1e-6)
    assert captured.err == ""


def test_the_example_from_the_contract(capsys):
    assert main(["graph", "a*b", "--var", "a=2", "--var", "b=-3"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "out = -6",
        "d out / d a = -3",
        "d out / d b = 2",
    ]


@pytest.mark.parametrize("suffix", [".svg", ".png", ".pdf"])
def test_out_writes_the_graph(tmp_path, capsys, suffix):
    require_dot()
    target = tmp_path / f"graph{suffix}"
    assert main([*ARGS, "--out", str(target)]) == 0
    assert capsys.readouterr().out.strip().endswith(f"wrote {target}")
    assert target.stat().st_size > 200
    assert [p.name for p in tmp_path.iterdir()] == [target.name]
    if suffix == ".svg":
        assert "tanh" in target.read_text(encoding="utf-8")


def test_out_html_writes_the_player(tmp_path, capsys):
    require_dot()
    target = tmp_path / "player.html"
    assert main(["graph", "a*b + a", "--var", "a=2", "--var", "b=-3", "--out", str(target)]) == 0
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "mg-step" in page and "<svg" in page


REFUSED = [
    (["a*b", "--var", "a2"], "NAME=VALUE"),
    (["a*b", "--var", "=2"], "NAME=VALUE"),
    (["a*b", "--var", "a=two"], "not a number"),
    (["a*b", "--var", "a=nan"], "finite"),
    (["a*b", "--var", "1a=2"], "valid variable name"),
    (["a*b", "--var", "a=1", "--var", "a=2"], "given twice"),
    (["a*b", "--var", "exp=1"], "function"),
    (["a.real", "--var", "a=1"], "attribute access"),
    (["a[0]", "--var", "a=1"], "subscripts"),
    (["[x for x in a]", "--var", "a=1"], "comprehensions"),
    (["lambda: a", "--var", "a=1"], "lambdas"),
    (["__import__('os').getcwd()", "--var", "a=1"], "calls to anything but"),
    (["open('x')", "--var", "a=1"], "unknown function 'open'"),
    (["a*b", "--var", "a=1"], "unknown name 'b'"),
    (["a +", "--var", "a=1"], "syntax error"),
    (["a" + "+a" * 600, "--var", "a=1"], "too long"),
    (["log(a)", "--var", "a=-1"], "log"),
    (["a ** b", "--var", "a=-2", "--var", "b=2"], "log(base)"),
]


@pytest.mark.parametrize(("argv", "reason"), REFUSED, ids=[" ".join(r[0])[:40] for r in REFUSED])
@pytest.mark.parametrize("suffix", [".svg", ".html"])
def test_refusals_exit_non_zero_with_one_line_and_no_file(tmp_path, capsys, argv, reason, suffix):
    target = tmp_path / f"graph{suffix}"
    assert main(["graph", *argv, "--out", str(target)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("microgradnet graph: error: ")
    assert reason in lines[0]
    assert "Traceback" not in captured.err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("out", "reason"),
    [("graph.txt", "unknown file type '.txt'"), ("graph", "unknown file type '(none)'")],
)
def test_unknown_suffix_is_refused_before_any_work(tmp_path, capsys, out, reason):
    assert main(["graph", "a", "--var", "a=1", "--out", str(tmp_path / out)]) == 2
    assert reason in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_missing_folder_is_refused(tmp_path, capsys):
    assert main(["graph", "a", "--var", "a=1", "--out", str(tmp_path / "no" / "g.svg")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_missing_dot_is_one_line_with_the_install_hint(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", "")
    assert (
        main(["graph", "a*b", "--var", "a=1", "--var", "b=2", "--out", str(tmp_path / "g.svg")])
        == 2
    )
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "apt-get install graphviz" in err
    assert list(tmp_path.iterdir()) == []


def run_module(*args: str, cwd) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    return subprocess.run(
        [sys.executable, "-m", "microgradnet", "graph", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
    )


def test_as_a_subprocess(tmp_path):
    require_dot()
    result = run_module(*ARGS[1:], "--out", "g.svg", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data, grads = engine_reference()
    values = printed(result.stdout)
    assert values["out"] == pytest.approx(data, rel=1e-9)
    assert values["d out / d b"] == pytest.approx(grads["b"], rel=1e-9)
    assert (tmp_path / "g.svg").exists()

    refused = run_module("a.__class__", "--var", "a=1", "--out", "h.svg", cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.splitlines() == [
        "microgradnet graph: error: attribute access not allowed: a.__class__"
    ]
    assert not (tmp_path / "h.svg").exists()


def test_help_lists_every_function_of_the_grammar(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["graph", "--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps the lines
    rows = [op for op in ops.BUILTIN_OPS if op.function is not None]
    assert len(rows) == len(FUNCTIONS) >= 12
    for op in rows:
        assert f"{op.function}(" in text, op.function
    assert "softplus(x)" in text and "pow(x, y)" in text
    assert "leaky_relu(x[, negative_slope=0.01])" in text
