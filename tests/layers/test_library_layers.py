"""Tests for the custom-layer library `layers`: the Keras layer contract shared by every layer, then each
layer's own behaviour, on the TensorFlow backend."""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import pytest

import layers
from layers import (
    ActivityRegularizationLoss,
    ComputeSum,
    DropPath,
    KLDivergenceLoss,
    LayerNorm,
    Linear,
    LogisticEndpoint,
    MaskedGlobalAverage,
    MLPBlock,
    ResNetIdentityBlock,
    Sampling,
)

BATCH = 6


@pytest.fixture(autouse=True)
def _seeded_keras() -> None:
    """Makes weight initialisation, and so every number below, the same on each run."""
    keras.utils.set_random_seed(0)


def _normal(*shape: int) -> Callable[[np.random.Generator], np.ndarray]:
    return lambda rng: rng.normal(size=(BATCH, *shape)).astype("float32")


def _binary(*shape: int) -> Callable[[np.random.Generator], np.ndarray]:
    return lambda rng: rng.integers(0, 2, size=(BATCH, *shape)).astype("float32")


def _call_with_one(function: Callable, inputs: list) -> object:
    return function(inputs[0])


def _call_with_two(function: Callable, inputs: list) -> object:
    return function(inputs[0], inputs[1])


@dataclass(frozen=True)
class LayerCase:
    """How to make one layer, feed it, and what weights it should own."""

    make: Callable[[], keras.layers.Layer]
    inputs: tuple[Callable[[np.random.Generator], np.ndarray], ...]
    trainable: int
    non_trainable: int
    apply: Callable[[Callable, list], object] = _call_with_one
    deterministic: bool = True

    def data(self, seed: int = 0) -> list[np.ndarray]:
        rng = np.random.default_rng(seed)
        return [make_input(rng) for make_input in self.inputs]

    def symbolic_inputs(self) -> list[keras.KerasTensor]:
        return [keras.Input(shape=array.shape[1:]) for array in self.data()]

    def model(self) -> keras.Model:
        inputs = self.symbolic_inputs()
        return keras.Model(inputs, self.apply(self.make(), inputs))


CASES = {
    "Linear": LayerCase(lambda: Linear(4, name="under_test"), (_normal(3),), trainable=2, non_trainable=0),
    "ComputeSum": LayerCase(
        lambda: ComputeSum(name="under_test"),
        (_normal(3),),
        trainable=0,
        non_trainable=1,
        deterministic=False,
    ),
    "MLPBlock": LayerCase(
        lambda: MLPBlock(units=(8, 4), output_units=2, name="under_test"),
        (_normal(3),),
        trainable=6,
        non_trainable=0,
    ),
    "ActivityRegularizationLoss": LayerCase(
        lambda: ActivityRegularizationLoss(rate=0.1, name="under_test"),
        (_normal(3),),
        trainable=0,
        non_trainable=0,
    ),
    "LogisticEndpoint": LayerCase(
        lambda: LogisticEndpoint(name="under_test"),
        (_binary(1), _normal(1)),
        trainable=0,
        non_trainable=0,
        apply=_call_with_two,
    ),
    "Sampling": LayerCase(
        lambda: Sampling(seed=3, name="under_test"),
        (_normal(2), _normal(2)),
        trainable=0,
        non_trainable=0,
        apply=_call_with_two,
        deterministic=False,
    ),
    "KLDivergenceLoss": LayerCase(
        lambda: KLDivergenceLoss(weight=0.5, name="under_test"),
        (_normal(2), _normal(2)),
        trainable=0,
        non_trainable=0,
        apply=_call_with_two,
    ),
    "ResNetIdentityBlock": LayerCase(
        lambda: ResNetIdentityBlock(filters=2, kernel_size=3, name="under_test"),
        (_normal(5, 5, 4),),
        trainable=9,  # three convolution kernels, three (gamma, beta) pairs
        non_trainable=6,  # three (moving_mean, moving_variance) pairs
    ),
    "LayerNorm": LayerCase(lambda: LayerNorm(name="under_test"), (_normal(3),), trainable=2, non_trainable=0),
    "DropPath": LayerCase(
        lambda: DropPath(rate=0.5, seed=1, name="under_test"), (_normal(3),), trainable=0, non_trainable=0
    ),
    "MaskedGlobalAverage": LayerCase(
        lambda: MaskedGlobalAverage(name="under_test"), (_normal(4, 3),), trainable=0, non_trainable=0
    ),
}


