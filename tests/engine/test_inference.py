"""Shape inference agrees with the models Keras builds, allocates no weights, and is incremental."""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np
import pytest

from designer.catalog.keras_layers import construct
from designer.engine.analysis import analyze, default_catalog, load_project
from designer.engine.build import build_model
from designer.engine.inference import ShapeInference, TensorSpec, call_layer, infer

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "resources" / "examples").glob("*.json"))

# Input candidates tried in turn for each class: (shape without batch, dtype).
CANDIDATES = [
    ((8,), "float32"),
    ((6, 4), "float32"),
    ((8, 8, 3), "float32"),
    ((4, 8, 8, 3), "float32"),
    ((6,), "int32"),
    ((6, 4), "int32"),
    ((3,), "string"),
    ((), "string"),
    ((8, 8, 3), "uint8"),
    ((8, 8, 32), "float32"),
    ((3, 4, 4, 4, 2), "float32"),
    ((4096, 1), "float32"),
]


def _keras_model(spec, params, shape, dtype):
    count = max(spec.ports.min_inputs, len(spec.ports.inputs)) if spec.ports.inputs else 1
    inputs = [keras.Input(shape=shape, dtype=dtype) for _ in range(count)]
    layer = construct(spec, params, name="probe")
    outputs = call_layer(layer, spec, inputs)
    return keras.Model(inputs, outputs), count


def _suitable_input(spec):
    for shape, dtype in CANDIDATES:
        try:
            model, count = _keras_model(spec, spec.initial_params(), shape, dtype)
        except Exception:
            continue
        return model, count, shape, dtype
    return None


def _weights(model: keras.Model, trainable: bool) -> int:
    variables = model.trainable_weights if trainable else model.non_trainable_weights
    return sum(math.prod(v.shape) for v in variables)


ALL_KEYS = [key for key in default_catalog() if key != "Input"]


@pytest.mark.parametrize("key", ALL_KEYS)
def test_inference_agrees_with_keras_for_every_catalog_class(key: str, builder) -> None:
    spec = default_catalog()[key]
    found = _suitable_input(spec)
    if found is None:
        pytest.skip(f"{key} builds on none of the candidate inputs with its initial params")
    model, count, shape, dtype = found
    b = builder()
    inputs = [b.add("Input", f"in_{i}", shape=list(shape), dtype=dtype) for i in range(count)]
    node = b.add(key, "probe")
    for port, source in enumerate(inputs):
        b.connect(source, node, port)
    result = infer(b.graph, default_catalog())[node]
    assert result.ok, result.diagnostics
    expected = [TensorSpec(tuple(t.shape), str(t.dtype)) for t in keras.tree.flatten(model.outputs)]
    assert list(result.outputs) == expected
    assert result.trainable == _weights(model, True)
    assert result.non_trainable == _weights(model, False)


def test_every_catalog_class_but_one_is_checked_against_keras() -> None:
    unbuildable = [key for key in ALL_KEYS if _suitable_input(default_catalog()[key]) is None]
    # keras.Model refuses Equalization's functional graph ("is part of a cycle") in Keras 3.15.1;
    # its symbolic call, which inference uses, works.
    assert unbuildable == ["Equalization"]


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_examples_validate_infer_and_build_with_the_same_counts(path: Path, catalog) -> None:
    graph = load_project(path, catalog).graph
    analysis = analyze(graph, catalog)
    assert analysis.errors == []
    model = build_model(graph, catalog)
    assert analysis.totals() == (_weights(model, True), _weights(model, False))
    for output, tensor in zip(graph.outputs, keras.tree.flatten(model.outputs), strict=True):
        assert analysis.results[output.node].outputs[output.port].shape == tuple(tensor.shape)


def test_inference_allocates_no_weights(builder) -> None:
    b = builder()
    # 10 billion parameters: 40 GB if they were allocated.
    dense = b.chain(b.add("Input", shape=[100_000]), b.add("Dense", units=100_000))
    result = infer(b.graph, default_catalog())[dense]
    assert result.trainable == 100_000 * 100_000 + 100_000
    assert result.outputs[0].shape == (None, 100_000)


