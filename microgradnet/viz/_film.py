"""Training as a film: the decision boundary and the loss curve, every few epochs.

:class:`TrainingFilm` is a ``fit`` callback that draws one frame before training and one every
``every`` epochs; :func:`animate_training` trains with it and writes the film, a GIF (Pillow,
which matplotlib already needs) or an HTML page playing it (matplotlib's ``to_jshtml``). In
Jupyter a ``TrainingFilm`` plays inline.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._callbacks import Callback
from .._files import write_bytes, write_text
from ..engine import Value, no_grad

if TYPE_CHECKING:
    import numpy as np

__all__ = ["FILM_FORMATS", "TrainingFilm", "animate_training"]

FILM_FORMATS = (".gif", ".html")


def _classes(outputs: list[Any]) -> list[int]:
    if outputs and isinstance(outputs[0], Value):
        return [int(v.data > 0) for v in outputs]
    return [max(range(len(o)), key=lambda k: o[k].data) for o in outputs]


class TrainingFilm(Callback):
    """A ``fit`` callback recording the decision boundary and the loss every ``every`` epochs.

    Args:
        X: the 2-D points to draw (usually the training set), shape ``(n, 2)``.
        y: their labels (``-1``/``+1`` or ``0..k-1``), drawn as the points' colours.
        every: record after every ``every``-th epoch (and once before training).
        resolution: grid points per axis of the boundary.

    Attributes:
        frames: the recorded frames as RGB arrays; ``epochs``: the epoch of each (0: before).

    Raises:
        ValueError: ``X`` is not ``(n, 2)``, or ``every``/``resolution`` is not a positive int.

    Example:
        >>> film = TrainingFilm(X, y, every=5)  # doctest: +SKIP
        >>> fit(model, X, y, loss="hinge", optimizer=opt, epochs=50,
        ...     callbacks=[film])  # doctest: +SKIP
        >>> film.save("training.gif")  # doctest: +SKIP
    """

    def __init__(self, X: Any, y: Any, *, every: int = 1, resolution: int = 40) -> None:
        import numpy as np

        self._points = np.asarray(X, dtype=float)
        if self._points.ndim != 2 or self._points.shape[1] != 2 or not len(self._points):
            raise ValueError(f"TrainingFilm: X must have shape (n, 2), got {self._points.shape}")
        for value, what in ((every, "every"), (resolution, "resolution")):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"TrainingFilm: {what} must be a positive int, got {value!r}")
        labels = np.asarray(y)
        self._labels = (labels > 0).astype(int) if labels.min() < 0 else labels.astype(int)
        self.every = every
        self.resolution = max(resolution, 2)
        self.frames: list[np.ndarray] = []
        self.epochs: list[int] = []
        self._losses: list[float] = []
        self._model: Any = None

    def on_train_begin(self, model: Any) -> None:
        self._model = model
        if not self.frames:
            self._record(0)

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float]) -> bool | None:
        self._losses.append(float(logs.get("loss", float("nan"))))
        if (epoch + 1) % self.every == 0:
            self._record(epoch + 1)
        return None

    def _grid(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        import numpy as np

        low, high = self._points.min(axis=0) - 0.5, self._points.max(axis=0) + 0.5
        xs = np.linspace(low[0], high[0], self.resolution)
        ys = np.linspace(low[1], high[1], self.resolution)
        points = [[float(a), float(b)] for b in ys for a in xs]
        run = getattr(self._model, "map", None)
        with no_grad():
            outputs = run(points) if callable(run) else [self._model(p) for p in points]
        grid = np.array(_classes(outputs)).reshape(self.resolution, self.resolution)
        return xs, ys, grid

    def _record(self, epoch: int) -> None:
        import numpy as np
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        xs, ys, grid = self._grid()
        fig = Figure(figsize=(7.2, 3.2), dpi=80)  # off pyplot: drawn to an array, not shown
        canvas = FigureCanvasAgg(fig)
        left, right = fig.subplots(1, 2)
        n = max(2, int(grid.max()) + 1, int(self._labels.max()) + 1)
        levels = np.arange(-0.5, n, 1.0)
        left.contourf(xs, ys, grid, levels=levels, cmap="coolwarm", alpha=0.35)
        left.scatter(*self._points.T, c=self._labels, cmap="coolwarm", s=8, vmin=0, vmax=n - 1)
        left.set_title(f"epoch {epoch}", fontsize=10)
        left.set_xticks([])
        left.set_yticks([])
        right.plot(range(1, len(self._losses) + 1), self._losses, color="#1d4ed8")
        right.set_xlim(0.5, max(len(self._losses), 1) + 0.5)
        right.set_title("loss", fontsize=10)
        right.set_xlabel("epoch", fontsize=9)
        fig.tight_layout()
        canvas.draw()  # type: ignore[no-untyped-call]
        self.frames.append(np.asarray(canvas.buffer_rgba())[:, :, :3].copy())  # type: ignore[no-untyped-call]
        self.epochs.append(epoch)

    def to_gif(self, fps: float = 4.0) -> bytes:
        """The frames as an animated GIF (looping, the last frame held a second)."""
        from PIL import Image

        images = [Image.fromarray(frame) for frame in self._checked_frames()]
        durations = [round(1000 / fps)] * len(images)
        durations[-1] = max(durations[-1], 1000)
        buffer = io.BytesIO()
        images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:],
                       duration=durations, loop=0)  # fmt: skip
        return buffer.getvalue()

    def to_html(self, fps: float = 4.0) -> str:
        """The frames as an HTML5 animation with play controls (matplotlib's ``to_jshtml``)."""
        import matplotlib.pyplot as plt
        from matplotlib.animation import ArtistAnimation

        frames = self._checked_frames()
        height, width = frames[0].shape[:2]
        fig = plt.figure(figsize=(width / 80, height / 80), dpi=80)
        plt.close(fig)
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.set_axis_off()
        artists = [[ax.imshow(frame, animated=True)] for frame in frames]
        film = ArtistAnimation(fig, artists, interval=1000 / fps, repeat=True)
        return str(film.to_jshtml(fps=max(1, round(fps)), default_mode="once"))

    def save(self, path: str | os.PathLike[str], fps: float = 4.0) -> Path:
        """Write the film atomically: ``.gif`` or ``.html`` by the path's suffix.

        Raises:
            ValueError: another suffix, or no frames recorded.
            OSError: the file cannot be written (an old file is left as it was).
        """
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in FILM_FORMATS:
            raise ValueError(f"training film: unknown suffix {path.suffix!r}; use .gif or .html")
        if suffix == ".gif":
            return write_bytes(path, self.to_gif(fps))
        return write_text(path, self.to_html(fps))

    def _checked_frames(self) -> list[np.ndarray]:
        if not self.frames:
            raise ValueError("training film: no frames recorded; pass the film to fit first")
        return self.frames

    def _repr_html_(self) -> str:
        return self.to_html() if self.frames else "<pre>TrainingFilm (no frames yet)</pre>"


def animate_training(
    model: Any,
    X: Any,
    y: Any,
    path: str | os.PathLike[str] | None,
    *,
    epochs: int = 20,
    every: int = 1,
    resolution: int = 40,
    fps: float = 4.0,
    **fit_kwargs: Any,
) -> TrainingFilm:
    """Train ``model`` with ``fit`` and film its decision boundary and loss every ``every`` epochs.

    Args:
        model: a classifier of 2-D points (one score, class 1 when positive, or logits).
        X: the training points, ``(n, 2)``.
        y: their labels.
        path: where to write the film, ``.gif`` or ``.html`` (atomically); ``None`` writes
            nothing (the returned film plays inline in Jupyter).
        epochs: training epochs.
        every: epochs between frames (one frame is taken before training, so there are
            ``1 + epochs // every`` frames).
        resolution: grid points per axis of the boundary.
        fps: frames per second.
        **fit_kwargs: passed to :func:`microgradnet.train.fit` (default ``loss="hinge"``,
            ``optimizer=Adam(model.parameters(), lr=0.05)``, ``progress=False``);
            ``callbacks`` are run beside the film.

    Returns:
        The :class:`TrainingFilm` (its ``frames``, ``epochs``, ``save``, ``to_html``).

    Raises:
        ValueError: an unknown suffix (checked before training), or bad data or arguments.

    Example:
        >>> animate_training(MLP(2, [16, 16, 1]), X, y, "training.gif",
        ...                  epochs=30, every=3)  # doctest: +SKIP
    """
    if path is not None and Path(path).suffix.lower() not in FILM_FORMATS:
        raise ValueError(
            f"animate_training: unknown suffix {Path(path).suffix!r}; use .gif or .html"
        )
    from ..optim import Adam
    from ..train import fit

    film = TrainingFilm(X, y, every=every, resolution=resolution)
    fit_kwargs.setdefault("loss", "hinge")
    fit_kwargs.setdefault("progress", False)
    if "optimizer" not in fit_kwargs:
        fit_kwargs["optimizer"] = Adam(model.parameters(), lr=0.05)
    callbacks = [film, *fit_kwargs.pop("callbacks", ())]
    fit(model, X, y, epochs=epochs, callbacks=callbacks, **fit_kwargs)
    if path is not None:
        film.save(path, fps)
    return film
