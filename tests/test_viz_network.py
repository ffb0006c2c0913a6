"""The network view and graphs at module scale, checked for what they show.

Counts, names, colours and widths are read back from the DOT source and from the SVG that the
real ``dot`` lays out.
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import require_dot

from microgradnet import Value, data, losses
from microgradnet.nn import MLP, Conv2d, Flatten, Layer, MaxPool2d, ReLU, Sequential, Tanh
from microgradnet.viz import GraphTooLargeError, draw_dot, draw_network
from microgradnet.viz._network import NEGATIVE_COLOR, POSITIVE_COLOR, ZERO_COLOR

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import micrograd_shaped

SVG = "{http://www.w3.org/2000/svg}"
EDGE = re.compile(r'^\s*"?([\w.]+)"? -> "?([\w.]+)"? \[(.*)\]$', re.M)


def _attrs(text: str) -> dict[str, str]:
    return {k: a or b for k, a, b in re.findall(r'(\w+)=(?:"([^"]*)"|([^\s\]]+))', text)}


def _cluster_body(source: str, name: str) -> str:
    """The lines of a cluster's own body in DOT source (up to its closing brace)."""
    head = re.search(rf'^(\s*)subgraph "{re.escape(name)}" {{$', source, re.M)
    assert head is not None, name
    end = source.index(f"\n{head.group(1)}}}", head.end())
    return source[head.end() : end]


def _svg(digraph: object) -> ET.Element:
    require_dot()
    return ET.fromstring(digraph.pipe(format="svg"))  # type: ignore[attr-defined]


def _groups(svg: ET.Element, kind: str) -> dict[str, ET.Element]:
    return {
        g.findtext(f"{SVG}title") or "": g for g in svg.iter(f"{SVG}g") if g.get("class") == kind
    }


# ----- draw_network -----
def test_one_edge_per_weight_coloured_by_sign_and_wide_by_size() -> None:
    model = MLP(2, [4, 3, 1], seed=0)
    model.layers[1].neurons[2].w[0].data = 0.0  # a zero weight is grey
    weights = {
        f"layers.{k}.neurons.{j}.w.{i}": w.data
        for k, layer in enumerate(model.layers)
        for j, neuron in enumerate(layer.neurons)
        for i, w in enumerate(neuron.w)
    }
    found = {_attrs(m[2])["id"]: _attrs(m[2]) for m in EDGE.findall(draw_network(model).source)}
    assert set(found) == set(weights) and len(found) == 2 * 4 + 4 * 3 + 3
    for name, w in weights.items():
        expected = POSITIVE_COLOR if w > 0 else NEGATIVE_COLOR if w < 0 else ZERO_COLOR
        assert found[name]["color"] == expected, name
    by_size = sorted(weights, key=lambda n: abs(weights[n]))
    widths = [float(found[n]["penwidth"]) for n in by_size]
    assert widths == sorted(widths) and widths[0] < widths[-1]
    assert float(found[by_size[-1]]["penwidth"]) == 4.0
    assert float(found["layers.1.neurons.2.w.0"]["penwidth"]) == pytest.approx(0.3)


def test_gradients_drawn_after_backward_and_biases_labelled() -> None:
    model = MLP(2, [3, 1], activation="tanh", seed=1)
    model.layers[0].neurons[1].b.data = -0.25
    model([0.5, -1.0]).backward()
    source = draw_network(model, show="grads").source
    for m in EDGE.findall(source):
        a = _attrs(m[2])
        k, j, i = (int(x) for x in re.findall(r"\d+", a["id"]))
        g = model.layers[k].neurons[j].w[i].grad
        assert a["color"] == (POSITIVE_COLOR if g > 0 else NEGATIVE_COLOR), a["id"]
        assert a["tooltip"] == f"{a['id']} = {g:.4g}"
    assert re.search(r'"layers.0.neurons.1" \[label="b -0.25"', draw_network(model).source)


def test_the_rendered_network_has_a_cluster_per_layer_and_a_node_per_neuron() -> None:
    model = MLP(3, [5, 2], seed=0)
    svg = _svg(draw_network(model))
    assert set(_groups(svg, "cluster")) == {"cluster_input", "cluster_layers.0", "cluster_layers.1"}
    nodes = _groups(svg, "node")
    assert {n for n in nodes if n.startswith("layers.")} == {
        *(f"layers.0.neurons.{j}" for j in range(5)),
        *(f"layers.1.neurons.{j}" for j in range(2)),
    }
    assert len(_groups(svg, "edge")) == 3 * 5 + 5 * 2


def test_a_convolution_stage_is_one_block_with_its_shape() -> None:
    model = Sequential(
        Conv2d(1, 2, 3, padding=1, seed=0), ReLU(), MaxPool2d(2), Flatten(),
        Layer(2 * 4 * 4, 3, activation="linear", seed=0),
    )  # fmt: skip
    source = draw_network(model, input_shape=(1, 8, 8)).source
    assert "Conv2d(1, 2" in source and "out [2][8][8]" in source
    assert "out [2][4][4]" in source and "out [32]" in source
    edges = EDGE.findall(source)
    assert len(edges) == 4 + 3  # input -> conv -> relu -> pool -> flatten, flatten -> 3 neurons
    assert sum(1 for m in edges if m[0] == "layers.3") == 3
    assert len(_groups(_svg(draw_network(model)), "node")) == 1 + 4 + 3


