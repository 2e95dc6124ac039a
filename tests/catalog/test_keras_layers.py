"""The catalog of keras.layers: discovery, parameter kinds, docs, ports, construction, cache."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import pytest

from designer.catalog import keras_layers
from designer.catalog.keras_layers import (
    build_catalog,
    check_params,
    construct,
    layer_class,
    load_or_build_catalog,
    parse_args_section,
    spec_from_class,
    to_keras_kwargs,
)
from designer.catalog.spec import INPUT_SPEC, PARAM_KINDS, Catalog, LayerSpec
from designer.graph.model import MERGE_PORTS, PortLayout

CATALOG = build_catalog()


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return CATALOG


# ------------------------------------------------------------------ discovery
def test_catalog_holds_every_public_layer_once(catalog: Catalog) -> None:
    assert 130 <= len(catalog) <= 150
    for key in ("Input", "Dense", "Conv2D", "LSTM", "MultiHeadAttention", "Concatenate", "Rescaling"):
        assert key in catalog
    assert catalog.version == f"keras-{keras.__version__}"


def test_aliases_are_folded_under_the_class_name(catalog: Catalog) -> None:
    assert "MaxPooling2D" in catalog and "MaxPool2D" not in catalog
    assert "Conv2D" in catalog and "Convolution2D" not in catalog
    assert "GlobalAveragePooling1D" in catalog and "GlobalAvgPool1D" not in catalog
    classes = [layer_class(spec) for spec in catalog.values() if not spec.is_input]
    assert len(classes) == len(set(classes))
    assert all(cls.__name__ == key for key, cls in zip(list(catalog)[:-1], classes, strict=True))


def test_every_other_exported_name_of_a_class_is_an_alias_of_its_key(catalog: Catalog) -> None:
    keys = {layer_class(spec): key for key, spec in catalog.items() if not spec.is_input}
    exported = {name: getattr(keras.layers, name) for name in dir(keras.layers)}
    expected = {
        name: keys[cls]
        for name, cls in exported.items()
        if isinstance(cls, type) and keys.get(cls, name) != name
    }
    assert catalog.aliases == expected
    assert {"MaxPool2D", "Convolution2D", "AvgPool1D", "GlobalAvgPool2D", "SeparableConvolution2D"} <= set(
        expected
    )
    assert catalog.canonical_key("MaxPool2D") == "MaxPooling2D"
    assert catalog.canonical_key("Convolution2D") == "Conv2D"
    assert catalog.canonical_key("GroupQueryAttention") == "GroupedQueryAttention"
    assert catalog.canonical_key("Dense") == "Dense"
    assert catalog.canonical_key("Dens") == "Dens"  # unknown stays as it is: reading reports it


def test_aliases_travel_with_the_catalog(catalog: Catalog) -> None:
    restored = Catalog.from_dict(json.loads(json.dumps(catalog.to_dict())))
    assert restored.aliases == catalog.aliases
    assert catalog.merged([]).canonical_key("AvgPool3D") == "AveragePooling3D"


def test_a_class_exported_under_another_name_is_imported_by_that_name(catalog: Catalog) -> None:
    spec = catalog["GroupedQueryAttention"]
    assert spec.class_name == "GroupQueryAttention"
    assert layer_class(spec) is keras.layers.GroupQueryAttention


@pytest.mark.parametrize(
    "name", ["JaxLayer", "FlaxLayer", "TorchModuleWrapper", "TFSMLayer", "Layer", "Wrapper", "InputLayer"]
)
def test_backend_wrappers_and_bases_are_left_out(catalog: Catalog, name: str) -> None:
    assert name not in catalog


@pytest.mark.parametrize("name", ["LSTMCell", "GRUCell", "SimpleRNNCell", "StackedRNNCells"])
def test_rnn_cells_are_parameters_not_nodes(catalog: Catalog, name: str) -> None:
    assert name not in catalog
    assert "RNN" in catalog and catalog["RNN"].param("cell").kind == "layer"


@pytest.mark.parametrize(
    ("key", "category"),
    [
        ("Dense", "core"),
        ("Conv2D", "convolutional"),
        ("MaxPooling2D", "pooling"),
        ("LSTM", "recurrent"),
        ("Bidirectional", "recurrent"),
        ("BatchNormalization", "normalization"),
        ("Dropout", "regularization"),
        ("MultiHeadAttention", "attention"),
        ("Reshape", "reshaping"),
        ("Concatenate", "merging"),
        ("ReLU", "activations"),
        ("Rescaling", "preprocessing"),
        ("RandomFlip", "preprocessing"),
    ],
)
def test_category_comes_from_the_keras_package(catalog: Catalog, key: str, category: str) -> None:
    assert catalog[key].category == category


def test_every_spec_is_plain_json_and_uses_known_kinds(catalog: Catalog) -> None:
    json.dumps(catalog.to_dict(), allow_nan=False)
    kinds = {param.kind for spec in catalog.values() for param in spec.params}
    assert kinds <= set(PARAM_KINDS)


def test_catalog_round_trips_through_json(catalog: Catalog) -> None:
    restored = Catalog.from_dict(json.loads(json.dumps(catalog.to_dict())))
    assert restored == catalog
    assert restored.version == catalog.version
    assert restored["MultiHeadAttention"].call_convention == "positional"


# ------------------------------------------------------------ parameter kinds
def test_conv2d_parameters(catalog: Catalog) -> None:
    spec = catalog["Conv2D"]
    kernel_size = spec.param("kernel_size")
    assert (kernel_size.kind, kernel_size.length, kernel_size.required) == ("tuple", 2, True)
    assert kernel_size.suggested == 3
    assert spec.param("strides").default == [1, 1]
    padding = spec.param("padding")
    assert (padding.kind, padding.choices, padding.default) == ("choice", ("valid", "same"), "valid")
    assert "causal" in catalog["Conv1D"].param("padding").choices
    data_format = spec.param("data_format")
    assert data_format.kind == "choice" and data_format.nullable and data_format.default is None


def test_activation_is_an_editable_nullable_choice(catalog: Catalog) -> None:
    activation = catalog["Dense"].param("activation")
    assert activation.kind == "choice" and activation.nullable and activation.editable
    assert {"relu", "softmax", "gelu", "linear"} <= set(activation.choices)
    assert catalog["LSTM"].param("recurrent_activation").default == "sigmoid"


def test_initializers_regularizers_and_constraints_are_choices(catalog: Catalog) -> None:
    spec = catalog["Dense"]
    initializer = spec.param("kernel_initializer")
    assert initializer.kind == "choice" and initializer.editable
    assert initializer.default == "glorot_uniform" and "he_normal" in initializer.choices
    regularizer = spec.param("kernel_regularizer")
    assert regularizer.nullable and {"l1", "l2", "l1l2"} <= set(regularizer.choices)
    constraint = spec.param("kernel_constraint")
    assert constraint.nullable and {"max_norm", "non_neg", "unit_norm"} <= set(constraint.choices)


def test_required_parameters_have_a_suggested_value(catalog: Catalog) -> None:
    units = catalog["Dense"].param("units")
    assert units.kind == "int" and units.required and units.suggested > 0
    rate = catalog["Dropout"].param("rate")
    assert rate.kind == "float" and rate.required and 0 < rate.suggested < 1
    for spec in catalog.values():
        for param in spec.params:
            assert not param.required or param.suggested is not None or param.nullable, (spec.key, param)


@pytest.mark.parametrize(
    ("key", "name", "kind"),
    [
        ("MaxPooling1D", "pool_size", "int"),
        ("MaxPooling2D", "strides", "tuple"),
        ("Cropping2D", "cropping", "any"),
        ("ZeroPadding2D", "padding", "tuple"),
        ("Reshape", "target_shape", "shape"),
        ("Dropout", "noise_shape", "shape"),
        ("Permute", "dims", "ints"),
        ("MultiHeadAttention", "attention_axes", "ints"),
        ("Dot", "axes", "tuple"),
        ("Concatenate", "axis", "int"),
        ("Discretization", "dtype", "dtype"),
        ("Bidirectional", "layer", "layer"),
        ("RNN", "cell", "layer"),
        ("LSTM", "return_sequences", "bool"),
        ("BatchNormalization", "momentum", "float"),
        ("RandomFlip", "mode", "choice"),
        ("EinsumDense", "equation", "str"),
    ],
)
def test_parameter_kinds(catalog: Catalog, key: str, name: str, kind: str) -> None:
    assert catalog[key].param(name).kind == kind


def test_parameters_without_a_json_form_are_left_out(catalog: Catalog) -> None:
    names = {param.name for spec in catalog.values() for param in spec.params}
    assert not names & {"name", "weights", "quantization_config"}


# ----------------------------------------------------------------- docstrings
def test_args_section_gives_each_parameter_its_text(catalog: Catalog) -> None:
    spec = catalog["Dense"]
    assert spec.param("units").doc == "Positive integer, dimensionality of the output space."
    assert spec.param("activation").doc.endswith('(ie. "linear" activation: `a(x) = x`).')
    assert spec.summary == "Just your regular densely-connected NN layer."
    assert spec.doc.startswith(spec.summary) and "Args:" in spec.doc


def test_parse_args_section_reads_keras_and_google_style() -> None:
    doc = """Summary line.

    Args:
        size: Integer, the size
            of the window.
        mode (str): One of `"a"` or `"b"`.

            Second paragraph.
        flag: Boolean.

    Returns:
        size: not an argument.
    """
    import inspect

    assert parse_args_section(inspect.cleandoc(doc)) == {
        "size": "Integer, the size of the window.",
        "mode": 'One of `"a"` or `"b"`. Second paragraph.',
        "flag": "Boolean.",
    }
    assert parse_args_section("No sections here.") == {}


# ------------------------------------------------------------ ports and calls
@pytest.mark.parametrize("key", ["Add", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"])
def test_merge_layers_take_a_variadic_list(catalog: Catalog, key: str) -> None:
    assert catalog[key].ports == MERGE_PORTS
    assert catalog[key].call_convention == "list"


@pytest.mark.parametrize("key", ["Subtract", "Dot"])
def test_two_input_merges_have_two_ports(catalog: Catalog, key: str) -> None:
    assert catalog[key].ports.inputs == ("x", "y") and not catalog[key].ports.variadic
    assert catalog[key].call_convention == "list"


def test_attention_ports(catalog: Catalog) -> None:
    for key in ("MultiHeadAttention", "GroupedQueryAttention"):
        assert catalog[key].ports.inputs == ("query", "value")
        assert catalog[key].call_convention == "positional"
    for key in ("Attention", "AdditiveAttention"):
        assert catalog[key].ports.inputs == ("query", "value")
        assert catalog[key].call_convention == "list"


def test_single_input_layers_and_call_flags(catalog: Catalog) -> None:
    dense = catalog["Dense"]
    assert dense.ports == PortLayout() and dense.call_convention == "single"
    assert catalog["Dropout"].call_training and not catalog["Dropout"].call_mask
    assert catalog["LSTM"].call_training and catalog["LSTM"].call_mask
    assert not catalog["Flatten"].call_training


# --------------------------------------------------------------- construction
@pytest.mark.parametrize("key", sorted(CATALOG))
def test_initial_params_construct(catalog: Catalog, key: str) -> None:
    spec = catalog[key]
    layer = construct(spec, spec.initial_params(), name="node")
    assert isinstance(layer, keras.layers.Layer)
    assert not layer.weights
    assert check_params(spec, spec.full_params(spec.initial_params())) == {}


def test_nested_layers_are_deserialized(catalog: Catalog) -> None:
    bidirectional = construct(catalog["Bidirectional"], catalog["Bidirectional"].initial_params())
    assert isinstance(bidirectional.forward_layer, keras.layers.LSTM)
    rnn = construct(catalog["RNN"], catalog["RNN"].initial_params())
    assert isinstance(rnn.cell, keras.layers.LSTMCell)
    cells = [{"class_name": "GRUCell", "config": {"units": 4}}] * 2
    stacked_cells = {"class_name": "StackedRNNCells", "config": {"cells": cells}}
    stacked = construct(catalog["RNN"], {"cell": stacked_cells})
    assert [type(cell) for cell in stacked.cell.cells] == [keras.layers.GRUCell] * 2
    gru = {"class_name": "GRU", "config": {"units": 4}}
    nested = {"class_name": "Bidirectional", "config": {"layer": gru}}
    distributed = construct(catalog["TimeDistributed"], {"layer": nested})
    assert isinstance(distributed.layer.forward_layer, keras.layers.GRU)
    serialized = keras.layers.serialize(keras.layers.LSTM(3))
    assert construct(catalog["Bidirectional"], {"layer": serialized}).forward_layer.units == 3


def test_to_keras_kwargs_turns_json_into_python(catalog: Catalog) -> None:
    kwargs = to_keras_kwargs(
        catalog["Conv2D"],
        {"filters": 8, "kernel_size": [3, 5], "strides": 2, "activation": None, "unknown": [1]},
    )
    assert kwargs == {"filters": 8, "kernel_size": (3, 5), "strides": 2, "activation": None, "unknown": [1]}
    layer = to_keras_kwargs(
        catalog["TimeDistributed"], {"layer": {"class_name": "Dense", "config": {"units": 4}}}
    )
    assert isinstance(layer["layer"], keras.layers.Dense) and layer["layer"].units == 4


def test_the_input_spec_constructs_an_input_layer() -> None:
    layer = construct(INPUT_SPEC, {"shape": [4, None]})
    assert isinstance(layer, keras.layers.InputLayer)
    assert check_params(INPUT_SPEC, {"shape": [4]}) == {}


# --------------------------------------------------------------- check_params
def test_check_params_returns_keras_message_under_the_parameter(catalog: Catalog) -> None:
    assert check_params(catalog["Dense"], {"units": -1}) == {
        "units": "Received an invalid value for `units`, expected a positive integer. Received: units=-1"
    }
    assert set(check_params(catalog["Dropout"], {"rate": 1.5})) == {"rate"}
    assert set(check_params(catalog["Conv2D"], {"filters": 8, "kernel_size": [3, 3, 3]})) == {"kernel_size"}
    assert set(check_params(catalog["Dense"], {"units": 4, "activation": "no_such"})) == {"activation"}
    assert set(check_params(catalog["Dense"], {"units": 4, "no_such": 1})) == {"no_such"}
    assert set(check_params(catalog["Dense"], {})) == {"units"}
    assert check_params(catalog["Dense"], {"units": 4, "activation": "relu"}) == {}


@pytest.mark.parametrize(
    "params",
    [
        {"units": "many"},
        {"units": [1, 2]},
        {"units": {"a": 1}},
        {"units": None},
        {"units": 4, "kernel_initializer": 3.5},
        {"units": 4, "kernel_regularizer": "nonsense"},
    ],
)
def test_check_params_never_raises(catalog: Catalog, params: dict) -> None:
    result = check_params(catalog["Dense"], params)
    assert isinstance(result, dict) and all(isinstance(text, str) and text for text in result.values())


@pytest.mark.parametrize("key", ["Bidirectional", "Conv2D", "Reshape", "Embedding"])
def test_check_params_with_nonsense_never_raises(catalog: Catalog, key: str) -> None:
    params = {param.name: {"bad": [object.__name__]} for param in catalog[key].params}
    assert isinstance(check_params(catalog[key], params), dict)


# ------------------------------------------------------------- default handling
def test_non_default_params_drops_defaults(catalog: Catalog) -> None:
    spec = catalog["Conv2D"]
    params = {
        "filters": 32,
        "kernel_size": 3,
        "strides": [1, 1],
        "padding": "valid",
        "activation": "relu",
        "use_bias": True,
    }
    assert spec.non_default_params(params) == {"filters": 32, "kernel_size": 3, "activation": "relu"}


# ----------------------------------------------------------- custom layer classes
class _Blend(keras.layers.Layer):
    """Blends two tensors.

    Args:
        weight: Float, how much of the second tensor to take.
        window: Integer or tuple of 2 integers, the window.
    """

    def __init__(self, weight: float = 0.5, window: tuple = (2, 2), units: int = 4, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.weight = weight

    def call(self, first: object, second: object, training: bool = False) -> object:
        return first * (1 - self.weight) + second * self.weight


def test_spec_from_class_serves_custom_layers() -> None:
    spec = spec_from_class(_Blend, key="blend._Blend", module="blend", category="user", source="user")
    assert isinstance(spec, LayerSpec)
    assert (spec.key, spec.class_name, spec.module, spec.source) == (
        "blend._Blend",
        "_Blend",
        "blend",
        "user",
    )
    assert [(p.name, p.kind, p.default) for p in spec.params] == [
        ("weight", "float", 0.5),
        ("window", "tuple", [2, 2]),
        ("units", "int", 4),
    ]
    assert spec.param("weight").doc == "Float, how much of the second tensor to take."
    assert spec.ports.inputs == ("first", "second") and spec.call_convention == "positional"
    assert spec.call_training and spec.summary == "Blends two tensors."


def test_optional_tensor_arguments_of_call_are_optional_ports(catalog: Catalog) -> None:
    attention = catalog["MultiHeadAttention"].ports
    assert attention.inputs == ("query", "value")
    assert attention.optional == ("key", "query_mask", "value_mask", "key_mask", "attention_mask")
    assert catalog["LSTM"].ports.optional == ("initial_state[0]", "initial_state[1]", "mask")
    assert catalog["GRU"].ports.optional == ("initial_state[0]", "mask")
    assert catalog["Attention"].ports.optional == ("mask[0]", "mask[1]")
    assert catalog["Dense"].ports.optional == () and catalog["Add"].ports.optional == ()


def test_outputs_that_follow_the_params(catalog: Catalog) -> None:
    assert catalog["LSTM"].ports.for_params({"return_state": True}).outputs == (
        "output",
        "state_h",
        "state_c",
    )
    assert catalog["SimpleRNN"].ports.for_params({"return_state": True}).outputs == ("output", "state")
    scores = catalog["MultiHeadAttention"].ports.for_params({"return_attention_scores": True})
    assert scores.outputs == ("output", "attention_scores")
    wrapped = {"layer": {"class_name": "LSTM", "config": {"units": 2, "return_state": True}}}
    assert len(catalog["Bidirectional"].ports.for_params(wrapped).outputs) == 5


def test_switches_of_call_are_call_params_kept_out_of_the_constructor(catalog: Catalog) -> None:
    spec = catalog["MultiHeadAttention"]
    switch = spec.param("return_attention_scores")
    assert switch is not None and switch.call and switch.kind == "bool" and switch.default is False
    params = {"num_heads": 2, "key_dim": 4, "return_attention_scores": True, "use_causal_mask": False}
    assert spec.call_params(params) == {"return_attention_scores": True}
    layer = construct(spec, params)
    assert isinstance(layer, keras.layers.MultiHeadAttention)


# --------------------------------------------------------------------- cache
def test_cache_is_written_once_and_read_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built = load_or_build_catalog(tmp_path)
    files = list(tmp_path.iterdir())
    assert [path.name for path in files] == [f"catalog-keras-{keras.__version__}.json"]

    def fail() -> Catalog:
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(keras_layers, "build_catalog", fail)
    assert load_or_build_catalog(tmp_path) == built


@pytest.mark.parametrize("content", ["{not json", json.dumps({"format": -1, "version": "x", "specs": []})])
def test_a_broken_or_stale_cache_is_rebuilt(tmp_path: Path, content: str) -> None:
    path = keras_layers.catalog_cache_path(tmp_path)
    path.write_text(content, encoding="utf-8")
    catalog = load_or_build_catalog(tmp_path)
    assert "Dense" in catalog
    assert json.loads(path.read_text(encoding="utf-8"))["version"] == catalog.version
