"""The design as `keras.Sequential([...])`, when it is a plain chain of layers."""

from __future__ import annotations

from collections.abc import Mapping

from designer.catalog.spec import LayerSpec
from designer.codegen.errors import CodegenError
from designer.codegen.formatting import finish
from designer.codegen.functional import module_source
from designer.codegen.plan import live_nodes, plan_model
from designer.codegen.rendering import string
from designer.graph.model import ModelGraph


def can_be_sequential(graph: ModelGraph) -> bool:
    """One input, one output, and in between a single chain of single-input,
    single-output layers that share nothing."""
    return sequential_problem(graph) is None


def sequential_problem(graph: ModelGraph) -> str | None:
    """Why `graph` cannot be written as keras.Sequential, or None if it can."""
    inputs = graph.input_nodes()
    if len(inputs) != 1 or len(graph.outputs) != 1:
        return "a Sequential model has exactly one input and one output"
    live = live_nodes(graph)
    owners = {node.shares for node in graph if node.shares is not None}
    chain = [inputs[0].id]
    while True:
        edges = [edge for edge in graph.output_edges(chain[-1]) if edge.target in live]
        if not edges:
            break
        if len(edges) > 1:
            return f"'{graph.node(chain[-1]).name}' feeds more than one layer"
        node = graph.node(edges[0].target)
        if node.shares is not None or node.id in owners:
            return f"'{node.name}' shares its layer"
        ports = node.ports
        if ports.variadic or len(ports.inputs) != 1 or len(ports.outputs) != 1 or edges[0].target_port != 0:
            return f"'{node.name}' does not take exactly one input and give one output"
        chain.append(node.id)
    output = graph.outputs[0]
    if len(chain) != len(live) or (output.node, output.port) != (chain[-1], 0):
        return "the layers do not form a single chain from the input to the output"
    return None


def generate_sequential(
    graph: ModelGraph,
    catalog: Mapping[str, LayerSpec],
    *,
    self_contained: bool = False,
    format_code: bool = True,
) -> str:
    """Python source of a module whose `build_model()` returns a keras.Sequential."""
    problem = sequential_problem(graph)
    if problem is not None:
        raise CodegenError(
            f"'{graph.name}' cannot be written as keras.Sequential: {problem}. Use the Functional style."
        )
    plan = plan_model(graph, catalog, self_contained=self_contained)
    switched = next((call for call in plan.layer_calls if call.spec.call_params(call.owner.params)), None)
    if switched is not None:  # keras.Sequential calls each layer with its input alone
        switches = ", ".join(
            f"{k}={v!r}" for k, v in switched.spec.call_params(switched.owner.params).items()
        )
        raise CodegenError(
            f"'{graph.name}' cannot be written as keras.Sequential: '{switched.node.name}' is called with "
            f"{switches}. Use the Functional style."
        )
    items = [plan.input_constructor(plan.inputs[0])]
    items += [plan.constructors[call.owner.id] for call in plan.layer_calls]
    definition = [
        "def build_model() -> keras.Model:",
        "    return keras.Sequential(",
        "        [",
        *(f"            {item}," for item in items),
        "        ],",
        f"        name={string(graph.name)},",
        "    )",
    ]
    source = module_source(plan, "a keras.Sequential model", definition)
    return finish(source, local_modules=plan.imports.local_modules) if format_code else source
