"""The step-through backward player: steps, frames, and the HTML page in a real Chromium."""

from __future__ import annotations

import math
import random
import re
from pathlib import Path

import pytest
from conftest import IN_CI, require_dot, require_module
from hypothesis import given, settings

from microgradnet import Value, grad
from microgradnet.engine import backward_order, backward_reference
from microgradnet.testing import expressions
from microgradnet.viz import (
    BackpropPlayer,
    backprop_frames,
    backprop_html,
    backprop_player,
    backward_steps,
    draw_dot,
)

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NODE = re.compile(r'^\s*(n\d+) \[label="\{ (.*?) \|(.*)$', re.MULTILINE)
FD_EPS = 1e-6
RED_EDGE = re.compile(r'color="#dc2626" id=n\d+in\d+ penwidth=2')


def neuron() -> tuple[Value, list[Value]]:
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    n = Value.dot([w1, w2], [x1, x2], b)
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o, [x1, x2, w1, w2, b]


def neuron_float(x1, x2, w1, w2, b):
    return math.tanh(w1 * x1 + w2 * x2 + b)


def mlp_loss() -> Value:
    """A 2-3-1 MLP (tanh hidden layer, linear output) on one sample, squared error."""
    rng = random.Random(4)
    x = [Value(0.5, label="x0"), Value(-1.5, label="x1")]
    hidden = []
    for j in range(3):
        w = [Value(rng.uniform(-1, 1), label=f"w1_{j}{i}") for i in range(2)]
        b = Value(rng.uniform(-1, 1), label=f"b1_{j}")
        h = Value.dot(w, x, b).tanh()
        hidden.append(h)
    w = [Value(rng.uniform(-1, 1), label=f"w2_{i}") for i in range(3)]
    out = Value.dot(w, hidden, Value(0.1, label="b2"))
    loss = (out - 1.0) ** 2
    loss.label = "loss"
    for i, node in enumerate(backward_order(loss)):
        node.label = node.label or f"v{i}"  # every record named, to find it in the page
    return loss


def ids_by_label(root: Value) -> dict[str, str]:
    return {label: name for name, label, _ in NODE.findall(draw_dot(root).source)}


def expected_grads(root: Value) -> dict[str, float]:
    nodes = backward_order(root)
    return {v.label: g.data for v, g in zip(nodes, grad(root, nodes), strict=True)}


# ----- the steps -----
def test_steps_follow_backward_order_and_match_finite_differences():
    o, leaves = neuron()
    steps = backward_steps(o)
    assert [s.node for s in steps] == backward_order(o)
    final = {s.node: s.grad for s in steps}
    point = [v.data for v in leaves]
    for i, leaf in enumerate(leaves):
        up, down = list(point), list(point)
        up[i] += FD_EPS
        down[i] -= FD_EPS
        numeric = (neuron_float(*up) - neuron_float(*down)) / (2 * FD_EPS)
        assert final[leaf] == pytest.approx(numeric, rel=1e-6, abs=1e-9)


def test_each_step_passes_grad_times_local_derivative_to_its_inputs():
    loss = mlp_loss()
    received: dict[Value, float] = {}
    for step in backward_steps(loss):
        if step.node is not loss:
            assert step.grad == pytest.approx(received[step.node], rel=1e-12)
        for parent, local, contribution in step.flows:
            assert contribution == pytest.approx(step.grad * local, rel=1e-12)
            received[parent] = received.get(parent, 0.0) + contribution


def test_steps_and_frames_leave_grad_alone():
    o, leaves = neuron()
    for leaf in leaves:
        leaf.grad = 7.0
    steps = backward_steps(o)
    frames = list(backprop_frames(o))
    assert [leaf.grad for leaf in leaves] == [7.0] * 5
    assert o.grad == 0.0
    assert {s.node: s.grad for s in steps}[leaves[0]] == pytest.approx(-1.5)
    assert "grad 7" not in frames[-1].source


# ----- the steps are the reference algorithm -----
# Each graph: the leaves' values, a function of Values building the root from them, and where
# central differences are no check (a tie in max) the gradients its documentation promises.
def _dot_with_bias(w0, w1, x0, x1, b):
    return Value.dot([w0, w1], [x0, x1], b).tanh()


def _dead_relu(w0, w1, x0, x1, b):
    hidden = Value.dot([w0, w1], [x0, x1], b)  # negative: the relu is dead
    return hidden.relu() * x0 + (hidden * w1).tanh() + Value.dot([w0, w1], [x0, x1])


