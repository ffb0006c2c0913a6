"""Rendering with the real Graphviz `dot`: SVG, PNG, PDF, byte-identical SVG across processes."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import require_dot

from microgradnet import Value
from microgradnet.viz import draw_dot, render, value_mimebundle

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
MAGIC = {"svg": b"<?xml", "png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF-"}


@pytest.fixture(autouse=True)
def _dot_installed():
    require_dot()


def neuron() -> Value:
    x = [Value(2.0, label="x1"), Value(0.0, label="x2")]
    w = [Value(-3.0, label="w1"), Value(1.0, label="w2")]
    b = Value(6.8813735870195432, label="b")
    n = Value.dot(w, x, b)
    n.label = "n"
    out = n.tanh()
    out.label = "o"
    out.backward()
    return out


@pytest.mark.parametrize("fmt", ["svg", "png", "pdf"])
def test_render_writes_exactly_the_requested_file(tmp_path, fmt):
    target = tmp_path / f"neuron.{fmt}"
    assert render(neuron(), target) == target
    assert target.read_bytes().startswith(MAGIC[fmt])
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]  # no DOT file left


def test_svg_holds_the_records_and_op_nodes(tmp_path):
    target = render(neuron(), tmp_path / "neuron.svg")
    svg = html.unescape(target.read_text(encoding="utf-8"))  # dot writes "-" as &#45;
    for text in ("w·x + b", "tanh", "data 0.7071", "grad 0.5", "grad -1.5", ">o<", ">x1<"):
        assert text in svg, text


TEXT = re.compile(r'<text text-anchor="middle" x="([-\d.]+)" y="([-\d.]+)"[^>]*>([^<]*)</text>')


@pytest.mark.parametrize("rankdir", ["LR", "TB"])
def test_inputs_are_laid_out_in_input_order(rankdir):
    # Left to right, an op's inputs are stacked top to bottom in the order the op takes them
    # (w1 w2 x1 x2 b for the neuron's w·x + b); top to bottom, they run left to right.
    svg = draw_dot(neuron(), rankdir=rankdir).pipe(format="svg", encoding="utf-8")
    position = {text: (float(x), float(y)) for x, y, text in TEXT.findall(svg)}
    across = 1 if rankdir == "LR" else 0  # SVG's y grows downwards
    along = [position[name][across] for name in ("w1", "w2", "x1", "x2", "b")]
    assert along == sorted(along) and len(set(along)) == 5, position


def test_explicit_format_and_a_digraph_argument(tmp_path):
    target = render(draw_dot(neuron(), rankdir="TB"), tmp_path / "graph.out", format="png")
    assert target.read_bytes().startswith(MAGIC["png"])
    with pytest.raises(TypeError, match="drawing options"):
        render(draw_dot(neuron()), tmp_path / "x.svg", rankdir="TB")


def test_neuron_graph_artifact_for_a_person_to_look_at():
    ARTIFACTS.mkdir(exist_ok=True)
    target = render(neuron(), ARTIFACTS / "neuron.png")
    assert target.stat().st_size > 1000


SCRIPT = textwrap.dedent(
    """
    import sys
    from microgradnet import Value
    from microgradnet.viz import draw_dot
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    out = ((a * b + a ** 2).tanh() * b + Value.dot([a, b], [b, a])).relu()
    out.backward()
    sys.stdout.buffer.write(draw_dot(out, shade_by_grad=True).pipe(format="svg"))
    """
)


def test_svg_is_byte_identical_across_processes():
    outputs = [
        subprocess.run(
            [sys.executable, "-c", SCRIPT],
            capture_output=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": os.environ["PATH"]},
        ).stdout
        for seed in ("1", "2")
    ]
    assert outputs[0].startswith(b"<?xml")
    assert outputs[0] == outputs[1]


def test_jupyter_bundle_of_a_small_value_is_svg_and_text():
    out = neuron()
    bundle = value_mimebundle(out)
    assert set(bundle) == {"image/svg+xml", "text/plain"}
    assert "<svg" in bundle["image/svg+xml"] and "data 0.7071" in bundle["image/svg+xml"]
    assert bundle["text/plain"] == repr(out)
    assert out._repr_mimebundle_() == bundle
