"""Importing Keras models: graphs, params, specs, weights and round trips through build and codegen."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from designer.catalog.keras_layers import construct, layer_class
from designer.catalog.spec import Catalog
from designer.engine.analysis import analyze
from designer.engine.build import build_model
from designer.engine.importer import (
    LAYER_PATHS_ATTRIBUTE,
    PROJECT_SPECS_KEY,
    PROJECT_WEIGHTS_KEY,
    SUBCLASSED_MESSAGE,
    ImportRefused,
    ImportResult,
    identifier,
    import_model,
    import_source,
    import_to_project,
    json_value,
    layer_params,
    load_imported_project,
    load_weights_by_name,
    project_weights,
    weights_for_design,
)
from designer.engine.importer.base import identifier_path
from designer.graph import project
from designer.graph.model import INPUT_TYPE, Edge, ModelGraph, ModelOutput, Node

TOLERANCE = 1e-5


@keras.saving.register_keras_serializable(package="designer_tests")
class Scale(keras.layers.Layer):
    """x * factor + offset, with one learned offset per feature."""

    def __init__(self, factor: float = 2.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        self.offset = self.add_weight(shape=(input_shape[-1],), initializer="random_normal", name="offset")

    def call(self, inputs: Any) -> Any:
        return inputs * self.factor + self.offset

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor}


# ------------------------------------------------------------------ models
def two_in_two_out() -> keras.Model:
    """Two inputs through one shared Dense, a Concatenate, two heads."""
    left = keras.Input((6,), name="left")
    right = keras.Input((6,), name="right")
    shared = keras.layers.Dense(5, activation="relu", name="shared")
    joined = keras.layers.Concatenate(name="joined")([shared(left), shared(right)])
    score = keras.layers.Dense(1, activation="sigmoid", name="score")(joined)
    label = keras.layers.Dense(3, activation="softmax", name="label")(joined)
    return keras.Model([left, right], [score, label], name="two_heads")


def small_sequential() -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(16, activation="relu", name="hidden"),
            keras.layers.Dropout(0.25, name="drop"),
            keras.layers.Dense(4, name="logits"),
        ],
        name="stack",
    )


def with_nested_sequential() -> keras.Model:
    """A Sequential block called twice inside a functional model."""
    block = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(4, activation="tanh", name="dense"),
            keras.layers.LayerNormalization(name="norm"),
        ],
        name="block",
    )
    inputs = keras.Input((4,), name="features")
    first = block(inputs)
    second = block(keras.layers.Dense(4, name="dense")(first))
    return keras.Model(inputs, keras.layers.Dense(2, name="head")(second), name="outer")


def with_custom_layer() -> keras.Model:
    inputs = keras.Input((5,), name="values")
    scaled = Scale(factor=3.0, name="scale")(inputs)
    return keras.Model(inputs, keras.layers.Dense(2, name="out")(scaled), name="custom")


def with_ops() -> keras.Model:
    """keras.ops calls on symbolic tensors between layers."""
    first = keras.Input((3,), name="first")
    second = keras.Input((3,), name="second")
    summed = keras.ops.add(keras.layers.Dense(3, name="project")(first), second)
    pooled = keras.ops.mean(summed, axis=-1, keepdims=True)
    return keras.Model([first, second], pooled, name="with_ops")


def small_model() -> keras.Model:
    """Imported by `module:function` in the tests below."""
    inputs = keras.Input((3,), name="x")
    return keras.Model(inputs, keras.layers.Dense(2, name="y")(inputs), name="small")


class Subclassed(keras.Model):
    def __init__(self) -> None:
        super().__init__()
        self.dense = keras.layers.Dense(2)

    def call(self, inputs: Any) -> Any:
        return self.dense(inputs)


# ----------------------------------------------------------------- helpers
def random_inputs(model: keras.Model, seed: int = 0) -> list[np.ndarray]:
    generator = np.random.default_rng(seed)
    return [generator.standard_normal((2, *tensor.shape[1:])).astype("float32") for tensor in model.inputs]


def outputs_of(model: keras.Model, arrays: list[np.ndarray], input_names: list[str]) -> list[np.ndarray]:
    """The model's outputs as a list, fed a dict by input name when it has several inputs."""
    feed = arrays[0] if len(arrays) == 1 else dict(zip(input_names, arrays, strict=True))
    result = model(feed, training=False)
    values = list(result.values()) if isinstance(result, dict) else keras.tree.flatten(result)
    return [keras.ops.convert_to_numpy(value) for value in values]


def original_outputs(model: keras.Model, arrays: list[np.ndarray]) -> list[np.ndarray]:
    result = model(arrays if len(arrays) > 1 else arrays[0], training=False)
    return [keras.ops.convert_to_numpy(value) for value in keras.tree.flatten(result)]


def input_names(result: ImportResult) -> list[str]:
    return [node.name for node in result.graph.input_nodes()]


def assert_same_outputs(original: keras.Model, rebuilt: keras.Model, result: ImportResult) -> None:
    arrays = random_inputs(original)
    expected = original_outputs(original, arrays)
    got = outputs_of(rebuilt, arrays, input_names(result))
    assert len(got) == len(expected)
    for mine, theirs in zip(got, expected, strict=True):
        assert mine.shape == theirs.shape
        assert np.abs(mine - theirs).max() <= TOLERANCE


