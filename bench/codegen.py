"""Benchmark: code generation for 1,000-node graphs, per style.

Prints, for a residual graph (Functional and subclassed) and a plain chain
(all three styles), the time to write the source before formatting, as a
ratio of the 200 ms budget, and the time `finish` (ruff: sort imports,
format, check) takes on it. Keras-free: the catalog is written out here.

    python bench/codegen.py [--nodes 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from designer.catalog.spec import Catalog, LayerSpec, ParamSpec
from designer.codegen.formatting import finish
from designer.codegen.functional import generate_functional
from designer.codegen.sequential import generate_sequential
from designer.codegen.subclassed import generate_subclassed
from designer.graph.model import MERGE_PORTS, Edge, ModelGraph, Node, PortLayout

BUDGET_S = 0.200
GENERATORS: dict[str, Callable[..., str]] = {
    "functional": generate_functional,
    "subclassed": generate_subclassed,
    "sequential": generate_sequential,
}


def catalog() -> Catalog:
    def spec(name: str, params: tuple[ParamSpec, ...], **kw: object) -> LayerSpec:
        return LayerSpec(
            key=name, class_name=name, module="keras.layers", category="bench", params=params, **kw
        )  # type: ignore[arg-type]

    return Catalog(
        [
            spec(
                "Dense",
                (
                    ParamSpec("units", "int", required=True, suggested=32),
                    ParamSpec("activation", "choice", default=None, nullable=True),
                ),
                call_convention="single",
            ),
            spec("Dropout", (ParamSpec("rate", "float", required=True, suggested=0.1),), call_training=True),
            spec("Add", (), ports=MERGE_PORTS, call_convention="list"),
        ]
    )


def residual_graph(nodes: int) -> ModelGraph:
    """input -> [dense -> dropout -> add(previous, dropout)] * ((nodes - 1) // 3)."""
    graph = ModelGraph("residual")
    previous = _add(graph, "Input", "features", {"shape": [32]}, [], PortLayout(inputs=()))
    for block in range((nodes - 1) // 3):
        dense = _add(graph, "Dense", f"dense_{block}", {"units": 32, "activation": "relu"}, [previous])
        dropout = _add(graph, "Dropout", f"dropout_{block}", {"rate": 0.1}, [dense])
        previous = _add(graph, "Add", f"add_{block}", {}, [previous, dropout], MERGE_PORTS)
    graph.mark_output(previous, 0, "prediction")
    return graph


def chain_graph(nodes: int) -> ModelGraph:
    graph = ModelGraph("chain")
    previous = _add(graph, "Input", "features", {"shape": [32]}, [], PortLayout(inputs=()))
    for index in range(nodes - 1):
        if index % 2:
            previous = _add(graph, "Dropout", f"dropout_{index}", {"rate": 0.1}, [previous])
        else:
            previous = _add(graph, "Dense", f"dense_{index}", {"units": 32, "activation": "relu"}, [previous])
    graph.mark_output(previous, 0, "prediction")
    return graph


def _add(
    graph: ModelGraph,
    type_: str,
    name: str,
    params: dict[str, object],
    sources: list[str],
    ports: PortLayout | None = None,
) -> str:
    node = graph.add_node(Node(graph.new_id(), type_, name, params, ports=ports or PortLayout()))
    for port, source in enumerate(sources):
        graph.connect(Edge(source, 0, node.id, port))
    return node.id


def best_of(repeat: int, function: Callable[[], str]) -> tuple[float, str]:
    times = []
    result = ""
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    specs = catalog()
    graphs = {"residual": residual_graph(args.nodes), "chain": chain_graph(args.nodes)}
    print(f"codegen, {args.nodes}-node graphs, best of {args.repeat}; budget {BUDGET_S * 1000:.0f} ms")
    print(f"{'graph':<9} {'style':<11} {'generate':>10} {'/budget':>8} {'finish':>9} {'lines':>6}")
    for graph_name, graph in graphs.items():
        for style, generate in GENERATORS.items():
            if graph_name == "residual" and style == "sequential":
                continue
            seconds, source = best_of(args.repeat, lambda g=graph, f=generate: f(g, specs, format_code=False))
            format_seconds, formatted = best_of(max(1, args.repeat // 2), lambda s=source: finish(s))
            print(
                f"{graph_name:<9} {style:<11} {seconds * 1000:>8.1f}ms {seconds / BUDGET_S:>8.2f} "
                f"{format_seconds * 1000:>7.1f}ms {formatted.count(chr(10)):>6}"
            )


if __name__ == "__main__":
    main()
