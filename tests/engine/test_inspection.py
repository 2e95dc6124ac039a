"""Inspection numbers against numpy on fixed arrays, and its Keras adapters on the examples."""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np
import pytest

from designer.catalog.spec import Catalog
from designer.engine import inspection
from designer.engine.analysis import load_project
from designer.engine.build import build_model

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def example_model(catalog: Catalog, name: str) -> keras.Model:
    keras.utils.set_random_seed(0)
    return build_model(load_project(EXAMPLES / f"{name}.json", catalog).graph, catalog)


@pytest.fixture(scope="module")
def cnn(catalog: Catalog) -> keras.Model:
    return example_model(catalog, "digits_cnn")


@pytest.fixture(scope="module")
def resnet(catalog: Catalog) -> keras.Model:
    return example_model(catalog, "resnet_block")


def digits_batch(count: int, image: bool) -> tuple[np.ndarray, np.ndarray]:
    generator = np.random.default_rng(0)
    x = generator.uniform(0, 16, size=(count, 8, 8, 1) if image else (count, 64)).astype("float32")
    return x, generator.integers(0, 10, size=count)


# ------------------------------------------------------------------ statistics and histograms
def test_statistics_equal_numpy_on_finite_values() -> None:
    array = np.array([[0.0, 1.0, -2.0], [3.5, 0.0, 5e-7]], dtype=np.float32)
    stats = inspection.statistics(array)
    values = array.astype(np.float64).ravel()
    assert stats["mean"] == pytest.approx(values.mean())
    assert stats["std"] == pytest.approx(values.std())
    assert (stats["min"], stats["max"]) == (-2.0, 3.5)
    assert stats["norm"] == pytest.approx(np.linalg.norm(values))
    assert stats["sparsity"] == pytest.approx(2 / 6)
    assert stats["near_zero"] == pytest.approx(3 / 6)
    assert (stats["count"], stats["nan_count"], stats["inf_count"]) == (6, 0, 0)


def test_statistics_skip_nan_and_inf_and_count_them() -> None:
    array = np.array([1.0, np.nan, 3.0, np.inf, -np.inf, 0.0])
    stats = inspection.statistics(array)
    finite = np.array([1.0, 3.0, 0.0])
    assert stats["mean"] == pytest.approx(finite.mean())
    assert stats["std"] == pytest.approx(finite.std())
    assert (stats["min"], stats["max"]) == (0.0, 3.0)
    assert stats["sparsity"] == pytest.approx(1 / 3)
    assert (stats["count"], stats["nan_count"], stats["inf_count"]) == (6, 1, 2)


def test_statistics_without_a_finite_value_are_nan() -> None:
    stats = inspection.statistics(np.array([np.nan, np.inf]))
    assert all(math.isnan(stats[key]) for key in ("mean", "std", "min", "max", "norm", "sparsity"))
    assert (stats["nan_count"], stats["inf_count"]) == (1, 1)


def test_statistics_of_integers() -> None:
    stats = inspection.statistics(np.array([0, 2, 4]))
    assert (stats["mean"], stats["max"], stats["nan_count"]) == (2.0, 4.0, 0)


def test_histogram_equals_numpy_on_finite_values() -> None:
    values = np.random.default_rng(1).normal(size=1000)
    counts, edges = inspection.histogram(values, bins=17)
    expected_counts, expected_edges = np.histogram(values, bins=17)
    np.testing.assert_array_equal(counts, expected_counts)
    np.testing.assert_array_equal(edges, expected_edges)
    with_nan = np.append(values, [np.nan, np.inf])
    counts, edges = inspection.histogram(with_nan, bins=5, value_range=(-1.0, 1.0))
    expected_counts, expected_edges = np.histogram(values, bins=5, range=(-1.0, 1.0))
    np.testing.assert_array_equal(counts, expected_counts)
    np.testing.assert_array_equal(edges, expected_edges)