def rebuilt_with_weights(original: keras.Model, result: ImportResult, catalog: Catalog) -> keras.Model:
    rebuilt = build_model(result.graph, result.catalog(catalog))
    load_weights_by_name(rebuilt, original, result.origins)
    return rebuilt


def assert_analysis_clean(original: keras.Model, result: ImportResult, catalog: Catalog) -> None:
    analysis = analyze(result.graph, result.catalog(catalog))
    assert [d.message for d in analysis.errors] == []
    assert sum(analysis.totals()) == original.count_params()


def assert_params_rebuild_layers(original: keras.Model, result: ImportResult, catalog: Catalog) -> None:
    """construct(spec, params) gives every layer the config it had (name aside)."""
    merged = result.catalog(catalog)
    layers = {name: layer for name, layer in _layers_by_path(original)}
    for node in result.graph.nodes.values():
        if node.shares or node.is_input:
            continue
        layer = layers[result.origins[node.name]]
        made = construct(merged[node.type], node.params, name=layer.name)
        assert _config(made) == _config(layer), node.name


def _layers_by_path(model: keras.Model, prefix: str = "") -> list[tuple[str, Any]]:
    found = []
    members = model.layers if isinstance(model, keras.Sequential) else model.operations
    for layer in members:
        if isinstance(layer, (keras.Sequential, keras.Model)):
            found += _layers_by_path(layer, f"{prefix}{layer.name}/")
        else:
            found.append((f"{prefix}{layer.name}", layer))
    return found


def _config(layer: Any) -> Any:
    return json.loads(json.dumps(keras.saving.serialize_keras_object(layer)["config"], default=str))


def exec_module(source: str, folder: Path, name: str) -> Any:
    path = folder / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def codegen_or_skip() -> Any:
    codegen = pytest.importorskip("designer.codegen")
    if not all(hasattr(codegen, name) for name in ("generate_functional", "generate_subclassed")):
        pytest.skip("designer.codegen has no generate_functional/generate_subclassed yet")
    return codegen


def assert_exported_code_round_trips(
    original: keras.Model, result: ImportResult, catalog: Catalog, folder: Path
) -> None:
    """The functional and subclassed code of the design: same parameters, layers and outputs."""
    codegen = codegen_or_skip()
    merged = result.catalog(catalog)
    expected_layers = sorted(  # as exported code names them: "mobilenetv2_1.00_32" is no identifier
        identifier_path(name) for name, layer in _layers_by_path(original) if getattr(layer, "weights", None)
    )
    for style in ("functional", "subclassed"):
        source = getattr(codegen, f"generate_{style}")(result.graph, merged)
        exported = exec_module(source, folder, f"exported_{style}_{result.graph.name}").build_model()
        assert exported.count_params() == original.count_params(), style
        loaded = load_weights_by_name(exported, original, result.origins)
        assert (
            sorted(identifier_path(result.origins.get(path, path)) for path in loaded) == expected_layers
        ), style
        assert_same_outputs(original, exported, result)


# ------------------------------------------------------------ small models
def test_two_inputs_two_outputs_and_a_shared_layer(catalog: Catalog) -> None:
    original = two_in_two_out()
    result = import_model(original, catalog)
    graph = result.graph
    nodes = {node.name: node for node in graph.nodes.values()}
    assert [n.name for n in graph.input_nodes()] == ["left", "right"]
    assert nodes["left"].params == {"shape": [6]}
    assert nodes["shared"].params == {"units": 5, "activation": "relu"}
    assert nodes["shared_1"].shares == nodes["shared"].id and nodes["shared_1"].params == {}
    assert [(graph.nodes[o.node].name, o.name) for o in graph.outputs] == [
        ("score", "score"),
        ("label", "label"),
    ]
    joined_sources = [graph.nodes[e.source].name for e in graph.input_edges(nodes["joined"].id)]
    assert joined_sources == ["shared", "shared_1"]
    assert result.extra_specs == [] and result.groups == [] and result.messages == []
    assert_analysis_clean(original, result, catalog)
    assert_params_rebuild_layers(original, result, catalog)
    assert_same_outputs(original, rebuilt_with_weights(original, result, catalog), result)


def test_sequential_becomes_a_chain(catalog: Catalog) -> None:
    original = small_sequential()
    result = import_model(original, catalog)
    graph = result.graph
    assert graph.name == "stack"
    assert [graph.nodes[n].type for n in graph.topological_order()] == ["Input", "Dense", "Dropout", "Dense"]
    assert graph.node_by_name("drop").params == {"rate": 0.25}
    assert [o.name for o in graph.outputs] == ["logits"]
    assert_analysis_clean(original, result, catalog)
    assert_same_outputs(original, rebuilt_with_weights(original, result, catalog), result)