def _shared(a, b):
    s = a * b  # read by four nodes
    return s * s + s.exp() + (s + a).sin() + s**3 + 2**s


def _max(a, b, c):
    return Value.max([a * b, c, a + c]) + Value.max([a, b]).leaky_relu(0.1)


GRAPHS = {
    "dot with a bias": (_dot_with_bias, [0.5, -1.5, 2.0, 0.75, 0.25]),
    "dead relu": (_dead_relu, [0.5, -1.5, 2.0, 0.75, -3.0]),
    "shared subexpression": (_shared, [0.7, -1.3]),
    "max": (_max, [1.5, -2.0, 0.5]),
}


def central_differences(f, point):
    """d f / d point[i] for each i, from the forward pass alone."""
    grads = []
    for i in range(len(point)):
        up, down = list(point), list(point)
        up[i] += FD_EPS
        down[i] -= FD_EPS
        grads.append((f(*map(Value, up)).data - f(*map(Value, down)).data) / (2 * FD_EPS))
    return grads


@pytest.mark.parametrize("graph", GRAPHS, ids=list(GRAPHS))
def test_steps_give_the_reference_gradients_and_backward_the_same(graph):
    f, point = GRAPHS[graph]
    leaves = [Value(v, label=f"x{i}") for i, v in enumerate(point)]
    root = f(*leaves)
    steps = backward_steps(root)
    assert [s.node for s in steps] == backward_order(root)
    found = {s.node: s.grad for s in steps}

    reference = backward_reference(root)
    assert {n: g for n, g in found.items() if g != 0.0} == {
        n: g for n, g in reference.items() if g != 0.0
    }  # the same algorithm, the same arithmetic: bit for bit
    root.backward()
    for node, g in found.items():
        assert math.isclose(node.grad, g, rel_tol=1e-12, abs_tol=0.0), node
    numeric = central_differences(f, point)
    for leaf, expected in zip(leaves, numeric, strict=True):
        assert found[leaf] == pytest.approx(expected, rel=1e-6, abs=1e-8), leaf.label


def test_steps_pass_nothing_through_a_dead_relu_or_past_a_zero_gradient():
    w, x = Value(-2.0, label="w"), Value(1.5, label="x")
    hidden = w * x
    dead = hidden.relu()
    below = (w * 3.0).exp()  # reached only through the dead relu
    root = dead * below + x
    steps = {s.node: s for s in backward_steps(root)}
    assert steps[dead].flows == ((hidden, 0.0, 0.0),)  # a local derivative of 0
    assert steps[hidden].grad == 0.0 and steps[hidden].flows == ()  # a gradient of 0
    assert steps[below].grad == 0.0 and steps[below].flows == ()  # dead * below: d/dbelow = 0
    assert steps[below.parents[0]].flows == ()
    assert steps[w].grad == 0.0 and steps[x].grad == 1.0


def test_a_tie_in_max_sends_the_gradient_to_the_first_of_the_largest():
    a, b, c = Value(2.0, label="a"), Value(2.0, label="b"), Value(1.0, label="c")
    root = Value.max([c, a, b]) * 3.0
    found = {s.node: s.grad for s in backward_steps(root)}
    assert (found[a], found[b], found[c]) == (3.0, 0.0, 0.0)
    assert found[a] == backward_reference(root)[a]
    root.backward()
    assert (a.grad, b.grad, c.grad) == (3.0, 0.0, 0.0)


@settings(max_examples=60)
@given(expressions(n_inputs=3, max_leaves=10))
def test_steps_are_the_reference_on_random_expressions(e):
    xs = [Value(x) for x in e.inputs]
    root = e.fn(*xs)
    reference = backward_reference(root)
    for step in backward_steps(root):
        assert step.grad == reference.get(step.node, 0.0)
        for _, local, contribution in step.flows:
            assert contribution == (0.0 if local == 0.0 else local * step.grad)


# ----- the frames -----
def grads_in(source: str) -> dict[str, str]:
    return {
        label: rest.split("| grad ")[1].split(" }")[0] for _, label, rest in NODE.findall(source)
    }


def highlighted(source: str) -> list[str]:
    return [label for _, label, rest in NODE.findall(source) if "penwidth=3.5" in rest]


