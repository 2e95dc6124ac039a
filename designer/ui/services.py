"""What a feature installed in the main window may ask of it: `WindowServices`.

The features that add their own docks, menus and actions to the window (blocks,
custom layers, inspection) take this interface rather than the `MainWindow`
itself, so none of them reaches into the window's private members and each can
be read knowing only these few calls. `MainWindow` implements it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QDockWidget, QMenu, QWidget

    from designer.ui.document import Document
    from designer.ui.engine_client import EngineClient


class WindowServices(Protocol):
    """The main window as the features installed in it see it."""

    document: Document
    client: EngineClient | None

    def window(self) -> QWidget:
        """The top-level widget that dialogs, menus and actions belong to."""
        ...

    def add_dock(
        self,
        name: str,
        title: str,
        widget: QWidget,
        area: Qt.DockWidgetArea,
        tab_with: str | None = None,
    ) -> QDockWidget:
        """A dock named `name` for `widget`, tabbed behind the dock `tab_with` when it is there."""
        ...

    def dock(self, name: str) -> QDockWidget | None:
        """The dock named `name` (palette, inspector, code, summary...), None when there is none."""
        ...

    def add_actions(self, menu: str, actions: Mapping[str, QAction], before: QAction | None = None) -> None:
        """Add named actions to the menu titled `menu` ("&File", "&Edit"...), before `before` if given."""
        ...

    def add_menu(self, menu: QMenu, before: str | None = None) -> None:
        """A menu of its own in the menu bar, before the menu titled `before` (else at the end)."""
        ...

    def menu(self, title: str) -> QMenu:
        """The window's menu titled `title`; LookupError when there is none."""
        ...

    def action(self, name: str) -> QAction | None:
        """The window's action named `name` ("quit", "group"...), None when there is none."""
        ...

    def bring_forward(self, name: str, height: int | None = None) -> None:
        """Show the dock named `name` with its tab in front, `height` pixels high if given."""
        ...

    def show_message(self, text: str) -> None:
        """A line in the status bar, for a while."""
        ...

    def report_error(self, title: str, text: str) -> None:
        """A dialog saying what went wrong."""
        ...

    def confirm_discard(self) -> bool:
        """Ask before the design's unsaved changes are lost; True to go on."""
        ...

    def add_close_check(self, check: Callable[[], bool]) -> None:
        """`check` is asked first when the window is about to close; False keeps it open."""
        ...

    def remove_close_check(self, check: Callable[[], bool]) -> None:
        """`check` is no longer asked."""
        ...

    def reanalyze(self) -> None:
        """Analyse the design again now (what it depends on changed under it)."""
        ...
