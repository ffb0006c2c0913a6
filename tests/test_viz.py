"""draw_dot's DOT source, its guards, the missing-`dot` error and the Jupyter bundle."""

from __future__ import annotations

import math
import re
import subprocess
import sys
import textwrap

import graphviz
import pytest

from microgradnet import Value, define_op
from microgradnet.viz import (
    DEFAULT_MAX_NODES,
    INLINE_MAX_NODES,
    GraphTooLargeError,
    draw_dot,
    render,
    value_mimebundle,
)

NODE = re.compile(r'^\s*(n\d+) \[label="(.*?)"(.*)\]$', re.MULTILINE)
EDGE = re.compile(r"^\s*(n\d+(?:op)?) -> (n\d+(?:op)?)", re.MULTILINE)


def records(source: str) -> dict[str, tuple[str, str]]:
    """Value nodes of a DOT source: name -> (label, attributes)."""
    return {name: (label, attrs) for name, label, attrs in NODE.findall(source)}


def op_labels(source: str) -> list[str]:
    found = re.findall(r'^\s*n\d+op \[label=("[^"]*"|\S+)', source, re.MULTILINE)
    return [label.strip('"') for label in found]


def fd(f, xs, i, eps=1e-6):
    """Central difference of f (floats in, float out) in argument i."""
    up, down = list(xs), list(xs)
    up[i] += eps
    down[i] -= eps
    return (f(*up) - f(*down)) / (2 * eps)


def test_records_show_label_data_and_grad_to_four_significant_digits():
    a, b, c = Value(2.0, label="a"), Value(-3.0, label="b"), Value(10.0, label="c")
    e = a * b
    e.label = "e"
    out = (e + c).tanh()
    out.label = "out"
    out.backward()
    f = lambda a, b, c: math.tanh(a * b + c)
    source = draw_dot(out).source
    labels = [label for label, _ in records(source).values()]
    for name, leaf, i in (("a", a, 0), ("b", b, 1), ("c", c, 2)):
        expected = fd(f, [2.0, -3.0, 10.0], i)
        assert leaf.grad == pytest.approx(expected, rel=1e-5)
        assert f"{{ {name} | data {leaf.data:.4g} | grad {leaf.grad:.4g} }}" in labels
    assert "{ e | data -6 | grad " in source
    assert f"{{ out | data {math.tanh(4.0):.4g} | grad 1 }}" in labels
    assert "data 0.9993 " in source  # tanh(4) = 0.99932929..., 4 significant digits
    assert "grad -0.004023" in source  # d tanh(ab + c)/da = b (1 - tanh(4)^2)


def test_show_grad_false_leaves_grad_out():
    x = Value(1.5, label="x")
    source = draw_dot(x * 2, show_grad=False).source
    labels = [label for label, _ in records(source).values()]
    assert "{ x | data 1.5 }" in labels
    assert all("grad" not in label for label in labels)


def test_an_unlabelled_value_shows_data_and_grad_only():
    source = draw_dot(Value(1.23456789) + 1).source
    assert "{ data 1.235 | grad 0 }" in source
    assert "{ data 2.235 | grad 0 }" in source


def test_op_nodes_name_each_operation_with_its_constant():
    x = Value(0.5, label="x")
    out = (x**2 + 2**x + x.leaky_relu(0.1) - x.sigmoid() / x.exp()).relu()
    labels = op_labels(draw_dot(out).source)
    for expected in ("** 2", "2 **", "leaky_relu(0.1)", "sigmoid", "exp", "/", "-", "+", "relu"):
        assert expected in labels, (expected, labels)


def test_parallel_edges_follow_parent_order_and_duplicates():
    x, y = Value(3.0, label="x"), Value(4.0, label="y")
    square = x * x
    square.label = "square"
    diff = y - x
    diff.label = "diff"
    source = draw_dot(square + diff).source
    names = {
        label.split(" | ")[0].strip("{ "): name for name, (label, _) in records(source).items()
    }
    edges = EDGE.findall(source)

    def inputs_of(label: str) -> list[str]:
        """The sources of the edges into the op that made ``label``, in source order."""
        (op,) = [src for src, dst in edges if dst == names[label] and src.endswith("op")]
        return [src for src, dst in edges if dst == op]

    assert inputs_of("square") == [names["x"]] * 2  # x * x: two edges from x
    assert inputs_of("diff") == [names["y"], names["x"]]  # y - x: y first, then x


