"""PySide6 6.12.0 drops a reference to None on each void Qt call and aborts on Python 3.11.

The dependency pin (>=6.11,<6.12) keeps it out; this test fails loudly if a
broken build comes back: many void calls must leave None's refcount alone.
"""

from __future__ import annotations

import sys

import PySide6
from PySide6.QtCore import QObject


def test_pyside_version_is_inside_the_tested_range() -> None:
    major, minor = (int(part) for part in PySide6.__version__.split(".")[:2])
    assert (major, minor) == (6, 11), PySide6.__version__


def test_void_qt_calls_keep_the_refcount_of_none() -> None:
    holder = QObject()
    before = sys.getrefcount(None)
    for index in range(20_000):
        holder.setObjectName(f"name_{index % 7}")  # a void method: returns None
        holder.blockSignals(False)
    after = sys.getrefcount(None)
    assert abs(after - before) < 100, (before, after)