def test_histograms_over_epochs_share_edges_one_row_per_epoch() -> None:
    generator = np.random.default_rng(2)
    epochs = [generator.normal(loc=index, size=(10, 5)) for index in range(4)]
    matrix, edges = inspection.histograms_over_epochs(epochs, bins=12)
    value_range = (min(a.min() for a in epochs), max(a.max() for a in epochs))
    assert matrix.shape == (4, 12)
    np.testing.assert_array_equal(edges, np.histogram_bin_edges(epochs[0], bins=12, range=value_range))
    for row, array in zip(matrix, epochs, strict=True):
        np.testing.assert_array_equal(row, np.histogram(array, bins=12, range=value_range)[0])
        assert row.sum() == array.size


def test_histograms_over_no_epochs() -> None:
    matrix, edges = inspection.histograms_over_epochs([], bins=4)
    assert matrix.shape == (0, 4)
    assert len(edges) == 5


# ------------------------------------------------------------------ images
def test_heatmap_keeps_small_kernels_and_flattens_leading_axes() -> None:
    kernel = np.arange(24.0).reshape(2, 3, 4)
    image, steps = inspection.heatmap(kernel)
    np.testing.assert_array_equal(image, kernel.reshape(6, 4))
    assert steps == (1, 1)
    assert inspection.heatmap(np.arange(5.0)).image.shape == (1, 5)


def test_heatmap_block_means_equal_a_numpy_loop() -> None:
    kernel = np.arange(60.0).reshape(10, 6)
    image, steps = inspection.heatmap(kernel, max_side=4)
    assert steps == (3, 2)
    expected = np.array(
        [[kernel[r : r + 3, c : c + 2].mean() for c in range(0, 6, 2)] for r in range(0, 10, 3)]
    )
    np.testing.assert_allclose(image, expected)
    assert image.shape == (4, 3)


def test_heatmap_stride_takes_every_step() -> None:
    kernel = np.arange(60.0).reshape(10, 6)
    image, _ = inspection.heatmap(kernel, max_side=4, method="stride")
    np.testing.assert_array_equal(image, kernel[::3, ::2])
    with pytest.raises(ValueError, match="expected"):
        inspection.heatmap(kernel, method="median")


def numpy_grid(cells: list[np.ndarray], pad: int = 1) -> np.ndarray:
    """The grid, by a plain loop: ceil(sqrt(n)) columns, each cell min-max normalised."""
    columns = math.ceil(math.sqrt(len(cells)))
    rows = math.ceil(len(cells) / columns)
    height, width = cells[0].shape[:2]
    grid = np.zeros((rows * (height + pad) - pad, columns * (width + pad) - pad, *cells[0].shape[2:]))
    for index, cell in enumerate(cells):
        span = cell.max() - cell.min()
        normalised = (cell - cell.min()) / span if span > 0 else np.zeros_like(cell)
        row, column = divmod(index, columns)
        top, left = row * (height + pad), column * (width + pad)
        grid[top : top + height, left : left + width] = normalised
    return grid


def test_filter_grid_equals_a_numpy_loop_on_one_input_channel() -> None:
    kernel = np.random.default_rng(3).normal(size=(3, 3, 1, 4))
    grid = inspection.filter_grid(kernel)
    assert grid.shape == (7, 7)
    np.testing.assert_allclose(grid, numpy_grid([kernel[:, :, 0, f] for f in range(4)]))


def test_filter_grid_of_five_filters_has_three_columns_and_a_fill() -> None:
    kernel = np.random.default_rng(4).normal(size=(3, 3, 2, 5))
    grid = inspection.filter_grid(kernel, channel=1, pad=2)
    np.testing.assert_allclose(grid, numpy_grid([kernel[:, :, 1, f] for f in range(5)], pad=2))
    assert grid.shape == (8, 13)
    mean_grid = inspection.filter_grid(kernel)
    np.testing.assert_allclose(mean_grid, numpy_grid([kernel[:, :, :, f].mean(axis=2) for f in range(5)]))


def test_filter_grid_of_rgb_inputs_is_a_colour_image() -> None:
    kernel = np.random.default_rng(5).normal(size=(3, 3, 3, 5))
    grid = inspection.filter_grid(kernel)
    assert grid.shape == (7, 11, 3)
    np.testing.assert_allclose(grid, numpy_grid([kernel[:, :, :, f] for f in range(5)]))