def test_nested_sequential_is_expanded_as_a_group(catalog: Catalog, tmp_path: Path) -> None:
    original = with_nested_sequential()
    result = import_model(original, catalog)
    graph = result.graph
    names = [graph.nodes[n].name for n in graph.topological_order()]
    assert names == [
        "features",
        "block_dense",
        "block_norm",
        "dense",
        "block_dense_1",
        "block_norm_1",
        "head",
    ]
    first_call = [graph.node_by_name(n).id for n in ("block_dense", "block_norm")]
    second_call = [graph.node_by_name(n).id for n in ("block_dense_1", "block_norm_1")]
    first, second = graph.groups.values()
    assert (first.name, first.block, first.nodes, first.shares) == ("block", "block", tuple(first_call), None)
    assert (second.name, second.block, second.nodes, second.shares) == (
        "block_1",
        "block",
        tuple(second_call),
        first.id,
    )
    assert result.groups == [
        {"id": first.id, "name": "block", "nodes": first_call},
        {"id": second.id, "name": "block_1", "nodes": second_call},
    ]
    assert [graph.nodes[n].shares for n in second_call] == first_call
    assert result.origins["block_dense"] == "block/dense" and result.origins["dense"] == "dense"
    assert_analysis_clean(original, result, catalog)
    assert_params_rebuild_layers(original, result, catalog)
    assert_same_outputs(original, rebuilt_with_weights(original, result, catalog), result)
    assert_exported_code_round_trips(original, result, catalog, tmp_path)


def test_nested_functional_model_called_twice(catalog: Catalog) -> None:
    inner_input = keras.Input((3,), name="inner_in")
    inner = keras.Model(inner_input, keras.layers.Dense(3, name="inner_dense")(inner_input), name="inner")
    inputs = keras.Input((3,), name="x")
    original = keras.Model(inputs, inner(inner(inputs)), name="twice")
    result = import_model(original, catalog)
    graph = result.graph
    assert [n.name for n in graph.nodes.values()] == ["x", "inner_dense", "inner_dense_1"]
    assert graph.node_by_name("inner_dense_1").shares == graph.node_by_name("inner_dense").id
    assert_analysis_clean(original, result, catalog)
    assert_same_outputs(original, rebuilt_with_weights(original, result, catalog), result)


def test_nested_model_with_two_outputs_feeds_them_by_index(catalog: Catalog) -> None:
    inner_input = keras.Input((4,), name="inner_in")
    heads = [keras.layers.Dense(2, name="a")(inner_input), keras.layers.Dense(3, name="b")(inner_input)]
    inner = keras.Model(inner_input, heads, name="pair")
    inputs = keras.Input((4,), name="x")
    first, second = inner(inputs)
    original = keras.Model(inputs, keras.layers.Concatenate(name="joined")([second, first]))
    result = import_model(original, catalog)
    graph = result.graph
    joined = graph.node_by_name("joined")
    assert [graph.nodes[e.source].name for e in graph.input_edges(joined.id)] == ["pair_b", "pair_a"]
    assert_same_outputs(original, rebuilt_with_weights(original, result, catalog), result)


def test_dict_outputs_are_named_by_their_keys(catalog: Catalog) -> None:
    inputs = keras.Input((4,), name="x")
    hidden = keras.layers.Dense(3, name="hidden")(inputs)
    outputs = {"probability": keras.layers.Dense(1, activation="sigmoid", name="p")(hidden), "code": hidden}
    original = keras.Model(inputs, outputs)
    result = import_model(original, catalog)
    marks = {o.name: result.graph.nodes[o.node].name for o in result.graph.outputs}
    assert marks == {"probability": "p", "code": "hidden"}
    rebuilt = rebuilt_with_weights(original, result, catalog)
    [array] = random_inputs(original)
    expected, got = original(array), rebuilt(array)
    for key in outputs:
        assert np.abs(keras.ops.convert_to_numpy(got[key] - expected[key])).max() <= TOLERANCE


def test_masks_keras_derives_are_not_nodes(catalog: Catalog) -> None:
    tokens = keras.Input((5,), dtype="int32", name="tokens")
    embedded = keras.layers.Embedding(20, 4, mask_zero=True, name="embed")(tokens)
    original = keras.Model(tokens, keras.layers.LSTM(3, name="lstm")(embedded))
    result = import_model(original, catalog)
    assert [n.type for n in result.graph.nodes.values()] == ["Input", "Embedding", "LSTM"]
    assert result.messages == [] and result.extra_specs == []
    assert_analysis_clean(original, result, catalog)
    rebuilt = rebuilt_with_weights(original, result, catalog)
    padded = np.array([[3, 4, 0, 0, 0], [1, 2, 3, 4, 5]], dtype="int32")
    expected = keras.ops.convert_to_numpy(original(padded))
    assert np.abs(keras.ops.convert_to_numpy(rebuilt(padded)) - expected).max() <= TOLERANCE


def test_registered_custom_layer_gets_a_spec(catalog: Catalog, tmp_path: Path) -> None:
    original = with_custom_layer()
    result = import_model(original, catalog)
    [spec] = result.extra_specs
    assert spec.key == f"{Scale.__module__}.Scale"
    assert (spec.module, spec.class_name, spec.category, spec.source) == (
        Scale.__module__,
        "Scale",
        "custom",
        "user",
    )
    node = result.graph.node_by_name("scale")
    assert (node.type, node.params) == (spec.key, {"factor": 3.0})
    assert_analysis_clean(original, result, catalog)
    assert_params_rebuild_layers(original, result, catalog)
    assert_same_outputs(original, rebuilt_with_weights(original, result, catalog), result)
    assert_exported_code_round_trips(original, result, catalog, tmp_path)


