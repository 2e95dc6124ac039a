"""The history panel: the document's undo stack as a list; clicking a step goes back to it."""

from __future__ import annotations

from PySide6.QtWidgets import QStyle, QUndoView, QWidget

from designer.ui.document import Document

EMPTY_LABEL = "<original>"


class HistoryView(QUndoView):
    """A QUndoView on `document.undo_stack` (one stack for the document's life; New and Open clear it).

    The saved state carries a save icon."""

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(document.undo_stack, parent)
        self.document = document
        self.setEmptyLabel(EMPTY_LABEL)
        self.setCleanIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_DialogSaveButton))