def test_filter_grid_without_normalisation_and_of_a_constant_filter() -> None:
    kernel = np.zeros((2, 2, 1, 2))
    kernel[..., 1] = 5.0
    np.testing.assert_array_equal(
        inspection.filter_grid(kernel, normalize=False)[:, 3:], np.full((2, 2), 5.0)
    )
    assert not inspection.filter_grid(kernel).any()
    with pytest.raises(ValueError, match="kernel"):
        inspection.filter_grid(np.zeros((3, 3)))


def test_feature_map_grid_equals_a_numpy_loop() -> None:
    activation = np.random.default_rng(6).uniform(size=(4, 5, 3))
    grid = inspection.feature_map_grid(activation[np.newaxis])
    assert grid.shape == (9, 11)
    np.testing.assert_allclose(grid, numpy_grid([activation[:, :, c] for c in range(3)]))
    assert inspection.feature_map_grid(activation, max_maps=1).shape == (4, 5)
    with pytest.raises(ValueError, match=r"\(h, w, c\)"):
        inspection.feature_map_grid(np.zeros((2, 4, 5, 3)))


def test_downsample_for_display_strides_every_axis() -> None:
    array = np.arange(100 * 40).reshape(100, 40)
    shown = inspection.downsample_for_display(array, max_elements=1000)
    assert shown.size <= 1000
    step = array.shape[0] // shown.shape[0] + (array.shape[0] % shown.shape[0] > 0)
    np.testing.assert_array_equal(shown, array[::step, ::step])
    assert inspection.downsample_for_display(array, max_elements=4000) is array


# ------------------------------------------------------------------ dead units and flags
def test_leading_index_and_matrix_slice_take_the_last_two_axes() -> None:
    array = np.arange(2 * 3 * 4 * 5.0).reshape(2, 3, 4, 5)
    assert inspection.leading_index(array.shape) == (0, 0)
    np.testing.assert_array_equal(inspection.matrix_slice(array, [1, 2]), array[1, 2])
    np.testing.assert_array_equal(inspection.matrix_slice(np.arange(3.0)), [[0.0, 1.0, 2.0]])
    with pytest.raises(
        ValueError, match=r"Index 3 is out of range for axis 1 of shape \(2, 3, 4, 5\): expected 0 to 2"
    ):
        inspection.leading_index(array.shape, [0, 3])
    with pytest.raises(ValueError, match=r"takes 2 leading index\(es\), received \[1\]"):
        inspection.leading_index(array.shape, [1])


def test_bar_values_average_blocks_as_numpy() -> None:
    values = np.arange(10.0)
    bars, step = inspection.bar_values(values, max_bars=4)
    assert step == 3
    np.testing.assert_allclose(bars, [values[0:3].mean(), values[3:6].mean(), values[6:9].mean(), values[9]])
    assert inspection.bar_values(values)[1] == 1


def test_activation_images_by_rank() -> None:
    generator = np.random.default_rng(3)
    maps = generator.normal(size=(6, 6, 5))
    kind, image = inspection.activation_image(maps)
    assert kind == "maps"
    np.testing.assert_array_equal(image, inspection.feature_map_grid(maps))
    sequence = generator.normal(size=(7, 3))
    kind, image = inspection.activation_image(sequence)
    expected = (sequence - sequence.min()) / (sequence.max() - sequence.min())
    assert kind == "maps"
    np.testing.assert_allclose(image, expected)
    volume = generator.normal(size=(3, 4, 4, 2))
    np.testing.assert_array_equal(
        inspection.activation_image(volume)[1], inspection.feature_map_grid(volume[1])
    )
    vector = generator.normal(size=20)
    assert inspection.activation_image(vector)[0] == "vector"
    np.testing.assert_array_equal(inspection.activation_image(vector)[1], vector)
    assert inspection.activation_image(np.array([[2.5]])) == ("scalar", pytest.approx(np.array([2.5])))
    big = inspection.activation_image(generator.normal(size=(40, 40, 64)), max_side=100)[1]
    assert big.shape == (82, 82)  # an 8 x 8 grid of 40-pixel maps is 327 pixels, block-averaged by 4


