"""The inspection panels in a main window: docks, the Inspect menu, health flags and exports.

`install_inspection(services, scene, summary, training, training_client)` adds
to a window, through its `WindowServices`, the Weights and Activations docks (tabbed
with the bottom docks), an Inspect menu (show the panels; export the source's
weights as .weights.h5, the model as .keras, the selected layer's arrays as
.npz) and the connections: the run picked in the training panel becomes the
source of both panels (its latest checkpoint); a run that ends becomes it too.
Whenever the source is a run, the engine's `run_health` flags go on the
canvas nodes (NaN or Inf weights, exploding or vanishing gradients, mostly dead
ReLUs), and the summary panel shows Keras' own `model.summary()` split of
trainable and non-trainable parameters for the source. Panels ask the engine
only while their dock is shown.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QFileDialog, QMenu

from designer.training.runs import RunFolder
from designer.ui.canvas import GraphScene
from designer.ui.panels.activations import ActivationsView
from designer.ui.panels.inspection_client import InspectionClient, Source, describe, latest_source
from designer.ui.panels.subscription import Debouncer
from designer.ui.panels.summary import SummaryView
from designer.ui.panels.training import TrainingView
from designer.ui.panels.weights import WeightsView
from designer.ui.services import WindowServices
from designer.ui.training_client import TrainingClient

SUMMARY_DELAY_MS = 2000  # after edits: Keras builds the model only once the editing pauses
EXPORTS = {  # format: (menu text, dialog title, file filter, suffix)
    "weights.h5": (
        "Export &Weights (.weights.h5)…",
        "Export the weights",
        "Keras weights (*.weights.h5)",
        ".weights.h5",
    ),
    "keras": ("Export &Model (.keras)…", "Export the model", "Keras models (*.keras)", ".keras"),
    "npz": ("Export &Layer Arrays (.npz)…", "Export the layer's arrays", "NumPy archives (*.npz)", ".npz"),
}


def health_tooltip(messages: list[str]) -> str:
    """A node's health findings as rich text for its pill's tooltip."""
    escaped = [m.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") for m in messages]
    return "<b>Training run:</b><br>" + "<br>".join(escaped)


def built_summary_text(reply: dict[str, Any], source: Source) -> str:
    """ "Keras' model.summary() of run_0002 · epoch 3: 1,234 params: 1,170 trainable, 64
    non-trainable (bn: 64)"."""
    totals = reply.get("totals", {})
    trainable, frozen = int(totals.get("trainable", 0)), int(totals.get("non_trainable", 0))
    holders = [
        f"{row['name']}: {int(row['non_trainable']):,}"
        for row in reply.get("rows", [])
        if row.get("non_trainable")
    ]
    where = f" ({', '.join(holders)})" if holders else ""
    return (
        f"Keras' model.summary() of {describe(source)}: {trainable + frozen:,} params: "
        f"{trainable:,} trainable, {frozen:,} non-trainable{where}"
    )


