"""The step-through backward player: steps, frames, and the HTML page in a real Chromium."""

from __future__ import annotations

import math
import random
import re
from pathlib import Path

import pytest
from conftest import IN_CI, require_dot, require_module

from microgradnet import Value, grad
from microgradnet.engine import backward_order
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
