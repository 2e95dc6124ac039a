"""The analysis carries each node's parameter errors: Keras' own message under the parameter it
names, for the node whose params are wrong, and for a node behind an upstream error too."""

from __future__ import annotations

from collections.abc import Callable

from designer.catalog.keras_layers import check_params
from designer.catalog.spec import Catalog
from designer.engine.analysis import analyze
from designer.engine.results import NodeResult


def test_a_bad_parameter_is_in_its_nodes_result(builder: Callable, catalog: Catalog) -> None:
    b = builder()
    inputs = b.add("Input", shape=[8])
    dense = b.chain(inputs, b.add("Dense", "hidden", units=-3))
    b.output(b.chain(dense, b.add("Dense", "head", units=2)))
    results = analyze(b.graph, catalog).results
    errors = dict(results[dense].param_errors)
    assert errors == check_params(catalog["Dense"], {"units": -3}) and "positive integer" in errors["units"]
    assert all(not result.param_errors for node, result in results.items() if node != dense)


def test_a_blocked_node_still_has_its_parameter_errors(builder: Callable, catalog: Catalog) -> None:
    b = builder()
    first = b.chain(b.add("Input", shape=[8]), b.add("Dense", "first", units=-1))
    second = b.chain(first, b.add("Dropout", "drop", rate=1.5))
    b.output(second)
    results = analyze(b.graph, catalog).results
    assert results[second].blocked and set(dict(results[second].param_errors)) == {"rate"}


def test_parameter_errors_travel_as_json() -> None:
    result = NodeResult(param_errors=(("units", "units must be positive"), ("", "the layer as a whole")))
    data = result.to_dict()
    assert data["param_errors"] == {"units": "units must be positive", "": "the layer as a whole"}
    assert NodeResult.from_dict(data) == result
    del data["param_errors"]  # an older engine's reply
    assert NodeResult.from_dict(data).param_errors == ()
