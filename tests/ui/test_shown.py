"""`ShownRefresh`: one way for the Weights, Activations and Code panels to hold back a refresh
while hidden and run it, once, when shown."""

from __future__ import annotations

from designer.ui.panels.shown import ShownRefresh


class Panel:
    """A panel as the real ones use it: refresh() holds back while hidden; set_shown() catches up."""

    def __init__(self, owed: bool = False) -> None:
        self.shown = False
        self.refreshes = 0
        self.shown_refresh = ShownRefresh(owed)

    def set_shown(self, shown: bool) -> None:
        self.shown = shown
        if self.shown_refresh.due(shown):
            self.refresh()

    def refresh(self) -> None:
        if self.shown_refresh.hold(self.shown):
            return
        self.refreshes += 1


def test_a_hidden_panel_owes_its_refresh_and_runs_it_once_shown() -> None:
    panel = Panel()
    panel.refresh()
    panel.refresh()
    assert panel.refreshes == 0 and panel.shown_refresh.owed
    panel.set_shown(True)
    assert panel.refreshes == 1 and not panel.shown_refresh.owed
    panel.set_shown(False)
    panel.set_shown(True)  # nothing owed: nothing run
    assert panel.refreshes == 1


def test_a_shown_panel_refreshes_at_once() -> None:
    panel = Panel()
    panel.set_shown(True)
    panel.refresh()
    assert panel.refreshes == 1 and not panel.shown_refresh.owed


def test_a_first_refresh_can_be_owed_from_the_start() -> None:
    panel = Panel(owed=True)
    panel.set_shown(True)
    assert panel.refreshes == 1