@pytest.mark.parametrize("build", [lambda: neuron()[0], mlp_loss], ids=["neuron", "mlp"])
def test_one_frame_per_node_highlighting_it_with_final_grads_only(build):
    root = build()
    order = [v.label for v in backward_order(root)]
    final = expected_grads(root)
    frames = list(backprop_frames(root))
    assert len(frames) == len(order)
    for k, frame in enumerate(frames):
        source = frame.source
        assert highlighted(source) == [order[k]]
        shown = grads_in(source)
        for label in order[: k + 1]:
            assert shown[label] == f"{final[label]:.4g}"
        for label in order[k + 1 :]:
            assert shown[label] == "?"
        assert f"Step {k + 1} of {len(order)}: {order[k]}" in source
    assert "?" not in "".join(grads_in(frames[-1].source).values())


def test_frame_caption_spells_out_the_chain_rule():
    o, _ = neuron()
    second = list(backprop_frames(o))[1].source  # processing n = w·x + b with grad 0.5
    assert "Chain rule through the “w·x + b” op" in second
    assert "∂o/∂w1 += 0.5 × 2 = 1" in second
    assert "∂o/∂x1 += 0.5 × -3 = -1.5" in second


def test_frames_show_that_a_dead_relu_and_a_zero_gradient_pass_nothing_on():
    w, x = Value(-2.0, label="w"), Value(1.5, label="x")
    hidden = w * x
    hidden.label = "hidden"
    dead = hidden.relu()
    dead.label = "dead"
    root = dead + x
    root.label = "out"
    order = [v.label for v in backward_order(root)]
    frames = [f.source for f in backprop_frames(root)]
    at_dead, at_hidden = frames[order.index("dead")], frames[order.index("hidden")]
    assert "∂out/∂hidden += 1 × 0 = 0" in at_dead
    assert "A local derivative of 0 passes nothing on: an input gains nothing here." in at_dead
    assert "A gradient of 0 passes nothing on" in at_hidden
    for source in (at_dead, at_hidden):  # no input outlined as receiving, no edge in red
        assert "dashed" not in source and not RED_EDGE.findall(source)
    assert frames[0].count("dashed") == 2 and len(RED_EDGE.findall(frames[0])) == 2


def test_frames_check_their_options_at_the_call():
    with pytest.raises(TypeError, match="expected a Value"):
        backprop_frames([1.0])
    with pytest.raises(ValueError, match="max_nodes=3"):
        backprop_frames(neuron()[0], max_nodes=3)


# ----- the page -----
def test_player_object_and_page_are_self_contained(tmp_path):
    require_dot()
    o, _ = neuron()
    player = backprop_player(o)
    assert isinstance(player, BackpropPlayer)
    assert player.n_frames == len(backward_order(o))
    assert str(player) == player.html
    page = backprop_html(o, tmp_path / "p.html")
    assert (tmp_path / "p.html").read_text(encoding="utf-8") == page == player.html
    assert not re.search(r"\b(src|href)\s*=", page)  # nothing to load
    assert "<link" not in page and "@import" not in page
    inline = player._repr_html_()
    assert inline.startswith("<iframe srcdoc=") and "&lt;svg" in inline


@pytest.fixture(scope="module")
def browser():
    require_dot()
    sync_api = require_module("playwright.sync_api")
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is not installed (apt-get install chromium)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


CURRENT = "() => [...document.querySelectorAll('g.node.mg-current')].map(g => g.id)"
RECEIVING = "() => [...document.querySelectorAll('g.node.mg-receiving')].map(g => g.id)"
GRAD_TEXTS = """() => Object.fromEntries([...document.querySelectorAll('g.node')].map(g =>
    [g.id, [...g.querySelectorAll('text')].map(t => t.textContent)
              .filter(t => t.startsWith('grad '))]))"""


def open_player(browser, root: Value, path: Path):
    backprop_html(root, path)
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    problems: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else 0)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    return page, problems, requests


