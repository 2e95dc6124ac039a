"""One place that answers "what is wrong with this design, and what are its shapes".

Structural validation (designer.graph.validation) and shape inference together,
as the CLI, the tests and the engine host all want them, plus the catalog the
engine process serves (Keras' layers and the library in layers/). Each node's
result carries Keras' complaints about its params (`with_param_errors`), so one
analysis tells the GUI both the shapes and what to show beside each field.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from designer.catalog.expressions import lambda_expressions
from designer.catalog.keras_layers import build_catalog, check_params
from designer.catalog.lambda_layer import trust_lambdas
from designer.catalog.spec import Catalog, LayerSpec
from designer.catalog.user_modules import (
    LoadedModules,
    ModuleProblem,
    expand_paths,
    library_specs,
    load_paths,
)
from designer.engine.inference import NodeResult, ShapeInference
from designer.engine.rules import design_rules
from designer.graph import project
from designer.graph.errors import ProjectError
from designer.graph.model import ModelGraph
from designer.graph.validation import Diagnostic, validate
from designer.trust import TrustStore, local_imports

_CATALOG: Catalog | None = None


def default_catalog() -> Catalog:
    """The catalog of this process, built once: Keras' layers and the library in layers/."""
    global _CATALOG
    if _CATALOG is None:
        _CATALOG = build_catalog().merged(library_specs())
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
    return Analysis(diagnose(graph, engine.results), with_param_errors(graph, catalog, engine.results))


def with_param_errors(
    graph: ModelGraph, catalog: Catalog, results: Mapping[str, NodeResult]
) -> dict[str, NodeResult]:
    """`results` with Keras' complaints about each node's own params (`check_params`).

    Only a node whose inference failed can have any: one that inferred was constructed
    from the same params. A custom layer is not constructed again when inference never
    reached it (an upstream problem): its code runs only where the engine's guard watches.
    """
    checked = dict(results)
    for node_id, result in results.items():
        node = graph.nodes.get(node_id)
        spec = catalog.get(node.type) if node is not None and node.shares is None else None
        if node is None or spec is None or result.ok or (result.blocked and spec.source == "user"):
            continue
        errors = _checked_params(spec, node.params)
        if errors:
            checked[node_id] = dataclasses.replace(result, param_errors=tuple(errors.items()))
    return checked


_PARAM_CHECKS: dict[tuple[int, str], tuple[LayerSpec, dict[str, str]]] = {}
PARAM_CHECK_LIMIT = 2048


def _checked_params(spec: LayerSpec, params: Mapping[str, Any]) -> dict[str, str]:
    """`check_params`, remembered per spec (this very object: a reloaded layer is another) and params."""
    key = (id(spec), json.dumps(params, sort_keys=True, default=repr))
    known = _PARAM_CHECKS.get(key)
    if known is not None and known[0] is spec:
        return known[1]
    if len(_PARAM_CHECKS) >= PARAM_CHECK_LIMIT:
        _PARAM_CHECKS.clear()
    errors = check_params(spec, params)
    _PARAM_CHECKS[key] = (spec, errors)
    return errors


def diagnose(graph: ModelGraph, results: Mapping[str, NodeResult]) -> list[Diagnostic]:
    """Structural diagnostics first, then each node's from inference, then the design rules."""
    diagnostics = list(validate(graph))
    for node_id in graph.nodes:
        diagnostics.extend(results[node_id].diagnostics if node_id in results else ())
    diagnostics.extend(design_rules(graph, results))
    return diagnostics


def load_project(path: str | Path, catalog: Catalog) -> project.Project:
    return project.load(path, catalog.ports_of, type_key=catalog.canonical_key)


@dataclass
class OpenedProject:
    """A project, the catalog it needs, and the custom-layer files that failed to load."""

    project: project.Project
    catalog: Catalog
    problems: list[ModuleProblem] = field(default_factory=list)


def open_project(
    path: str | Path, *, trust: bool = False, layers: Sequence[str | Path] = ()
) -> OpenedProject:
    """A project with the catalog it needs: Keras' layers, the library, the specs its import
    made and its custom-layer files plus `layers` (files or folders, `designer ... --layers`),
    which run only when `trust` is given or the user trusted them before (designer.trust).
    `trust` is the consent to run the project's Lambda expressions too; without it, an untrusted
    one is an error on its node."""
    data = project.read_data(path)
    catalog = default_catalog().with_project_specs(data, str(path))  # an import's keras.ops nodes and classes
    files = [*custom_layer_files(path, data), *map(Path, layers)]
    loaded = _trusted_layers(path, files, trust) if files else LoadedModules()
    catalog = catalog.merged(loaded.specs)
    loaded_project = project.from_dict(data, catalog.ports_of, str(path), type_key=catalog.canonical_key)
    if trust:
        trust_lambdas(lambda_expressions(loaded_project.graph))
    return OpenedProject(loaded_project, catalog, loaded.problems)


def custom_layer_files(path: str | Path, data: object) -> list[Path]:
    """The .py files or folders a project's "custom_layers" names, relative to the project."""
    entries = data.get("custom_layers") if isinstance(data, dict) else None
    folder = Path(path).parent
    if not isinstance(entries, list):
        return []  # the project's reading reports it
    return [folder / entry for entry in entries if isinstance(entry, str)]


def _named_with_imports(file: Path) -> str:
    """The file, with the modules of its folder that it imports (they run with it)."""
    imports = local_imports(file)
    return f"{file} (importing {', '.join(str(module) for module in imports)})" if imports else str(file)


def _trusted_layers(path: str | Path, files: list[Path], trust: bool) -> LoadedModules:
    store = TrustStore()
    untrusted = [
        f for f in expand_paths(files) if f.exists() and not store.is_trusted(f)
    ]  # missing: a warning
    if untrusted and not trust:
        names = ", ".join(_named_with_imports(f) for f in untrusted)
        raise ProjectError(
            f"the project runs custom layer code from {names}: pass --trust to allow it",
            "$.custom_layers",
            str(path),
        )
    if untrusted:
        with contextlib.suppress(OSError):  # --trust is this run's consent: an unwritable store forgets it
            store.trust(untrusted)
    return load_paths(files)
