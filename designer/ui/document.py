"""The open design as the window sees it: project model, catalog, undo stack, file, engine results.

`Document` owns what every view of one design shares. The `ProjectModel`
(`document.model`: the graph, the training config, the custom-layer
references) stays the only source of truth; the document adds the undo stack
every edit goes through, the file it came from, the selection, and the latest
results the engine sent back. New, Open and Recover replace the model, and
`project_replaced` tells every view to rebind to the new one.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from designer.catalog.spec import Catalog
from designer.engine.results import NodeResult
from designer.graph import project
from designer.graph.model import ModelGraph
from designer.graph.validation import Diagnostic
from designer.project.model import ProjectModel


class Document(QObject):
    """One design open in the window."""

    results_changed = Signal()  # `results` / `diagnostics` were replaced
    selection_changed = Signal(list)  # node ids
    path_changed = Signal(object)  # Path | None
    project_replaced = Signal()  # a new model (New, Open, Recover): views must rebind to it
    catalog_changed = Signal()

    def __init__(
        self, catalog: Catalog, graph: ModelGraph | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.catalog = catalog
        self.model = ProjectModel(graph)
        self.undo_stack = QUndoStack(self)
        self.path: Path | None = None
        self.results: dict[str, NodeResult] = {}
        self.diagnostics: list[Diagnostic] = []
        self.selection: list[str] = []
        self.selected_groups: list[str] = []  # collapsed blocks selected on the canvas

    # ------------------------------------------------------------------- state
    @property
    def graph(self) -> ModelGraph:
        """The model's graph (replaced with the model: views rebind on `project_replaced`)."""
        return self.model.graph

    @property
    def is_dirty(self) -> bool:
        return not self.undo_stack.isClean()

    def set_selection(self, node_ids: list[str], group_ids: list[str] | None = None) -> None:
        """The selected nodes, and the selected (collapsed) blocks when the canvas says so."""
        node_ids = [n for n in node_ids if n in self.graph.nodes]
        group_ids = [g for g in (group_ids or []) if g in self.graph.groups]
        if node_ids != self.selection or group_ids != self.selected_groups:
            self.selection, self.selected_groups = node_ids, group_ids
            self.selection_changed.emit(list(node_ids))

    def set_results(self, results: dict[str, NodeResult], diagnostics: list[Diagnostic]) -> None:
        self.results = results
        self.diagnostics = diagnostics
        self.results_changed.emit()

    def set_catalog(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.catalog_changed.emit()

    def node_diagnostics(self, node_id: str) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.node == node_id]

    # ------------------------------------------------------------------- files
    def to_project(self, relative_to: Path | None = None) -> project.Project:
        """The file record of the design; with `relative_to`, the folder of the file being written,
        its custom-layer files are named relative to that folder."""
        return self.model.to_project(relative_to)

    def replace(self, loaded: project.Project, path: Path | None) -> None:
        """Show another design (New, Open, Recover): a new model, a fresh undo history. The
        custom-layer files of a design with a `path` are named absolutely while it is open."""
        self.model = ProjectModel.from_project(loaded, Path(path).parent if path is not None else None)
        self.undo_stack.clear()
        self.results, self.diagnostics, self.selection, self.selected_groups = {}, [], [], []
        self.set_path(path)
        self.project_replaced.emit()

    def open(self, path: Path) -> None:
        """Load a project file; raises ProjectError (the current design stays) when it is bad."""
        data = project.read_data(path)
        catalog = self.catalog.with_project_specs(data, str(path))
        loaded = project.from_dict(data, catalog.ports_of, str(path), type_key=catalog.canonical_key)
        if catalog is not self.catalog:
            self.set_catalog(catalog)
        self.replace(loaded, Path(path))

    def save(self, path: Path | None = None) -> Path:
        target = Path(path or self.path or "untitled.json")
        project.save(target, self.to_project(relative_to=target.parent))
        self.undo_stack.setClean()
        self.set_path(target)
        return target

    def set_path(self, path: Path | None) -> None:
        if path != self.path:
            self.path = path
            self.path_changed.emit(path)