@pytest.mark.parametrize(
    ("build", "screenshot"),
    [(lambda: neuron()[0], "player.png"), (mlp_loss, "player-mlp.png")],
    ids=["neuron", "mlp"],
)
def test_player_page_in_chromium(browser, tmp_path, build, screenshot):
    root = build()
    order = backward_order(root)
    ids = ids_by_label(root)
    expected_ids = [ids[v.label] for v in order]
    final = {ids[label]: f"grad {g:.4g}" for label, g in expected_grads(root).items()}
    page, problems, requests = open_player(browser, root, tmp_path / "player.html")
    try:
        # first frame: the output is processed, only its gradient is known
        assert page.evaluate(CURRENT) == [expected_ids[0]]
        assert page.inner_text("#mg-counter") == f"Step 1 of {len(order)}"
        texts = page.evaluate(GRAD_TEXTS)
        assert texts[expected_ids[0]] == ["grad 1"]
        assert all(texts[i] == ["grad ?"] for i in expected_ids[1:])
        parents = sorted({ids[p.label] for p in root.parents})
        assert sorted(page.evaluate(RECEIVING)) == parents
        assert order[0].label in page.inner_text("#mg-caption")

        # step, keyboard, back
        page.click("#mg-step")
        assert page.evaluate(CURRENT) == [expected_ids[1]]
        assert page.evaluate(GRAD_TEXTS)[expected_ids[1]] == [final[expected_ids[1]]]
        page.keyboard.press("ArrowRight")
        assert page.evaluate(CURRENT) == [expected_ids[2]]
        page.click("#mg-back")
        assert page.evaluate(CURRENT) == [expected_ids[1]]
        assert page.evaluate(GRAD_TEXTS)[expected_ids[2]] == ["grad ?"]

        # the slider
        middle = len(order) // 2
        page.eval_on_selector(
            "#mg-slider",
            f"s => {{ s.value = '{middle}'; s.dispatchEvent(new Event('input')); }}",
        )
        assert page.evaluate(CURRENT) == [expected_ids[middle]]

        # play advances by itself; pause stops
        page.keyboard.press("Home")
        page.click("#mg-play")
        assert page.inner_text("#mg-play").endswith("Pause")
        page.wait_for_function("() => Number(document.body.dataset.frame) >= 1", timeout=5000)
        page.click("#mg-play")
        assert page.inner_text("#mg-play").endswith("Play")

        # the last frame shows every gradient
        page.keyboard.press("End")
        assert page.evaluate(CURRENT) == [expected_ids[-1]]
        texts = page.evaluate(GRAD_TEXTS)
        assert {i: texts[i] for i in expected_ids} == {i: [final[i]] for i in expected_ids}
        assert page.is_disabled("#mg-step") and not page.is_disabled("#mg-back")

        ARTIFACTS.mkdir(exist_ok=True)
        page.keyboard.press("Home")
        page.keyboard.press("ArrowRight")
        page.screenshot(path=str(ARTIFACTS / screenshot), full_page=True)
    finally:
        page.close()
    assert problems == []
    assert requests == [(tmp_path / "player.html").as_uri()]


HOSTILE = ["%%SVG%%", "%%DATA%%", "%%TITLE%%", "</script><script>window.pwned = 1</script>", "<!--"]


def hostile_graph() -> Value:
    """A graph whose labels (and the player's title) are the page's own placeholders and
    markup that would end its script block."""
    a, b = Value(2.0, label=HOSTILE[0]), Value(-3.0, label=HOSTILE[1])
    c = a * b
    c.label = HOSTILE[3]
    out = (c + Value(1.0, label=HOSTILE[4])).tanh()
    out.label = HOSTILE[2]
    return out


def test_placeholders_and_markup_in_titles_and_labels_stay_text():
    require_dot()
    page = backprop_html(hostile_graph(), title="%%SVG%% and %%DATA%%")
    assert page.count("<svg") == 1  # the graph once: no placeholder was filled twice
    assert page.count('id="mg-data"') == 1
    assert "<title>%%SVG%% and %%DATA%%</title>" in page
    data = re.search(r'<script type="application/json" id="mg-data">(.*?)</script>', page, re.S)
    assert data is not None and "<" not in data.group(1)  # nothing in it can end the block
    assert "window.pwned" not in page.replace("&lt;/script&gt;&lt;script&gt;window.pwned", "")


def test_the_hostile_page_in_chromium(browser, tmp_path):
    root = hostile_graph()
    page, problems, _ = open_player(browser, root, tmp_path / "player.html")
    try:
        assert page.title() == f"Backpropagation step by step: {HOSTILE[2]}"
        page.keyboard.press("End")
        n = len(backward_order(root))
        assert page.inner_text("#mg-counter") == f"Step {n} of {n}"
        assert page.evaluate("() => window.pwned === undefined")
        shown = page.evaluate(
            "() => [...document.querySelectorAll('g.node text')].map(t => t.textContent)"
        )
        for label in HOSTILE:
            assert label in shown
    finally:
        page.close()
    assert problems == []