def test_every_exported_layer_has_a_case() -> None:
    assert sorted(CASES) == sorted(layers.__all__)


# The Keras layer contract, for every layer.


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_is_registered_under_the_package(name: str) -> None:
    layer_class = getattr(layers, name)
    assert keras.saving.get_registered_name(layer_class) == f"designer_layers>{name}"
    assert keras.saving.get_registered_object(f"designer_layers>{name}") is layer_class


@pytest.mark.parametrize("name", sorted(CASES))
def test_config_round_trip(name: str) -> None:
    layer = CASES[name].make()
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is type(layer)
    assert restored.get_config() == config


@pytest.mark.parametrize("name", sorted(CASES))
def test_compute_output_shape_matches_symbolic_and_eager_calls(name: str) -> None:
    case = CASES[name]
    layer = case.make()
    inputs = case.symbolic_inputs()
    symbolic_outputs = case.apply(layer, inputs)
    symbolic_shapes = keras.tree.map_structure(lambda tensor: tuple(tensor.shape), symbolic_outputs)
    assert all(isinstance(tensor, keras.KerasTensor) for tensor in keras.tree.flatten(symbolic_outputs))
    input_shapes = [tuple(tensor.shape) for tensor in inputs]
    assert case.apply(layer.compute_output_shape, input_shapes) == symbolic_shapes

    data = case.data()
    eager_shapes = keras.tree.map_structure(lambda tensor: tuple(tensor.shape), case.apply(layer, data))
    assert case.apply(layer.compute_output_shape, [array.shape for array in data]) == eager_shapes


@pytest.mark.parametrize("name", sorted(CASES))
def test_weight_counts(name: str) -> None:
    case = CASES[name]
    layer = case.make()
    case.apply(layer, case.symbolic_inputs())
    assert layer.built
    assert len(layer.trainable_weights) == case.trainable
    assert len(layer.non_trainable_weights) == case.non_trainable