def test_keras_file_with_a_custom_layer_round_trips(catalog: Catalog, tmp_path: Path) -> None:
    original = with_custom_layer()
    path = tmp_path / "custom.keras"
    original.save(path)
    result = import_source(str(path), catalog, tmp_path / "weights")
    assert result.graph.node_by_name("scale").params == {"factor": 3.0}
    rebuilt = build_model(result.graph, result.catalog(catalog))
    load_weights_by_name(rebuilt, result.weights)
    assert_same_outputs(original, rebuilt, result)


def test_keras_ops_calls_become_op_nodes(catalog: Catalog, tmp_path: Path) -> None:
    original = with_ops()
    result = import_model(original, catalog)
    graph = result.graph
    assert sorted(spec.key for spec in result.extra_specs) == ["ops.add", "ops.mean"]
    # Keras names op layers "add", "add_1"... by how many it made before in this process: by type
    (add,) = [node for node in graph if node.type == "ops.add"]
    assert add.name.startswith("add") and len(graph.input_edges(add.id)) == 2
    (mean,) = [node for node in graph if node.type == "ops.mean"]
    assert mean.name.startswith("mean") and mean.params == {"axis": -1, "keepdims": True}
    assert {spec.category for spec in result.extra_specs} == {"ops"}
    assert_same_outputs(original, rebuilt_with_weights(original, result, catalog), result)
    assert_exported_code_round_trips(original, result, catalog, tmp_path)


def test_keras_ops_nodes_infer(catalog: Catalog) -> None:
    original = with_ops()
    assert_analysis_clean(original, import_model(original, catalog), catalog)


def test_arithmetic_with_a_float_constant_becomes_rescaling(catalog: Catalog, tmp_path: Path) -> None:
    inputs = keras.Input((3,), name="x")
    hard_sigmoid = keras.ops.relu6(inputs + 3.0) * (1.0 / 6.0)
    original = keras.Model(inputs, [hard_sigmoid, 2.0 - inputs, inputs / 4.0])
    result = import_model(original, catalog)
    rescalings = [node for node in result.graph.nodes.values() if node.type == "Rescaling"]
    assert sorted((node.params.get("scale"), node.params.get("offset", 0.0)) for node in rescalings) == [
        (-1.0, 2.0),
        (1.0 / 6.0, 0.0),
        (0.25, 0.0),
        (1.0, 3.0),
    ]
    assert any("x + 3.0" in message and "Rescaling" in message for message in result.messages)
    assert_same_outputs(original, rebuilt_with_weights(original, result, catalog), result)
    assert_exported_code_round_trips(original, result, catalog, tmp_path)


def test_a_constant_that_is_no_rescaling_is_refused(catalog: Catalog) -> None:
    inputs = keras.Input((3,), name="x")
    original = keras.Model(inputs, keras.ops.power(inputs, 2.0))
    with pytest.raises(ImportRefused, match=r"keras\.ops\.power\) is called with the constant 2\.0"):
        import_model(original, catalog)


def test_a_lambda_of_one_expression_is_an_expression_node(catalog: Catalog) -> None:
    inputs = keras.Input((3,), name="x")
    original = keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2, name="double")(inputs))
    graph = import_model(original, catalog).graph
    node = next(node for node in graph.nodes.values() if node.name == "double")
    assert node.type == "Lambda" and node.params == {"function": "x * 2"}  # its argument renamed x


def _doubled(tensor: object) -> object:
    return tensor * 2  # type: ignore[operator]


def test_lambda_layer_of_a_def_or_other_names_is_refused(catalog: Catalog) -> None:
    inputs = keras.Input((3,), name="x")
    original = keras.Model(inputs, keras.layers.Lambda(_doubled, name="double")(inputs))
    with pytest.raises(
        ImportRefused, match="double is a Lambda layer whose function is _doubled, not a lambda"
    ):
        import_model(original, catalog)
    factor = 3.0
    scaled = keras.Model(inputs, keras.layers.Lambda(lambda t: t * factor, name="scaled")(inputs))
    with pytest.raises(ImportRefused, match=r"scaled is a Lambda layer .* Rewrite it as a Layer subclass"):
        import_model(scaled, catalog)


def test_subclassed_model_is_refused(catalog: Catalog) -> None:
    with pytest.raises(ImportRefused) as refused:
        import_model(Subclassed(), catalog)
    assert str(refused.value) == SUBCLASSED_MESSAGE.format(name="Subclassed")
    assert "Rebuild it with the Functional API" in str(refused.value)


# ------------------------------------------------------------------- params
def test_params_keep_only_what_differs_from_keras_defaults(catalog: Catalog) -> None:
    dense = keras.layers.Dense(
        4, kernel_initializer="he_normal", kernel_regularizer=keras.regularizers.L2(0.01), trainable=False
    )
    config = keras.saving.serialize_keras_object(dense)["config"]
    params, dropped = layer_params(catalog["Dense"], config)
    assert params == {
        "units": 4,
        "kernel_initializer": "he_normal",
        "kernel_regularizer": "l2",
        "trainable": False,
    }
    assert dropped == []
    pooling = keras.layers.MaxPooling2D(pool_size=3, strides=2)
    params, _ = layer_params(catalog["MaxPooling2D"], keras.saving.serialize_keras_object(pooling)["config"])
    assert params == {"pool_size": [3, 3], "strides": [2, 2]}