def test_thumbnails_fit_the_canvas() -> None:
    image = np.arange(100.0 * 60).reshape(100, 60)
    small = inspection.thumbnail(image)
    assert small.shape == (34, 30)
    np.testing.assert_allclose(small[0, 0], image[:3, :2].mean())
    assert inspection.thumbnail(np.arange(100.0)).shape == (34,)


def test_json_numbers_keep_non_finite_values_as_text() -> None:
    assert [inspection.json_number(v) for v in (1.5, np.nan, np.inf, -np.inf)] == [1.5, "nan", "inf", "-inf"]
    assert math.isinf(float(inspection.json_number(np.float32("inf"))))


def test_fit_sample_converts_and_resizes_images_and_names_the_shape() -> None:
    rgb = np.zeros((16, 16, 3), dtype=np.float32)
    rgb[..., 1] = 1.0
    grey = inspection.fit_sample(rgb, (8, 8, 1), "image")
    assert grey.shape == (8, 8, 1)
    np.testing.assert_allclose(grey, 0.587, rtol=1e-5)
    np.testing.assert_allclose(inspection.fit_sample(np.full((4, 4), 0.5), (4, 4, 3)), 0.5)
    assert inspection.fit_sample(np.ones((4, 4, 4)), (4, 4, 3)).shape == (4, 4, 3)
    exact = np.arange(6.0).reshape(1, 2, 3)
    np.testing.assert_array_equal(inspection.fit_sample(exact, (2, 3)), exact[0])
    np.testing.assert_array_equal(
        inspection.fit_sample(np.arange(64.0).reshape(8, 8), (64,)), np.arange(64.0)
    )
    assert inspection.fit_sample(np.ones((5, 7, 1)), (None, None, 1)).shape == (5, 7, 1)
    with pytest.raises(
        ValueError, match=r"The sample has shape \(5, 7\); the input 'pixels' expects \(None, 64\)"
    ):
        inspection.fit_sample(np.ones((5, 7)), (64,), "pixels")
    with pytest.raises(ValueError, match=r"The image has 2 channel\(s\); the input 'image' expects"):
        inspection.fit_sample(np.ones((8, 8, 2)), (8, 8, 3), "image")


def test_dead_fraction_of_a_known_relu_output() -> None:
    relu = np.maximum(np.array([[1.0, -1.0, 0.0, -3.0], [0.0, -2.0, 2.0, -1.0], [0.0, -1.0, 0.0, 0.0]]), 0.0)
    assert inspection.dead_fraction(relu) == 0.5  # units 1 and 3 never fire
    maps = np.zeros((2, 3, 3, 4))
    maps[1, 2, 2, 0] = 1.0
    assert inspection.dead_fraction(maps, axis=(0, 1, 2)) == 0.75


def test_health_flags_on_crafted_inputs() -> None:
    weights = {
        "good": {"good/kernel": inspection.statistics(np.ones(3))},
        "broken": {"broken/kernel": inspection.statistics(np.array([1.0, np.nan]))},
    }
    norms = {
        "good": [1.0, 1.1, 0.9],
        "huge": [1.0, 2e3],
        "growing": [1.0, 20.0, 300.0],
        "vanishing": [1e-3, 1e-9],
        "nan": [1.0, math.nan],
    }
    dead = {"good": 0.1, "relu": 0.95}
    flags = inspection.health_flags(weights, norms, dead)
    assert flags == {
        "broken": ["nan-or-inf"],
        "huge": ["exploding-gradients"],
        "growing": ["exploding-gradients"],
        "vanishing": ["vanishing-gradients"],
        "nan": ["exploding-gradients"],
        "relu": ["mostly-dead-relu"],
    }
    strict = inspection.HealthThresholds(exploding=1e4, growth=1e4, vanishing=1e-12, dead_relu=0.99)
    assert inspection.health_flags(weights, norms, dead, strict) == {
        "broken": ["nan-or-inf"],
        "nan": ["exploding-gradients"],
    }


