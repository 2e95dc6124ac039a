"""The graph canvas: the scene that mirrors the design, the view that edits it, and their parts."""

from designer.ui.canvas.editor import CanvasEditor, PendingLink
from designer.ui.canvas.scene import GraphScene
from designer.ui.canvas.view import LAYER_MIME, GraphView

__all__ = ["LAYER_MIME", "CanvasEditor", "GraphScene", "GraphView", "PendingLink"]