def test_an_activation_module_is_named_on_its_layer() -> None:
    model = Sequential(Layer(2, 3, activation="linear", seed=0), Tanh(), Layer(3, 1, seed=0))
    source = draw_network(model).source
    assert "layers.0 · 2→3, linear then Tanh" in source
    assert len(EDGE.findall(source)) == 2 * 3 + 3


def test_a_large_model_is_refused_naming_the_count_and_the_limit() -> None:
    with pytest.raises(GraphTooLargeError, match=r"1185 weights and biases.*max_parameters=1000"):
        draw_network(MLP(2, [32, 32, 1]))
    assert draw_network(MLP(2, [32, 32, 1]), max_parameters=2000).source
    with pytest.raises(ValueError, match="show must be"):
        draw_network(MLP(2, [1]), show="data")
    with pytest.raises(TypeError, match="expected a Neuron"):
        draw_network(object())


def test_a_module_shows_its_network_beside_its_table_in_jupyter() -> None:
    require_dot()
    page = MLP(2, [4, 1], seed=0)._repr_html_()
    assert "<table>" in page and "<svg" in page and "<?xml" not in page
    assert "layers.0.neurons.3" in page
    assert "<svg" not in MLP(2, [32, 32, 1])._repr_html_()  # too large inline: the table only


# ----- draw_dot at module scale -----
def test_group_by_module_draws_a_cluster_per_layer_and_per_neuron() -> None:
    model = MLP(2, [3, 1], seed=0)
    out = model([1.0, -2.0])
    out.backward()
    svg = _svg(draw_dot(out, group_by="module", parameters=model))
    clusters = _groups(svg, "cluster")
    assert set(clusters) == {
        "cluster_layers.0", "cluster_layers.1", "cluster_layers.1.neurons.0",
        *(f"cluster_layers.0.neurons.{j}" for j in range(3)),
    }  # fmt: skip
    # a neuron's cluster holds its 2 weights, its bias, its dot node (value and op) and relu
    neuron = draw_dot(out, group_by="module", parameters=model).source
    body = _cluster_body(neuron, "cluster_layers.0.neurons.1")
    assert body.count("[label=") == 2 + 1 + 2 + 2  # relu: its value and its op
    # nothing is lost: every value is drawn once
    assert len(_groups(svg, "node")) == len(_groups(_svg(draw_dot(out)), "node")) == 22 + 7


def test_collapsed_neurons_and_a_batch_with_its_count() -> None:
    model = MLP(2, [4, 1], seed=0)
    X, y = data.make_moons(20, noise=0.1, seed=0, signed=True)
    loss = losses.hinge(model.map(X), y)
    loss.backward()
    source = draw_dot(loss, collapse="neuron", group_by="module", parameters=model).source
    boxes = re.findall(
        r'\[label="\{ (layers\.\d\.neurons\.\d) \| ([^|]*) \|.*?\| × (\d+) \}', source
    )
    assert sorted(b[0] for b in boxes) == [*(f"layers.0.neurons.{j}" for j in range(4)),
                                           "layers.1.neurons.0"]  # fmt: skip
    assert {b[1].strip() for b in boxes} == {"w·x + b → relu", "w·x + b"}
    assert {b[2] for b in boxes} == {"20"}
    shown = dict(re.findall(r"\{ (layers\.0\.neurons\.\d) \| [^|]*\| data (\S+) ", source))
    # the representative is one sample, the same one in every box
    samples = [
        s for s, x in enumerate(X)
        if all(f"{model.layers[0].neurons[j](x).data:.4g}" == shown[f"layers.0.neurons.{j}"]
               for j in range(4))
    ]  # fmt: skip
    assert samples, shown
    assert 'subgraph "cluster_layers.0"' in source and 'neurons.0"' not in source
    svg = _svg(draw_dot(loss, collapse="neuron", parameters=model))
    assert len(_groups(svg, "node")) < 30 < len(draw_dot(loss, max_nodes=10_000).source) // 100


def test_micrograd_demo_step_collapses_to_one_sample_of_its_neurons() -> None:
    from microgradnet.data import make_moons

    X, y = make_moons(100, noise=0.1, seed=0, signed=True)
    model = micrograd_shaped.make_mlp(Value, 2, [16, 16, 1])
    root = micrograd_shaped.demo_step_keeping_graph(Value, model, X, y)
    digraph = draw_dot(root, collapse="neuron", group_by="module", parameters=model)
    source = digraph.source
    assert re.search(r"label=\"6\d,\d{3} values drawn as \d+ boxes\"", source)
    neurons = re.findall(r"\{ (layers\.\d\.neurons\.\d+) \| w·x \+ b[^|]*\|.*?× 100 \}", source)
    assert len(neurons) == len(set(neurons)) == 16 + 16 + 1
    assert "Σ of 101 terms" in source  # sum(losses): 100 losses and sum's start
    assert len(_groups(_svg(digraph), "node")) < 200


def test_collapse_options_are_checked() -> None:
    out = Value(1.0) * Value(2.0)
    with pytest.raises(ValueError, match="collapse must be"):
        draw_dot(out, collapse="layer")
    with pytest.raises(ValueError, match="group_by must be"):
        draw_dot(out, group_by="layer")
    x = [Value(float(i)) for i in range(50)]
    total = x[0]
    for v in x[1:]:
        total = total * v
    with pytest.raises(GraphTooLargeError, match="drawn as 99 boxes, more than max_nodes=10"):
        draw_dot(total, collapse="batch", max_nodes=10)