@pytest.mark.parametrize("name", sorted(CASES))
def test_saved_and_loaded_model_gives_identical_outputs(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    model = case.model()
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)

    assert type(loaded.get_layer("under_test")) is type(model.get_layer("under_test"))
    for original_weight, loaded_weight in zip(model.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(original_weight.numpy(), loaded_weight.numpy())
    data = case.data(seed=1)
    for original, restored in zip(
        keras.tree.flatten(model(data)), keras.tree.flatten(loaded(data)), strict=True
    ):
        np.testing.assert_allclose(np.asarray(original), np.asarray(restored), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", sorted(name for name, case in CASES.items() if case.deterministic))
def test_compiled_predict_matches_eager_call(name: str) -> None:
    """`predict()` runs the layer inside a `tf.function`: graph mode must agree with eager mode."""
    case = CASES[name]
    model = case.model()
    data = case.data()
    eager = keras.tree.flatten(model(data))
    compiled = keras.tree.flatten(model.predict(data, batch_size=BATCH, verbose=0))
    for eager_output, compiled_output in zip(eager, compiled, strict=True):
        np.testing.assert_allclose(np.asarray(eager_output), compiled_output, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", sorted(CASES))
def test_docstring_follows_keras_layout_and_its_example_runs(name: str) -> None:
    docstring = getattr(layers, name).__doc__
    for section in ("Args:\n", "Input shape:\n", "Output shape:\n", "Example:\n"):
        assert section in docstring
    example = re.search(r"```python\n(.*?)```", docstring, re.DOTALL)
    assert example is not None
    namespace = {
        "np": np,
        "keras": keras,
        **{exported: getattr(layers, exported) for exported in layers.__all__},
    }
    exec(textwrap.dedent(example.group(1)), namespace)


def test_library_never_imports_designer() -> None:
    for module in Path(layers.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(name.split(".")[0] == "designer" for name in names), module.name


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Linear(-1), "Linear expected a positive integer for `units`, received: units=-1"),
        (lambda: Linear(2.5), "Linear expected a positive integer for `units`, received: units=2.5"),
        (lambda: MLPBlock(units=32), "MLPBlock expected a sequence of positive integers for `units`"),
        (
            lambda: MLPBlock(units=(8, 0)),
            "MLPBlock expected a positive integer for `units`, received: units=0",
        ),
        (lambda: MLPBlock(output_units=True), "expected a positive integer for `output_units`"),
        (lambda: ActivityRegularizationLoss(rate=-0.1), "expected a non-negative float for `rate`"),
        (lambda: Sampling(seed="1"), "Sampling expected an integer or None for `seed`, received: seed='1'"),
        (
            lambda: KLDivergenceLoss(weight=-1),
            "expected a non-negative float for `weight`, received: weight=-1",
        ),
        (lambda: ResNetIdentityBlock(0), "expected a positive integer for `filters`, received: filters=0"),
        (lambda: ResNetIdentityBlock(4, kernel_size=(3, 3)), "expected a positive integer for `kernel_size`"),
        (
            lambda: LayerNorm(epsilon=0),
            "LayerNorm expected a positive float for `epsilon`, received: epsilon=0",
        ),
        (
            lambda: DropPath(rate=1.0),
            "DropPath expected a float in the range [0, 1) for `rate`, received: rate=1.0",
        ),
    ],
    ids=[
        "Linear-negative-units",
        "Linear-float-units",
        "MLPBlock-scalar-units",
        "MLPBlock-zero-width",
        "MLPBlock-boolean-output-units",
        "ActivityRegularizationLoss-negative-rate",
        "Sampling-string-seed",
        "KLDivergenceLoss-negative-weight",
        "ResNetIdentityBlock-zero-filters",
        "ResNetIdentityBlock-tuple-kernel-size",
        "LayerNorm-zero-epsilon",
        "DropPath-rate-of-one",
    ],
)
def test_invalid_arguments_are_rejected_with_keras_style_messages(make: Callable, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        make()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: Linear(2)(keras.Input(shape=(None,))),
            "Linear expected the last axis of its input to be defined",
        ),
        (lambda: ResNetIdentityBlock(2)(keras.Input(shape=(4,))), "ResNetIdentityBlock expected a 4D input"),
        (lambda: MaskedGlobalAverage()(keras.Input(shape=(4,))), "MaskedGlobalAverage expected a 3D input"),
        (
            lambda: KLDivergenceLoss()(keras.Input(shape=(2,)), keras.Input(shape=(3,))),
            "KLDivergenceLoss expected `z_mean` and `z_log_var` of the same shape, "
            "received: z_mean.shape=(None, 2), z_log_var.shape=(None, 3)",
        ),
        (
            lambda: KLDivergenceLoss()(np.ones((2, 2), dtype="float32"), np.ones((2, 3), dtype="float32")),
            "KLDivergenceLoss expected `z_mean` and `z_log_var` of the same shape, "
            "received: z_mean.shape=(2, 2), z_log_var.shape=(2, 3)",
        ),
        (
            lambda: Sampling()(keras.Input(shape=(2,)), keras.Input(shape=(3,))),
            "Sampling expected `z_mean` and `z_log_var` of the same shape, "
            "received: z_mean.shape=(None, 2), z_log_var.shape=(None, 3)",
        ),
    ],
    ids=[
        "Linear-undefined-features",
        "ResNetIdentityBlock-rank-2",
        "MaskedGlobalAverage-rank-2",
        "KLDivergenceLoss-mismatched-symbolic-shapes",
        "KLDivergenceLoss-mismatched-eager-shapes",
        "Sampling-mismatched-shapes",
    ],
)
def test_unsuitable_inputs_are_rejected_with_a_message(call: Callable, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        call()


# Each layer's own behaviour.


def test_linear_computes_an_affine_map_of_its_input() -> None:
    layer = Linear(4)
    inputs = CASES["Linear"].data()[0]
    outputs = layer(inputs)
    np.testing.assert_allclose(outputs, inputs @ layer.w.numpy() + layer.b.numpy(), rtol=1e-5, atol=1e-6)
    assert [tuple(weight.shape) for weight in layer.weights] == [(3, 4), (4,)]


def test_compute_sum_accumulates_across_calls_and_saves_its_total(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    first, second = rng.normal(size=(2, 5, 3)).astype("float32")
    layer = ComputeSum()
    np.testing.assert_allclose(layer(first), first.sum(axis=0), rtol=1e-5)
    np.testing.assert_allclose(layer(second), first.sum(axis=0) + second.sum(axis=0), rtol=1e-5)
    assert layer.trainable_weights == []

    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, ComputeSum(name="running")(inputs))
    model(first)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(loaded.get_layer("running").total.numpy(), first.sum(axis=0), rtol=1e-5)


def test_mlp_block_builds_its_nested_layers_from_the_input_shape() -> None:
    block = MLPBlock(units=(8, 4), output_units=2)
    block.build((None, 3))
    assert all(layer.built for layer in [*block.hidden_layers, block.output_layer])
    assert [tuple(weight.shape) for weight in block.trainable_weights] == [
        (3, 8),
        (8,),
        (8, 4),
        (4,),
        (4, 2),
        (2,),
    ]
    inputs = np.ones((5, 3), dtype="float32")
    assert tuple(block(inputs).shape) == (5, 2)


def _regression_model(with_penalty: bool) -> keras.Model:
    inputs = keras.Input(shape=(3,))
    hidden = keras.layers.Dense(2, kernel_initializer=keras.initializers.GlorotUniform(seed=0))(inputs)
    if with_penalty:
        hidden = ActivityRegularizationLoss(rate=0.1)(hidden)
    model = keras.Model(inputs, hidden)
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_activity_regularization_adds_its_loss_to_model_losses_and_to_fit() -> None:
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(8, 3)).astype("float32")
    targets = rng.normal(size=(8, 2)).astype("float32")
    plain, penalised = _regression_model(with_penalty=False), _regression_model(with_penalty=True)

    outputs = np.asarray(penalised(inputs))
    assert len(penalised.losses) == 1
    penalty = 0.1 * np.sum(np.square(outputs))
    np.testing.assert_allclose(penalised.losses[0], penalty, rtol=1e-5)

    # One full batch: the reported loss is measured before the only update.
    plain_loss = plain.fit(inputs, targets, batch_size=8, epochs=1, verbose=0).history["loss"][0]
    penalised_loss = penalised.fit(inputs, targets, batch_size=8, epochs=1, verbose=0).history["loss"][0]
    assert penalised_loss > plain_loss
    np.testing.assert_allclose(penalised_loss, plain_loss + penalty, rtol=1e-4)