def test_fused_dot_and_user_ops_are_drawn():
    @define_op(derivative=lambda x, out: 3 * x * x, symbol="cube")
    def cube(x):
        return x**3

    w = [Value(0.5, label="w0"), Value(-1.0, label="w1")]
    x = [Value(2.0, label="x0"), Value(1.0, label="x1")]
    b = Value(0.25, label="b")
    n = Value.dot(w, x, b)
    out = cube(n)
    out.backward()
    source = draw_dot(out).source
    assert op_labels(source) == ["w·x + b", "cube"]
    assert source.count("-> n5op") == 5  # w0 w1 x0 x1 b into the dot node
    # the weights' gradients: d (w·x + b)^3 / d w_i = 3 (w·x + b)^2 x_i, with w·x + b = 0.25
    assert f"{{ w0 | data 0.5 | grad {3 * 0.25**2 * 2.0:.4g} }}" in source


def fill_of(source: str, label: str) -> tuple[str, str]:
    for rec, attrs in records(source).values():
        if rec.startswith(f"{{ {label} |"):
            fill = re.search(r'fillcolor="(#\w+)"', attrs).group(1)
            border = re.search(r'color="(#\w+)"', attrs).group(1)
            return fill, border
    raise AssertionError(f"no record labelled {label}")


def test_roles_colour_output_intermediate_inputs_and_parameters():
    w = Value(0.5, label="w")
    b = Value(0.1, label="b")
    x = Value(2.0, label="x")
    h = Value.dot([w], [x], b)
    h.label = "h"
    out = h.tanh()
    out.label = "out"
    source = draw_dot(out).source
    fills = {name: fill_of(source, name) for name in ("w", "b", "x", "h", "out")}
    assert fills["w"] == fills["b"]  # weight and bias of a fused dot node: parameters
    assert len({fills["w"], fills["x"], fills["h"], fills["out"]}) == 4
    # an explicit parameter set overrides the inference
    explicit = draw_dot(out, parameters=[x]).source
    assert fill_of(explicit, "x") == fills["w"]
    assert fill_of(explicit, "w") == fills["x"]


def test_parameters_accepts_an_object_with_a_parameters_method():
    class Model:
        def __init__(self):
            self.w = Value(1.0, label="w")

        def parameters(self):
            return [self.w]

    model = Model()
    x = Value(3.0, label="x")
    source = draw_dot(model.w * x, parameters=model).source
    assert fill_of(source, "w") != fill_of(source, "x")
    with pytest.raises(TypeError, match="parameters"):
        draw_dot(model.w * x, parameters=[1.0])


def test_shade_by_grad_deepens_the_fill_with_abs_grad():
    a, b = Value(1.0, label="a"), Value(10.0, label="b")
    out = a * b  # grads: a 10, b 1, out 1
    out.backward()
    source = draw_dot(out, shade_by_grad=True).source
    alpha = {name: int(fill_of(source, name)[0][-2:], 16) for name in ("a", "b")}
    assert alpha["a"] > alpha["b"]
    assert fill_of(source, "a")[1] == fill_of(draw_dot(out).source, "a")[1]  # role border kept


def test_record_special_characters_in_labels_are_escaped():
    x = Value(1.0, label='a|b{c}<d>"e"\\')
    source = draw_dot(x * 2).source
    assert r"{ a\|b\{c\}\<d\>\"e\"\\ | data 1" in source


def test_a_label_with_a_lone_surrogate_renders_with_a_replacement_character():
    name = b"caf\xe9".decode("utf-8", "surrogateescape")  # a file name's undecodable byte
    svg = draw_dot(Value(1.0, label=name) * 2).pipe(format="svg").decode()
    assert "caf\ufffd" in svg


SCRIPT = textwrap.dedent(
    """
    from microgradnet import Value
    from microgradnet.viz import draw_dot
    xs = [Value(float(i), label=f"x{i}") for i in range(4)]
    h = Value.dot(xs[:2], xs[2:], Value(0.5))
    out = (h.tanh() * xs[0] + xs[1] ** 2 + Value.sum(xs)).sigmoid()
    out.backward()
    print(draw_dot(out).source, end="")
    """
)


def test_source_is_identical_across_processes():
    sources = []
    for seed in ("1", "2"):
        result = subprocess.run(
            [sys.executable, "-c", SCRIPT],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
        )
        sources.append(result.stdout)
    assert sources[0] == sources[1]
    assert sources[0].count("shape=ellipse") == 8  # dot tanh * ** + + Σ sigmoid