# (layer, input shape, params, whether Keras refuses to build it): validation must agree.
BUILD_CASES = [
    ("Dense", [4], {"units": 10**30}, True),  # "Can't convert ... out-of-range integer to Tensor"
    ("Dense", [4], {"units": 2**62}, True),  # "... would have more than 2**63 - 1 elements"
    ("Embedding", [4], {"input_dim": 10**30, "output_dim": 2}, True),
    ("Dense", [4], {"units": -1}, True),
    ("Dense", [4], {"units": 8, "dtype": "int32"}, True),  # no random integers in [0, 0)
    ("Conv2D", [8, 8, 3], {"filters": 4, "kernel_size": 0}, True),
    ("Conv2D", [8, 8, 3], {"filters": 4, "kernel_size": 3, "kernel_initializer": "identity"}, True),
    ("Conv2D", [8, 8, 3], {"filters": 4, "kernel_size": 16}, True),
    ("MaxPooling2D", [8, 8, 3], {"pool_size": 16}, True),
    ("Dropout", [4], {"rate": 2.0}, True),
    ("Dense", [4], {"units": 4, "kernel_initializer": "identity"}, False),
    ("Dense", [4], {"units": 8, "kernel_initializer": "orthogonal"}, False),
    ("MaxPooling2D", [8, 8, 3], {"pool_size": 16, "padding": "same"}, False),
    ("Embedding", [4], {"input_dim": 10, "output_dim": 2, "dtype": "int32"}, True),
    ("BatchNormalization", [8, 8, 3], {"gamma_initializer": "orthogonal"}, True),  # rank 1
    ("BatchNormalization", [8, 8, 3], {"gamma_initializer": "ones"}, False),
]


@pytest.mark.parametrize(("key", "shape", "params", "refused"), BUILD_CASES)
def test_validation_agrees_with_building(builder, catalog, key, shape, params, refused: bool) -> None:
    b = builder()
    node = b.chain(b.add("Input", shape=shape), b.add(key, "probe", **params))
    b.output(node)
    errors = [d for d in analyze(b.graph, catalog).errors if d.node == node]
    try:
        build_model(b.graph, catalog)
    except Exception as error:  # what Keras raises when it builds the model for real
        keras_refused: Exception | None = error
    else:
        keras_refused = None
    assert (keras_refused is not None) == refused
    assert bool(errors) == refused, (errors, keras_refused)
    assert all(d.code == "layer" and d.message.startswith("probe (") for d in errors)


def test_a_tensor_too_large_for_any_backend_is_an_error_naming_its_parameter(builder, catalog) -> None:
    b = builder()
    dense = b.chain(b.add("Input", shape=[4]), b.add("Dense", "huge", units=10**30))
    b.output(dense)
    [error] = analyze(b.graph, catalog).errors
    assert error.node == dense
    assert error.message == (
        f"huge (Dense) cannot be built: its weight `kernel` would have shape (4, {10**30}), "
        "more than 2**63 - 1 numbers, which no tensor can hold."
    )
    assert error.hint == "Make `units` of huge smaller."
    upsampling = b.chain(b.add("Input", shape=[8, 8, 3]), b.add("UpSampling2D", "wide", size=[2**40, 2**40]))
    [result] = [infer(b.graph, catalog)[upsampling]]
    assert "its output would have shape" in result.diagnostics[0].message
    assert result.diagnostics[0].hint == "Make `size` of wide smaller."


