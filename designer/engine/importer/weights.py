"""The imported weights: written for the design, and loaded by layer name into an edited one."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import h5py
import keras
from keras.src.saving import saving_lib
from keras.src.utils.naming import to_snake_case

from designer.catalog.spec import Catalog
from designer.engine.build import build_model
from designer.engine.importer.base import (
    LAYER_PATHS_ATTRIBUTE,
    WEIGHTS_SUFFIX,
    ImportRefused,
    first_line,
    identifier_path,
    is_model,
)
from designer.graph.model import ModelGraph

if TYPE_CHECKING:  # the walk writes the weights through this module
    from designer.engine.importer.walk import ImportResult


def save_imported_weights(result: ImportResult, model: keras.Model, catalog: Catalog, path: Path) -> Path:
    """Write the imported model's weights for the design: the `.weights.h5` file of the model
    `build_model(result.graph)` builds (and the exported code), with the layer names recorded."""
    path = Path(path)
    if not path.name.endswith(WEIGHTS_SUFFIX):
        raise ValueError(f"expected a file name ending in {WEIGHTS_SUFFIX}, got {path.name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    built = build_model(result.graph, result.catalog(catalog))
    load_weights_by_name(built, model, result.origins)
    partial = path.with_name(f".{path.name}.partial{WEIGHTS_SUFFIX}")
    try:  # written whole, then renamed: a failure never leaves half a file over a good one
        built.save_weights(partial)
        _record_layer_paths(built, partial, result.origins)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def _record_layer_paths(model: keras.Model, path: Path, origins: Mapping[str, str]) -> None:
    """Store where each layer's weights are in the file (Keras addresses them by class, in
    order), by node name and by the layer's path in the imported model, as it is and as exported
    code with blocks names it ("encoder/dense"; "mobilenetv2_1_00_32/Conv1" for
    "mobilenetv2_1.00_32/Conv1")."""
    paths = keras_layer_paths(model)
    with h5py.File(path, "a") as file:
        if all(paths[layer.name] in file for layer in model.layers if layer.weights):
            by_origin = {
                path: paths[name]
                for name, origin in origins.items()
                if name in paths
                for path in (identifier_path(origin), origin)
            }
            file.attrs[LAYER_PATHS_ATTRIBUTE] = json.dumps({**by_origin, **paths})


def keras_layer_paths(model: keras.Model) -> dict[str, str]:
    """Layer name -> its group in a Functional model's `.weights.h5` file: Keras names each
    group after the layer's class, numbered in layer order ("layers/dense", "layers/dense_1")."""
    counts: dict[str, int] = {}
    paths = {}
    for layer in model.layers:
        base = to_snake_case(type(layer).__name__)
        counts[base] = counts.get(base, -1) + 1
        paths[layer.name] = f"layers/{base}" if counts[base] == 0 else f"layers/{base}_{counts[base]}"
    return paths


def load_weights_by_name(
    target: keras.Model,
    source: keras.Model | str | os.PathLike[str],
    names: Mapping[str, str] | None = None,
    *,
    strict: bool = True,
) -> list[str]:
    """Copy weights into `target` layer by layer, matched by name; returns the names loaded.

    `source` is a model (its nested models' layers are "model/layer"; `names`
    maps a target layer name to a source path, as `ImportResult.origins` does)
    or a weights file written by `save_imported_weights` (a plain Keras
    weights file is loaded with `target.load_weights`, by structure).
    `strict` refuses a target layer with weights that the source lacks.
    """
    if isinstance(source, keras.Model):
        loaded, missing = _copy_layers(target, _from_model(source, names or {}), strict)
    else:
        loaded, missing = _load_file(target, Path(source), strict)
    if strict and missing:
        shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise ImportRefused(f"No weights for {len(missing)} layer(s) of {target.name}: {shown}.")
    return loaded


def layers_by_path(model: keras.Model, prefix: str = "") -> Iterator[tuple[str, keras.layers.Layer]]:
    """Every layer at every depth with its path ("encoder/dense"): the layers of nested models,
    and the sublayers of layers made only of sublayers (a block of exported code, a
    Bidirectional) after the layer itself. Models themselves are left out."""
    for layer in _members(model):
        path = f"{prefix}{layer.name}"
        if not is_model(layer):
            yield path, layer
        yield from layers_by_path(layer, f"{path}/")


