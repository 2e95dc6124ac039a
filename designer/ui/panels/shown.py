"""Panels that refresh only while they are shown: `ShownRefresh`.

A panel whose refresh costs an engine request or a code generation (Weights,
Activations, Code) holds it back while it is hidden (its dock closed, or
another tab in front) and runs it once when it is shown again, so a hidden
panel costs nothing and a shown one is never out of date.
"""

from __future__ import annotations


class ShownRefresh:
    """Whether a panel owes a refresh it held back while hidden.

    The panel's refresh starts with `if self.shown_refresh.hold(shown): return`; when the
    panel's visibility changes (its dock's visibilityChanged, its showEvent) it refreshes
    if `due(shown)`. Plain state, no callbacks: it keeps no panel alive.
    """

    def __init__(self, owed: bool = False) -> None:
        self.owed = owed  # a refresh was held back (or the first one is still to come)

    def hold(self, shown: bool) -> bool:
        """At the start of a refresh: True while the panel is hidden, and the refresh is then owed."""
        self.owed = not shown
        return self.owed

    def due(self, shown: bool) -> bool:
        """The panel's visibility changed: True when it is shown and owes a refresh."""
        return shown and self.owed