class Inspection(QObject):
    """The inspection panels of one window and what connects them to it."""

    def __init__(
        self,
        services: WindowServices,
        scene: GraphScene,
        summary: SummaryView,
        training: TrainingView,
        training_client: TrainingClient,
    ) -> None:
        super().__init__(services.window())
        self.services, self.document = services, services.document
        self.scene, self.summary, self.training, self.training_client = (
            scene,
            summary,
            training,
            training_client,
        )
        self.client = InspectionClient(services.document, services.client, parent=self)
        self.weights = WeightsView(self.client)
        self.activations = ActivationsView(self.client, scene)
        self.health: dict[str, list[str]] = {}
        self._summary = Debouncer(self.request_summary, SUMMARY_DELAY_MS, self)
        self._add_docks()
        self._add_menu()
        self._connect()

    # ------------------------------------------------------------ building
    def _add_docks(self) -> None:
        services, bottom = self.services, Qt.DockWidgetArea.BottomDockWidgetArea
        behind = "training" if services.dock("training") is not None else "history"
        docks = {
            "weights": services.add_dock("weights", "Weights", self.weights, bottom, tab_with=behind),
            "activations": services.add_dock(
                "activations", "Activations", self.activations, bottom, tab_with="weights"
            ),
        }
        for view, dock in ((self.weights, docks["weights"]), (self.activations, docks["activations"])):
            view.set_active(False)
            dock.visibilityChanged.connect(view.set_active)
        diagnostics = services.dock("diagnostics")
        if diagnostics is not None:
            diagnostics.raise_()

    def _add_menu(self) -> None:
        menu = QMenu("&Inspect", self.services.window())
        self.services.add_menu(menu, before="&View")
        self.actions = {
            "show_weights": menu.addAction("Show &Weights", lambda: self.show_dock("weights")),
            "show_activations": menu.addAction("Show &Activations", lambda: self.show_dock("activations")),
        }
        menu.addSeparator()
        for export_format, (text, _, _, _) in EXPORTS.items():
            self.actions[export_format] = menu.addAction(text, partial(self.export_dialog, export_format))
        self.menu = menu

    def _connect(self) -> None:
        client, document = self.client, self.document
        client.source_changed.connect(self._source_changed)
        client.answered.connect(self._answered)
        client.failed.connect(self._failed)
        client.exported.connect(self._exported)
        self.training_client.finished.connect(self._run_finished)
        self.training.run_table.selectionModel().selectionChanged.connect(self._run_selected)
        document.results_changed.connect(self._design_changed)
        document.project_replaced.connect(self._graph_replaced)
        summary_dock = self.services.dock("summary")
        if summary_dock is not None:
            summary_dock.visibilityChanged.connect(self._summary_shown)
        self.weights.export_requested.connect(lambda: self.export_dialog("npz"))

    def show_dock(self, name: str) -> None:
        self.services.bring_forward(name)

    # ------------------------------------------------------------- sources
    def _run_selected(self, *_: object) -> None:
        """One run picked in the training panel: inspect its latest checkpoint."""
        selected = self.training.selected_runs()
        if len(selected) == 1:
            self._inspect_run(RunFolder(selected[0].path))

    def _run_finished(self, report: dict[str, Any]) -> None:
        self.client.refresh_runs()  # both pickers show the client's run list
        if report.get("run"):
            self._inspect_run(RunFolder(Path(report["run"])))

    def _inspect_run(self, run: RunFolder) -> None:
        source = latest_source(run)
        if source is None:
            self.services.show_message(f"{run.name} has no checkpoint to inspect yet.")
            return
        if self.client.source.run != run.path or self.client.source.checkpoint is None:
            self.client.set_source(source)
        else:
            self.request_health()  # the same source: its flags may have changed (a resumed run)

    def _source_changed(self, source: Source) -> None:
        self.request_health()
        self.request_summary()
        if source.is_initial:
            self.show_health({})

    def _graph_replaced(self) -> None:
        self.health = {}
        self.summary.show_built_summary("")

    # ------------------------------------------------------------- health
    def request_health(self) -> None:
        run = self.client.source.run
        if run is not None:
            self.client.request("run_health", {"run": str(run)})

    def show_health(self, reply: dict[str, Any]) -> None:
        """Each node's flags from `run_health` as a pill on the canvas; nodes without flags lose theirs."""
        flags, messages = reply.get("flags", {}), reply.get("messages", {})
        self.health = {node: list(found) for node, found in flags.items() if found}
        for node_id, item in self.scene.node_items.items():
            found = self.health.get(node_id, [])
            item.set_health(found, health_tooltip(messages.get(node_id, [])) if found else "")
        if self.health:
            graph = self.document.graph
            names = [graph.nodes[n].name for n in self.health if n in graph.nodes]
            self.services.show_message(
                f"{describe(self.client.source)}: health flags on {', '.join(names)} (hover their pills)."
            )

    # ------------------------------------------------------------- summary
    def _summary_shown(self, shown: bool) -> None:
        if shown:
            self.request_summary()

    def _design_changed(self) -> None:
        """The initial weights' summary no longer holds: ask again once the edits pause."""
        if self.client.source.is_initial:
            self.summary.show_built_summary("")
            self._summary.schedule()

    def request_summary(self) -> None:
        summary_dock = self.services.dock("summary")
        if summary_dock is None or summary_dock.visibleRegion().isEmpty() or len(self.document.graph) == 0:
            return
        self.client.request("model_summary", self.client.with_source())

    # ------------------------------------------------------------- replies
    def _answered(self, op: str, reply: dict[str, Any]) -> None:
        if op == "run_health":
            self.show_health(reply)
        elif op == "model_summary":
            self.summary.show_built_summary(built_summary_text(reply, self.client.source))

    def _failed(self, op: str, message: str) -> None:
        if op == "export":
            self.services.report_error("Cannot export", message)
        elif op == "run_health":
            self.services.show_message(f"No health check for the run: {message}")
        elif op == "model_summary":
            self.summary.show_built_summary(f"Keras could not build the model: {message}")
        elif op == "source":
            self.services.show_message(message)

    # ------------------------------------------------------------- exports
    def export_dialog(self, export_format: str) -> bool:
        """Ask where, then have the engine write the source's weights, model or the node's arrays."""
        node = self.client.node
        if export_format == "npz" and node is None:
            self.services.show_message("Select one node to export its arrays.")
            return False
        _, title, file_filter, suffix = EXPORTS[export_format]
        graph = self.document.graph
        stem = (
            graph.nodes[node].name
            if export_format == "npz" and node in graph.nodes
            else graph.name or "model"
        )
        path = self.ask_export_path(title, file_filter, f"{stem}{suffix}")
        if path is None:
            return False
        if not path.name.endswith(suffix):
            path = path.with_name(path.name + suffix)
        return self.client.export(export_format, path, node if export_format == "npz" else None) is not None

    def _exported(self, path: str) -> None:
        self.services.show_message(f"Exported {path}")

    def ask_export_path(self, title: str, file_filter: str, suggested: str) -> Path | None:
        folder = self.document.path.parent if self.document.path else Path.home()
        name, _ = QFileDialog.getSaveFileName(
            self.services.window(), title, str(folder / suggested), file_filter
        )
        return Path(name) if name else None


def install_inspection(
    services: WindowServices,
    scene: GraphScene,
    summary: SummaryView,
    training: TrainingView,
    training_client: TrainingClient,
) -> Inspection:
    """Add the Weights and Activations panels, the Inspect menu and health flags to a window."""
    return Inspection(services, scene, summary, training, training_client)