def test_a_non_default_initializer_config_is_kept_and_constructible(catalog: Catalog) -> None:
    dense = keras.layers.Dense(2, kernel_initializer=keras.initializers.RandomNormal(stddev=0.3, seed=4))
    params, _ = layer_params(catalog["Dense"], keras.saving.serialize_keras_object(dense)["config"])
    assert params["kernel_initializer"]["config"] == {"mean": 0.0, "stddev": 0.3, "seed": 4}
    json.dumps(params)
    assert _config(construct(catalog["Dense"], params, name=dense.name)) == _config(dense)


def test_json_value_makes_tuples_and_arrays_lists() -> None:
    assert json_value((1, (2, 3))) == [1, [2, 3]]
    assert json_value(np.array([1.5, 2.0])) == [1.5, 2.0]
    assert json_value({"class_name": "__tuple__", "config": {"value": [1, 2]}}) == [1, 2]
    with pytest.raises(TypeError, match="`seed`"):
        json_value(object(), "seed")


@pytest.mark.parametrize(
    ("keras_name", "node_name"),
    [
        ("conv1", "conv1"),
        ("Conv1_relu", "Conv1_relu"),
        ("block/conv-1", "block_conv_1"),
        ("1x1", "layer_1x1"),
        ("class", "class_"),
    ],
)
def test_layer_names_become_identifiers(keras_name: str, node_name: str) -> None:
    assert identifier(keras_name) == node_name


# ---------------------------------------------------------------- sources
def test_json_config_sources(catalog: Catalog, tmp_path: Path) -> None:
    original = two_in_two_out()
    from_json = tmp_path / "model.json"
    from_json.write_text(original.to_json(), encoding="utf-8")
    from_config = tmp_path / "config.json"
    from_config.write_text(json.dumps(original.get_config()), encoding="utf-8")
    expected = import_model(original, catalog).graph
    assert import_source(str(from_json), catalog).graph == expected
    assert import_source(str(from_config), catalog).graph == expected


def test_module_function_sources(catalog: Catalog, tmp_path: Path) -> None:
    result = import_source(f"{small_model.__module__}:small_model", catalog, run_code=True)
    assert [n.name for n in result.graph.nodes.values()] == ["x", "y"]
    script = tmp_path / "builder.py"
    script.write_text(
        "import keras\n\n\ndef make():\n    x = keras.Input((2,), name='x')\n"
        "    return keras.Model(x, keras.layers.Dense(1, name='z')(x))\n",
        encoding="utf-8",
    )
    imported = import_source(f"{script}:make", catalog, run_code=True)
    assert [n.name for n in imported.graph.nodes.values()] == ["x", "z"]


def builder_beside_a_file_named_like_it(folder: Path) -> tuple[Path, Path]:
    """model.py, which leaves a marker when it runs, and a data file literally named model.py:build."""
    marker = folder / "model.py ran"
    (folder / "model.py").write_text(
        f"open({str(marker)!r}, 'w').close()\n\n\ndef build():\n    raise SystemExit('ran')\n",
        encoding="utf-8",
    )
    picked = folder / "model.py:build"
    picked.write_text("not a model", encoding="utf-8")
    return picked, marker


def test_a_file_named_like_module_function_is_a_file_and_runs_nothing(
    catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    picked, marker = builder_beside_a_file_named_like_it(tmp_path)
    monkeypatch.chdir(tmp_path)
    for source, options in ((str(picked), {"as_file": True}), ("model.py:build", {}), (str(picked), {})):
        with pytest.raises(ImportRefused, match=r"expected a \.keras or \.h5 model file"):
            import_source(source, catalog, **options)  # type: ignore[arg-type]
    assert not marker.exists()


def test_module_function_runs_code_only_when_allowed(catalog: Catalog, tmp_path: Path) -> None:
    marker = tmp_path / "builder ran"
    script = tmp_path / "builder_with_marker.py"
    script.write_text(f"open({str(marker)!r}, 'w').close()\n\n\ndef make():\n    pass\n", encoding="utf-8")
    with pytest.raises(ImportRefused, match=r"is Python code to run .*Pass --trust"):
        import_source(f"{script}:make", catalog)
    assert not marker.exists()
    with pytest.raises(ImportRefused, match=r"\.keras or \.h5 model file"):
        import_source(f"{script}:make", catalog, run_code=True, as_file=True)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("no_such_module_here:build", "cannot import 'no_such_module_here'"),
        (f"{__name__}:missing_function", "has no attribute 'missing_function'"),
        (f"{__name__}:TOLERANCE", "expected a function that returns a model"),
        (f"{__name__}:random_inputs", "calling it raised TypeError"),
        ("model.onnx", "expected a .keras file, a .json model config"),
    ],
)
def test_bad_sources_are_refused(catalog: Catalog, source: str, message: str) -> None:
    with pytest.raises(ImportRefused, match=message.replace(".", r"\.").replace("(", r"\(")):
        import_source(source, catalog, run_code=True)