def test_an_initializer_keras_refuses_names_the_initializer_or_the_dtype(builder, catalog) -> None:
    b = builder()
    conv = b.chain(
        b.add("Input", shape=[8, 8, 3]), b.add("Conv2D", "conv", filters=4, kernel_initializer="identity")
    )
    dense = b.chain(b.add("Input", shape=[4]), b.add("Dense", "counts", units=8, dtype="int32"))
    results = infer(b.graph, catalog)
    [conv_error], [dense_error] = results[conv].diagnostics, results[dense].diagnostics
    assert conv_error.message.startswith(
        "conv (Conv2D) cannot be built: the initializer of its weight `kernel` (3, 3, 3, 4) refuses it: "
        "Identity matrix initializer can only be used for 2D matrices."
    )
    assert conv_error.hint == "Change `kernel_initializer` of conv in the inspector."
    assert "{{function_node" not in dense_error.message and "[Op:" not in dense_error.message
    assert dense_error.hint == "Set `dtype` of counts to a float type, or change `kernel_initializer`."


def test_checking_what_building_refuses_allocates_no_large_weight(builder, catalog) -> None:
    b = builder()
    # 10 billion parameters whose initializer runs on shapes only: 40 GB if it ran for real.
    huge = b.add(
        "Dense", units=100_000, kernel_initializer={"class_name": "Constant", "config": {"value": 0.5}}
    )
    dense = b.chain(b.add("Input", shape=[100_000]), huge)
    assert infer(b.graph, catalog)[dense].ok
    wrong = b.add(
        "Dense", units=100_000, kernel_initializer={"class_name": "Constant", "config": {"value": [1, 2]}}
    )
    refused = b.chain(b.add("Input", shape=[100_000]), wrong)
    [error] = infer(b.graph, catalog)[refused].diagnostics
    assert "the initializer of its weight `kernel` (100000, 100000) refuses it" in error.message


def test_shared_layer_weights_count_once(builder, catalog) -> None:
    b = builder()
    left, right = b.add("Input", "left", shape=[6]), b.add("Input", "right", shape=[6])
    dense_left = b.chain(left, b.add("Dense", "encoder", units=4))
    dense_right = b.chain(right, b.add("Dense", "encoder_again", units=4))
    b.graph.set_shares(dense_right, dense_left)
    merged = b.add("Concatenate", "merged")
    b.connect(dense_left, merged, 0)
    b.connect(dense_right, merged, 1)
    b.output(merged)
    analysis = analyze(b.graph, catalog)
    assert analysis.errors == []
    assert analysis.results[dense_right].shared
    model = build_model(b.graph, catalog)
    assert analysis.totals() == (_weights(model, True), 0) == (28, 0)


def test_shared_layer_fed_another_shape_is_an_error(builder, catalog) -> None:
    b = builder()
    first = b.chain(b.add("Input", "a", shape=[6]), b.add("Dense", "encoder", units=4))
    second = b.chain(b.add("Input", "b", shape=[5]), b.add("Dense", "encoder_again", units=4))
    b.graph.set_shares(second, first)
    result = infer(b.graph, catalog)[second]
    assert [d.code for d in result.diagnostics] == ["shared-shape"]


def test_an_edit_reinfers_only_what_changes(builder, catalog) -> None:
    b = builder()
    ids = [b.add("Input", shape=[16])] + [b.add("Dense", units=16) for _ in range(20)]
    b.chain(*ids)
    engine = ShapeInference(catalog)
    engine.infer(b.graph)
    middle = ids[10]
    before = engine.computed_count
    b.graph.set_params(middle, {"units": 16, "activation": "tanh"})
    visited = engine.infer(b.graph, [middle])
    assert engine.computed_count == before + 1  # only the edited layer is called again
    assert list(visited) == [middle]  # its output is unchanged, so nothing downstream is revisited
    b.graph.set_params(middle, {"units": 8})
    visited = engine.infer(b.graph, [middle])
    assert list(visited) == [middle, ids[11]]  # the next Dense sees a new input shape; its output is the same
    assert engine.results[ids[11]].trainable == 8 * 16 + 16