def test_logistic_endpoint_reports_its_own_accuracy_in_fit_and_evaluate() -> None:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(64, 2)).astype("float32")
    targets = (features[:, :1] + features[:, 1:] > 0).astype("float32")
    feature_input = keras.Input(shape=(2,), name="features")
    target_input = keras.Input(shape=(1,), name="targets")
    logits = keras.layers.Dense(1)(feature_input)
    probabilities = LogisticEndpoint(name="endpoint")(target_input, logits)
    model = keras.Model([feature_input, target_input], probabilities)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.1))  # no loss: the endpoint adds it
    data = {"features": features, "targets": targets}

    history = model.fit(data, batch_size=16, epochs=8, verbose=0)

    assert set(history.history) == {"loss", "accuracy"}
    assert all(0.0 <= value <= 1.0 for value in history.history["accuracy"])
    results = model.evaluate(data, batch_size=64, verbose=0, return_dict=True)
    predictions = model.predict(data, batch_size=64, verbose=0)
    np.testing.assert_allclose(results["accuracy"], np.mean((predictions > 0.5) == targets), rtol=1e-6)
    bce = -np.mean(targets * np.log(predictions) + (1 - targets) * np.log(1 - predictions))
    np.testing.assert_allclose(results["loss"], bce, rtol=1e-4)
    assert results["accuracy"] > 0.85


def test_sampling_draws_from_the_given_gaussian_reproducibly_for_a_seed() -> None:
    z_mean = np.full((20_000, 2), 2.0, dtype="float32")
    z_log_var = np.full((20_000, 2), np.log(0.25), dtype="float32")
    for seed in (0, 1):
        samples = np.asarray(Sampling(seed=seed)(z_mean, z_log_var))
        np.testing.assert_allclose(samples.mean(axis=0), [2.0, 2.0], atol=0.02)
        np.testing.assert_allclose(samples.std(axis=0), [0.5, 0.5], atol=0.02)
    np.testing.assert_array_equal(Sampling(seed=5)(z_mean, z_log_var), Sampling(seed=5)(z_mean, z_log_var))
    assert not np.array_equal(Sampling(seed=5)(z_mean, z_log_var), Sampling(seed=6)(z_mean, z_log_var))