def test_norms_by_layer_pivots_epoch_records() -> None:
    records = [{"a": 1.0, "b": 2.0}, {"a": 3.0, "b": 4.0}]
    assert inspection.norms_by_layer(records) == {"a": [1.0, 3.0], "b": [2.0, 4.0]}


# ------------------------------------------------------------------ Keras adapters
def test_batch_normalization_lists_two_trainable_and_two_frozen_variables(resnet: keras.Model) -> None:
    variables = inspection.layer_variables(resnet, "stem_bn")
    assert [(v.name, v.trainable) for v in variables] == [
        ("gamma", True),
        ("beta", True),
        ("moving_mean", False),
        ("moving_variance", False),
    ]
    assert variables[0].path == "stem_bn/gamma"
    assert all(v.shape == (16,) for v in variables)
    assert variables[0].statistics["mean"] == 1.0
    assert variables[1].statistics["sparsity"] == 1.0


def test_activations_of_the_cnn_have_each_layers_output_shape(cnn: keras.Model) -> None:
    x, _ = digits_batch(1, image=True)
    outputs = inspection.activations(cnn, x)
    expected = {layer.name: (1, *layer.output.shape[1:]) for layer in cnn.layers[1:]}
    assert {name: value.shape for name, value in outputs.items()} == expected
    np.testing.assert_allclose(outputs["digit"], keras.ops.convert_to_numpy(cnn(x)), rtol=1e-5)
    assert inspection.feature_map_grid(outputs["conv_1"]).shape == (35, 35)


def test_activations_of_a_model_with_two_inputs(catalog: Catalog) -> None:
    model = example_model(catalog, "two_in_two_out")
    inputs = {"image": np.ones((1, 8, 8, 1), "float32"), "meta": np.ones((1, 4), "float32")}
    outputs = inspection.activations(model, inputs, ["merge", "size"])
    assert {name: value.shape for name, value in outputs.items()} == {"merge": (1, 296), "size": (1, 1)}


def test_relu_dead_fractions_are_fractions(cnn: keras.Model, resnet: keras.Model) -> None:
    x, _ = digits_batch(8, image=True)
    fractions = inspection.relu_dead_fractions(cnn, x)
    assert set(fractions) == {"conv_1", "conv_2"}
    assert all(0.0 <= value <= 1.0 for value in fractions.values())
    assert set(inspection.relu_dead_fractions(resnet, x)) == {
        "stem_relu",
        "block_relu_1",
        "block_relu_2",
        "block_relu_out",
    }


def test_gradient_norms_are_positive_and_finite_and_leave_the_state(resnet: keras.Model) -> None:
    x, y = digits_batch(8, image=True)
    before = [keras.ops.convert_to_numpy(v) for v in resnet.variables]
    norms = inspection.gradient_norms(resnet, x, y, "sparse_categorical_crossentropy")
    assert set(norms) == {layer.name for layer in resnet.layers if layer.trainable_weights}
    assert all(math.isfinite(norm) and norm > 0 for norm in norms.values())
    for value, variable in zip(before, resnet.variables, strict=True):
        np.testing.assert_array_equal(value, keras.ops.convert_to_numpy(variable))


def test_gradient_norm_of_a_linear_layer_equals_numpy() -> None:
    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, keras.layers.Dense(2, name="linear")(inputs))
    x = np.random.default_rng(7).normal(size=(5, 3)).astype("float32")
    y = np.random.default_rng(8).normal(size=(5, 2)).astype("float32")
    kernel, bias = model.get_layer("linear").get_weights()
    error = 2 * (x @ kernel + bias - y) / y.size  # d mean((xW + b - y)^2)
    expected = np.sqrt(np.sum((x.T @ error) ** 2) + np.sum(error.sum(axis=0) ** 2))
    norms = inspection.gradient_norms(model, x, y, "mean_squared_error")
    assert norms == {"linear": pytest.approx(expected, rel=1e-5)}