def test_rank_mismatch_names_the_source_and_hints_a_fix(builder, catalog) -> None:
    b = builder()
    dense = b.chain(b.add("Input", shape=[64]), b.add("Dense", "dense", units=64))
    conv = b.chain(dense, b.add("Conv2D", "conv", filters=4, kernel_size=3))
    [diagnostic] = infer(b.graph, catalog)[conv].diagnostics
    assert diagnostic.message == (
        "conv (Conv2D) expects a rank-4 input (batch, height, width, channels), got (None, 64) from dense."
    )
    assert diagnostic.hint == "Insert a Reshape before conv, or start from an image input."


def test_dense_on_a_feature_map_is_an_error_with_a_flatten_hint(builder, catalog) -> None:
    b = builder()
    conv = b.chain(b.add("Input", shape=[28, 28, 1]), b.add("Conv2D", "conv_1", filters=8, kernel_size=3))
    dense = b.chain(conv, b.add("Dense", "classifier", units=10))
    b.output(dense)
    [diagnostic] = [d for d in analyze(b.graph, catalog).diagnostics if d.node == dense]
    assert diagnostic.severity == "error" and diagnostic.code == "dense-feature-map"
    assert (
        "classifier (Dense) expects a rank-2 input (batch, features), got (None, 26, 26, 8) from conv_1"
        in diagnostic.message
    )
    assert "Flatten or GlobalAveragePooling2D" in diagnostic.hint
    assert diagnostic.fix is not None and diagnostic.fix.insert == "Flatten"
    assert diagnostic.fix.edge == b.graph.input_edges(dense)[0]
    flatten = b.add("Flatten", "flatten")
    b.graph.disconnect(b.graph.input_edges(dense)[0])
    b.chain(conv, flatten, dense)
    assert [d for d in analyze(b.graph, catalog).diagnostics if d.node == dense] == []


def test_a_pointwise_dense_inside_a_conv_net_is_fine(builder, catalog) -> None:
    # ConvNeXt applies Dense to every position on purpose; the output is pooled later.
    b = builder()
    conv = b.chain(b.add("Input", shape=[8, 8, 3]), b.add("Conv2D", "conv", filters=8, kernel_size=3))
    pointwise = b.chain(conv, b.add("Dense", "pointwise", units=16))
    head = b.chain(pointwise, b.add("GlobalAveragePooling2D", "pool"), b.add("Dense", "head", units=3))
    b.output(head)
    assert analyze(b.graph, catalog).errors == []


def test_merge_of_mismatched_shapes_explains_both_inputs(builder, catalog) -> None:
    b = builder()
    a = b.chain(b.add("Input", "a", shape=[4]), b.add("Dense", "wide", units=5))
    c = b.add("Input", "c", shape=[4])
    add = b.add("Add", "sum")
    b.connect(a, add, 0)
    b.connect(c, add, 1)
    [diagnostic] = infer(b.graph, catalog)[add].diagnostics
    assert (
        diagnostic.message
        == "sum (Add) needs inputs of one shape; got (None, 5) from wide and (None, 4) from c."
    )
    assert "Concatenate" in diagnostic.hint and diagnostic.fix is None


def test_invalid_parameter_gives_keras_message_and_blocks_downstream(builder, catalog) -> None:
    b = builder()
    bad = b.chain(b.add("Input", shape=[4]), b.add("Dense", "bad", units=-1))
    after = b.chain(bad, b.add("Dense", "after", units=2))
    results = infer(b.graph, catalog)
    [diagnostic] = results[bad].diagnostics
    assert "units" in diagnostic.message and "-1" in diagnostic.message
    assert "`units`" in diagnostic.hint
    assert results[after].blocked and results[after].diagnostics == ()


def test_inferred_shapes_match_a_real_forward_pass(catalog) -> None:
    graph = load_project(EXAMPLES[0].parent / "two_in_two_out.json", catalog).graph
    results = infer(graph, catalog)
    model = build_model(graph, catalog)
    batch = {n.name: np.zeros((3, *n.params["shape"]), "float32") for n in graph.input_nodes()}
    outputs = model.predict(batch, verbose=0)
    for output in graph.outputs:
        assert outputs[output.name].shape[1:] == results[output.node].outputs[0].shape[1:]
