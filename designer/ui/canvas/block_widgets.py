"""Widgets of the canvas for blocks: the breadcrumb bar above the inside of a block, and the rename dialog.

`BreadcrumbBar` says where the canvas is (the model, then the block); its first crumb
(and Escape on the canvas) leads back to the whole design. `BlockNameDialog`
edits a block's name and its block type, showing the class the type becomes
in generated code. Neither changes the model: the view turns what they say
into edits through the `CanvasEditor`.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QWidget,
)

from designer.graph.model import Group, block_class_name, is_valid_name

SEPARATOR = "\u203a"  # a single right-pointing angle quotation mark between the crumbs


class BreadcrumbBar(QFrame):
    """Where the canvas is, the model then the block; the first crumb goes back to the whole design."""

    leave_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("breadcrumb")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.model_crumb = QToolButton(self)
        self.model_crumb.setAutoRaise(True)
        self.model_crumb.setToolTip("Back to the whole design (Esc)")
        self.model_crumb.setCursor(Qt.CursorShape.PointingHandCursor)
        self.model_crumb.setStyleSheet("QToolButton { color: palette(link); }")
        self.model_crumb.clicked.connect(self.leave_requested)
        self.separator = QLabel(SEPARATOR, self)
        self.block_crumb = QLabel(self)
        font = self.block_crumb.font()
        font.setBold(True)
        self.block_crumb.setFont(font)
        self.hint = QLabel("editing inside the block · Esc to go back", self)
        self.hint.setEnabled(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 8, 2)
        layout.setSpacing(6)
        for widget in (self.model_crumb, self.separator, self.block_crumb):
            layout.addWidget(widget)
        layout.addStretch(1)
        layout.addWidget(self.hint)

    def set_path(self, model: str, block: str) -> None:
        self.model_crumb.setText(model)
        self.block_crumb.setText(block)

    def crumbs(self) -> list[str]:
        return [self.model_crumb.text(), self.block_crumb.text()]


class BlockNameDialog(QDialog):
    """Edit a block's name and block type; the class name the type becomes is shown as it is typed."""

    def __init__(self, group: Group, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Rename block {group.name}")
        self.name_edit = QLineEdit(group.name)
        self.block_edit = QLineEdit(group.block)
        self.class_label = QLabel()
        self.problem = QLabel()
        self.problem.setStyleSheet("color: #d93025")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        form = QFormLayout(self)
        form.addRow("Name", self.name_edit)
        form.addRow("Block type", self.block_edit)
        form.addRow("Class in the code", self.class_label)
        form.addRow(self.problem)
        form.addRow(self.buttons)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.name_edit.textChanged.connect(self._check)
        self.block_edit.textChanged.connect(self._check)
        self._check()

    def names(self) -> tuple[str, str]:
        return self.name_edit.text().strip(), self.block_edit.text().strip()

    def _check(self) -> None:
        """Show the class name, or why the text cannot be a name; OK only for valid names."""
        name, block = self.names()
        self.class_label.setText(block_class_name(block) if block else "")
        wrong = [what for what, text in (("name", name), ("block type", block)) if not is_valid_name(text)]
        self.problem.setText(
            f"The {' and the '.join(wrong)} must be a Python identifier: letters, digits and "
            "underscores, not starting with a digit or an underscore."
            if wrong
            else ""
        )
        self.problem.setVisible(bool(wrong))
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        if ok is not None:
            ok.setEnabled(not wrong)
