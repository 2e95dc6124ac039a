"""The numbers behind the weights panel: statistics, histograms, images of kernels and activations,
dead ReLUs, gradient norms, health flags, the model summary, samples fitted to an input,
checkpoints and exports.

Pure functions on numpy arrays first; thin Keras adapters after them. Panels only
draw what these return, and never compute a number of their own. Layers are
named after their nodes (designer.engine.build), so results key by node name.
"""

from __future__ import annotations

import itertools
import math
import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import keras
import numpy as np

from designer.engine.build import deep_recursion
from designer.engine.results import format_shape

Statistics = dict[str, float]
WeightsByLayer = dict[str, dict[str, np.ndarray]]

NEAR_ZERO = 1e-6
NAN_OR_INF = "nan-or-inf"
EXPLODING_GRADIENTS = "exploding-gradients"
VANISHING_GRADIENTS = "vanishing-gradients"
MOSTLY_DEAD_RELU = "mostly-dead-relu"
EPOCH_CHECKPOINT = re.compile(r"epoch_(\d+)\.(keras|weights\.h5)$")


# ------------------------------------------------------------------ statistics and histograms
def statistics(array: Any) -> Statistics:
    """mean, std, min, max, l2 norm and the fractions of exact zeros (`sparsity`) and of |x| < 1e-6
    (`near_zero`), all over the finite values; `count` of all elements, `nan_count`, `inf_count`.
    Without a finite value the figures are NaN."""
    values = np.asarray(array)
    finite = _finite(values)
    counts = {
        "count": values.size,
        "nan_count": _count(np.isnan, values),
        "inf_count": _count(np.isinf, values),
    }
    if finite.size == 0:
        return {
            **dict.fromkeys(("mean", "std", "min", "max", "sparsity", "near_zero", "norm"), math.nan),
            **counts,
        }
    return {
        "mean": float(finite.mean()),
        "std": float(finite.std()),
        "min": float(finite.min()),
        "max": float(finite.max()),
        "sparsity": float(np.count_nonzero(finite == 0) / finite.size),
        "near_zero": float(np.count_nonzero(np.abs(finite) < NEAR_ZERO) / finite.size),
        "norm": float(np.sqrt(np.sum(np.square(finite)))),
        **counts,
    }