def test_kl_divergence_adds_the_weighted_kl_term_and_passes_inputs_through() -> None:
    z_mean, z_log_var = CASES["KLDivergenceLoss"].data()
    inputs = [keras.Input(shape=(2,)), keras.Input(shape=(2,))]
    outputs = KLDivergenceLoss(weight=0.5)(inputs[0], inputs[1])
    assert isinstance(outputs, tuple) and len(outputs) == 2
    model = keras.Model(inputs, outputs)
    outputs = model([z_mean, z_log_var])
    assert len(outputs) == 2
    np.testing.assert_array_equal(outputs[0], z_mean)
    np.testing.assert_array_equal(outputs[1], z_log_var)
    expected = -0.5 * np.mean(np.sum(1 + z_log_var - z_mean**2 - np.exp(z_log_var), axis=-1))
    assert len(model.losses) == 1
    np.testing.assert_allclose(model.losses[0], 0.5 * expected, rtol=1e-5)


def test_resnet_identity_block_passes_training_to_batch_normalization() -> None:
    inputs = CASES["ResNetIdentityBlock"].data()[0] + 3.0
    block = ResNetIdentityBlock(filters=2)
    inference = np.asarray(block(inputs, training=False))
    moving_statistics = [weight.numpy().copy() for weight in block.non_trainable_weights]
    assert inference.shape == inputs.shape
    assert np.all(inference >= 0.0)

    training = np.asarray(block(inputs, training=True))
    assert not np.allclose(training, inference)
    updated = [weight.numpy() for weight in block.non_trainable_weights]
    assert any(
        not np.allclose(before, after) for before, after in zip(moving_statistics, updated, strict=True)
    )


def test_layer_norm_matches_the_formula_and_keras_layer_normalization() -> None:
    inputs = CASES["LayerNorm"].data()[0]
    outputs = np.asarray(LayerNorm(epsilon=1e-6)(inputs))
    mean = inputs.mean(axis=-1, keepdims=True)
    variance = inputs.var(axis=-1, keepdims=True)
    np.testing.assert_allclose(outputs, (inputs - mean) / np.sqrt(variance + 1e-6), rtol=1e-4, atol=1e-5)
    reference = keras.layers.LayerNormalization(epsilon=1e-6)(inputs)
    np.testing.assert_allclose(outputs, reference, rtol=1e-4, atol=1e-5)


def test_drop_path_drops_whole_samples_in_training_only() -> None:
    inputs = np.ones((2_000, 3), dtype="float32")
    layer = DropPath(rate=0.25, seed=0)
    np.testing.assert_array_equal(layer(inputs, training=False), inputs)
    np.testing.assert_array_equal(layer(inputs), inputs)

    training = np.asarray(layer(inputs, training=True))
    assert not np.array_equal(training, inputs)
    kept = np.all(training == 1 / 0.75, axis=1)
    dropped = np.all(training == 0.0, axis=1)
    assert np.all(kept | dropped)
    assert abs(dropped.mean() - 0.25) < 0.04
    np.testing.assert_array_equal(DropPath(rate=0.0)(inputs, training=True), inputs)


def test_masked_global_average_ignores_padding_and_consumes_the_mask() -> None:
    tokens = np.array([[3, 5, 0, 0], [1, 2, 4, 6], [7, 0, 0, 0], [0, 0, 0, 0]], dtype="int32")
    token_input = keras.Input(shape=(None,), dtype="int32")
    embedding = keras.layers.Embedding(10, 3, mask_zero=True)
    pooled = MaskedGlobalAverage()(embedding(token_input))
    # Dense does not support masking: Keras would warn, an error here, if the mask went on.
    model = keras.Model(token_input, keras.layers.Dense(1)(pooled))
    averaging = keras.Model(token_input, pooled)

    vectors = embedding.embeddings.numpy()[tokens]
    mask = (tokens != 0)[..., None]
    counts = mask.sum(axis=1)
    expected = np.where(counts > 0, (vectors * mask).sum(axis=1) / np.maximum(counts, 1), 0.0)
    np.testing.assert_allclose(averaging(tokens), expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(np.asarray(averaging(tokens))[0], vectors[0].mean(axis=0))
    assert tuple(model(tokens).shape) == (4, 1)
    assert MaskedGlobalAverage().compute_mask(vectors, tokens != 0) is None


def test_masked_global_average_without_a_mask_averages_every_step() -> None:
    inputs = CASES["MaskedGlobalAverage"].data()[0]
    np.testing.assert_allclose(MaskedGlobalAverage()(inputs), inputs.mean(axis=1), rtol=1e-5, atol=1e-6)
