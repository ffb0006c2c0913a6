"""Convolution and pooling on scalars: ``Conv2d``, ``MaxPool2d``, ``AvgPool2d``, ``Flatten``.

A sample is a nested list ``[channels][height][width]`` of numbers or ``Value``s (one image of
scikit-learn's digits is ``[1][8][8]``). Every output element is one graph node:

* ``Conv2d``: one fused ``Value.dot`` over the receptive field plus the bias. Zero padding
  creates no node: padded positions are simply left out of the dot.
* ``MaxPool2d``: one ``Σ`` node over the single largest input of the window (by data; the first
  one on ties), so the gradient flows to the maximum and nowhere else.
* ``AvgPool2d``: one ``Value.dot`` of the window with constant weights ``1 / window size``,
  so the gradient is spread evenly.

Importing this module lets the activation modules (``ReLU()``, ``Tanh()``, ...) take nested
lists, applied elementwise, so that ``Sequential(Conv2d(...), ReLU(), MaxPool2d(2), Flatten(),
Layer(...))`` works.

Example:
    >>> from microgradnet.nn import Conv2d, Flatten, Layer, MaxPool2d, ReLU, Sequential
    >>> model = Sequential(Conv2d(1, 4, 3, padding=1, seed=0), ReLU(), MaxPool2d(2),
    ...                    Flatten(), Layer(4 * 4 * 4, 10, activation="linear", seed=0))
    >>> len(model([[[0.0] * 8 for _ in range(8)]]))
    10
"""

from __future__ import annotations

import functools
import numbers
import operator
import random
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

from . import init as _init
from .engine import Value
from .nn import Module

__all__ = ["AvgPool2d", "Conv2d", "Flatten", "MaxPool2d", "flatten", "shape_of"]

Pair: TypeAlias = "int | tuple[int, int]"
Image: TypeAlias = "list[list[list[Value]]]"
_Gather: TypeAlias = Callable[[Sequence[Any]], tuple[Any, ...]]


# ----- argument checks -----
def _pair(value: object, name: str, owner: str, minimum: int) -> tuple[int, int]:
    """``value`` (an int or a pair of ints) as ``(height, width)``, each ``>= minimum``."""
    items = value if isinstance(value, tuple | list) else (value, value)
    if len(items) != 2 or any(
        isinstance(v, bool) or not isinstance(v, numbers.Integral) for v in items
    ):
        raise TypeError(f"{owner}: {name} must be an int or a pair of ints, got {value!r}")
    if any(v < minimum for v in items):
        raise ValueError(f"{owner}: {name} must be >= {minimum}, got {value!r}")
    return int(items[0]), int(items[1])


