"""PortLayout's optional inputs and params-dependent outputs, without Keras: how tensors by
port become a call's arguments, which outputs the params give, the JSON form, and the graph
refusing a params change that would drop a connected output."""

from __future__ import annotations

import pytest

from designer.catalog.spec import imported_spec
from designer.graph.errors import PortError, ProjectError
from designer.graph.model import INPUT_PORTS, Edge, ModelGraph, Node, OutputRule, PortLayout

ATTENTION = PortLayout(
    inputs=("query", "value"),
    min_inputs=2,
    optional=("key", "query_mask", "value_mask", "key_mask", "attention_mask"),
)
LSTM = PortLayout(
    optional=("initial_state[0]", "initial_state[1]", "mask"),
    output_rules=(OutputRule((("return_state", True),), ("state_h", "state_c")),),
)
BIDIRECTIONAL = PortLayout(
    output_rules=(
        OutputRule(
            (("layer.class_name", "GRU"), ("layer.config.return_state", True)),
            ("forward_state", "backward_state"),
        ),
    )
)


def test_optional_ports_follow_the_fixed_ones() -> None:
    assert ATTENTION.input_names()[2] == "key"
    assert [ATTENTION.is_optional(port) for port in range(8)] == [
        False,
        False,
        True,
        True,
        True,
        True,
        True,
        False,
    ]
    assert ATTENTION.accepts_input_port(6) and not ATTENTION.accepts_input_port(7)


def test_tensors_by_port_become_positional_and_keyword_arguments() -> None:
    assert ATTENTION.split_arguments({0: "q", 1: "v", 6: "m", 2: "k"}) == (
        ["q", "v"],
        {"key": "k", "attention_mask": "m"},
    )
    assert LSTM.split_arguments({0: "x", 2: "c"}) == (["x"], {"initial_state": [None, "c"]})
    assert LSTM.split_arguments({0: "x", 1: "h", 2: "c", 3: "m"}) == (
        ["x"],
        {"initial_state": ["h", "c"], "mask": "m"},
    )


def test_outputs_follow_the_params_and_back() -> None:
    with_states = LSTM.for_params({"units": 4, "return_state": True})
    assert with_states.outputs == ("output", "state_h", "state_c")
    assert with_states.for_params({"units": 4}).outputs == ("output",)
    nested = {"layer": {"class_name": "GRU", "config": {"units": 4, "return_state": True}}}
    assert BIDIRECTIONAL.for_params(nested).outputs == ("output", "forward_state", "backward_state")
    assert BIDIRECTIONAL.for_params({"layer": {"class_name": "LSTM", "config": {}}}).outputs == ("output",)


def test_the_json_form_round_trips_and_stays_as_it_was_without_optional_ports() -> None:
    assert PortLayout.from_dict(LSTM.to_dict()) == LSTM
    assert PortLayout.from_dict(ATTENTION.to_dict()) == ATTENTION
    assert set(PortLayout().to_dict()) == {"inputs", "outputs", "variadic", "min_inputs"}


def test_a_damaged_output_rule_in_a_project_spec_is_a_project_error() -> None:
    ports = {**LSTM.to_dict(), "output_rules": [{"when": [["return_state"]], "outputs": ["state"]}]}
    data = {
        "key": "x.L",
        "class_name": "L",
        "module": "x",
        "category": "custom",
        "params": [],
        "ports": ports,
    }
    with pytest.raises(ProjectError, match="expected \\[param, value\\]"):
        imported_spec(data, "$.imported_specs[0]", None)


def lstm_graph() -> ModelGraph:
    graph = ModelGraph()
    graph.add_node(Node("i", "Input", "sequence", {"shape": [5, 3]}, ports=INPUT_PORTS))
    for node_id, name in (("a", "encoder"), ("b", "decoder")):
        params = {"units": 4, "return_state": True}
        graph.add_node(Node(node_id, "LSTM", name, params, ports=LSTM.for_params(params)))
        graph.connect(Edge("i", 0, node_id, 0))
    return graph


def test_a_params_change_that_drops_a_connected_output_is_refused() -> None:
    graph = lstm_graph()
    graph.connect(Edge("a", 1, "b", 1))
    with pytest.raises(PortError, match="removes output 'state_h' of 'encoder', which feeds decoder"):
        graph.set_params("a", {"units": 4})
    assert graph.node("a").ports.outputs == ("output", "state_h", "state_c")
    graph.mark_output("b", 2, "cell")
    with pytest.raises(PortError, match="feeds the model output 'cell'"):
        graph.check_params("b", {"units": 4})
    graph.set_params("a", {"units": 8, "return_state": True})  # the states stay: allowed
    assert graph.node("a").params["units"] == 8


def test_a_sharer_gets_the_outputs_of_its_owner() -> None:
    graph = lstm_graph()
    graph.add_node(Node("c", "LSTM", "again", {}, ports=LSTM, shares="a"))
    assert graph.node("c").ports.outputs == ("output", "state_h", "state_c")
    graph.set_params("a", {"units": 4})
    assert graph.node("c").ports.outputs == ("output",)
