"""Gradient flow against PyTorch's gradients, and the training film's frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import require_module
from PIL import Image

from microgradnet import data, losses
from microgradnet.nn import MLP
from microgradnet.optim import SGD
from microgradnet.train import fit
from microgradnet.viz import GradientFlow, animate_training, layer_gradients, plot_gradient_flow

X, Y = data.make_moons(24, noise=0.1, seed=0, signed=True)


def _torch_layer_grads(model: MLP, activation: str) -> list[tuple[float, float, float]]:
    """Mean, max |grad| and norm per layer of the same MLP and loss, computed by PyTorch."""
    torch = require_module("torch")
    act = {"sigmoid": torch.sigmoid, "relu": torch.relu}[activation]
    weights = [
        torch.tensor([[w.data for w in n.w] for n in layer.neurons], dtype=torch.float64,
                     requires_grad=True)
        for layer in model.layers
    ]  # fmt: skip
    biases = [
        torch.tensor([n.b.data for n in layer.neurons], dtype=torch.float64, requires_grad=True)
        for layer in model.layers
    ]
    h = torch.tensor(X, dtype=torch.float64)
    for k, (w, b) in enumerate(zip(weights, biases, strict=True)):
        h = h @ w.T + b
        if k < len(weights) - 1:
            h = act(h)
    target = torch.tensor(Y, dtype=torch.float64)
    torch.relu(1 - target * h[:, 0]).mean().backward()
    rows = []
    for w, b in zip(weights, biases, strict=True):
        g = torch.cat([w.grad.flatten(), b.grad]).abs()
        rows.append((float(g.mean()), float(g.max()), float(g.norm())))
    return rows


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_layer_gradients_match_pytorch(activation: str) -> None:
    model = MLP(2, [6, 6, 6, 1], activation=activation, seed=3)
    losses.hinge(model.map(X), Y).backward()
    ours = layer_gradients(model)
    assert [r.name for r in ours] == ["layers.0", "layers.1", "layers.2", "layers.3"]
    for row, (mean, largest, norm) in zip(ours, _torch_layer_grads(model, activation), strict=True):
        assert row.mean == pytest.approx(mean, rel=1e-9, abs=1e-15)
        assert row.max == pytest.approx(largest, rel=1e-9, abs=1e-15)
        assert row.norm == pytest.approx(norm, rel=1e-9, abs=1e-15)
    fig = plot_gradient_flow(model)
    (ax,) = fig.axes
    assert ax.get_yscale() == "log"
    heights = [p.get_height() for p in ax.patches]
    assert heights == pytest.approx([r.max for r in ours] + [r.mean for r in ours])


def test_a_deep_sigmoid_network_vanishes_where_relu_does_not() -> None:
    ratios = {}
    for activation in ("sigmoid", "relu"):
        model = MLP(2, [8] * 10 + [1], activation=activation, seed=0)
        losses.hinge(model.map(X), Y).backward()
        rows = layer_gradients(model)
        ratios[activation] = rows[0].mean / rows[-1].mean  # first layer against the last
    assert ratios["sigmoid"] < 0.25 < 0.5 < ratios["relu"]


def test_the_callback_records_a_norm_per_layer_per_epoch() -> None:
    model = MLP(2, [4, 1], seed=0)
    flow = GradientFlow()
    opt = SGD(model.parameters(), lr=0.1)
    fit(model, X, Y, loss="hinge", optimizer=opt, epochs=3, progress=False, callbacks=[flow])
    assert list(flow.history) == ["layers.0", "layers.1"]
    assert all(len(v) == 3 for v in flow.history.values())
    # the last epoch's norms are those backward left after the last step
    assert [v[-1] for v in flow.history.values()] == [r.norm for r in layer_gradients(model)]
    fig = flow.plot()
    assert len(fig.axes[0].lines) == 2 and fig.axes[0].get_yscale() == "log"
    with pytest.raises(ValueError, match="nothing recorded"):
        GradientFlow().plot()


@pytest.mark.parametrize(("epochs", "every", "frames"), [(4, 1, 5), (5, 2, 3)])
def test_the_gif_has_a_frame_per_recorded_epoch(
    tmp_path: Path, epochs: int, every: int, frames: int
) -> None:
    path = tmp_path / "film.gif"
    film = animate_training(MLP(2, [8, 1], seed=0), X, Y, path, epochs=epochs, every=every,
                            resolution=12)  # fmt: skip
    assert film.epochs == list(range(0, epochs + 1, every))
    with Image.open(path) as image:
        assert image.n_frames == frames == len(film.frames)
        image.seek(frames - 1)
        last = np.asarray(image.convert("RGB"))
    assert last.shape == film.frames[-1].shape and last.std() > 10
    assert not np.array_equal(film.frames[0], film.frames[-1])  # the boundary moved
    assert [p.name for p in tmp_path.iterdir()] == ["film.gif"]


def test_the_html_film_plays_with_matplotlib_controls(tmp_path: Path) -> None:
    path = tmp_path / "film.html"
    film = animate_training(MLP(2, [4, 1], seed=0), X, Y, path, epochs=2, resolution=8)
    page = path.read_text()
    assert "<script" in page and page.count("data:image/png;base64") == 3
    assert "<script" in film._repr_html_()
    with pytest.raises(ValueError, match=r"unknown suffix '\.mp4'"):
        animate_training(MLP(2, [4, 1], seed=0), X, Y, tmp_path / "film.mp4", epochs=1)
    assert not (tmp_path / "film.mp4").exists()
