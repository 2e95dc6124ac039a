"""What lets a form panel fit a narrow dock: it scrolls down, never sideways.

A panel docked at the side of a 1280 px window is about 300 px wide. Its forms
put a field under its label when both do not fit (`wrapping_form`), its combo
boxes and spin boxes shrink below the width of their longest item or largest
number (`narrow_combo`, `narrow_spin_box`; the popup and the text still show
everything), and its scroll area has no horizontal scroll bar at all
(`vertical_scroll_area`), so whatever is left too wide shows up in tests as an
editor past the viewport's right edge rather than hiding behind a scroll bar.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractSpinBox, QComboBox, QFormLayout, QFrame, QScrollArea, QWidget

COMBO_CHARACTERS = 8  # a combo box may shrink to this many characters of its current item
SPIN_BOX_WIDTH = 72  # px: enough for six digits and the arrows


def wrapping_form(parent: QWidget | None = None) -> QFormLayout:
    """A form whose fields move under their labels when a row is too wide, and grow to the edge."""
    form = QFormLayout(parent) if parent is not None else QFormLayout()
    form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    return form


def narrow_combo(combo: QComboBox) -> QComboBox:
    """Let `combo` shrink below its longest item (its popup still shows every item in full)."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(COMBO_CHARACTERS)
    return combo


def narrow_spin_box(box: QAbstractSpinBox) -> QAbstractSpinBox:
    """Let a spin box shrink below the width of the largest number its range allows."""
    box.setMinimumWidth(min(box.minimumSizeHint().width(), SPIN_BOX_WIDTH))
    return box


def vertical_scroll_area(content: QWidget | None = None) -> QScrollArea:
    """A frameless scroll area that resizes `content` to its width and scrolls only downwards."""
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    if content is not None:
        scroll.setWidget(content)
    return scroll