def test_max_nodes_guard_names_the_count_and_the_limit():
    x = Value(0.1)
    for _ in range(DEFAULT_MAX_NODES):
        x = x + 1.0
    total = 2 * DEFAULT_MAX_NODES + 1  # the leaf, then a constant and a sum per step
    with pytest.raises(
        ValueError, match=f"{total} values, more than max_nodes={DEFAULT_MAX_NODES}"
    ):
        draw_dot(x)
    assert isinstance(draw_dot(x, max_nodes=total), graphviz.Digraph)
    with pytest.raises(GraphTooLargeError, match=f"max_nodes={total - 1}"):
        draw_dot(x, max_nodes=total - 1)


def test_max_nodes_guard_works_on_a_deep_chain_without_recursion():
    x = Value(0.0)
    for _ in range(30_000):
        x = x.tanh()
    with pytest.raises(ValueError, match="30001 values"):
        draw_dot(x)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"rankdir": "XY"}, ValueError, "rankdir"),
        ({"max_nodes": 0}, ValueError, "max_nodes"),
        ({"max_nodes": 2.5}, TypeError, "max_nodes"),
        ({"parameters": 3}, TypeError, "parameters"),
    ],
)
def test_bad_options_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        draw_dot(Value(1.0) * 2, **kwargs)


def test_root_must_be_a_value():
    with pytest.raises(TypeError, match="expected a Value, got float"):
        draw_dot(1.0)


def test_missing_dot_keeps_source_and_explains_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", "")
    x = Value(2.0, label="x")
    out = x * x
    digraph = draw_dot(out)
    assert "{ x | data 2" in digraph.source
    target = tmp_path / "graph.svg"
    with pytest.raises(RuntimeError) as info:
        render(out, target)
    message = str(info.value)
    for hint in ("apt-get install graphviz", "brew install graphviz", "conda install"):
        assert hint in message
    assert list(tmp_path.iterdir()) == []
    # Jupyter falls back to text
    assert value_mimebundle(out) == {"text/plain": repr(out)}
    assert out._repr_mimebundle_() == {"text/plain": repr(out)}


def test_render_refuses_an_unknown_suffix_before_writing(tmp_path):
    with pytest.raises(ValueError, match=r"'\.txt'"):
        render(Value(1.0) * 2, tmp_path / "graph.txt")
    with pytest.raises(ValueError, match="'jpeg'"):
        render(Value(1.0) * 2, tmp_path / "graph.svg", format="jpeg")
    assert list(tmp_path.iterdir()) == []


def test_jupyter_bundle_is_text_for_a_large_graph():
    x = Value(0.5)
    for _ in range(INLINE_MAX_NODES):
        x = x * 1.01
    bundle = value_mimebundle(x)
    assert set(bundle) == {"text/plain"}
    assert bundle["text/plain"].startswith(repr(x))
    assert f"more than {INLINE_MAX_NODES} values" in bundle["text/plain"]


def test_jupyter_bundle_never_raises():
    class Broken(Value):
        @property
        def parents(self):
            raise RuntimeError("broken graph")

    value = Broken(1.0)
    assert value_mimebundle(value) == {"text/plain": repr(value)}


def test_max_nodes_guard_stops_counting_a_huge_graph():
    x = Value(0.0)
    for _ in range(60_000):
        x = x + 1.0  # two new values per step
    with pytest.raises(ValueError, match="more than 100000 values, more than max_nodes=500"):
        draw_dot(x)


def test_a_graph_of_a_million_values_is_refused_without_walking_it_all(monkeypatch):
    x = Value(0.0)
    for _ in range(1_000_000):
        x = x.tanh()
    looked_below = 0
    parents = Value.parents

    def counted(self):
        nonlocal looked_below
        looked_below += 1
        return parents.fget(self)

    monkeypatch.setattr(Value, "parents", property(counted))
    with pytest.raises(GraphTooLargeError, match="more than 100000 values"):
        draw_dot(x)
    assert 0 < looked_below <= (DEFAULT_MAX_NODES + 1) + (100_000 + 1)
    looked_below = 0
    assert "more than" in value_mimebundle(x)["text/plain"]
    assert 0 < looked_below <= INLINE_MAX_NODES + 1


def test_the_engine_draws_through_the_package_hook_and_imports_viz_only_to_draw():
    code = textwrap.dedent(
        """
        import sys
        import microgradnet
        from microgradnet import Value, engine
        before = "microgradnet.viz" in sys.modules
        bundle = (Value(2.0) * 3)._repr_mimebundle_()
        print(before, engine.display_hook is not None, "microgradnet.viz" in sys.modules,
              "text/plain" in bundle)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "True", "True"]
