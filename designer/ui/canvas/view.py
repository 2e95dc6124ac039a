"""The canvas widget: zoom at the cursor, pan, fit, rubber-band selection, drops and keyboard editing.

`GraphView` shows a `GraphScene` and routes mouse gestures to interaction
objects (linking, moving, panning); drops of palette layers and library
blocks, the quick-add box, the clipboard and the context menus all end in
calls on the `CanvasEditor`. Blocks: Group and Ungroup of the selection,
double-click (or Enter) on a block edits inside it under a breadcrumb bar,
Escape (or the bar's first crumb) goes back, F2 renames a block.

Every zoom a command lands on (opening a design, Fit, auto-layout, entering or
leaving a block) keeps node titles at or above the readable floor
(`node_item.readable_scale`); a design too large for the view at that floor is
shown from its start, its left edge and the leftmost layer (where the inputs
are) in view, to scroll from. An
empty design shows a hint in the middle of the view saying how to begin.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QRectF, Qt
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
    QResizeEvent,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import QDialog, QGraphicsView, QMenu, QMessageBox, QWidget

from designer.graph.errors import ProjectError
from designer.graph.groups import block_path, load_block
from designer.graph.model import Edge, Group
from designer.ui.canvas import clipboard
from designer.ui.canvas.block_widgets import BlockNameDialog, BreadcrumbBar
from designer.ui.canvas.edge_item import EdgeItem
from designer.ui.canvas.editor import CanvasEditor, PendingLink
from designer.ui.canvas.interactions import Interaction, MoveInteraction, NewLinkInteraction, PanInteraction
from designer.ui.canvas.node_item import readable_scale
from designer.ui.canvas.port_item import PortItem
from designer.ui.canvas.quick_add import QuickAddPopup
from designer.ui.canvas.scene import GraphScene, block_item_of, node_item_of

LAYER_MIME = "application/x-designer-layer"
BLOCK_MIME = "application/x-designer-block"  # the path of a block file of the library
BREADCRUMB_HEIGHT = 30
EMPTY_HINT = "Drag a layer here from the palette, or press Ctrl+Shift+A"
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
        self.breadcrumb = BreadcrumbBar(self)
        self.breadcrumb.hide()
        self.breadcrumb.leave_requested.connect(self.leave_inside)
        self.painted_hint = ""  # the empty-design hint as last painted ("" when none was)
        scene.inside_changed.connect(self._inside_changed)
        scene.changed.connect(self._scene_changed)
        editor.layout_applied.connect(self.fit_to_view)

    # ---------------------------------------------------------------- blocks
    def group_selection(self) -> str | None:
        """Group the selected nodes into a block (selected afterwards); selected blocks are refused
        by the graph, since blocks do not nest."""
        group_id = self.editor.group(self.graph_scene.selected_members())
        if group_id is not None:
            self.graph_scene.select_groups([group_id])
        return group_id

    def ungroup_selection(self) -> list[str]:
        """Ungroup the selected blocks; their members are selected afterwards."""
        group_ids = self.graph_scene.selected_group_ids()
        if not group_ids:
            self.editor.message.emit("Select a block to ungroup.")
            return []
        members = self.editor.ungroup(group_ids)
        self.graph_scene.select_nodes(members)
        return members

    def edit_inside(self, group_id: str) -> None:
        """Show only the members of a block, under the breadcrumb bar."""
        self.graph_scene.enter_group(group_id)

    def leave_inside(self) -> None:
        """Back to the whole design, centred on the block that was being edited."""
        group_id = self.graph_scene.inside
        self.graph_scene.leave_group()
        if self.transform().m11() < readable_scale():
            self.set_scale(readable_scale())
        block = self.graph_scene.blocks.blocks.get(group_id or "")
        if block is not None:
            self.centerOn(block.sceneBoundingRect().center())

    def _inside_changed(self, group_id: str | None) -> None:
        """Entering a block fits its members in the view under the breadcrumb bar; leaving hides the bar."""
        entered = group_id != self.editor.inside_group
        self.editor.inside_group = group_id
        if group_id is None:
            self.breadcrumb.hide()
            self.setViewportMargins(0, 0, 0, 0)
            return
        graph = self.editor.graph
        self.breadcrumb.set_path(graph.name, graph.group(group_id).name)
        if entered:
            self.setViewportMargins(0, BREADCRUMB_HEIGHT, 0, 0)
            self._place_breadcrumb()
            self.breadcrumb.show()
            self.fit_to_view()

    def _place_breadcrumb(self) -> None:
        """Over the margin above the viewport, as wide as it (the scroll bar keeps its side)."""
        viewport = self.viewport().geometry()
        self.breadcrumb.setGeometry(viewport.x(), self.frameWidth(), viewport.width(), BREADCRUMB_HEIGHT)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._place_breadcrumb()

    def selected_block(self) -> str | None:
        """The one selected block, or None (with a message when there is none)."""
        group_ids = self.graph_scene.selected_group_ids()
        if len(group_ids) != 1:
            self.editor.message.emit("Select one block first.")
            return None
        return group_ids[0]

    def rename_block(self, group_id: str | None = None) -> bool:
        """Ask for a block's new name and block type, and rename it (one step)."""
        group_id = group_id or self.selected_block()
        if group_id is None:
            return False
        answer = self.ask_block_names(self.editor.graph.group(group_id))
        return answer is not None and self.editor.rename_group(group_id, *answer)

    def ask_block_names(self, group: Group) -> tuple[str, str] | None:
        """The name and block type the person typed, or None when cancelled (tests replace this)."""
        dialog = BlockNameDialog(group, self)
        return dialog.names() if dialog.exec() == QDialog.DialogCode.Accepted else None

    def save_block(self, group_id: str | None = None) -> Path | None:
        """Save a block to the block library, asking before a file of that name is replaced."""
        group_id = group_id or self.selected_block()
        if group_id is None:
            return None
        path = block_path(self.editor.graph.group(group_id).block)
        if path.exists() and not self.confirm_overwrite(path):
            return None
        return self.editor.save_block(group_id)

    def confirm_overwrite(self, path: Path) -> bool:
        """Whether to replace a library file (tests replace this)."""
        answer = QMessageBox.question(self, "Save block", f"The library already has {path.name}. Replace it?")
        return answer == QMessageBox.StandardButton.Yes

    def insert_block_file(self, path: Path, position: QPointF, shared_with: str | None = None) -> str | None:
        """Insert a block of the library at `position` (a new instance, or sharing weights)."""
        try:
            data = load_block(path)
        except ProjectError as error:
            self.editor.message.emit(str(error))
            return None
        group_id = self.editor.insert_block(data, position, shared_with)
        if group_id is not None:
            self.graph_scene.select_groups([group_id])
        return group_id

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

    def set_scale(self, scale: float) -> None:
        """Zoom to `scale` exactly (no rotation or shear), and tell the scene."""
        self.setTransform(QTransform.fromScale(scale, scale))
        self.graph_scene.set_view_scale(scale)

    def fit_to_view(self) -> None:
        """Show the whole design, no larger than life and never below the readable floor; a design
        too large for that is shown from its start (its left edge, at the height of its leftmost
        layer, where the inputs are), to scroll from there."""
        rect = self.graph_scene.items_rect()
        if rect.isEmpty():
            self.set_scale(1.0)
            self.centerOn(0, 0)
            return
        viewport = self.viewport().rect()
        width, height = max(viewport.width() - 2 * FIT_MARGIN, 1), max(viewport.height() - 2 * FIT_MARGIN, 1)
        fitting = min(width / rect.width(), height / rect.height(), 1.0)
        scale = max(fitting, readable_scale())
        self.set_scale(scale)
        visible = (viewport.width() / scale, viewport.height() / scale)
        self.centerOn(_start_centre(rect, self._start_point(), *visible, FIT_MARGIN / scale))

    def _start_point(self) -> QPointF:
        """The centre of the leftmost node or block on view: where a design starts."""
        blocks = self.graph_scene.blocks
        items = [item for item in [*blocks.shown_items(), *blocks.stand_ins] if item.isVisible()]
        if not items:
            return self.graph_scene.items_rect().center()
        return min((item.sceneBoundingRect() for item in items), key=lambda rect: rect.left()).center()

    def show_design(self) -> None:
        """Show a newly opened design as Fit does: whole when it fits at a readable zoom, else
        from its inputs."""
        self.fit_to_view()

    def centre_on_node(self, node_id: str) -> None:
        """Centre on a node, or on the block it is hidden in."""
        scene = self.graph_scene
        hider = scene.blocks.hider(node_id) if node_id in scene.node_items else None
        item = scene.blocks.blocks.get(hider) if hider is not None else scene.node_items.get(node_id)
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
        if button == Qt.MouseButton.LeftButton and (node_item_of(item) or block_item_of(item)) is not None:
            self.start_interaction(MoveInteraction(self, event))

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        block = block_item_of(self.itemAt(event.position().toPoint()))
        if event.button() == Qt.MouseButton.LeftButton and block is not None:
            self.edit_inside(block.group_id)
            return
        super().mouseDoubleClickEvent(event)

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
        if self._block_key(event):
            return
        plain = not event.modifiers() & (
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
        )
        if plain and event.text()[:1].isalpha():
            self.open_quick_add(self.quick_add_position(), event.text())
            return
        super().keyPressEvent(event)

    def _block_key(self, event: QKeyEvent) -> bool:
        """Escape leaves the inside of a block; Enter edits inside, F2 renames, the one selected block."""
        key = event.key()
        if key == Qt.Key.Key_Escape and self.graph_scene.inside is not None:
            self.leave_inside()
            return True
        blocks = self.graph_scene.selected_group_ids()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and len(blocks) == 1:
            self.edit_inside(blocks[0])
            return True
        if key == Qt.Key.Key_F2 and len(blocks) == 1:
            self.rename_block(blocks[0])
            return True
        return False

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
        if event.mimeData().hasFormat(LAYER_MIME) or event.mimeData().hasFormat(BLOCK_MIME):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802 - Qt's name
        if event.mimeData().hasFormat(LAYER_MIME) or event.mimeData().hasFormat(BLOCK_MIME):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt's name
        mime = event.mimeData()
        position = self.mapToScene(event.position().toPoint())
        if mime.hasFormat(BLOCK_MIME):
            self.insert_block_file(Path(bytes(mime.data(BLOCK_MIME).data()).decode("utf-8")), position)
            event.acceptProposedAction()
            return
        if not mime.hasFormat(LAYER_MIME):
            super().dropEvent(event)
            return
        key = bytes(mime.data(LAYER_MIME).data()).decode("utf-8")
        edge = self.graph_scene.edge_at(position, self.transform())
        if edge is not None:
            self.editor.insert_layer_on_edge(key, position, edge.edge)
        else:
            self.editor.add_layer(key, position)
        event.acceptProposedAction()

    # ------------------------------------------------------------- clipboard
    def copy_selection(self) -> bool:
        node_ids = self.graph_scene.selected_members()
        if not node_ids:
            return False
        QGuiApplication.clipboard().setMimeData(clipboard.to_mime(self.editor.copy_data(node_ids)))
        return True

    def cut_selection(self) -> None:
        if self.copy_selection():
            self.editor.delete(self.graph_scene.selected_members())

    def paste(self) -> list[str]:
        data = clipboard.from_mime(QGuiApplication.clipboard().mimeData())
        if data is None:
            self.editor.message.emit("The clipboard holds no layers.")
            return []
        return self.editor.paste_data(data)

    def duplicate_selection(self) -> list[str]:
        return self.editor.duplicate(self.graph_scene.selected_members())

    def delete_selection(self) -> None:
        scene = self.graph_scene
        self.editor.delete(scene.selected_node_ids(), scene.selected_edges(), scene.selected_group_ids())

    def select_all(self) -> None:
        self.graph_scene.select_all()

    # ---------------------------------------------------------- context menu
    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # noqa: N802 - Qt's name
        position = self.mapToScene(event.pos())
        item = self.itemAt(event.pos())
        node = node_item_of(item)
        block = block_item_of(item)
        frame = self.graph_scene.block_at(position, self.transform()) if node is None else None
        menu = QMenu(self)
        if block is not None:
            if block.group_id not in self.graph_scene.selected_group_ids():
                self.graph_scene.select_groups([block.group_id])
            self._block_menu(menu, block.group_id)
        elif node is not None:
            if node.node_id not in self.graph_scene.selected_node_ids():
                self.graph_scene.select_nodes([node.node_id])
            self._node_menu(menu, node.node_id)
        elif isinstance(item, EdgeItem):
            self._edge_menu(menu, item.edge)
        elif frame is not None:
            menu.addAction("Collapse block", lambda: self.editor.set_collapsed(frame, True))
            menu.addAction("Ungroup", lambda: self.editor.ungroup([frame]))
        else:
            self._canvas_menu(menu, position)
        menu.exec(event.globalPos())

    def _node_menu(self, menu: QMenu, node_id: str) -> None:
        marked = any(o.node == node_id for o in self.editor.graph.outputs)
        menu.addAction(
            "Unmark Model Output" if marked else "Mark as Model Output", lambda: self._toggle(node_id)
        )
        menu.addAction("Duplicate", self.duplicate_selection)
        menu.addAction("Copy", self.copy_selection)
        if self.graph_scene.inside is None:
            menu.addAction("Group", self.group_selection)
        menu.addSeparator()
        menu.addAction("Delete", self.delete_selection)

    def _block_menu(self, menu: QMenu, group_id: str) -> None:
        editor = self.editor
        menu.addAction("Edit inside", lambda: self.edit_inside(group_id))
        menu.addAction("Rename block…", lambda: self.rename_block(group_id))
        menu.addAction("Expand in place", lambda: editor.set_collapsed(group_id, False))
        menu.addAction("Ungroup", self.ungroup_selection)
        menu.addSeparator()
        menu.addAction("Save block to library…", lambda: self.save_block(group_id))
        menu.addAction("New instance", lambda: self._new_instance(group_id, shared=False))
        menu.addAction("New instance sharing weights", lambda: self._new_instance(group_id, shared=True))
        menu.addSeparator()
        menu.addAction("Duplicate", self.duplicate_selection)
        menu.addAction("Copy", self.copy_selection)
        menu.addAction("Delete", self.delete_selection)

    def _new_instance(self, group_id: str, shared: bool) -> str | None:
        new = self.editor.new_instance(group_id, shared)
        if new is not None:
            self.graph_scene.select_groups([new])
        return new

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

    # ------------------------------------------------------------ empty state
    def empty_hint(self) -> str:
        """The hint the view shows over an empty design, "" when the design has nodes."""
        return EMPTY_HINT if not self.editor.graph.nodes else ""

    def _scene_changed(self) -> None:
        """Repaint the whole view when the hint comes or goes (items only repaint their own area)."""
        if self.empty_hint() != self.painted_hint:
            self.viewport().update()

    def drawForeground(self, painter: QPainter, rect: QRectF | QRect) -> None:  # noqa: N802 - Qt's name
        super().drawForeground(painter, rect)
        self.painted_hint = self.empty_hint()
        if not self.painted_hint:
            return
        painter.save()
        painter.resetTransform()
        painter.setPen(self.graph_scene.colors.node_subtext)
        font = painter.font()
        font.setPointSizeF(11.0)
        painter.setFont(font)
        flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
        painter.drawText(QRectF(self.viewport().rect()).adjusted(24, 24, -24, -24), flags, self.painted_hint)
        painter.restore()


def _start_centre(
    rect: QRectF, start: QPointF, visible_width: float, visible_height: float, margin: float
) -> QPointF:
    """The scene point to centre on so that `rect` is in the middle of the visible area, or, along
    a side it overflows, its start is in view: its left edge at the margin, and the height of
    `start` (the leftmost item, where the inputs are) in the middle, within the rect."""
    x, y = rect.center().x(), rect.center().y()
    if rect.width() + 2 * margin > visible_width:
        x = rect.left() - margin + visible_width / 2
    if rect.height() + 2 * margin > visible_height:
        half = visible_height / 2 - margin
        y = min(max(start.y(), rect.top() + half), rect.bottom() - half)
    return QPointF(x, y)
