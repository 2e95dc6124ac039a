"""The canvas widget: zoom at the cursor, pan, fit, rubber-band selection, drops and keyboard editing.

`GraphView` shows a `GraphScene` and routes mouse gestures to interaction
objects (linking, moving, panning); drops of palette layers, the quick-add box,
the clipboard and the context menus all end in calls on the `CanvasEditor`.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import (
    QContextMenuEvent,
    QCursor,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QGuiApplication,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QWheelEvent,
)
from PySide6.QtWidgets import QGraphicsView, QMenu, QWidget

from designer.graph.model import Edge
from designer.ui.canvas import clipboard
from designer.ui.canvas.edge_item import EdgeItem
from designer.ui.canvas.editor import CanvasEditor, PendingLink
from designer.ui.canvas.interactions import Interaction, MoveInteraction, NewLinkInteraction, PanInteraction
from designer.ui.canvas.port_item import PortItem
from designer.ui.canvas.quick_add import QuickAddPopup
from designer.ui.canvas.scene import GraphScene, node_item_of

LAYER_MIME = "application/x-designer-layer"
READABLE_SCALE = 0.6  # node text is painted from a zoom of 0.5 up
ZOOM_STEP = 1.25
MIN_SCALE, MAX_SCALE = 0.0005, 6.0
FIT_MARGIN = 40.0


class GraphView(QGraphicsView):
    """A view of the design that edits it through `editor`."""

    def __init__(self, scene: GraphScene, editor: CanvasEditor, parent: QWidget | None = None) -> None:
        super().__init__(scene, parent)
        self.graph_scene = scene
        self.editor = editor
        self.interaction: Interaction | None = None
        self.quick_add: QuickAddPopup | None = None
        self._space_held = False
        self._cursor_scene = QPointF(0, 0)
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    # -------------------------------------------------------------- zooming
    def zoom_by(self, factor: float, anchor: QPoint | None = None) -> None:
        """Scale by `factor`, keeping the scene point under `anchor` (view coordinates) in place."""
        anchor = anchor if anchor is not None else self.viewport().rect().center()
        current = self.transform().m11()
        factor = max(MIN_SCALE / current, min(MAX_SCALE / current, factor))
        before = self.mapToScene(anchor)
        self.scale(factor, factor)
        drift = self.mapFromScene(before) - anchor
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + drift.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + drift.y())
        self.graph_scene.set_view_scale(self.transform().m11())

    def zoom_in(self) -> None:
        self.zoom_by(ZOOM_STEP)

    def zoom_out(self) -> None:
        self.zoom_by(1 / ZOOM_STEP)

    def fit_to_view(self) -> None:
        rect = self.graph_scene.items_rect()
        if rect.isEmpty():
            self.resetTransform()
            self.centerOn(0, 0)
            self.graph_scene.set_view_scale(1.0)
            return
        margin = FIT_MARGIN / max(self.transform().m11(), 1e-6)
        self.fitInView(rect.adjusted(-margin, -margin, margin, margin), Qt.AspectRatioMode.KeepAspectRatio)
        if self.transform().m11() > 1.0:
            self.resetTransform()
            self.centerOn(rect.center())
        self.graph_scene.set_view_scale(self.transform().m11())

    def show_design(self) -> None:
        """Fit a newly opened design, but never so small that node text goes: a wide design
        is shown at a readable zoom from its inputs on the left."""
        self.fit_to_view()
        rect = self.graph_scene.items_rect()
        if rect.isEmpty() or self.transform().m11() >= READABLE_SCALE:
            return
        self.resetTransform()
        self.scale(READABLE_SCALE, READABLE_SCALE)
        visible_width = self.viewport().width() / READABLE_SCALE
        self.centerOn(rect.left() + visible_width / 2 - FIT_MARGIN, rect.center().y())
        self.graph_scene.set_view_scale(READABLE_SCALE)

    def centre_on_node(self, node_id: str) -> None:
        item = self.graph_scene.node_items.get(node_id)
        if item is not None:
            self.centerOn(item.sceneBoundingRect().center())

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt's name
        steps = event.angleDelta().y() / 120
        if steps:
            self.zoom_by(ZOOM_STEP**steps, event.position().toPoint())
        event.accept()

    # ----------------------------------------------------------------- mouse
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        if self.interaction is not None:
            self.interaction.mouse_press(event)
            return
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (
            button == Qt.MouseButton.LeftButton and self._space_held
        ):
            self.start_interaction(PanInteraction(self, event))
            return
        item = self.itemAt(event.position().toPoint())
        if button == Qt.MouseButton.LeftButton and isinstance(item, PortItem):
            self.start_interaction(NewLinkInteraction(self, item))
            return
        super().mousePressEvent(event)
        if button == Qt.MouseButton.LeftButton and node_item_of(item) is not None:
            self.start_interaction(MoveInteraction(self, event))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        self._cursor_scene = self.mapToScene(event.position().toPoint())
        if self.interaction is not None:
            self.interaction.mouse_move(event)
            if isinstance(self.interaction, (NewLinkInteraction, PanInteraction)):
                return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        interaction = self.interaction
        if interaction is not None:
            interaction.mouse_release(event)
            if isinstance(interaction, (NewLinkInteraction, PanInteraction)):
                return
        super().mouseReleaseEvent(event)

    def start_interaction(self, interaction: Interaction) -> None:
        if self.interaction is not None:
            self.interaction.cancel()
        self.interaction = interaction

    def end_interaction(self, interaction: Interaction) -> None:
        if self.interaction is interaction:
            self.interaction = None

    # -------------------------------------------------------------- keyboard
    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Tab:  # type: ignore[attr-defined]
            self.open_quick_add(self.quick_add_position(), "")
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            return
        if event.key() == Qt.Key.Key_Escape and self.interaction is not None:
            self.interaction.cancel()
            return
        plain = not event.modifiers() & (
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
        )
        if plain and event.text()[:1].isalpha():
            self.open_quick_add(self.quick_add_position(), event.text())
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = False
            self.viewport().unsetCursor()
            return
        super().keyReleaseEvent(event)

    # ------------------------------------------------------------- quick add
    def quick_add_position(self) -> QPointF:
        """Where a quick-added layer goes: under the cursor when it is over the canvas, else the centre."""
        local = self.viewport().mapFromGlobal(QCursor.pos())
        if self.viewport().rect().contains(local):
            return self.mapToScene(local)
        return self.mapToScene(self.viewport().rect().center())

    def open_quick_add(
        self, scene_position: QPointF, text: str, link: PendingLink | None = None
    ) -> QuickAddPopup:
        """Show the search box at `scene_position`; the chosen layer goes there (connected to `link`)."""
        if self.quick_add is not None:
            self.quick_add.close()
        popup = QuickAddPopup(self.editor.document.catalog, self)
        popup.chosen.connect(lambda key: self._quick_added(key, scene_position, link))
        popup.open_at(self.viewport().mapToGlobal(self.mapFromScene(scene_position)), text)
        self.quick_add = popup
        return popup

    def _quick_added(self, key: str, scene_position: QPointF, link: PendingLink | None) -> None:
        if link is None:
            self.editor.add_layer(key, scene_position)
        else:
            self.editor.add_layer_linked(key, scene_position, link)

    # ----------------------------------------------------------------- drops
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt's name
        if event.mimeData().hasFormat(LAYER_MIME):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802 - Qt's name
        if event.mimeData().hasFormat(LAYER_MIME):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt's name
        mime = event.mimeData()
        if not mime.hasFormat(LAYER_MIME):
            super().dropEvent(event)
            return
        key = bytes(mime.data(LAYER_MIME).data()).decode("utf-8")
        position = self.mapToScene(event.position().toPoint())
        edge = self.graph_scene.edge_at(position, self.transform())
        if edge is not None:
            self.editor.insert_layer_on_edge(key, position, edge.edge)
        else:
            self.editor.add_layer(key, position)
        event.acceptProposedAction()

    # ------------------------------------------------------------- clipboard
    def copy_selection(self) -> bool:
        node_ids = self.graph_scene.selected_node_ids()
        if not node_ids:
            return False
        QGuiApplication.clipboard().setMimeData(clipboard.to_mime(self.editor.copy_data(node_ids)))
        return True

    def cut_selection(self) -> None:
        if self.copy_selection():
            self.editor.delete(self.graph_scene.selected_node_ids())

    def paste(self) -> list[str]:
        data = clipboard.from_mime(QGuiApplication.clipboard().mimeData())
        if data is None:
            self.editor.message.emit("The clipboard holds no layers.")
            return []
        return self.editor.paste_data(data)

    def duplicate_selection(self) -> list[str]:
        return self.editor.duplicate(self.graph_scene.selected_node_ids())

    def delete_selection(self) -> None:
        self.editor.delete(self.graph_scene.selected_node_ids(), self.graph_scene.selected_edges())

    def select_all(self) -> None:
        self.graph_scene.select_nodes(list(self.graph_scene.node_items))

    # ---------------------------------------------------------- context menu
    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # noqa: N802 - Qt's name
        position = self.mapToScene(event.pos())
        item = self.itemAt(event.pos())
        node = node_item_of(item)
        menu = QMenu(self)
        if node is not None:
            if node.node_id not in self.graph_scene.selected_node_ids():
                self.graph_scene.select_nodes([node.node_id])
            self._node_menu(menu, node.node_id)
        elif isinstance(item, EdgeItem):
            self._edge_menu(menu, item.edge)
        else:
            self._canvas_menu(menu, position)
        menu.exec(event.globalPos())

    def _node_menu(self, menu: QMenu, node_id: str) -> None:
        marked = any(o.node == node_id for o in self.editor.graph.outputs)
        menu.addAction(
            "Unmark model output" if marked else "Mark as model output", lambda: self._toggle(node_id)
        )
        menu.addAction("Duplicate", self.duplicate_selection)
        menu.addAction("Copy", self.copy_selection)
        menu.addSeparator()
        menu.addAction("Delete", self.delete_selection)

    def _toggle(self, node_id: str) -> None:
        self.editor.toggle_output(node_id)

    def _edge_menu(self, menu: QMenu, edge: Edge) -> None:
        menu.addAction("Delete connection", lambda: self.editor.delete([], [edge]))

    def _canvas_menu(self, menu: QMenu, position: QPointF) -> None:
        menu.addAction("Add layer…", lambda: self.open_quick_add(position, ""))
        menu.addAction("Paste", self.paste)
        menu.addSeparator()
        menu.addAction("Auto-layout", self.editor.auto_layout)
        menu.addAction("Fit to view", self.fit_to_view)

    def visible_scene_rect(self) -> QRectF:
        return self.mapToScene(self.viewport().rect()).boundingRect()