def test_a_text_file_named_keras_is_refused(catalog: Catalog, tmp_path: Path) -> None:
    path = tmp_path / "x.keras"
    path.write_text("not a model", encoding="utf-8")
    with pytest.raises(ImportRefused, match=r"x\.keras is not a Keras model file"):
        import_source(str(path), catalog)
    with pytest.raises(ImportRefused, match="no such file"):
        import_source(str(tmp_path / "missing.keras"), catalog)


def test_json_that_is_not_a_model_config_is_refused(catalog: Catalog, tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"epochs": 3}), encoding="utf-8")
    with pytest.raises(ImportRefused, match=r"settings\.json is not a Keras model config"):
        import_source(str(path), catalog)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ImportRefused, match=r"settings\.json is not a JSON file"):
        import_source(str(path), catalog)


def test_an_unregistered_class_is_named(catalog: Catalog, tmp_path: Path) -> None:
    data = json.loads(with_custom_layer().to_json())
    [entry] = [layer for layer in data["config"]["layers"] if layer["name"] == "scale"]
    entry.update(module="my_private_layers", class_name="Mystery", registered_name="Mystery")
    path = tmp_path / "mystery.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ImportRefused) as refused:
        import_source(str(path), catalog)
    assert "uses the class 'Mystery'" in str(refused.value)
    assert "register_keras_serializable" in str(refused.value)


def test_an_unregistered_class_in_a_keras_file_is_named(catalog: Catalog, tmp_path: Path) -> None:
    class Unregistered(keras.layers.Layer):
        def call(self, inputs: Any) -> Any:
            return inputs

    inputs = keras.Input((2,))
    path = tmp_path / "local.keras"
    keras.Model(inputs, Unregistered(name="passthrough")(inputs)).save(path)
    with pytest.raises(ImportRefused, match=r"uses the class 'Unregistered'.*register_keras_serializable"):
        import_source(str(path), catalog)


# ------------------------------------------------------ weights and project
def test_weights_file_loads_by_name_and_by_keras(catalog: Catalog, tmp_path: Path) -> None:
    original = with_nested_sequential()
    result = import_model(original, catalog, weights_dir=tmp_path)
    assert result.weights == str(tmp_path / "outer.weights.h5")
    merged = result.catalog(catalog)
    by_name = build_model(result.graph, merged)
    assert sorted(load_weights_by_name(by_name, result.weights)) == sorted(
        layer.name for layer in by_name.layers if layer.weights
    )
    assert_same_outputs(original, by_name, result)
    by_keras = build_model(result.graph, merged)
    by_keras.load_weights(result.weights)
    assert_same_outputs(original, by_keras, result)


def test_weights_file_loads_into_exported_code_with_blocks(catalog: Catalog, tmp_path: Path) -> None:
    codegen = codegen_or_skip()
    original = with_nested_sequential()
    result = import_model(original, catalog, weights_dir=tmp_path)
    source = codegen.generate_functional(result.graph, result.catalog(catalog))
    exported = exec_module(source, tmp_path, "exported_blocks").build_model()
    assert [layer.name for layer in exported.layers] == ["features", "block", "dense", "head"]
    assert sorted(load_weights_by_name(exported, result.weights)) == [
        "block/dense",
        "block/norm",
        "dense",
        "head",
    ]
    assert_same_outputs(original, exported, result)


def test_loading_by_name_into_an_edited_design(catalog: Catalog, tmp_path: Path) -> None:
    import h5py

    original = two_in_two_out()
    result = import_model(original, catalog, weights_dir=tmp_path)
    with h5py.File(result.weights, "r") as file:
        assert "shared" in json.loads(file.attrs[LAYER_PATHS_ATTRIBUTE])
    graph = result.graph
    graph.remove_node(graph.node_by_name("score").id)  # the design changes after the import
    edited = build_model(graph, result.catalog(catalog))
    assert sorted(load_weights_by_name(edited, result.weights)) == ["label", "shared"]
    arrays = random_inputs(original)
    expected = original_outputs(original, arrays)[1]
    [got] = outputs_of(edited, arrays, input_names(result))
    assert np.abs(got - expected).max() <= TOLERANCE


def test_strict_loading_names_layers_without_weights(catalog: Catalog) -> None:
    original = small_model()
    other = keras.Model(original.inputs, keras.layers.Dense(2, name="elsewhere")(original.inputs[0]))
    with pytest.raises(ImportRefused, match=r"No weights for 1 layer.*elsewhere"):
        load_weights_by_name(other, original)
    assert load_weights_by_name(other, original, strict=False) == []


def test_import_to_project_writes_a_loadable_project(catalog: Catalog, tmp_path: Path) -> None:
    source = tmp_path / "custom.keras"
    original = with_custom_layer()
    original.save(source)
    output = tmp_path / "projects" / "custom.json"
    output.parent.mkdir()
    messages: list[str] = []
    assert import_to_project(str(source), output, catalog, on_message=messages.append) == output
    loaded, merged = load_imported_project(output, catalog)  # Scale's module is imported: it builds
    assert loaded.extra[PROJECT_WEIGHTS_KEY] == "custom.weights.h5"
    assert [spec["key"] for spec in loaded.extra[PROJECT_SPECS_KEY]] == [f"{Scale.__module__}.Scale"]
    assert loaded.graph == import_source(str(source), catalog).graph
    rebuilt = build_model(loaded.graph, merged)
    load_weights_by_name(rebuilt, project_weights(loaded, output))
    assert_same_outputs(original, rebuilt, import_source(str(source), catalog))


