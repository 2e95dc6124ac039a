"""`ProjectModel`: the graph and the project state beside it, announced with past-tense signals.

A project file holds more than the graph: the training configuration, the
custom-layer files the design uses, and the top-level keys this designer does
not know (kept as they are). `ProjectModel` holds all of it for the open
design. Each part besides the graph has one mutator (`set_training`,
`set_custom_layers`, `set_extra`) that emits one signal of `events`, and only
when the value really changes; the graph announces its own changes. Undo
commands call one mutator each; views connect to `events` once per model.

The training part is a typed `TrainingConfig`, or None when the project
stores none (the defaults for its outputs apply, `training_config`). A stored
section `TrainingConfig` cannot read (an unknown key, a list where an object
belongs) opens as an `UnreadableTraining`: it is kept as it was, so saving
writes it back unchanged, `training_config` raises its `ConfigError` (the
Training Setup shows the problem and the defaults; Start refuses), and the
first edit replaces it.

Custom-layer references are path strings. A project file names them relative
to its folder; `from_project(record, folder)` makes them absolute, so that
undo and Save As to another folder keep naming the same files, and
`to_project(relative_to=folder)` writes the absolute ones relative to the
file's folder again.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from psygnal import Signal, SignalGroup

from designer.graph import project
from designer.graph.model import ModelGraph
from designer.training.config import ConfigError, ConfigProblem, Shape, TrainingConfig, imported_weights


@dataclass(frozen=True)
class UnreadableTraining:
    """A stored training section that `TrainingConfig.from_dict` refuses, kept as it was read."""

    data: Any  # the section's JSON, never changed
    problems: tuple[ConfigProblem, ...]

    @classmethod
    def read(cls, data: Any) -> TrainingConfig | UnreadableTraining:
        """The section as a config, or as itself with the reasons it cannot be one."""
        try:
            return TrainingConfig.from_dict(data)
        except ConfigError as error:
            return cls(copy.deepcopy(data), tuple(error.problems))

    def error(self) -> ConfigError:
        return ConfigError(list(self.problems))


StoredTraining = TrainingConfig | UnreadableTraining | None


class ProjectEvents(SignalGroup):
    """The project's changes besides the graph's; each carries the new value (a copy)."""

    training_changed = Signal(object)  # TrainingConfig | UnreadableTraining | None
    custom_layers_changed = Signal(tuple)  # tuple[str, ...]
    extra_changed = Signal(object)  # Mapping[str, Any]


class ProjectModel:
    """One design and its project state: graph, training config, custom-layer references, extra keys."""

    def __init__(
        self,
        graph: ModelGraph | None = None,
        training: StoredTraining = None,
        custom_layers: Iterable[str] = (),
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.events = ProjectEvents()
        self._graph = graph if graph is not None else ModelGraph()
        self._training: StoredTraining = copy.deepcopy(training)
        self._custom_layers: tuple[str, ...] = tuple(custom_layers)
        self._extra: dict[str, Any] = copy.deepcopy(dict(extra or {}))

    # ------------------------------------------------------------ reading
    @property
    def graph(self) -> ModelGraph:
        return self._graph

    @property
    def training(self) -> StoredTraining:
        """The stored training section (a copy): None when the project stores none."""
        return copy.deepcopy(self._training)

    @property
    def custom_layers(self) -> tuple[str, ...]:
        return self._custom_layers

    @property
    def extra(self) -> Mapping[str, Any]:
        """The top-level keys of the project file this designer does not know (read-only)."""
        return MappingProxyType(self._extra)

    def training_config(self, output_shapes: Mapping[str, Shape] | None = None) -> TrainingConfig:
        """The config a run uses: the stored one, else the defaults for the graph's outputs (from the
        imported weights when the project has them). Raises ConfigError when the stored section is
        unreadable."""
        if isinstance(self._training, UnreadableTraining):
            raise self._training.error()
        if self._training is not None:
            return copy.deepcopy(self._training)
        defaults = TrainingConfig.for_graph(self._graph, output_shapes)
        return defaults.copy(initial_weights=imported_weights(self._extra))

    # ----------------------------------------------------------- mutators
    def set_training(self, training: StoredTraining) -> None:
        """Store a training config (None: none stored, the defaults apply)."""
        if training == self._training:
            return
        self._training = copy.deepcopy(training)
        self.events.training_changed.emit(copy.deepcopy(training))

    def set_custom_layers(self, references: Iterable[str]) -> None:
        """The custom-layer files and folders the design uses, in order."""
        references = tuple(references)
        if references == self._custom_layers:
            return
        self._custom_layers = references
        self.events.custom_layers_changed.emit(references)

    def set_extra(self, extra: Mapping[str, Any]) -> None:
        """Replace the keys of the project file this designer does not know."""
        if dict(extra) == self._extra:
            return
        self._extra = copy.deepcopy(dict(extra))
        self.events.extra_changed.emit(MappingProxyType(self._extra))

    # -------------------------------------------------------- file record
    @classmethod
    def from_project(cls, record: project.Project, folder: Path | None = None) -> ProjectModel:
        """The model of a project read from a file in `folder` (custom-layer references made
        absolute against it; None: kept as they are). Entries that are no path strings go."""
        references = [entry for entry in record.custom_layers if isinstance(entry, str)]
        training = None if record.training is None else UnreadableTraining.read(record.training)
        return cls(
            record.graph,
            training,
            absolute_references(references, folder) if folder is not None else references,
            record.extra,
        )

    def to_project(self, relative_to: Path | None = None) -> project.Project:
        """The file record; with `relative_to`, the folder of the file written, absolute custom-layer
        references are named relative to it."""
        training = self._training
        references = self._custom_layers
        if relative_to is not None:
            references = relative_references(references, relative_to)
        return project.Project(
            self._graph,
            training=training.data if isinstance(training, UnreadableTraining) else _training_data(training),
            custom_layers=list(references),
            extra=copy.deepcopy(self._extra),
        )


def _training_data(training: TrainingConfig | None) -> dict[str, Any] | None:
    return training.to_dict() if training is not None else None


# ------------------------------------------------------------ references
def absolute_references(references: Iterable[str], folder: Path) -> tuple[str, ...]:
    """References of a project file in `folder` as absolute, normalised paths (links kept)."""
    base = Path(folder).absolute()
    return tuple(os.path.normpath(base / reference) for reference in references)


def relative_references(references: Iterable[str], folder: Path) -> tuple[str, ...]:
    """How a project file in `folder` names the references: absolute ones relative to it (with
    forward slashes; as they are on another drive), relative ones as they are."""
    base = os.path.normpath(Path(folder).absolute())
    return tuple(_relative(reference, base) for reference in references)


def _relative(reference: str, folder: str) -> str:
    if not Path(reference).is_absolute():
        return reference
    try:
        return Path(os.path.relpath(os.path.normpath(reference), folder)).as_posix()
    except ValueError:  # another drive
        return reference
