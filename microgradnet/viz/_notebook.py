"""The notebook widgets' entry points: :func:`playground` and :func:`explore`.

The widgets live in their own modules, imported only when called, so that ``import
microgradnet.viz`` needs neither anywidget nor Jupyter (they come with the ``jupyter`` extra).
Both functions refuse to run where no notebook could show them, and say where they do run.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..engine import Value

if TYPE_CHECKING:
    from ._explore import Explorer
    from ._playground import Playground

__all__ = ["explore", "in_notebook", "playground"]

_WHERE = (
    "it runs in a Jupyter notebook (JupyterLab, Notebook 7, VS Code or Colab), in a cell of a "
    "notebook whose kernel is this Python"
)


def in_notebook() -> bool:
    """Whether this Python is a Jupyter kernel, so that a widget can be shown."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and getattr(shell, "kernel", None) is not None


def _require_notebook(what: str, instead: str) -> None:
    if not in_notebook():
        raise RuntimeError(f"{what} is a notebook widget: {_WHERE}. {instead}")
    try:
        import anywidget  # noqa: F401
    except ImportError:
        raise ImportError(
            f"{what} needs anywidget and ipywidgets: pip install 'microgradnet[jupyter]'"
        ) from None


def playground(
    dataset: str = "circles",
    *,
    noise: float = 0.1,
    train_fraction: float = 0.5,
    n_points: int = 200,
    hidden: Sequence[int] = (4, 2),
    activation: str = "tanh",
    init: str = "auto",
    l2: float = 0.0,
    optimizer: str = "adam",
    lr: float = 0.03,
    batch_size: int = 10,
    show: str = "weights",
    seed: int = 0,
) -> Playground:
    """A network that trains live in the notebook, every neuron drawn as it learns.

    Press play and watch the decision boundary form over the points, the losses fall, and
    each hidden neuron's output over the input plane change; lines between neurons are the
    weights (width ``|w|``, blue positive, orange negative; hover one for its weight and
    gradient, or switch to drawing the gradients). Every argument is also a control on the
    page and a trait of the widget (``pg.lr = 0.1``).

    Args:
        dataset: ``"circles"``, ``"xor"``, ``"moons"``, ``"blobs"`` or ``"spiral"``.
        noise: standard deviation of the noise added to the points (0 to 1).
        train_fraction: the share of the points used for training; the rest measure the test
            loss.
        n_points: how many points the data set has.
        hidden: the sizes of 0 to 4 hidden layers of 1 to 8 neurons.
        activation: of the hidden layers: ``"tanh"``, ``"relu"``, ``"sigmoid"``,
            ``"leaky_relu"`` or ``"linear"``.
        init: initialisation scheme, ``"auto"``, ``"he"``, ``"xavier"``, ``"lecun"`` or
            ``"uniform"``.
        l2: strength of the L2 penalty ``l2 * Σ w²`` on the weights.
        optimizer: ``"sgd"``, ``"momentum"`` (SGD with momentum 0.9), ``"adam"``,
            ``"rmsprop"`` or ``"adagrad"``.
        lr: learning rate.
        batch_size: points per training step (an epoch is one pass over the training points).
        show: draw the ``"weights"`` or their gradients (``"grads"``) as the lines.
        seed: makes the data, the weights and the minibatch order reproducible.

    Returns:
        The widget: ``.model`` (the live ``MLP``, output a logit for class 1), ``.step()``
        (train one epoch and redraw), ``.reset()``, ``.regenerate()``, ``.play()``,
        ``.pause()``, ``.epoch``, ``.train_loss``, ``.test_loss``, ``.history``.

    Raises:
        RuntimeError: not in a notebook (the message says where it runs).
        ValueError: an argument out of range (the message names it).

    Example:
        >>> pg = playground("spiral", hidden=[8, 8], activation="relu")  # doctest: +SKIP
        >>> pg.step(); pg.epoch  # doctest: +SKIP
        1
    """
    _require_notebook(
        "viz.playground()",
        "In a script, microgradnet.viz.Playground(...) trains the same way without a page "
        "(.step(), .model), or use microgradnet.train.fit and viz.plot_decision_boundary.",
    )
    import traitlets

    from ._playground import Playground

    try:
        return Playground(
            seed=seed,
            dataset=dataset,
            noise=noise,
            train_fraction=train_fraction,
            n_points=n_points,
            hidden=list(hidden),
            activation=activation,
            init=init,
            l2=l2,
            optimizer=optimizer,
            lr=lr,
            batch_size=batch_size,
            show=show,
        )
    except traitlets.TraitError as error:
        raise ValueError(f"viz.playground(): {error}") from None


def explore(root_or_expression: Value | str, /, **values: float) -> Explorer:
    """Sliders over the leaves of a small graph, its drawing redrawn as you drag them.

    Dragging a slider sets that leaf's value, recomputes every node forward and runs
    ``backward()``; the page redraws the graph with its data and gradients (as ``draw_dot``
    draws it) and lists d out / d leaf for every leaf.

    Args:
        root_or_expression: a ``Value`` (its graph is recomputed in place: after dragging,
            ``root.data`` and every ``.grad`` are what the page shows), or an expression such as
            ``"tanh(a*b + c)"``, parsed by the ``graph`` command's safe parser.
        **values: starting values of the variables (by name; a ``Value``'s leaves by label).
            A variable of an expression left out starts at 1.0.

    Returns:
        The widget: ``.root`` (the output), ``.leaves`` (name -> leaf), ``.set(name=value)``.

    Raises:
        RuntimeError: not in a notebook (the message says where it runs).
        ExpressionError: the expression is not allowed or cannot be computed.
        ValueError: a graph too large for sliders, or a value for a leaf that is not there.

    Example:
        >>> ex = explore("a*b + c", a=2, b=-3, c=10)  # doctest: +SKIP
        >>> ex.set(a=5); ex.root.data, ex.leaves["b"].grad  # doctest: +SKIP
        (-5.0, 5.0)
    """
    _require_notebook(
        "viz.explore()",
        'In a terminal, `microgradnet graph "EXPR" --var a=2 --out graph.svg` prints every '
        "gradient and draws the graph; in a script, use viz.draw_dot.",
    )
    from ._explore import Explorer

    return Explorer(root_or_expression, values)
