"""The composition root of the GUI: application, engine client, document and main window.

`main(argv)` runs `designer [FILE]` (no FILE: the built-in digits_cnn example)
and `designer --screenshot PNG [FILE]` (render the window once the shapes are
in, then exit). The window is usable at once: the catalog comes from the
engine's disk cache when there is one, else from the engine when it is up,
and a file to open waits for it. This module never imports Keras; the engine
runs in its own process behind `EngineClient`.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from designer.catalog.spec import Catalog
from designer.graph import project
from designer.graph.errors import ProjectError
from designer.ui.document import Document
from designer.ui.engine_client import EngineClient, EngineSync, cached_catalog
from designer.ui.examples import DEFAULT_EXAMPLE, example_path
from designer.ui.main_window import APP_NAME, ORGANISATION, MainWindow

SCREENSHOT_TIMEOUT_MS = 180_000
SETTLE_MS = 150


@dataclass(frozen=True)
class Options:
    """What the command line asks for."""

    file: Path | None = None
    screenshot: Path | None = None


def parse_arguments(argv: Sequence[str]) -> Options:
    parser = argparse.ArgumentParser(prog="designer", description="Keras model designer.")
    parser.add_argument("file", nargs="?", type=Path, help="a design to open (default: an example)")
    parser.add_argument("--screenshot", type=Path, metavar="PNG", help="render the window to PNG and exit")
    arguments = parser.parse_args(list(argv))
    return Options(arguments.file, arguments.screenshot)


def main(argv: Sequence[str] | None = None) -> int:
    return run(parse_arguments(sys.argv[1:] if argv is None else argv))


# ---------------------------------------------------------------------- run
class _NoClient:
    """Marks "make the default EngineClient" apart from an explicit None (no engine)."""


DEFAULT_CLIENT = _NoClient()


def run(
    options: Options,
    client: EngineClient | _NoClient | None = DEFAULT_CLIENT,
    on_window: Callable[[MainWindow], None] | None = None,
) -> int:
    """Build the application and its window, open what `options` name, and run the event loop."""
    application = _application()
    engine = EngineClient() if isinstance(client, _NoClient) else client
    window, sync = build_window(engine)
    if on_window is not None:
        on_window(window)
    if engine is not None:
        engine.start()
        engine.request_catalog()
    if options.screenshot is not None:
        code = _screenshot(application, window, sync, options)
    else:
        if window.dock_layout.restored:
            window.show()  # as the person left it
        else:
            window.showMaximized()
        QTimer.singleShot(0, lambda: _open_first(window, options.file))
        code = application.exec()
    if engine is not None:
        stop_engine(engine)
    return code


def stop_engine(engine: EngineClient, grace_s: float = 3.0) -> None:
    """Let the engine process end before the application goes (it exits at the end of its input)."""
    engine.stop()
    deadline = time.monotonic() + grace_s
    while engine.is_running and time.monotonic() < deadline:
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.01)


def build_window(client: EngineClient | None) -> tuple[MainWindow, EngineSync | None]:
    """A window on an empty document, with the catalog from the cache at once when there is one."""
    catalog = cached_catalog(client.cache_dir if client is not None else None)
    document = Document(catalog if catalog is not None else Catalog())
    window = MainWindow(document, client)
    keep_collections_short(document)
    sync = EngineSync(document, client, parent=window) if client is not None else None
    if client is not None:
        client.catalog_ready.connect(window.set_catalog)
    return window, sync


def keep_collections_short(document: Document) -> None:
    """Keep Python's full garbage collections off the GUI's back.

    A design of a thousand nodes holds a few hundred thousand objects; a full
    collection walks all of them and stalls the event loop for a noticeable
    time when an engine reply allocates many new ones. Objects alive once a
    design is shown (the app, the catalog, the items) are moved out of the
    collector's view (`gc.freeze`), now and after every design is shown.
    """
    gc.collect(1)
    gc.freeze()
    document.project_replaced.connect(lambda: QTimer.singleShot(0, _freeze_survivors))


def _freeze_survivors() -> None:
    gc.collect(1)
    gc.freeze()


def _open_first(window: MainWindow, file: Path | None) -> None:
    """Offer a crashed session's design first; else open the file, or the example."""
    if window.check_recovery():
        return
    if file is not None:
        window.open_path(file)
    else:
        window.when_catalog_known(lambda: open_example(window))


def open_example(window: MainWindow, name: str = DEFAULT_EXAMPLE) -> bool:
    """Show a built-in example as a new, untitled design (saving asks where)."""
    try:
        loaded = project.load(example_path(name), window.document.catalog.ports_of)
    except ProjectError as error:
        window.report_error("Cannot open the example", str(error))
        return False
    window.document.replace(loaded, None)
    return True


def _application() -> QApplication:
    application = QApplication.instance()
    if not isinstance(application, QApplication):
        application = QApplication([sys.argv[0] if sys.argv else "designer"])
    application.setOrganizationName(ORGANISATION)
    application.setApplicationName(APP_NAME)
    return application


# --------------------------------------------------------------- screenshot
def _screenshot(
    application: QApplication, window: MainWindow, sync: EngineSync | None, options: Options
) -> int:
    """Show the design, wait for its shapes (or time out), save the window as a PNG, exit."""
    assert options.screenshot is not None
    window.report_error = _print_error  # type: ignore[method-assign]
    window.confirm_discard = lambda: True  # type: ignore[method-assign]
    shot = _Screenshot(application, window, options.screenshot)
    if sync is not None:
        sync.analysis_applied.connect(shot.analysed)
    window.show()
    window.when_catalog_known(lambda: shot.open(options.file))
    QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, shot.timed_out)
    application.exec()
    return 0 if shot.code is None else shot.code  # None: the window was closed before the picture


class _Screenshot:
    """Takes the picture once, when every node has its shapes."""

    def __init__(self, application: QApplication, window: MainWindow, target: Path) -> None:
        self.application, self.window, self.target = application, window, target
        self.opened = False
        self.code: int | None = None

    def open(self, file: Path | None) -> None:
        self.opened = self.window.open_path(file) if file is not None else open_example(self.window)
        if not self.opened:
            self.finish(2, write=False)

    def analysed(self) -> None:
        graph, results = self.window.document.graph, self.window.document.results
        if self.opened and all(node_id in results for node_id in graph.nodes):
            QTimer.singleShot(SETTLE_MS, lambda: self.finish(0))

    def timed_out(self) -> None:
        print("The engine did not answer in time: the screenshot shows no shapes.", file=sys.stderr)
        self.finish(1)

    def finish(self, code: int, write: bool = True) -> None:
        if self.code is not None:
            return
        self.code = code
        if write:
            self.window.view.show_design()  # what a person sees on opening: readable, from the inputs
            if not self.window.grab().save(str(self.target), "PNG"):
                print(f"Cannot write {self.target}", file=sys.stderr)
                self.code = 1
        self.application.quit()


def _print_error(title: str, text: str) -> None:
    print(f"{title}: {text}", file=sys.stderr)
