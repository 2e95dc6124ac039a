"""Graph -> Python source text (Functional, subclassed, Sequential, training script). Keras-free.

`export` is the one call the CLI and the UI need: the files of an export by
name. Refusing a design with errors is the caller's job (it owns the
validator); it raises `ExportRefused` with the diagnostics.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from designer.catalog.spec import LayerSpec
from designer.codegen.errors import CodegenError, ExportRefused
from designer.codegen.functional import generate_functional
from designer.codegen.naming import NameMap, python_names
from designer.codegen.sequential import can_be_sequential, generate_sequential
from designer.codegen.subclassed import generate_subclassed
from designer.codegen.training_script import (
    DEFAULT_TRAINING_CONFIG,
    STYLES,
    generate_training_script,
    resolve_config,
)
from designer.graph.model import ModelGraph

__all__ = [
    "DEFAULT_TRAINING_CONFIG",
    "STYLES",
    "CodegenError",
    "ExportRefused",
    "NameMap",
    "can_be_sequential",
    "export",
    "generate_functional",
    "generate_model",
    "generate_sequential",
    "generate_subclassed",
    "generate_training_script",
    "python_names",
    "resolve_config",
]

MODEL_FILE = "model.py"
TRAINING_FILE = "train.py"


def generate_model(
    graph: ModelGraph,
    catalog: Mapping[str, LayerSpec],
    style: str = "functional",
    *,
    self_contained: bool = False,
) -> str:
    """The model module in one of `STYLES`."""
    generators = {
        "functional": generate_functional,
        "subclassed": generate_subclassed,
        "sequential": generate_sequential,
    }
    if style not in generators:
        raise CodegenError(f"Unknown code style {style!r}; expected one of {', '.join(STYLES)}.")
    return generators[style](graph, catalog, self_contained=self_contained)


def export(
    graph: ModelGraph,
    catalog: Mapping[str, LayerSpec],
    style: str = "functional",
    *,
    self_contained: bool = False,
    with_training: bool = False,
    training_config: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """The exported files by name: model.py, and train.py when `with_training`."""
    files = {MODEL_FILE: generate_model(graph, catalog, style, self_contained=self_contained)}
    if with_training:
        config = DEFAULT_TRAINING_CONFIG if training_config is None else training_config
        files[TRAINING_FILE] = generate_training_script(
            graph, config, model_module=MODEL_FILE.removesuffix(".py"), style=style
        )
    return files