def histogram(
    array: Any, bins: int = 30, value_range: tuple[float, float] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(counts, edges) of the finite values, as numpy.histogram gives them."""
    return np.histogram(_finite(np.asarray(array)), bins=bins, range=value_range)


def histograms_over_epochs(arrays_by_epoch: Sequence[Any], bins: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """One histogram row per epoch ([epochs x bins]) over the range of all epochs' finite values,
    with the edges they share: TensorBoard's distributions over time."""
    finite = [_finite(np.asarray(array)) for array in arrays_by_epoch]
    value_range = _common_range(finite)
    rows = [np.histogram(values, bins=bins, range=value_range) for values in finite]
    edges = rows[0][1] if rows else np.histogram_bin_edges(np.empty(0), bins=bins, range=value_range)
    counts = np.stack([row[0] for row in rows]) if rows else np.zeros((0, bins), dtype=np.int64)
    return counts, edges


def _finite(values: np.ndarray) -> np.ndarray:
    values = values.astype(np.float64, copy=False).ravel()
    return values[np.isfinite(values)]


def _count(predicate: Any, values: np.ndarray) -> int:
    return int(np.count_nonzero(predicate(values))) if np.issubdtype(values.dtype, np.inexact) else 0


def _common_range(finite: list[np.ndarray]) -> tuple[float, float] | None:
    filled = [values for values in finite if values.size]
    if not filled:
        return None
    return min(float(v.min()) for v in filled), max(float(v.max()) for v in filled)


# ------------------------------------------------------------------ images: heatmaps and grids
class Heatmap(NamedTuple):
    """A 2-D image of a variable and the (row, column) step it was downsampled by (1 when not)."""

    image: np.ndarray
    steps: tuple[int, int]


def as_matrix(array: Any) -> np.ndarray:
    """2-D view of a variable: a matrix as it is, a vector as one row, higher ranks as
    (product of the leading axes, last axis)."""
    values = np.asarray(array)
    if values.ndim == 2:
        return values
    if values.ndim < 2:
        return values.reshape(1, -1)
    return values.reshape(-1, values.shape[-1])


def heatmap(kernel: Any, max_side: int = 256, method: str = "mean") -> Heatmap:
    """The kernel as a 2-D image with at most `max_side` pixels on each axis: larger axes are
    reduced by block means (`method="mean"`, a short last block averages what it has) or by a
    strided take (`method="stride"`) with step ceil(length / max_side)."""
    if method not in ("mean", "stride"):
        raise ValueError(f'heatmap method: expected "mean" or "stride", received {method!r}.')
    image = as_matrix(kernel)
    steps = (_step(image.shape[0], max_side), _step(image.shape[1], max_side))
    for axis, step in enumerate(steps):
        if step > 1:
            image = _block_mean(image, step, axis) if method == "mean" else _stride(image, step, axis)
    return Heatmap(image, steps)


def _step(length: int, max_side: int) -> int:
    return max(1, math.ceil(length / max_side))


def _block_mean(values: np.ndarray, step: int, axis: int) -> np.ndarray:
    starts = np.arange(0, values.shape[axis], step)
    sizes = np.diff(np.append(starts, values.shape[axis]))
    with np.errstate(invalid="ignore"):  # inf and -inf in one block average to NaN
        sums = np.add.reduceat(values.astype(np.float64), starts, axis=axis)
    return sums / np.expand_dims(sizes, 1 - axis)


def _stride(values: np.ndarray, step: int, axis: int) -> np.ndarray:
    return values[::step] if axis == 0 else values[:, ::step]


def filter_grid(
    kernel: Any, channel: int | None = None, normalize: bool = True, pad: int = 1, fill: float = 0.0
) -> np.ndarray:
    """The `out` filters of a Conv2D kernel (kh, kw, in, out) tiled in a grid of ceil(sqrt(out))
    columns, `pad` pixels of `fill` between cells. Each filter shows input `channel`, or with
    channel None its RGB colours when in == 3 (a 3-D image) and else the mean over its inputs.
    A Conv1D kernel (k, in, out) shows as one-row filters.
    `normalize`: each filter min-max to [0, 1], NaN where a value is not finite."""
    values = np.asarray(kernel, dtype=np.float64)
    values = values[np.newaxis] if values.ndim == 3 else values
    if values.ndim != 4:
        raise ValueError(
            f"filter_grid expects a convolution kernel (kh, kw, in, out), received shape {values.shape}."
        )
    cells = _filter_cells(values, channel)
    return tile(_normalize_each(cells) if normalize else cells, pad, fill)


def _filter_cells(kernel: np.ndarray, channel: int | None) -> np.ndarray:
    """(out, kh, kw) or, for RGB, (out, kh, kw, 3)."""
    if channel is not None:
        return np.moveaxis(kernel[:, :, channel, :], -1, 0)
    if kernel.shape[2] == 3:
        return np.transpose(kernel, (3, 0, 1, 2))
    return np.moveaxis(kernel.mean(axis=2), -1, 0)


def feature_map_grid(
    activation: Any, normalize: bool = True, pad: int = 1, fill: float = 0.0, max_maps: int | None = None
) -> np.ndarray:
    """The channels of one sample's activation (h, w, c), or (1, h, w, c), tiled as `filter_grid`
    tiles filters; at most `max_maps` of them."""
    values = np.asarray(activation, dtype=np.float64)
    values = values[0] if values.ndim == 4 and values.shape[0] == 1 else values
    if values.ndim != 3:
        raise ValueError(
            f"feature_map_grid expects one sample's maps (h, w, c), received shape {values.shape}."
        )
    cells = np.moveaxis(values, -1, 0)[:max_maps]
    return tile(_normalize_each(cells) if normalize else cells, pad, fill)


def _normalize_each(cells: np.ndarray) -> np.ndarray:
    """Each cell min-max to [0, 1] over its finite values (a constant cell to 0); NaN where a
    value is NaN or infinite, for the panel to mark."""
    axes = tuple(range(1, cells.ndim))
    finite = np.isfinite(cells)
    low = np.where(finite, cells, np.inf).min(axis=axes, keepdims=True)
    span = np.where(finite, cells, -np.inf).max(axis=axes, keepdims=True) - low
    with np.errstate(invalid="ignore"):  # a cell without a finite value
        scaled = np.where(span > 0, (cells - low) / np.where(span > 0, span, 1.0), 0.0)
    return np.where(finite, scaled, np.nan)


def tile(cells: np.ndarray, pad: int = 1, fill: float = 0.0) -> np.ndarray:
    """Cells (n, h, w[, colours]) in a grid of ceil(sqrt(n)) columns, row by row."""
    count, height, width = cells.shape[:3]
    if count == 0:
        raise ValueError("tile expects at least one cell, received none.")
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    shape = (rows * (height + pad) - pad, columns * (width + pad) - pad, *cells.shape[3:])
    grid = np.full(shape, fill, dtype=cells.dtype)
    for index, cell in enumerate(cells):
        top, left = (index // columns) * (height + pad), (index % columns) * (width + pad)
        grid[top : top + height, left : left + width] = cell
    return grid


def downsample_for_display(array: Any, max_elements: int = 65536) -> np.ndarray:
    """The array with every axis strided by the smallest common step that leaves at most
    `max_elements` elements; unchanged when it is small enough already."""
    values = np.asarray(array)
    step = 1
    while math.prod(math.ceil(length / step) for length in values.shape) > max(max_elements, 1):
        step += 1
    return values if step == 1 else values[tuple(slice(None, None, step) for _ in values.shape)]


def leading_index(shape: Sequence[int], index: Sequence[int] | None = None) -> tuple[int, ...]:
    """The index of one 2-D slice (the last two axes) of an array of `shape`: one entry per leading
    axis, all 0 when `index` is None. Raises ValueError naming a wrong length or an axis out of range."""
    leading = tuple(shape[:-2])
    chosen = tuple(index) if index is not None else (0,) * len(leading)
    if len(chosen) != len(leading):
        raise ValueError(
            f"An array of shape {tuple(shape)} takes {len(leading)} leading index(es), "
            f"received {list(chosen)}."
        )
    for axis, (position, length) in enumerate(zip(chosen, leading, strict=True)):
        if not 0 <= position < length:
            raise ValueError(
                f"Index {position} is out of range for axis {axis} of shape {tuple(shape)}: "
                f"expected 0 to {length - 1}."
            )
    return tuple(int(position) for position in chosen)


def matrix_slice(array: Any, index: Sequence[int] | None = None) -> np.ndarray:
    """The 2-D slice array[index] over the last two axes (`leading_index`); a matrix or a vector
    as `as_matrix` shows it."""
    values = np.asarray(array)
    if values.ndim <= 2:
        return as_matrix(values)
    return values[leading_index(values.shape, index)]


def bar_values(array: Any, max_bars: int = 512) -> tuple[np.ndarray, int]:
    """The values of a vector (any array, flattened) as at most `max_bars` bars, each the mean of
    `step` consecutive values, as `heatmap` reduces a row; and that step."""
    image, (_, step) = heatmap(np.ravel(np.asarray(array)), max_side=max_bars)
    return image[0], step


def normalized(array: Any) -> np.ndarray:
    """The array min-max scaled to [0, 1] over its finite values (constant: 0), NaN where not finite."""
    values = np.asarray(array, dtype=np.float64)
    return _normalize_each(values[np.newaxis])[0]


def activation_image(activation: Any, max_maps: int = 256, max_side: int = 768) -> tuple[str, np.ndarray]:
    """What one sample's layer output looks like: ("scalar", one value), ("vector", bars as
    `bar_values` gives them) or ("maps", an image in [0, 1], NaN where not finite, at most
    `max_side` pixels a side by block means). Maps: (h, w, c) outputs as `feature_map_grid` tiles
    them (at most `max_maps`); (steps, c) outputs as the matrix itself, steps down and channels
    across; higher ranks through the middle slice of each extra leading axis."""
    values = np.asarray(activation, dtype=np.float64)
    if values.size == 1:
        return "scalar", values.reshape(1)
    if values.ndim == 1:
        return "vector", bar_values(values, max_side)[0]
    while values.ndim > 3:
        values = values[values.shape[0] // 2]
    image = normalized(values) if values.ndim == 2 else feature_map_grid(values, max_maps=max_maps)
    return "maps", heatmap(image, max_side=max_side).image


def thumbnail(image: Any, side: int = 48) -> np.ndarray:
    """A small copy of a view for the canvas: a 2-D image at most `side` x `side`, a vector at most
    `side` bars (block means both)."""
    values = np.asarray(image, dtype=np.float64)
    if values.ndim <= 1:
        return bar_values(values, side)[0]
    return heatmap(values, max_side=side).image


def json_number(value: float) -> float | str:
    """A float for JSON: itself when finite, else the text "nan", "inf" or "-inf" (float() reads
    them back), so that the JSON stays standard."""
    number = float(value)
    if math.isfinite(number):
        return number
    return "nan" if math.isnan(number) else ("inf" if number > 0 else "-inf")


# ------------------------------------------------------------------ dead units and health flags
def dead_fraction(activations: Any, axis: int | tuple[int, ...] = 0) -> float:
    """Fraction of units never > 0 across the samples: a unit is a position of the axes not in
    `axis` (the batch axis; add the spatial axes to count a convolution's channels as its units)."""
    alive = np.any(np.asarray(activations) > 0, axis=axis)
    return float(1.0 - np.mean(alive)) if np.size(alive) else 0.0


@dataclass(frozen=True)
class HealthThresholds:
    """When a node is flagged: gradient norm above `exploding` or growing `growth` times in one
    epoch; the last epoch's norm below `vanishing`; a dead-ReLU fraction above `dead_relu`."""

    exploding: float = 1e3
    growth: float = 10.0
    vanishing: float = 1e-7
    dead_relu: float = 0.9


def health_flags(
    weight_statistics: Mapping[str, Mapping[str, Mapping[str, float]]],
    gradient_norms_by_epoch: Mapping[str, Sequence[float]],
    dead_fractions: Mapping[str, float],
    thresholds: HealthThresholds | None = None,
) -> dict[str, list[str]]:
    """{layer: flags} for the layers with something wrong, from each layer's variables' statistics,
    its gradient norms one per epoch, and its dead-ReLU fraction."""
    limits = thresholds or HealthThresholds()
    flags: defaultdict[str, list[str]] = defaultdict(list)
    for layer, variables in weight_statistics.items():
        if any(stats["nan_count"] or stats["inf_count"] for stats in variables.values()):
            flags[layer].append(NAN_OR_INF)
    for layer, norms in gradient_norms_by_epoch.items():
        if _exploding(norms, limits):
            flags[layer].append(EXPLODING_GRADIENTS)
        elif norms and norms[-1] < limits.vanishing:
            flags[layer].append(VANISHING_GRADIENTS)
    for layer, fraction in dead_fractions.items():
        if fraction > limits.dead_relu:
            flags[layer].append(MOSTLY_DEAD_RELU)
    return dict(flags)


def _exploding(norms: Sequence[float], limits: HealthThresholds) -> bool:
    if any(not math.isfinite(norm) or norm > limits.exploding for norm in norms):
        return True
    return any(
        earlier > 0 and later > limits.growth * earlier for earlier, later in itertools.pairwise(norms)
    )


def norms_by_layer(norms_by_epoch: Iterable[Mapping[str, float]]) -> dict[str, list[float]]:
    """The worker's per-epoch records {layer: norm} as {layer: [norm of each epoch]}."""
    series: defaultdict[str, list[float]] = defaultdict(list)
    for epoch in norms_by_epoch:
        for layer, norm in epoch.items():
            series[layer].append(float(norm))
    return dict(series)


# ------------------------------------------------------------------ Keras: variables and summary
@dataclass(frozen=True)
class VariableInfo:
    """One variable of a layer: its name, its path in the model, shape, dtype, trainability, statistics."""

    name: str
    path: str
    shape: tuple[int, ...]
    dtype: str
    trainable: bool
    statistics: Statistics


def layer_variables(model: keras.Model, layer_name: str) -> list[VariableInfo]:
    """The layer's variables in Keras' order (BatchNormalization: gamma, beta trainable; moving_mean,
    moving_variance not)."""
    return [
        VariableInfo(
            variable.name,
            variable.path,
            tuple(variable.shape),
            str(variable.dtype),
            bool(variable.trainable),
            statistics(keras.ops.convert_to_numpy(variable)),
        )
        for variable in model.get_layer(layer_name).weights
    ]


def layer_weights(model: keras.Model, layer_names: Iterable[str] | None = None) -> WeightsByLayer:
    """{layer: {variable path: array}} of the layers with variables (or of `layer_names`)."""
    layers = model.layers if layer_names is None else [model.get_layer(name) for name in layer_names]
    return {
        layer.name: {variable.path: keras.ops.convert_to_numpy(variable) for variable in layer.weights}
        for layer in layers
        if layer.weights
    }


CONVOLUTIONS = (
    keras.layers.Conv1D,
    keras.layers.Conv2D,
    keras.layers.Conv1DTranspose,
    keras.layers.Conv2DTranspose,
    keras.layers.DepthwiseConv1D,
    keras.layers.DepthwiseConv2D,
    keras.layers.SeparableConv1D,
    keras.layers.SeparableConv2D,
)


def shows_filters(layer: keras.layers.Layer, variable: Any) -> bool:
    """Whether a variable is a bank of filters for `filter_grid`: a kernel of a 1-D or 2-D convolution."""
    return isinstance(layer, CONVOLUTIONS) and len(variable.shape) in (3, 4) and "kernel" in variable.name


class SummaryRow(NamedTuple):
    """A row of model.summary(): layer name, class, output shape(s), parameter count, and how many
    of those parameters are trainable and non-trainable."""

    name: str
    class_name: str
    output_shape: str
    params: int
    trainable: int
    non_trainable: int


def summary_rows(model: keras.Model) -> list[SummaryRow]:
    """One row per layer of the model, as model.summary() lists them."""
    return [
        SummaryRow(
            layer.name,
            type(layer).__name__,
            _output_shape(layer),
            _parameter_count(layer.weights),
            *layer_parameter_counts(layer),
        )
        for layer in model.layers
    ]


def layer_parameter_counts(layer: keras.layers.Layer) -> tuple[int, int]:
    """(trainable, non-trainable) parameters of one layer."""
    return _parameter_count(layer.trainable_weights), _parameter_count(layer.non_trainable_weights)


def parameter_totals(model: keras.Model) -> tuple[int, int]:
    """(trainable, non-trainable) parameters, as model.summary() counts them."""
    return _parameter_count(model.trainable_weights), _parameter_count(model.non_trainable_weights)


def _output_shape(layer: keras.layers.Layer) -> str:
    try:
        outputs = keras.tree.flatten(layer.output)
    except (AttributeError, ValueError):  # a layer never called in a graph has no output
        return "?"
    return ", ".join(format_shape(tuple(tensor.shape)) for tensor in outputs)


def _parameter_count(variables: Iterable[Any]) -> int:
    unique = {id(variable): variable for variable in variables}
    return sum(math.prod(variable.shape) for variable in unique.values())


# ------------------------------------------------------------------ Keras: activations
def activations(
    model: keras.Model, inputs: Any, layer_names: Sequence[str] | None = None
) -> dict[str, np.ndarray]:
    """Each layer's output (every layer but the inputs, or `layer_names`) for `inputs`, a batch
    as the model takes it (one sample: x[:1]), from one model over the same graph called once
    in inference mode. A layer with several outputs gives `name/0`, `name/1`...
    A shared layer shows its first call."""
    return probe_outputs(activation_probe(model, layer_names), inputs)


def activation_probe(model: keras.Model, layer_names: Sequence[str] | None = None) -> keras.Model:
    """The model `activations` calls: the same graph, each layer's output an output of its own.
    Build it once to call it on many batches (`probe_outputs`)."""
    names = layer_names if layer_names is not None else _non_input_layers(model)
    outputs: dict[str, Any] = {}
    for name in names:
        flat = keras.tree.flatten(model.get_layer(name).output)
        outputs.update({name if len(flat) == 1 else f"{name}/{i}": tensor for i, tensor in enumerate(flat)})
    with deep_recursion(len(model.layers)):
        return keras.Model(model.input, outputs)


def probe_outputs(probe: keras.Model, inputs: Any) -> dict[str, np.ndarray]:
    """{output name: array} of an `activation_probe` for a batch, in inference mode."""
    with deep_recursion(len(probe.layers)):
        values = probe(inputs, training=False)
    return {key: keras.ops.convert_to_numpy(value) for key, value in values.items()}


def _non_input_layers(model: keras.Model) -> list[str]:
    return [layer.name for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]


def relu_layers(model: keras.Model) -> list[str]:
    """Layers whose output is a ReLU: ReLU layers without a negative slope, Activation("relu"),
    and layers built with activation="relu"."""
    return [layer.name for layer in model.layers if _is_relu(layer)]


def _is_relu(layer: keras.layers.Layer) -> bool:
    if isinstance(layer, keras.layers.ReLU):
        return float(layer.negative_slope) == 0.0
    return getattr(layer, "activation", None) is keras.activations.relu


def relu_dead_fractions(
    model: keras.Model, sample_batch: Any, probe: keras.Model | None = None
) -> dict[str, float]:
    """{layer: fraction of its units never > 0 over the batch} for the ReLU layers; a
    convolution's units are its channels. `probe`: `activation_probe(model, relu_layers(model))`,
    built once by a caller that asks every epoch."""
    names = relu_layers(model)
    if not names:
        return {}
    outputs = probe_outputs(probe or activation_probe(model, names), sample_batch)
    return {name: unit_dead_fraction(value) for name, value in outputs.items()}


def unit_dead_fraction(activation: Any) -> float:
    """`dead_fraction` of a batch of one layer's output (batch first), a unit being a position of the
    last axis: a convolution's channel, a dense layer's unit."""
    values = np.asarray(activation)
    return dead_fraction(values, axis=tuple(range(values.ndim - 1)))


# ------------------------------------------------------------------ Keras: samples
LUMINANCE = np.array([0.299, 0.587, 0.114])  # ITU-R 601, as Pillow's "L" mode


def fit_sample(values: Any, shape: Sequence[int | None], name: str = "input") -> np.ndarray:
    """One sample for the input `name` of per-sample `shape` (None: any length). An array of that
    shape is taken as it is (a leading batch axis of 1 dropped); for an (h, w, c) input an image
    (h, w) or (h, w, channels) is converted to c channels (RGB to grey by luminance, alpha dropped,
    grey repeated to RGB) and resized (bilinear, antialiased); another array with as many values
    as the input is reshaped to it. Raises ValueError naming the shape expected otherwise."""
    array = np.asarray(values)
    target = tuple(shape)
    if array.ndim == len(target) + 1 and array.shape[0] == 1:
        array = array[0]
    if _fits(array.shape, target):
        return array
    if len(target) == 3 and array.ndim in (2, 3) and target[2] is not None:
        return _resized(_with_channels(array, target[2], name, target), target[:2])
    known = tuple(size for size in target if size is not None)
    if len(known) == len(target) and array.size == math.prod(known):
        return array.reshape(known)
    raise ValueError(
        f"The sample has shape {array.shape}; the input '{name}' expects {format_shape((None, *target))}. "
        "Give an array of that shape" + (", or an image." if len(target) == 3 else ".")
    )


def _fits(got: tuple[int, ...], expected: tuple[int | None, ...]) -> bool:
    return len(got) == len(expected) and all(e is None or g == e for g, e in zip(got, expected, strict=True))


def _with_channels(image: np.ndarray, channels: int, name: str, target: tuple[int | None, ...]) -> np.ndarray:
    image = image.astype(np.float32)
    image = image[..., np.newaxis] if image.ndim == 2 else image
    have = image.shape[-1]
    if have == channels:
        return image
    if have in (3, 4) and channels == 1:
        return (image[..., :3] @ LUMINANCE)[..., np.newaxis].astype(np.float32)
    if have == 4 and channels == 3:
        return image[..., :3]
    if have == 1 and channels == 3:
        return np.repeat(image, 3, axis=-1)
    raise ValueError(
        f"The image has {have} channel(s); the input '{name}' expects {format_shape((None, *target))} "
        f"with {channels}."
    )


def _resized(image: np.ndarray, size: tuple[int | None, ...]) -> np.ndarray:
    height, width = (wanted or have for wanted, have in zip(size, image.shape[:2], strict=True))
    if (height, width) == image.shape[:2]:
        return image
    resized = keras.ops.image.resize(image, (height, width), interpolation="bilinear", antialias=True)
    return keras.ops.convert_to_numpy(resized)


# ------------------------------------------------------------------ Keras: gradients
def gradient_norms(
    model: keras.Model, x: Any, y: Any, loss: Any, loss_weights: Mapping[str, float] | None = None
) -> dict[str, float]:
    """{layer: L2 norm of the gradient of the loss over all its trainable variables} for one batch,
    in training mode (dropout on, batch statistics) without changing the model's state.
    `loss`: a Keras loss (name, function or Loss) or, for several outputs, one per output name,
    weighted by `loss_weights` (by output name, 1 where missing). TensorFlow backend only."""
    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise NotImplementedError(
            f"gradient_norms needs the TensorFlow backend, this process runs {backend!r}. "
            'Set KERAS_BACKEND="tensorflow" to record gradient norms.'
        )
    by_variable = _variable_gradients(model, x, y, loss, loss_weights or {})
    return {
        layer.name: _global_norm([by_variable[id(variable)] for variable in layer.trainable_weights])
        for layer in model.layers
        if layer.trainable_weights
    }


def _variable_gradients(
    model: keras.Model, x: Any, y: Any, loss: Any, loss_weights: Mapping[str, float]
) -> dict[int, np.ndarray]:
    import tensorflow as tf

    trainable = [tf.convert_to_tensor(variable.value) for variable in model.trainable_variables]
    frozen = [tf.convert_to_tensor(variable.value) for variable in model.non_trainable_variables]
    with tf.GradientTape() as tape:
        tape.watch(trainable)
        predictions, _, extra = model.stateless_call(trainable, frozen, x, training=True, return_losses=True)
        total = _loss_value(loss, y, predictions, loss_weights) + sum(extra)
    gradients = tape.gradient(total, trainable)
    return {
        id(variable): np.zeros(variable.shape) if gradient is None else np.asarray(gradient)
        for variable, gradient in zip(model.trainable_variables, gradients, strict=True)
    }


def _loss_value(loss: Any, y: Any, predictions: Any, weights: Mapping[str, float]) -> Any:
    if isinstance(predictions, Mapping):
        losses = loss if isinstance(loss, Mapping) else dict.fromkeys(predictions, loss)
        return sum(
            weights.get(name, 1.0) * _loss_value(losses[name], y[name], predictions[name], {})
            for name in predictions
        )
    return keras.ops.mean(keras.losses.get(loss)(y, predictions))


def _global_norm(arrays: Iterable[np.ndarray]) -> float:
    return float(np.sqrt(sum(np.sum(np.square(array, dtype=np.float64)) for array in arrays)))


# ------------------------------------------------------------------ Keras: checkpoints
def epoch_checkpoints(folder: str | Path) -> list[Path]:
    """The per-epoch checkpoints of a run folder's checkpoints/ (epoch_001.keras, ...), by epoch."""
    numbered = []
    for path in Path(folder).iterdir():
        match = EPOCH_CHECKPOINT.fullmatch(path.name)
        if match:
            numbered.append((int(match.group(1)), path))
    return [path for _, path in sorted(numbered)]


def epoch_weight_files(folder: str | Path) -> list[tuple[int, Path]]:
    """(epoch, file) for each epoch of a checkpoints folder, by epoch: its epoch_NNN.weights.h5
    (cheap to load) where there is one, else its epoch_NNN.keras."""
    chosen: dict[int, Path] = {}
    for path in epoch_checkpoints(folder):
        epoch = checkpoint_epoch(path)
        if epoch is not None and (epoch not in chosen or path.name.endswith(".weights.h5")):
            chosen[epoch] = path
    return sorted(chosen.items())


def checkpoint_epoch(path: str | Path) -> int | None:
    """The epoch of an epoch_NNN checkpoint (1 after the first epoch); None for another file."""
    match = EPOCH_CHECKPOINT.fullmatch(Path(path).name)
    return int(match.group(1)) if match else None


def checkpoint_weights(
    paths: Sequence[str | Path], model: keras.Model | None = None, layer_names: Iterable[str] | None = None
) -> list[WeightsByLayer]:
    """Each checkpoint's {layer: {variable path: array}} (only `layer_names` when given, to keep
    memory small). With `model`, each .keras or .weights.h5 file is loaded into it and its own
    weights are put back afterwards; without, .keras files load as models (safe mode, no custom
    objects beyond the registered ones)."""
    names = list(layer_names) if layer_names is not None else None
    if model is None:
        return [layer_weights(_load_checkpoint(path), names) for path in paths]
    original = model.get_weights()
    try:
        return [_weights_from(model, path, names) for path in paths]
    finally:
        model.set_weights(original)


def _load_checkpoint(path: str | Path) -> keras.Model:
    if not str(path).endswith(".keras"):
        raise ValueError(f"{path}: a weights file needs the model to load into; pass model=.")
    return keras.saving.load_model(str(path), compile=False, safe_mode=True)


def _weights_from(model: keras.Model, path: str | Path, names: list[str] | None) -> WeightsByLayer:
    model.load_weights(str(path))
    return layer_weights(model, names)


def weights_over_epochs(weights_by_epoch: Sequence[WeightsByLayer]) -> dict[str, dict[str, list[np.ndarray]]]:
    """{layer: {variable path: [array of each epoch]}} for the variables every epoch has:
    what histograms_over_epochs takes."""
    if not weights_by_epoch:
        return {}
    first, rest = weights_by_epoch[0], weights_by_epoch[1:]
    return {
        layer: {
            path: [epoch[layer][path] for epoch in weights_by_epoch]
            for path in variables
            if all(path in epoch.get(layer, {}) for epoch in rest)
        }
        for layer, variables in first.items()
    }


# ------------------------------------------------------------------ Keras: exports
def export_layer_npz(model: keras.Model, layer_name: str, path: str | Path) -> Path:
    """The layer's arrays in one .npz, keyed by their path inside the layer (kernel, bias...)."""
    layer = model.get_layer(layer_name)
    prefix = f"{layer.name}/"
    arrays = {
        variable.path.removeprefix(prefix): keras.ops.convert_to_numpy(variable) for variable in layer.weights
    }
    return _write_atomically(
        _with_suffix(path, ".npz"), ".npz", lambda temporary: np.savez(temporary, **arrays)
    )


def export_weights(model: keras.Model, path: str | Path) -> Path:
    """The model's weights as a .weights.h5 file."""
    target = _checked_suffix(path, ".weights.h5")
    return _write_atomically(target, ".weights.h5", lambda temporary: model.save_weights(str(temporary)))


def export_model(model: keras.Model, path: str | Path) -> Path:
    """The whole model (architecture and weights) as a .keras file."""
    target = _checked_suffix(path, ".keras")
    return _write_atomically(target, ".keras", lambda temporary: model.save(str(temporary)))


def _write_atomically(target: Path, suffix: str, write: Callable[[Path], object]) -> Path:
    """`write(temporary)` beside `target`, then the temporary file renamed to it in one step: a
    failure leaves no half-written file, and an earlier file at `target` stays as it was."""
    temporary = target.with_name(f".{target.name}.{os.getpid()}.partial{suffix}")
    try:
        write(temporary)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return target


def _with_suffix(path: str | Path, suffix: str) -> Path:
    target = Path(path)
    return target if target.name.endswith(suffix) else target.with_name(target.name + suffix)


def _checked_suffix(path: str | Path, suffix: str) -> Path:
    if not str(path).endswith(suffix):
        raise ValueError(f"Expected a file name ending in {suffix}, received {Path(path).name!r}.")
    return Path(path)