def test_gradient_norms_of_two_outputs_weigh_each_outputs_loss(catalog: Catalog) -> None:
    model = example_model(catalog, "two_in_two_out")
    generator = np.random.default_rng(4)
    x = {"image": generator.normal(size=(6, 8, 8, 1)), "meta": generator.normal(size=(6, 4))}
    y = {"digit": generator.integers(0, 10, size=6), "size": generator.normal(size=(6, 1))}
    loss = {"digit": "sparse_categorical_crossentropy", "size": "mse"}
    both = inspection.gradient_norms(model, x, y, loss)
    only_size = inspection.gradient_norms(model, x, y, loss, {"digit": 0.0})
    doubled = inspection.gradient_norms(model, x, y, loss, {"digit": 0.0, "size": 2.0})
    assert set(both) == {"conv", "meta_dense", "hidden", "digit", "size"}
    assert only_size["digit"] == 0.0 and both["digit"] > 0
    assert only_size["size"] == pytest.approx(both["size"], rel=1e-5)  # only its own loss reaches it
    assert doubled["hidden"] == pytest.approx(2 * only_size["hidden"], rel=1e-5)


def test_gradient_norms_elsewhere_than_tensorflow_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(NotImplementedError, match="TensorFlow"):
        inspection.gradient_norms(keras.Sequential(), np.zeros((1, 1)), np.zeros((1, 1)), "mse")


def test_summary_rows_and_totals_equal_model_summary(resnet: keras.Model) -> None:
    lines: list[str] = []
    resnet.summary(print_fn=lambda line, **_: lines.append(line))
    text = "\n".join(lines)
    trainable, frozen = inspection.parameter_totals(resnet)
    assert f"Trainable params: {trainable:,}" in text
    assert f"Non-trainable params: {frozen:,}" in text
    assert frozen == 4 * (16 + 8 + 8 + 16) // 2
    rows = inspection.summary_rows(resnet)
    assert [row.name for row in rows] == [layer.name for layer in resnet.layers]
    assert [row.params for row in rows] == [layer.count_params() for layer in resnet.layers]
    assert rows[1] == ("stem_conv", "Conv2D", "(None, 8, 8, 16)", 160, 160, 0)
    stem_bn = next(row for row in rows if row.name == "stem_bn")
    assert (stem_bn.params, stem_bn.trainable, stem_bn.non_trainable) == (64, 32, 32)
    assert sum(row.trainable for row in rows) == trainable
    assert sum(row.non_trainable for row in rows) == frozen


def train_mlp_three_epochs(catalog: Catalog, folder: Path) -> keras.Model:
    model = example_model(catalog, "digits_mlp")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    save_weights = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: model.save_weights(folder / f"epoch_{epoch + 1:03d}.weights.h5")
    )
    checkpoint = keras.callbacks.ModelCheckpoint(str(folder / "epoch_{epoch:03d}.keras"))
    x, y = digits_batch(64, image=False)
    model.fit(x, y, epochs=3, batch_size=32, verbose=0, callbacks=[checkpoint, save_weights])
    return model


def test_checkpoint_weights_over_three_epochs_give_three_rows(catalog: Catalog, tmp_path: Path) -> None:
    model = train_mlp_three_epochs(catalog, tmp_path)
    (tmp_path / "last.keras").touch()
    keras_files = [p for p in inspection.epoch_checkpoints(tmp_path) if p.suffix == ".keras"]
    weights_files = sorted(tmp_path.glob("*.weights.h5"))
    assert [p.name for p in keras_files] == ["epoch_001.keras", "epoch_002.keras", "epoch_003.keras"]
    loaded = inspection.checkpoint_weights(keras_files)
    over_epochs = inspection.weights_over_epochs(loaded)
    kernels = over_epochs["hidden_1"]["hidden_1/kernel"]
    assert len(kernels) == 3
    assert set(over_epochs) == {"hidden_1", "hidden_2", "digit"}
    assert inspection.histograms_over_epochs(kernels, bins=20)[0].shape == (3, 20)
    np.testing.assert_array_equal(kernels[-1], model.get_layer("hidden_1").get_weights()[0])
    fresh = example_model(catalog, "digits_mlp")
    original = fresh.get_weights()
    into_model = inspection.checkpoint_weights(weights_files, model=fresh, layer_names=["hidden_1"])
    assert list(into_model[0]) == ["hidden_1"]
    for from_weights, from_model in zip(into_model, loaded, strict=True):
        np.testing.assert_array_equal(
            from_weights["hidden_1"]["hidden_1/bias"], from_model["hidden_1"]["hidden_1/bias"]
        )
    for before, after in zip(original, fresh.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)
    with pytest.raises(ValueError, match="model="):
        inspection.checkpoint_weights(weights_files)


