"""Convolution and pooling on scalars: ``Conv2d``, ``MaxPool2d``, ``AvgPool2d``, ``Flatten``.

A sample is a nested list ``[channels][height][width]`` of numbers or ``Value``s (one image of
scikit-learn's digits is ``[1][8][8]``). Every output element is one graph node:

* ``Conv2d``: one fused ``Value.dot`` over the receptive field plus the bias. Zero padding
  creates no node: padded positions are simply left out of the dot.
* ``MaxPool2d``: one ``max`` node over its window (``Value.max``), so the gradient flows to the
  window's largest input (the first one on ties) and nowhere else.
* ``AvgPool2d``: one ``Value.dot`` of the window with constant weights ``1 / window size``,
  so the gradient is spread evenly.

The activation modules (``ReLU()``, ``Tanh()``, ...) apply elementwise to nested lists, so
``Sequential(Conv2d(...), ReLU(), MaxPool2d(2), Flatten(), Layer(...))`` works. The four
modules are also importable from :mod:`microgradnet.nn`.

Example:
    >>> from microgradnet.nn import Conv2d, Flatten, Layer, MaxPool2d, ReLU, Sequential
    >>> model = Sequential(Conv2d(1, 4, 3, padding=1, seed=0), ReLU(), MaxPool2d(2),
    ...                    Flatten(), Layer(4 * 4 * 4, 10, activation="linear", seed=0))
    >>> len(model([[[0.0] * 8 for _ in range(8)]]))
    10
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

from . import init as _init
from ._images import Gather, count, flatten, gatherer, image, is_list, output_size, pair, shape_of
from ._module import Module
from .engine import Value

__all__ = ["AvgPool2d", "Conv2d", "Flatten", "MaxPool2d", "flatten", "shape_of"]

Pair: TypeAlias = "int | tuple[int, int]"
Image: TypeAlias = "list[list[list[Value]]]"


# ----- modules -----
class Conv2d(Module):
    """A 2-D convolution (cross-correlation, as PyTorch's): ``[C_in][H][W] -> [C_out][H'][W']``.

    Output ``[o][i][j]`` is ``Σ_c Σ_a Σ_b weight[o][c][a][b] * x[c][i*s + a - p][j*s + b - p]
    + bias[o]``, computed as one ``Value.dot`` node; input positions in the zero padding are
    left out of the dot. ``H' = (H + 2p - k) // s + 1``.

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output (number of filters).
        kernel_size: ``k`` or ``(k_height, k_width)``.
        stride: ``s`` or ``(s_height, s_width)`` (default 1).
        padding: zero padding ``p`` or ``(p_height, p_width)`` on each side (default 0).
        bias: learn one bias per output channel (default ``True``); it starts at 0.
        init: weight initialisation (see :class:`~microgradnet.nn.Neuron`), with
            ``fan_in = in_channels * k_height * k_width`` and
            ``fan_out = out_channels * k_height * k_width``; ``"auto"`` means ``"he"``.
        seed: ``None`` (Python's global ``random``), an ``int`` or a ``random.Random``.

    Attributes:
        weight: nested list ``[out_channels][in_channels][k_height][k_width]`` of Values.
        bias: list of ``out_channels`` Values, or ``None``.

    Raises:
        TypeError / ValueError: a size that is not a positive int (padding: a non-negative
            int), or a bad init scheme or seed. When called: an input that is not
            ``[in_channels][H][W]``, or a kernel larger than the padded input.

    Example:
        >>> conv = Conv2d(1, 2, 3, padding=1, seed=0)
        >>> out = conv([[[1.0, 2.0], [3.0, 4.0]]])
        >>> shape_of(out), out[0][0][0].op
        ('[2][2][2]', 'dot')
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Pair,
        stride: Pair = 1,
        padding: Pair = 0,
        *,
        bias: bool = True,
        init: str = "auto",
        seed: int | random.Random | None = None,
    ) -> None:
        self._in = count(in_channels, "in_channels", "Conv2d")
        self._out = count(out_channels, "out_channels", "Conv2d")
        self._kernel = pair(kernel_size, "kernel_size", "Conv2d", 1)
        self._stride = pair(stride, "stride", "Conv2d", 1)
        self._padding = pair(padding, "padding", "Conv2d", 0)
        kh, kw = self._kernel
        scheme = _init.resolve_init(init, "relu")
        half = _init.bound(scheme, self._in * kh * kw, self._out * kh * kw)
        drawn = iter(_init.draw(_init.resolve_rng(seed), half, self._out * self._in * kh * kw))
        self.weight = [
            [[[Value(next(drawn)) for _ in range(kw)] for _ in range(kh)] for _ in range(self._in)]
            for _ in range(self._out)
        ]
        self.bias: list[Value] | None = [Value(0.0) for _ in range(self._out)] if bias else None

    @property
    def in_channels(self) -> int:
        return self._in

    @property
    def out_channels(self) -> int:
        return self._out

    @property
    def kernel_size(self) -> tuple[int, int]:
        return self._kernel

    @property
    def stride(self) -> tuple[int, int]:
        return self._stride

    @property
    def padding(self) -> tuple[int, int]:
        return self._padding

    def output_shape(self, height: int, width: int) -> tuple[int, int, int]:
        """``(out_channels, H', W')`` for an input of ``height x width``.

        Raises:
            ValueError: the kernel is larger than the padded input.
        """
        (kh, kw), (sh, sw), (ph, pw) = self._kernel, self._stride, self._padding
        if kh > height + 2 * ph or kw > width + 2 * pw:
            raise ValueError(
                f"Conv2d: kernel {kh}x{kw} is larger than the padded input "
                f"{height + 2 * ph}x{width + 2 * pw} (input {height}x{width}, padding {ph}x{pw})"
            )
        return self._out, output_size(height, kh, sh, ph), output_size(width, kw, sw, pw)

    def __call__(self, x: Any) -> Image:
        xs, _, height, width = image(x, self._in, "Conv2d")
        _, out_h, out_w = self.output_shape(height, width)
        fields = _conv_fields(self._in, height, width, self._kernel, self._stride, self._padding)
        dot = Value.dot
        out = []
        for o, filters in enumerate(self.weight):
            # the filter as one flat list, indexed (c * kh + a) * kw + b
            w = [v for channel in filters for row in channel for v in row]
            b = None if self.bias is None else self.bias[o]
            values = [dot(take_w(w), take_x(xs), b) for take_w, take_x in fields]
            out.append([values[i * out_w : (i + 1) * out_w] for i in range(out_h)])
        return out

    def extra_repr(self) -> str:
        text = (
            f"{self._in}, {self._out}, kernel_size={self._kernel}, stride={self._stride}, "
            f"padding={self._padding}"
        )
        return text if self.bias is not None else text + ", bias=False"


@functools.lru_cache(maxsize=64)
def _conv_fields(
    channels: int,
    height: int,
    width: int,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
) -> tuple[tuple[Gather, Gather], ...]:
    """For each output position (row-major), gatherers of the filter weights and the inputs
    that meet there, the positions in the padding left out."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    fields = []
    for i in range(output_size(height, kh, sh, ph)):
        for j in range(output_size(width, kw, sw, pw)):
            w_index, x_index = [], []
            for c in range(channels):
                for a in range(kh):
                    row = i * sh + a - ph
                    if not 0 <= row < height:
                        continue
                    for b in range(kw):
                        col = j * sw + b - pw
                        if 0 <= col < width:
                            w_index.append((c * kh + a) * kw + b)
                            x_index.append((c * height + row) * width + col)
            fields.append((gatherer(w_index), gatherer(x_index)))
    return tuple(fields)


class _Pool2d(Module):
    _name = "Pool2d"

    def __init__(self, kernel_size: Pair, stride: Pair | None = None) -> None:
        self._kernel = pair(kernel_size, "kernel_size", self._name, 1)
        self._stride = self._kernel if stride is None else pair(stride, "stride", self._name, 1)

    @property
    def kernel_size(self) -> tuple[int, int]:
        return self._kernel

    @property
    def stride(self) -> tuple[int, int]:
        return self._stride

    def _pool(self, x: Any, reduce: Callable[[Sequence[Value]], Value]) -> Image:
        """``reduce`` applied to every window of every channel of ``x``."""
        xs, channels, windows, out_w = self._windows(x)
        size = len(xs) // channels
        out = []
        for c in range(channels):
            plane = xs[c * size : (c + 1) * size]
            out.append(_rows([reduce(take(plane)) for take in windows], out_w))
        return out

    def _windows(self, x: Any) -> tuple[list[Value], int, tuple[Gather, ...], int]:
        """The input as Values, its channel count, the window gatherers of one channel, W'."""
        xs, channels, height, width = image(x, None, self._name)
        (kh, kw), (_, sw) = self._kernel, self._stride
        if kh > height or kw > width:
            raise ValueError(
                f"{self._name}: kernel {kh}x{kw} is larger than the input {height}x{width}"
            )
        return (
            xs,
            channels,
            _pool_windows(height, width, self._kernel, self._stride),
            output_size(width, kw, sw, 0),
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self._kernel}, stride={self._stride}"


@functools.lru_cache(maxsize=64)
def _pool_windows(
    height: int, width: int, kernel: tuple[int, int], stride: tuple[int, int]
) -> tuple[Gather, ...]:
    """For each output position of one channel (row-major), a gatherer of its window."""
    (kh, kw), (sh, sw) = kernel, stride
    return tuple(
        gatherer([(i * sh + a) * width + j * sw + b for a in range(kh) for b in range(kw)])
        for i in range(output_size(height, kh, sh, 0))
        for j in range(output_size(width, kw, sw, 0))
    )


def _rows(values: list[Value], width: int) -> list[list[Value]]:
    return [values[k : k + width] for k in range(0, len(values), width)]


class MaxPool2d(_Pool2d):
    """Max pooling: each output is the largest input of its window, per channel.

    Each output is one ``max`` node over its window; backward routes the gradient to the
    window's largest input only (the first in row-major order on ties).

    Args:
        kernel_size: window ``k`` or ``(k_height, k_width)``.
        stride: step between windows (default: the kernel size, non-overlapping windows).

    Raises:
        TypeError / ValueError: a size that is not a positive int. When called: an input that
            is not ``[channels][H][W]``, or a window larger than the input.

    Example:
        >>> pool = MaxPool2d(2)
        >>> [[v.data for v in row] for row in pool([[[1, 5], [3, 2]]])[0]]
        [[5.0]]
    """

    _name = "MaxPool2d"

    def __call__(self, x: Any) -> Image:
        return self._pool(x, Value.max)


class AvgPool2d(_Pool2d):
    """Average pooling: each output is the mean of its window, per channel.

    Each output is one ``Value.dot`` node of the window with constant weights
    ``1 / (k_height * k_width)``, so backward spreads the gradient evenly over the window.

    Args:
        kernel_size: window ``k`` or ``(k_height, k_width)``.
        stride: step between windows (default: the kernel size, non-overlapping windows).

    Raises:
        TypeError / ValueError: a size that is not a positive int. When called: an input that
            is not ``[channels][H][W]``, or a window larger than the input.

    Example:
        >>> pool = AvgPool2d(2)
        >>> [[v.data for v in row] for row in pool([[[1, 5], [3, 3]]])[0]]
        [[3.0]]
    """

    _name = "AvgPool2d"

    def __call__(self, x: Any) -> Image:
        kh, kw = self._kernel
        weights = (1.0 / (kh * kw),) * (kh * kw)
        return self._pool(x, lambda window: Value.dot(weights, window))


class Flatten(Module):
    """A nested list ``[channels][height][width]`` (any depth) as one flat list, row-major.

    The order is PyTorch's ``flatten``: channels, then rows, then columns, so a following
    ``Layer`` sees the same features as ``torch.flatten(x, 1)`` would give a ``nn.Linear``.

    Example:
        >>> Flatten()([[[1.0, 2.0], [3.0, 4.0]]])
        [1.0, 2.0, 3.0, 4.0]
    """

    def __call__(self, x: Any) -> list[Any]:
        if not is_list(x):
            raise ValueError(f"Flatten: expected a nested list, got {shape_of(x)}")
        return flatten(x)
