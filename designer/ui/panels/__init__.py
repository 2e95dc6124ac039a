"""The dockable panels of the main window, each a view of the open `Document`.

Every panel takes the document, listens to it and to its graph itself (and
re-subscribes on `project_replaced`), and edits the design only through undo
commands on `document.undo_stack`.
"""

from designer.ui.panels.code_view import CodeView
from designer.ui.panels.diagnostics import DiagnosticsView
from designer.ui.panels.history import HistoryView
from designer.ui.panels.inspector import InspectorView
from designer.ui.panels.palette import LAYER_MIME_TYPE, PaletteView
from designer.ui.panels.summary import SummaryView

__all__ = [
    "LAYER_MIME_TYPE",
    "CodeView",
    "DiagnosticsView",
    "HistoryView",
    "InspectorView",
    "PaletteView",
    "SummaryView",
]