def _count(value: object, name: str, owner: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{owner}: {name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{owner}: {name} must be at least 1, got {value}")
    return int(value)


# ----- nested lists -----
def _is_list(x: object) -> bool:
    return isinstance(x, list | tuple)


def shape_of(x: Any) -> str:
    """The shape of a nested list as text, read along its first elements: ``"[1][8][8]"``.

    A scalar is ``"a scalar"``; anything else is named by its type.

    Example:
        >>> shape_of([[[0.0, 1.0]], [[2.0, 3.0]]])
        '[2][1][2]'
    """
    if isinstance(x, Value | numbers.Real):
        return "a scalar"
    if not _is_list(x):
        return f"a {type(x).__name__}"
    dims = []
    while _is_list(x):
        dims.append(len(x))
        if not x:
            break
        x = x[0]
    return "".join(f"[{d}]" for d in dims)


def _image(x: Any, channels: int | None, owner: str) -> tuple[list[Value], int, int, int]:
    """``x`` checked to be ``[channels][H][W]`` (any channel count for ``None``); returns its
    elements as a flat list of Values, C, H and W."""
    expected = f"[{'channels' if channels is None else channels}][height][width]"
    if (
        not _is_list(x)
        or not x
        or (channels is not None and len(x) != channels)
        or not _is_list(x[0])
        or not x[0]
    ):
        raise ValueError(f"{owner}: expected an input of shape {expected}, got {shape_of(x)}")
    height = len(x[0])
    width = len(x[0][0]) if _is_list(x[0][0]) else -1
    flat: list[Any] = []
    for c, channel in enumerate(x):
        if not _is_list(channel) or len(channel) != height:
            raise ValueError(
                f"{owner}: expected an input of shape {expected}; channel 0 has {height} rows "
                f"but channel {c} is {shape_of(channel)}"
            )
        for i, row in enumerate(channel):
            if not _is_list(row) or len(row) != width or width < 1:
                raise ValueError(
                    f"{owner}: expected an input of shape {expected} with equal rows; "
                    f"got {shape_of(x)} whose row [{c}][{i}] is {shape_of(row)}"
                )
            flat.extend(row)
    for k, v in enumerate(flat):
        if type(v) is not Value:
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                c, rest = divmod(k, height * width)
                raise TypeError(
                    f"{owner}: input element [{c}][{rest // width}][{rest % width}] must be a "
                    f"Value or a real number, got {type(v).__name__}"
                )
            flat[k] = Value(v)
    return flat, len(x), height, width


def flatten(x: Any) -> list[Any]:
    """The leaves of a nested list, in row-major order (channels, then rows, then columns).

    Example:
        >>> flatten([[[1, 2], [3, 4]], [[5, 6], [7, 8]]])
        [1, 2, 3, 4, 5, 6, 7, 8]
    """
    if not _is_list(x):
        return [x]
    if not any(_is_list(v) for v in x):
        return list(x)
    return [leaf for v in x for leaf in flatten(v)]


def _gatherer(indices: Sequence[int]) -> _Gather:
    """A fast ``lambda seq: tuple(seq[i] for i in indices)``."""
    if len(indices) == 0:
        return lambda seq: ()
    if len(indices) == 1:
        (index,) = indices
        return lambda seq: (seq[index],)
    return operator.itemgetter(*indices)  # type: ignore[return-value]


def _output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


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
        self._in = _count(in_channels, "in_channels", "Conv2d")
        self._out = _count(out_channels, "out_channels", "Conv2d")
        self._kernel = _pair(kernel_size, "kernel_size", "Conv2d", 1)
        self._stride = _pair(stride, "stride", "Conv2d", 1)
        self._padding = _pair(padding, "padding", "Conv2d", 0)
        kh, kw = self._kernel
        scheme = _init.resolve_init(init, "relu")
        half = _init.bound(scheme, self._in * kh * kw, self._out * kh * kw)
        rng = _init.resolve_rng(seed)
        self.weight = [
            [
                [[Value(rng.uniform(-half, half)) for _ in range(kw)] for _ in range(kh)]
                for _ in range(self._in)
            ]
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
        return self._out, _output_size(height, kh, sh, ph), _output_size(width, kw, sw, pw)

    def __call__(self, x: Any) -> Image:
        xs, _, height, width = _image(x, self._in, "Conv2d")
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
) -> tuple[tuple[_Gather, _Gather], ...]:
    """For each output position (row-major), gatherers of the filter weights and the inputs
    that meet there, the positions in the padding left out."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    fields = []
    for i in range(_output_size(height, kh, sh, ph)):
        for j in range(_output_size(width, kw, sw, pw)):
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
            fields.append((_gatherer(w_index), _gatherer(x_index)))
    return tuple(fields)


class _Pool2d(Module):
    _name = "Pool2d"

    def __init__(self, kernel_size: Pair, stride: Pair | None = None) -> None:
        self._kernel = _pair(kernel_size, "kernel_size", self._name, 1)
        self._stride = self._kernel if stride is None else _pair(stride, "stride", self._name, 1)

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

    def _windows(self, x: Any) -> tuple[list[Value], int, tuple[_Gather, ...], int]:
        """The input as Values, its channel count, the window gatherers of one channel, W'."""
        xs, channels, height, width = _image(x, None, self._name)
        (kh, kw), (_, sw) = self._kernel, self._stride
        if kh > height or kw > width:
            raise ValueError(
                f"{self._name}: kernel {kh}x{kw} is larger than the input {height}x{width}"
            )
        return (
            xs,
            channels,
            _pool_windows(height, width, self._kernel, self._stride),
            _output_size(width, kw, sw, 0),
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self._kernel}, stride={self._stride}"


@functools.lru_cache(maxsize=64)
def _pool_windows(
    height: int, width: int, kernel: tuple[int, int], stride: tuple[int, int]
) -> tuple[_Gather, ...]:
    """For each output position of one channel (row-major), a gatherer of its window."""
    (kh, kw), (sh, sw) = kernel, stride
    return tuple(
        _gatherer([(i * sh + a) * width + j * sw + b for a in range(kh) for b in range(kw)])
        for i in range(_output_size(height, kh, sh, 0))
        for j in range(_output_size(width, kw, sw, 0))
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
        if not _is_list(x):
            raise ValueError(f"Flatten: expected a nested list, got {shape_of(x)}")
        return flatten(x)