def test_a_project_file_cannot_make_the_engine_import_other_code(catalog: Catalog, tmp_path: Path) -> None:
    """Building a node imports its spec's module and calls its class: the specs a project file
    carries for modules outside Keras keep the design readable but build only once that module
    is loaded by other means, and a class is checked before it is called."""
    evil = {**catalog["Dense"].to_dict(), "key": "evil.Run", "module": "evil_module", "class_name": "Run"}
    system = {**evil, "key": "os.system", "module": "os", "class_name": "system"}
    graph = ModelGraph("tiny")
    graph.add_node(Node("n1", INPUT_TYPE, "x", {"shape": [3]}, ports=catalog[INPUT_TYPE].ports))
    graph.add_node(Node("n2", "evil.Run", "run", {"units": 2}, ports=catalog["Dense"].ports))
    graph.connect(Edge("n1", 0, "n2", 0))
    data = {**project.to_dict(graph), "imported_specs": [evil, system]}
    (tmp_path / "p.json").write_text(json.dumps(data))
    loaded, merged = load_imported_project(tmp_path / "p.json", catalog)
    assert loaded.graph.node("n2").params == {"units": 2}  # the design reads
    with pytest.raises(ImportError, match="evil_module, which is not loaded"):
        layer_class(merged["evil.Run"])
    assert "evil_module" not in sys.modules
    with pytest.raises(TypeError, match="not a Keras layer or operation class"):
        layer_class(merged["os.system"])  # a loaded module, but not a layer class


def test_project_keeps_nested_models_as_groups(catalog: Catalog, tmp_path: Path) -> None:
    source = tmp_path / "outer.keras"
    with_nested_sequential().save(source)
    output = tmp_path / "outer.json"
    import_to_project(str(source), output, catalog, weights_dir=tmp_path / "weights")
    loaded, _ = load_imported_project(output, catalog)
    assert [(g.name, g.block) for g in loaded.graph.groups.values()] == [
        ("block", "block"),
        ("block_1", "block"),
    ]
    assert loaded.extra[PROJECT_WEIGHTS_KEY] == "weights/outer.weights.h5"
    assert project_weights(loaded, output) == tmp_path / "weights" / "outer.weights.h5"


# -------------------------------------------------------- keras.applications
APPLICATIONS: dict[str, Callable[[], keras.Model]] = {
    "ResNet50": lambda: keras.applications.ResNet50(weights=None, input_shape=(64, 64, 3), classes=10),
    "MobileNetV2": lambda: keras.applications.MobileNetV2(weights=None, input_shape=(64, 64, 3), classes=10),
}


@pytest.fixture(scope="module", params=sorted(APPLICATIONS))
def application(request: pytest.FixtureRequest, catalog: Catalog) -> tuple[keras.Model, ImportResult]:
    original = APPLICATIONS[request.param]()
    return original, import_model(original, catalog)


@pytest.mark.slow
def test_application_imports_and_infers(
    application: tuple[keras.Model, ImportResult], catalog: Catalog
) -> None:
    original, result = application
    assert len(result.graph) == len(original.operations)
    assert result.messages == [] and result.extra_specs == []
    assert_analysis_clean(original, result, catalog)
    assert_params_rebuild_layers(original, result, catalog)


@pytest.mark.slow
def test_application_rebuilds_with_the_same_layers_and_outputs(
    application: tuple[keras.Model, ImportResult], catalog: Catalog
) -> None:
    original, result = application
    rebuilt = rebuilt_with_weights(original, result, catalog)
    assert [layer.name for layer in rebuilt.layers] == [layer.name for layer in original.layers]
    assert rebuilt.count_params() == original.count_params()
    assert_same_outputs(original, rebuilt, result)


@pytest.mark.slow
def test_application_exported_code_round_trips(
    application: tuple[keras.Model, ImportResult], catalog: Catalog, tmp_path: Path
) -> None:
    original, result = application
    assert_exported_code_round_trips(original, result, catalog, tmp_path)


@pytest.mark.slow
def test_mobilenet_v3_imports_its_constant_arithmetic_as_rescaling(catalog: Catalog, tmp_path: Path) -> None:
    original = keras.applications.MobileNetV3Small(weights=None, input_shape=(64, 64, 3), classes=10)
    result = import_model(original, catalog)
    rescalings = [node.name for node in result.graph.nodes.values() if node.type == "Rescaling"]
    assert (
        len(rescalings) == 19
    )  # the model's own input Rescaling, and x + 3.0 and x * (1 / 6) nine times each
    assert result.extra_specs == []  # every keras.ops call in it was such arithmetic
    assert_analysis_clean(original, result, catalog)
    rebuilt = rebuilt_with_weights(original, result, catalog)
    assert rebuilt.count_params() == original.count_params()
    assert_same_outputs(original, rebuilt, result)
    assert_exported_code_round_trips(original, result, catalog, tmp_path)


