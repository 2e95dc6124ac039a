"""Benchmark: validate + infer a 1,000-node residual CNN, and one edit re-inferred incrementally.

Both are printed as ratios to the time Keras takes to build the same model
(`keras.Model`, weights allocated) in this same run. Targets: the full pass at
most 0.25x the Keras build; one edit at most 20 ms.
"""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.graphs import middle_node, residual_cnn
from bench.timing import timed
from designer.engine.analysis import default_catalog
from designer.engine.build import build_model
from designer.engine.inference import ShapeInference
from designer.graph.validation import validate


def main() -> None:
    catalog = default_catalog()
    graph = residual_cnn(catalog, 1000)
    build_model(graph, catalog)  # warm Keras up (first-call costs) before timing
    keras_build = timed(lambda: build_model(graph, catalog), repeat=2)

    def full_pass() -> None:
        validate(graph)
        ShapeInference(catalog).infer(graph)

    full = timed(full_pass, repeat=2)
    engine = ShapeInference(catalog)
    engine.infer(graph)
    target = middle_node(graph, "Conv2D")
    edits = []
    for activation in ["gelu", "relu", "tanh", None] * 3:
        params = {**graph.nodes[target].params, "activation": activation}
        graph.set_params(target, params)
        edits.append(timed(lambda: engine.infer(graph, [target])))
    edit = statistics.median(edits)
    # A harder edit: the middle conv's filters change, so its block's Add fails and
    # everything after it is blocked (then restored): the change travels to the end.
    reshaping = []
    feeding_add = next(
        n
        for n in graph.topological_order()[len(graph) // 2 :]
        if graph.nodes[n].type == "Conv2D" and _feeds_add(graph, n)
    )
    for filters in [8, 16] * 3:
        graph.set_params(feeding_add, {**graph.nodes[feeding_add].params, "filters": filters})
        reshaping.append(timed(lambda: engine.infer(graph, [feeding_add])))
    worst = statistics.median(reshaping)
    print(f"graph: {len(graph)} nodes, {len(graph.edges)} edges")
    print(f"keras.Model build (baseline): {keras_build * 1e3:8.1f} ms")
    report("full validate + infer", full, keras_build, "target <= 0.25x")
    report("one edit, incremental", edit, keras_build, "target <= 20 ms")
    report("one shape-changing edit", worst, keras_build, "no target")


def report(label: str, seconds: float, baseline: float, target: str) -> None:
    print(f"{label + ':':<30}{seconds * 1e3:8.2f} ms  = {seconds / baseline:.4f}x keras ({target})")


def _feeds_add(graph, node_id: str) -> bool:
    """Conv -> BatchNormalization -> Add: a change of filters breaks the Add."""
    [normalization] = [e.target for e in graph.output_edges(node_id)]
    return any(graph.nodes[e.target].type == "Add" for e in graph.output_edges(normalization))


if __name__ == "__main__":
    main()
