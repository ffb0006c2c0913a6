"""``mlps()``: small random networks, each with an input vector, for gradient tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from hypothesis import strategies as st

from ._arguments import check_bounds, check_int, check_names
from ._values import values

if TYPE_CHECKING:
    from ..nn import MLP

__all__ = ["MLPExample", "mlps"]


class MLPExample(NamedTuple):
    """A drawn network and an input vector for it (see :func:`mlps`)."""

    model: MLP
    inputs: list[float]
    description: str

    def __repr__(self) -> str:
        return f"MLPExample({self.description}, inputs={self.inputs!r})"


def mlps(
    *,
    max_inputs: int = 3,
    max_hidden: int = 4,
    max_layers: int = 2,
    max_outputs: int = 2,
    activations: Sequence[str] | None = None,
    output_activations: Sequence[str] | None = None,
    min_value: float = -3.0,
    max_value: float = 3.0,
) -> st.SearchStrategy[MLPExample]:
    """Small random :class:`microgradnet.nn.MLP` networks, each with an input vector.

    Args:
        max_inputs: largest number of inputs ``nin``.
        max_hidden: largest hidden-layer size.
        max_layers: largest number of hidden layers (0 gives a single linear layer).
        max_outputs: largest size of the last layer.
        activations: hidden activations to choose from (default: every name in
            ``nn.ACTIVATIONS``; ``relu`` and ``leaky_relu`` have kinks).
        output_activations: output activations to choose from (default: every name).
        min_value: smallest input value.
        max_value: largest input value.

    Returns:
        A strategy of :class:`MLPExample` ``(model, inputs, description)``; ``model(inputs)`` is
        a ``Value`` when the last layer has one neuron, else a list of them.

    Raises:
        InvalidArgument: (when drawn) an argument has the wrong type or is out of range.

    Example:
        >>> model, x, _ = mlps().example()
        >>> len(x) == model.nin
        True
    """

    def build() -> st.SearchStrategy[MLPExample]:
        from .. import nn

        who = "mlps"
        nin_max = check_int(max_inputs, "max_inputs", who, 1, 1000)
        hidden_max = check_int(max_hidden, "max_hidden", who, 1, 1000)
        layers_max = check_int(max_layers, "max_layers", who, 0, 100)
        outputs_max = check_int(max_outputs, "max_outputs", who, 1, 1000)
        low, high = check_bounds(min_value, max_value, who)
        hidden_names = check_names(activations, "activations", who, nn.ACTIVATIONS)
        output_names = check_names(output_activations, "output_activations", who, nn.ACTIVATIONS)

        @st.composite
        def draw_mlp(draw: st.DrawFn) -> MLPExample:
            nin = draw(st.integers(1, nin_max))
            hidden = draw(st.lists(st.integers(1, hidden_max), max_size=layers_max))
            nouts = [*hidden, draw(st.integers(1, outputs_max))]
            activation = draw(st.sampled_from(hidden_names))
            output_activation = draw(st.sampled_from(output_names))
            seed = draw(st.integers(0, 2**32 - 1))
            model = nn.MLP(nin, nouts, activation, output_activation, seed=seed)
            inputs = draw(st.lists(values(low, high), min_size=nin, max_size=nin))
            description = (
                f"MLP({nin}, {nouts}, activation={activation!r}, "
                f"output_activation={output_activation!r}, seed={seed})"
            )
            return MLPExample(model, inputs, description)

        return draw_mlp()

    return st.deferred(build)