@pytest.mark.slow
def test_convnext_with_nested_sequentials_custom_layers_and_ops(catalog: Catalog) -> None:
    original = keras.applications.ConvNeXtTiny(weights=None, input_shape=(64, 64, 3), classes=10)
    result = import_model(original, catalog)
    assert len(result.graph) == len(original.operations) + 4  # four 2-layer Sequentials, expanded
    assert {spec.key for spec in result.extra_specs} == {
        "ops.add",
        "keras.src.applications.convnext.LayerScale",
    }
    assert [group["name"] for group in result.groups][:2] == [
        "convnext_tiny_stem",
        "convnext_tiny_downsampling_block_0",
    ]
    assert result.graph.node_by_name("convnext_tiny_stem_conv").type == "Conv2D"
    assert_params_rebuild_layers(original, result, catalog)
    assert_same_outputs(original, rebuilt_with_weights(original, result, catalog), result)


@pytest.mark.slow
def test_application_layout_flows_left_to_right(application: tuple[keras.Model, ImportResult]) -> None:
    _, result = application
    graph = result.graph
    positions = {node_id: node.position for node_id, node in graph.nodes.items()}
    assert len(set(positions.values())) == len(positions)
    assert all(positions[e.source][0] < positions[e.target][0] for e in graph.edges)
    assert {positions[node.id][0] for node in graph.input_nodes()} == {0.0}
    assert all(
        node.type != INPUT_TYPE or node.params["shape"] == [64, 64, 3] for node in graph.nodes.values()
    )


def test_weights_for_an_edited_design_load_by_name_and_leave_new_layers_fresh(
    catalog: Catalog, tmp_path: Path
) -> None:
    inputs = keras.Input((4,), name="features")
    hidden = keras.layers.Dense(3, name="hidden")(inputs)
    original = keras.Model(inputs, keras.layers.Dense(2, name="head")(hidden))
    result = import_model(original, catalog, weights_dir=tmp_path)
    graph = result.graph
    extra = Node(graph.new_id(), "Dense", "extra", {"units": 5}, ports=catalog["Dense"].ports)
    graph.add_node(extra)
    graph.connect(Edge(graph.node_by_name("hidden").id, 0, extra.id, 0))
    graph.set_outputs([*graph.outputs, ModelOutput(extra.id, 0, "extra")])

    written = weights_for_design(graph, catalog, result.weights, tmp_path / "edited.weights.h5")
    assert sorted(written.loaded) == ["head", "hidden"] and written.fresh == ["extra"]
    rebuilt = build_model(graph, catalog)
    rebuilt.load_weights(written.path)  # plain Keras reads it: it is this design's weights file
    for name in ("hidden", "head"):
        for mine, theirs in zip(
            rebuilt.get_layer(name).get_weights(), original.get_layer(name).get_weights(), strict=True
        ):
            np.testing.assert_array_equal(mine, theirs)
    assert not list(tmp_path.glob("*.partial*"))
    graph.set_params(graph.node_by_name("head").id, {"units": 3})  # a head edited since the import
    edited = weights_for_design(graph, catalog, result.weights, tmp_path / "head.weights.h5")
    assert edited.loaded == ["hidden"] and sorted(edited.fresh) == ["extra", "head"]


def nested_mobilenet() -> keras.Model:
    """A MobileNetV2 used as one call inside a Functional model, as in transfer learning."""
    inputs = keras.Input((32, 32, 3), name="image")
    base = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(32, 32, 3))
    features = keras.layers.GlobalAveragePooling2D(name="pool")(base(inputs))
    return keras.Model(inputs, keras.layers.Dense(10, name="head")(features), name="classifier")


def test_a_nested_application_is_one_collapsed_block_named_after_it(catalog: Catalog, tmp_path: Path) -> None:
    """Issue 14, item 10: a nested Functional model stays one readable call: one block of all its
    layers, named after the model, collapsed on the canvas; both exports give its outputs."""
    original = nested_mobilenet()
    base = original.get_layer("mobilenetv2_1.00_32")
    result = import_model(original, catalog)
    [group] = result.graph.groups.values()
    assert (group.name, group.block, group.collapsed) == ("mobilenetv2_1_00_32", "mobilenetv2_1_00_32", True)
    assert len(group.nodes) == len(base.operations) - 1  # its layers; its input is the outer one
    outside = sorted(node.name for node in result.graph.nodes.values() if node.id not in group.nodes)
    assert outside == ["head", "image", "pool"]
    assert result.messages == [] and result.extra_specs == [] and result.custom_layers == []
    assert_analysis_clean(original, result, catalog)
    assert_same_outputs(original, rebuilt_with_weights(original, result, catalog), result)
    assert_exported_code_round_trips(original, result, catalog, tmp_path)
    source = codegen_or_skip().generate_functional(result.graph, result.catalog(catalog))
    assert source.count("class ") == 1 and "class Mobilenetv210032(keras.layers.Layer)" in source
    assert "mobilenetv2_1_00_32 = Mobilenetv210032(name=" in source
    written = import_model(original, catalog, weights_dir=tmp_path / "weights").weights
    exported = exec_module(source, tmp_path, "exported_nested_from_file").build_model()
    with_weights = [identifier_path(path) for path, layer in _layers_by_path(original) if layer.weights]
    assert sorted(load_weights_by_name(exported, written)) == sorted(with_weights)
    assert_same_outputs(original, exported, result)
