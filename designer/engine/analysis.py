"""One place that answers "what is wrong with this design, and what are its shapes".

Structural validation (designer.graph.validation) and shape inference together,
as the CLI, the tests and the engine host all want them, plus the catalog the
engine process serves (Keras' layers and the library in layers/).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from designer.catalog.keras_layers import build_catalog
from designer.catalog.spec import Catalog
from designer.engine.inference import NodeResult, ShapeInference
from designer.graph import project
from designer.graph.model import ModelGraph
from designer.graph.validation import Diagnostic, validate

_CATALOG: Catalog | None = None


def default_catalog() -> Catalog:
    """The catalog of this process, built once."""
    global _CATALOG
    if _CATALOG is None:
        _CATALOG = build_catalog()
    return _CATALOG


@dataclass
class Analysis:
    """Diagnostics of a design (structure first, then layers) and every node's inference result."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    results: dict[str, NodeResult] = field(default_factory=dict)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    def totals(self) -> tuple[int, int]:
        """(trainable, non-trainable) parameters of the whole model."""
        trainable = sum(r.trainable for r in self.results.values())
        return trainable, sum(r.non_trainable for r in self.results.values())


def analyze(graph: ModelGraph, catalog: Catalog, engine: ShapeInference | None = None) -> Analysis:
    """Validate and infer; an `engine` keeps its cache between calls."""
    engine = engine or ShapeInference(catalog)
    engine.infer(graph)
    diagnostics = list(validate(graph))
    for node_id in graph.nodes:
        diagnostics.extend(engine.results[node_id].diagnostics if node_id in engine.results else ())
    return Analysis(diagnostics, dict(engine.results))


def load_project(path: str | Path, catalog: Catalog) -> project.Project:
    return project.load(path, catalog.ports_of)