def _members(layer: keras.layers.Layer) -> list[keras.layers.Layer]:
    """A model's layers, a block's sublayers, else nothing."""
    if is_model(layer):
        return list(layer.layers)
    sublayers = list(getattr(layer, "_layers", []))
    owned = sum(len(sublayer.weights) for sublayer in sublayers)
    return sublayers if sublayers and owned == len(layer.weights) else []


_Copy = Callable[[str, keras.layers.Layer], bool]  # loads one layer's weights; False if there are none


def _copy_layers(target: keras.Model, copy: _Copy, strict: bool = True) -> tuple[list[str], list[str]]:
    """(loaded, missing) paths of the target's layers with weights: each layer is matched as a
    whole, else through its members (the layers of a block exported code made of a group).
    Not `strict`, a layer whose saved weights do not fit it (a head edited since: other units)
    keeps its own weights and counts as missing."""
    loaded: list[str] = []
    missing: list[str] = []

    def visit(layer: keras.layers.Layer, path: str) -> None:
        if not layer.weights:
            return
        before = None if strict else layer.get_weights()
        try:
            copied = not is_model(layer) and copy(path, layer)
        except ImportRefused:
            if before is None:
                raise
            layer.set_weights(before)  # a half-loaded layer is put back as it was
            missing.append(path)
            return
        if copied:
            loaded.append(path)
            return
        members = _members(layer)
        if not members:
            missing.append(path)
        for member in members:
            visit(member, f"{path}/{member.name}")

    for layer in _members(target):
        visit(layer, layer.name)
    return loaded, missing


def _from_model(source: keras.Model, names: Mapping[str, str]) -> _Copy:
    sources = dict(layers_by_path(source))
    for path, layer in list(sources.items()):  # as exported code with blocks names them
        sources.setdefault(identifier_path(path), layer)

    def copy(name: str, layer: keras.layers.Layer) -> bool:
        found = sources.get(names.get(name, name))
        if found is None or not found.weights:
            return False
        try:
            layer.set_weights(found.get_weights())
        except ValueError as error:
            raise ImportRefused(f"Cannot copy the weights of {name}: {first_line(error)}") from error
        return True

    return copy


def _load_file(target: keras.Model, path: Path, strict: bool = True) -> tuple[list[str], list[str]]:
    if not path.is_file():
        raise ImportRefused(f"{path}: no such weights file.")
    with h5py.File(path, "r") as file:
        recorded = file.attrs.get(LAYER_PATHS_ATTRIBUTE)
    if recorded is None:
        target.load_weights(path)
        return [layer.name for layer in _members(target) if layer.weights], []
    store = saving_lib.H5IOStore(path, mode="r")
    try:
        return _copy_layers(target, _from_store(store, json.loads(recorded)), strict)
    finally:
        store.close()


def _from_store(store: Any, paths: Mapping[str, str]) -> _Copy:
    """Loads a layer from its group of a Keras weights file with Keras' own per-layer reader."""

    def copy(name: str, layer: keras.layers.Layer) -> bool:
        if name not in paths:
            return False
        try:
            saving_lib._load_state(layer, store, None, inner_path=paths[name], visited_saveables=set())
        except ValueError as error:
            raise ImportRefused(f"Cannot load the weights of {name}: {first_line(error)}") from error
        return True

    return copy


@dataclass(frozen=True)
class DesignWeights:
    """A weights file written for a design: the layers it loaded by name, and the layers with
    weights that it lacked, which keep their fresh initial values."""

    path: Path
    loaded: list[str]
    fresh: list[str]


def weights_for_design(
    graph: ModelGraph, catalog: Catalog, source: str | os.PathLike[str], path: Path
) -> DesignWeights:
    """The Keras weights file of the design as it is now (what its exported code builds, so
    `model.load_weights(path)` reads it), filled by layer name from `source`: an imported
    model's weights still fit a design edited since (a new head, a removed layer)."""
    model = build_model(graph, catalog)
    loaded = load_weights_by_name(model, Path(source), strict=False)
    found = set(loaded)
    fresh = [name for name, layer in layers_by_path(model) if layer.weights and not _covered(name, found)]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial{WEIGHTS_SUFFIX}")
    try:
        model.save_weights(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return DesignWeights(path, loaded, fresh)


def _covered(name: str, loaded: set[str]) -> bool:
    """Whether the layer at path `name` was loaded, itself or as part of an enclosing block."""
    parts = name.split("/")
    return any("/".join(parts[:end]) in loaded for end in range(1, len(parts) + 1))
