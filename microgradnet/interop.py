"""Conversion to and from PyTorch: ``to_torch(model)`` and ``from_torch(sequential)``.

PyTorch is optional and imported only when these functions are called. The way out for users who
outgrow a scalar engine: train a prototype here, continue in PyTorch with the same weights.

Example:
    >>> from microgradnet.nn import MLP
    >>> seq = to_torch(MLP(2, [4, 1], seed=0))     # Linear(2, 4), ReLU(), Linear(4, 1)
    >>> back = from_torch(seq)                       # an MLP with the same weights
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from .nn import MLP, Activation, Layer, Module, Sequential

__all__ = ["from_torch", "to_torch"]

_INSTALL_HINT = 'PyTorch is needed for this: pip install "microgradnet[torch]"'


def _torch() -> ModuleType:
    try:
        import torch
    except ImportError as error:
        raise ImportError(_INSTALL_HINT) from error
    return torch


def _torch_activation(torch: ModuleType, name: str) -> Any:
    nn = torch.nn
    modules = {
        "relu": nn.ReLU,
        "tanh": nn.Tanh,
        "sigmoid": nn.Sigmoid,
        "leaky_relu": lambda: nn.LeakyReLU(0.01),
        "gelu": nn.GELU,  # the erf form, as ours
        "silu": nn.SiLU,
        "elu": nn.ELU,
        "softsign": nn.Softsign,
        "hardtanh": nn.Hardtanh,
    }
    if name == "linear":
        return None
    if name not in modules:
        raise ValueError(f"to_torch: activation {name!r} has no PyTorch module")
    return modules[name]()


def _layers(model: Module) -> list[Module]:
    if isinstance(model, Layer | Activation):
        return [model]
    if isinstance(model, MLP | Sequential):
        return [part for layer in model.layers for part in _layers(layer)]
    raise TypeError(
        f"to_torch: cannot convert a {type(model).__name__}; "
        "expected an MLP, a Sequential, a Layer or an activation module"
    )


def to_torch(model: Module) -> Any:
    """An equivalent ``torch.nn.Sequential`` (float64): the same weights and activations.

    Each ``Layer`` becomes a ``Linear`` (``weight[j]`` is neuron ``j``'s ``w``, ``bias[j]`` its
    ``b``) followed by its activation module (none for ``"linear"``).

    Raises:
        ImportError: PyTorch is not installed (says how to install it).
        TypeError: ``model`` is not an MLP, a Sequential, a Layer or an activation.
        ValueError: a layer whose neurons use different activations.
    """
    torch = _torch()
    parts: list[Any] = []
    for part in _layers(model):
        if isinstance(part, Activation):
            module = _torch_activation(torch, part.name)
            if module is not None:
                parts.append(module)
            continue
        assert isinstance(part, Layer)
        if part.activation == "mixed":
            raise ValueError("to_torch: a layer's neurons use different activations")
        linear = torch.nn.Linear(part.nin, part.nout, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(
                torch.tensor([[w.data for w in n.w] for n in part.neurons], dtype=torch.float64)
            )
            linear.bias.copy_(torch.tensor([n.b.data for n in part.neurons], dtype=torch.float64))
        parts.append(linear)
        activation = _torch_activation(torch, part.activation)
        if activation is not None:
            parts.append(activation)
    return torch.nn.Sequential(*parts)


def _activation_name(torch: ModuleType, module: Any, index: int) -> str:
    nn = torch.nn
    if isinstance(module, nn.ReLU):
        return "relu"
    if isinstance(module, nn.Tanh):
        return "tanh"
    if isinstance(module, nn.Sigmoid):
        return "sigmoid"
    if isinstance(module, nn.Identity):
        return "linear"
    if isinstance(module, nn.GELU) and module.approximate == "none":
        return "gelu"
    if isinstance(module, nn.ELU) and module.alpha == 1.0:
        return "elu"
    if isinstance(module, nn.Hardtanh) and (module.min_val, module.max_val) == (-1.0, 1.0):
        return "hardtanh"
    for torch_class, name in ((nn.SiLU, "silu"), (nn.Softsign, "softsign")):
        if isinstance(module, torch_class):
            return name
    if isinstance(module, nn.LeakyReLU):
        if module.negative_slope != 0.01:
            raise ValueError(
                f"from_torch: module {index} is LeakyReLU({module.negative_slope}); "
                "only the slope 0.01 is supported"
            )
        return "leaky_relu"
    raise ValueError(
        f"from_torch: module {index} ({type(module).__name__}) is not supported; expected "
        "Linear, ReLU, Tanh, Sigmoid, LeakyReLU(0.01), GELU(), SiLU, ELU(1.0), Softsign, "
        "Hardtanh(-1, 1) or Identity"
    )


def from_torch(sequential: Any) -> MLP:
    """An ``MLP`` with the weights and activations of a ``torch.nn.Sequential``.

    The sequential must be ``Linear`` modules, each optionally followed by one activation
    (``ReLU``, ``Tanh``, ``Sigmoid``, ``LeakyReLU(0.01)`` or ``Identity``), with every hidden
    layer using the same activation. A ``Linear`` without bias gets a bias of 0.

    Raises:
        ImportError: PyTorch is not installed.
        TypeError: ``sequential`` is not a ``torch.nn.Sequential``.
        ValueError: anything the ``MLP`` cannot express (the message names the module).
    """
    torch = _torch()
    if not isinstance(sequential, torch.nn.Sequential):
        raise TypeError(
            f"from_torch: expected a torch.nn.Sequential, got {type(sequential).__name__}"
        )
    linears: list[Any] = []
    activations: list[str] = []
    open_slot = False  # a Linear was just seen and awaits its activation
    for index, module in enumerate(sequential):
        if isinstance(module, torch.nn.Linear):
            if linears and linears[-1].out_features != module.in_features:
                raise ValueError(
                    f"from_torch: module {index} takes {module.in_features} inputs but the "
                    f"previous Linear gives {linears[-1].out_features}"
                )
            linears.append(module)
            activations.append("linear")
            open_slot = True
            continue
        name = _activation_name(torch, module, index)
        if not open_slot:
            raise ValueError(
                f"from_torch: module {index} ({type(module).__name__}) must directly follow "
                "a Linear"
            )
        activations[-1] = name
        open_slot = False
    if not linears:
        raise ValueError("from_torch: the sequential has no Linear module")
    hidden = set(activations[:-1])
    if len(hidden) > 1:
        raise ValueError(
            f"from_torch: hidden layers use different activations ({', '.join(sorted(hidden))}); "
            "an MLP uses one"
        )
    model = MLP(
        linears[0].in_features,
        [linear.out_features for linear in linears],
        activation=hidden.pop() if hidden else "relu",
        output_activation=activations[-1],
        seed=0,
    )
    for layer, linear in zip(model.layers, linears, strict=True):
        weight = linear.weight.detach().double().tolist()
        bias = linear.bias.detach().double().tolist() if linear.bias is not None else None
        for j, neuron in enumerate(layer.neurons):
            for w, value in zip(neuron.w, weight[j], strict=True):
                w.data = value
            neuron.b.data = bias[j] if bias is not None else 0.0
    return model