def test_epoch_weight_files_prefer_the_weights_file_of_each_epoch(tmp_path: Path) -> None:
    for name in ("epoch_001.keras", "epoch_001.weights.h5", "epoch_002.keras", "last.keras", "best.keras"):
        (tmp_path / name).touch()
    assert inspection.epoch_weight_files(tmp_path) == [
        (1, tmp_path / "epoch_001.weights.h5"),
        (2, tmp_path / "epoch_002.keras"),
    ]
    assert inspection.checkpoint_epoch("epoch_012.weights.h5") == 12
    assert inspection.checkpoint_epoch("last.keras") is None


def test_weights_over_epochs_keeps_variables_every_epoch_has() -> None:
    epochs = [{"a": {"a/k": np.zeros(2), "a/b": np.zeros(1)}}, {"a": {"a/k": np.ones(2)}}]
    assert list(inspection.weights_over_epochs(epochs)["a"]) == ["a/k"]
    assert inspection.weights_over_epochs([]) == {}


def test_exports_write_files_that_load_back(cnn: keras.Model, catalog: Catalog, tmp_path: Path) -> None:
    npz = inspection.export_layer_npz(cnn, "conv_1", tmp_path / "conv_1")
    assert npz.name == "conv_1.npz"
    with np.load(npz) as arrays:
        kernel, bias = cnn.get_layer("conv_1").get_weights()
        np.testing.assert_array_equal(arrays["kernel"], kernel)
        np.testing.assert_array_equal(arrays["bias"], bias)
    weights = inspection.export_weights(cnn, tmp_path / "cnn.weights.h5")
    other = example_model(catalog, "digits_cnn")
    other.load_weights(weights)
    for mine, theirs in zip(cnn.get_weights(), other.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)
    saved = inspection.export_model(cnn, tmp_path / "cnn.keras")
    x, _ = digits_batch(2, image=True)
    reloaded = keras.saving.load_model(saved, compile=False)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(reloaded(x)), keras.ops.convert_to_numpy(cnn(x)))
    with pytest.raises(ValueError, match=r"\.keras"):
        inspection.export_model(cnn, tmp_path / "cnn.h5")
    with pytest.raises(ValueError, match=r"\.weights\.h5"):
        inspection.export_weights(cnn, tmp_path / "cnn.h5")


def test_a_failing_export_leaves_the_earlier_file_and_no_partial_one(
    cnn: keras.Model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "conv_1.npz"
    target.write_bytes(b"earlier")

    def fail_halfway(file: Path, **arrays: np.ndarray) -> None:
        Path(file).write_bytes(b"half")
        raise OSError("No space left on device")

    monkeypatch.setattr(np, "savez", fail_halfway)
    with pytest.raises(OSError, match="No space left"):
        inspection.export_layer_npz(cnn, "conv_1", target)
    assert [path.name for path in tmp_path.iterdir()] == ["conv_1.npz"]
    assert target.read_bytes() == b"earlier"


def test_images_of_arrays_with_nan_and_inf_raise_no_warning() -> None:
    kernel = np.ones((3, 3, 1, 2))
    kernel[0, 0, 0, 0], kernel[1, 1, 0, 0], kernel[0, 0, 0, 1] = np.inf, -np.inf, np.nan
    grid = inspection.filter_grid(kernel)
    np.testing.assert_array_equal(np.isnan(grid[:, :3]), ~np.isfinite(kernel[:, :, 0, 0]))
    np.testing.assert_array_equal(np.isnan(grid[:, 4:]), ~np.isfinite(kernel[:, :, 0, 1]))
    assert np.nanmax(grid) == 0.0  # the finite values of each filter are constant
    image, _ = inspection.heatmap(kernel, max_side=2)
    assert np.isnan(image).any()
