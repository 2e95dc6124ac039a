"""Python names of nodes: readable, unique, deterministic, clashes renamed and reported."""

from __future__ import annotations

import builtins
import keyword
from collections.abc import Iterable

import pytest
from codegen_helpers import GraphBuilder, clash_graph, custom_graph, shared_graph

from designer.catalog.spec import Catalog
from designer.codegen.naming import RESERVED, class_name, identifier_stem, python_names
from designer.graph.errors import NameError_
from designer.graph.model import ModelGraph, Node


def test_names_that_clash_are_renamed_and_reported(catalog: Catalog) -> None:
    graph = clash_graph(catalog)
    names = python_names(graph)
    by_name = {graph.node(node_id).name: name for node_id, name in names.nodes.items()}
    assert by_name["input"] == "input_"  # a builtin
    assert by_name["keras"] == "keras_"  # a module the code imports
    assert by_name["layers"] == "layers_"  # `from keras import layers`, and a keras.Model attribute
    assert by_name["model"] == "model_"
    assert by_name["name"] == "name_"  # keras.Model.name
    assert by_name["list"] == "list_1"  # "list_" is another node's own name, which it keeps
    assert by_name["list_"] == "list_"
    assert names.renamed == {
        "input": "input_",
        "list": "list_1",
        "keras": "keras_",
        "layers": "layers_",
        "model": "model_",
        "name": "name_",
    }


class UncheckedGraph(ModelGraph):
    """Takes any node name: codegen must not rely on the graph's own name checks."""

    def check_name(self, name: str, node_id: str | None = None, others: Iterable[Node] = ()) -> None:
        return None


def test_keywords_and_non_identifiers_become_identifiers() -> None:
    graph = UncheckedGraph("unchecked")
    for index, name in enumerate(["class", "lambda", "2nd layer", "print"]):
        graph.add_node(Node(f"n{index}", "Dense", name))
    assert python_names(graph).renamed == {
        "class": "class_",
        "lambda": "lambda_",
        "2nd layer": "layer_2nd_layer",
        "print": "print_",
    }


def test_leading_underscores_are_refused_by_the_graph(catalog: Catalog) -> None:
    # TensorFlow refuses "_features" as a layer's name scope, so the design never holds one.
    b = GraphBuilder("private", catalog)
    with pytest.raises(NameError_, match="underscore"):
        b.input("_features", [3])


def test_names_are_unique_identifiers_outside_the_reserved_set(catalog: Catalog) -> None:
    names = python_names(clash_graph(catalog))
    values = list(names.nodes.values())
    assert len(set(values)) == len(values)
    for name in values:
        assert name.isidentifier() and not keyword.iskeyword(name)
        assert name not in RESERVED and not hasattr(builtins, name)


def test_names_are_deterministic(catalog: Catalog) -> None:
    graph = clash_graph(catalog)
    assert python_names(graph) == python_names(graph.copy())


def test_plain_names_are_kept(catalog: Catalog) -> None:
    names = python_names(shared_graph(catalog))
    assert sorted(names.nodes.values()) == ["encoder", "encoder_right", "left", "pair", "right", "same"]
    assert names.renamed == {}


def test_a_shared_layer_gets_a_variable_of_its_own(catalog: Catalog) -> None:
    graph = shared_graph(catalog)
    names = python_names(graph)
    owner = graph.node_by_name("encoder")
    assert owner is not None
    assert names.layers == {owner.id: "encoder_layer"}


def test_each_output_of_a_multi_output_layer_gets_a_variable(custom_catalog: Catalog) -> None:
    graph = custom_graph(custom_catalog)
    names = python_names(graph)
    split = graph.node_by_name("split")
    assert split is not None
    assert names.tensor(split.id, 0) == "split_first"
    assert names.tensor(split.id, 1) == "split_second"


def test_extra_reserved_names_are_avoided(catalog: Catalog) -> None:
    graph = shared_graph(catalog)
    names = python_names(graph, reserved={"encoder", "Scale"})
    assert "encoder" not in names.nodes.values()
    assert names.renamed == {"encoder": "encoder_"}


def test_identifier_stems_and_class_names() -> None:
    assert identifier_stem("dense") == "dense"
    assert identifier_stem("__init__") == "init__"
    assert identifier_stem("2d conv") == "layer_2d_conv"
    assert identifier_stem("") == "layer"
    assert class_name("mnist_cnn") == "MnistCnn"
    assert class_name("model") == "Model"
    assert class_name("3d") == "Model3d"
