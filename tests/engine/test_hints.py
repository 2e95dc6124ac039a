"""Classic mistakes, inferred by real Keras, read in the designer's words and carry their fix."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from designer.catalog.spec import Catalog
from designer.engine.analysis import analyze
from designer.engine.hints import keras_text
from designer.graph.model import Edge, Node
from designer.graph.validation import Diagnostic

if TYPE_CHECKING:
    from tests.engine.conftest import GraphBuilder

KERAS_PLACEHOLDERS = (
    "'None'",
    "layer 'layer'",
    "ndim",
    "\x1b",
    "Exception encountered",
    "{{function_node",
    "[Op:",
)


def conv_after_dense(b: GraphBuilder) -> str:
    dense = b.chain(b.add("Input", shape=[64]), b.add("Dense", "dense_1", units=10))
    return b.chain(dense, b.add("Conv2D", "conv_1", filters=4, kernel_size=3))


def lstm_after_dense(b: GraphBuilder) -> str:
    dense = b.chain(b.add("Input", shape=[64]), b.add("Dense", "dense_1", units=10))
    return b.chain(dense, b.add("LSTM", "lstm_1", units=4))


def dense_after_conv(b: GraphBuilder) -> str:
    conv = b.chain(b.add("Input", shape=[8, 8, 3]), b.add("Conv2D", "conv_1", filters=4, kernel_size=3))
    return b.chain(conv, b.add("Dense", "dense_1", units=4))


def conv1d_on_an_image(b: GraphBuilder) -> str:
    return b.chain(b.add("Input", shape=[8, 8, 3]), b.add("Conv1D", "conv_1", filters=4, kernel_size=3))


def add_of_mismatched_shapes(b: GraphBuilder) -> str:
    wide = b.chain(b.add("Input", "a", shape=[4]), b.add("Dense", "wide", units=5))
    total = b.add("Add", "total")
    b.connect(wide, total, 0)
    b.connect(b.add("Input", "c", shape=[4]), total, 1)
    return total


def concatenate_of_mismatched_axes(b: GraphBuilder) -> str:
    joined = b.add("Concatenate", "joined")
    b.connect(b.add("Input", "a", shape=[4, 3]), joined, 0)
    b.connect(b.add("Input", "c", shape=[5, 2]), joined, 1)
    return joined


def kernel_larger_than_image(b: GraphBuilder) -> str:
    return b.chain(b.add("Input", shape=[8, 8, 3]), b.add("Conv2D", "conv_1", filters=4, kernel_size=30))


def reshape_to_another_size(b: GraphBuilder) -> str:
    return b.chain(b.add("Input", shape=[12]), b.add("Reshape", "reshape_1", target_shape=[5, 5]))


def dense_too_large_for_any_tensor(b: GraphBuilder) -> str:
    return b.chain(b.add("Input", shape=[64]), b.add("Dense", "dense_1", units=10**30))


def identity_initializer_on_a_conv_kernel(b: GraphBuilder) -> str:
    conv = b.add("Conv2D", "conv_1", filters=4, kernel_size=3, kernel_initializer="identity")
    return b.chain(b.add("Input", shape=[8, 8, 3]), conv)


def random_weights_of_an_integer_dtype(b: GraphBuilder) -> str:
    return b.chain(b.add("Input", shape=[64]), b.add("Dense", "dense_1", units=10, dtype="int32"))


MISTAKES = [
    conv_after_dense,
    lstm_after_dense,
    dense_after_conv,
    conv1d_on_an_image,
    add_of_mismatched_shapes,
    concatenate_of_mismatched_axes,
    kernel_larger_than_image,
    reshape_to_another_size,
    dense_too_large_for_any_tensor,
    identity_initializer_on_a_conv_kernel,
    random_weights_of_an_integer_dtype,
]


def node_errors(b: GraphBuilder, catalog: Catalog, node_id: str) -> list[Diagnostic]:
    b.output(node_id)
    return [d for d in analyze(b.graph, catalog).errors if d.node == node_id]


@pytest.mark.parametrize("mistake", MISTAKES, ids=lambda mistake: mistake.__name__)
def test_a_classic_mistake_names_the_node_and_never_keras_placeholders(
    mistake: Callable[[GraphBuilder], str], builder, catalog
) -> None:
    b = builder()
    node_id = mistake(b)
    [diagnostic] = node_errors(b, catalog, node_id)
    node = b.graph.node(node_id)
    assert diagnostic.message.startswith(f"{node.name} ({node.type})")
    for text in (diagnostic.message, diagnostic.hint):
        assert not any(placeholder in text for placeholder in KERAS_PLACEHOLDERS), text
    assert diagnostic.hint


def test_conv_after_dense_reads_as_the_designer_says_it(builder, catalog) -> None:
    b = builder()
    [diagnostic] = node_errors(b, catalog, conv_after_dense(b))
    assert diagnostic.message == (
        "conv_1 (Conv2D) expects a rank-4 input (batch, height, width, channels), "
        "got (None, 10) from dense_1."
    )
    assert diagnostic.hint == "Insert a Reshape before conv_1, or start from an image input."
    assert diagnostic.fix is None  # (10,) as a (10, 1, 1) image is no fix: the person chooses the shape


def test_merges_name_every_input_and_where_it_came_from(builder, catalog) -> None:
    b = builder()
    [added] = node_errors(b, catalog, add_of_mismatched_shapes(b))
    assert "got (None, 5) from wide and (None, 4) from c" in added.message
    b = builder()
    [joined] = node_errors(b, catalog, concatenate_of_mismatched_axes(b))
    assert "along axis -1" in joined.message and "(None, 5, 2) from c" in joined.message
    assert "`axis`" in joined.hint


def test_a_window_larger_than_the_input_names_the_parameter(builder, catalog) -> None:
    b = builder()
    [diagnostic] = node_errors(b, catalog, kernel_larger_than_image(b))
    assert "`kernel_size` is larger than its input, (None, 8, 8, 3) from input" in diagnostic.message
    assert "padding" in diagnostic.hint


def apply_fix(b: GraphBuilder, catalog: Catalog, diagnostic: Diagnostic) -> str:
    """Do what the one-click fix does, on the graph: splice the layer into the edge."""
    fix = diagnostic.fix
    assert fix is not None
    spec = catalog[fix.insert]
    params = {**spec.initial_params(), **fix.params}
    node = Node(b.graph.new_id(), fix.insert, b.graph.unique_name("fix"), params, ports=spec.ports)
    b.graph.add_node(node)
    b.graph.disconnect(fix.edge)
    b.graph.connect(Edge(fix.edge.source, fix.edge.source_port, node.id, 0))
    b.graph.connect(Edge(node.id, 0, fix.edge.target, fix.edge.target_port))
    return node.id


def sequence_conv_on_a_matrix(b: GraphBuilder) -> str:
    return b.chain(b.add("Input", shape=[28, 28]), b.add("Conv2D", "conv_1", filters=4, kernel_size=3))


@pytest.mark.parametrize(
    "mistake", [dense_after_conv, lstm_after_dense, sequence_conv_on_a_matrix], ids=lambda m: m.__name__
)
def test_the_fix_a_diagnostic_carries_repairs_the_design(mistake, builder, catalog) -> None:
    b = builder()
    node_id = mistake(b)
    [diagnostic] = node_errors(b, catalog, node_id)
    assert diagnostic.fix is not None and diagnostic.fix.edge == b.graph.input_edges(node_id)[0]
    apply_fix(b, catalog, diagnostic)
    assert analyze(b.graph, catalog).errors == []


def test_a_fix_travels_as_json_between_the_engine_and_the_gui(builder, catalog) -> None:
    b = builder()
    [diagnostic] = node_errors(b, catalog, lstm_after_dense(b))
    assert diagnostic.fix is not None and diagnostic.fix.params == {"target_shape": [10, 1]}
    travelled = Diagnostic.from_dict(json.loads(json.dumps(diagnostic.to_dict())))
    assert travelled == diagnostic


def test_keras_text_drops_colours_banners_and_placeholder_names() -> None:
    raw = (
        "Exception encountered when calling Reshape.call().\n\n\x1b[1mInput 0 with name 'None' of layer "
        "'layer' is incompatible with the layer: expected ndim=3\x1b[0m"
    )
    assert keras_text(raw) == "Input 0 is incompatible with the layer: expected ndim=3"


def test_keras_text_drops_tensorflow_kernel_names() -> None:
    raw = (
        "{{function_node __wrapped__StatelessRandomUniformIntV2_device_/job:localhost/replica:0/task:0/"
        "device:CPU:0}} Need minval < maxval, got 0 >= 0 [Op:StatelessRandomUniformIntV2] name: "
    )
    assert keras_text(raw.strip()) == "Need minval < maxval, got 0 >= 0"
