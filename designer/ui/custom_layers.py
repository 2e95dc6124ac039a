"""The user's own layers in the window: their files, consent, watching them, the layer editor.

`install_custom_layers(services)` adds to a window, through its `WindowServices`,
File > Load Custom Layers…, Load Custom Layer Folder…, New Custom Layer… and
Edit Custom Layer File…, and the Layer Editor dock, all run by one `CustomLayerFiles`:

- The design's files are the custom-layer references of `document.model`:
  absolute paths in the model and its undo commands (a design read from a
  file gets them made absolute when it is shown), relative to the project
  file only in the file written (`Document.save`). Adding one is a
  `SetCustomLayerPaths` undo command calling the model's `set_custom_layers`;
  this object follows the model's `custom_layers_changed` (an add, its Undo
  and Redo) and `project_replaced`. The files are offered to the engine (op
  "load_custom_layers", always all of them) when they change, when a project
  naming them opens (`prepare_open`), after an engine restart and when they
  change on disk. The engine's specs, and stand-ins for the layers whose code
  did not run, join the document's catalog: the palette's Custom group. Each
  survey and load is tagged with the design it is for (a generation counted
  on `project_replaced`): one still under way when another design is shown is
  dropped unanswered (no question about its files, nothing into the new
  design's catalog), and the new design's own files are offered.
- No file runs before the person trusts its content: `confirm_trust` (a method
  tests replace) names the files and the modules each imports from its folder;
  designer.trust remembers the answer per hash of a file with those modules,
  and the engine asks it again before it runs a file. A declined file is
  not run; its layers stay in the design as stand-ins that say why.
- A QFileSystemWatcher follows the files and their folders (an editor that
  saves by rename replaces the file). A change reloads them (a changed file is
  asked about again, unless the app's own editor wrote it) and analyses the
  design again; what the engine reports about the files (a syntax error and its
  line...) is in every analysis and on the status bar, while the last good
  version stays in use.
- The engine notes in a guard file what user code it runs: a layer that
  crashes or hangs it is not run again by the restarted engine, and the load
  reply names it (designer.engine.custom_ops).
- The layer editor's Check goes to the engine (op "check_layer"); Save writes
  the file atomically, trusts what the app itself wrote, and loads it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QFileSystemWatcher, QObject, Qt, QTemporaryDir, QTimer
from PySide6.QtGui import QAction, QUndoCommand
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget

from designer.catalog.spec import Catalog, LayerSpec
from designer.graph import project
from designer.graph.errors import ProjectError
from designer.trust import (
    ConsentSurvey,
    TrustStore,
    consent_snapshot,
    layer_files,
    local_imports,
    stand_in_specs,
    survey_consent,
    trust_digest,
)
from designer.ui.background import BackgroundJobs
from designer.ui.document import Document
from designer.ui.panels.layer_editor import CLASS_NAME, LayerEditor
from designer.ui.panels.subscription import ProjectSubscription
from designer.ui.services import WindowServices

SECTION = "custom_layers"
GUARD_FILE = "engine-guard.json"
RELOAD_DELAY_MS = 250
CHECK_TIMEOUT_S = 30.0
EDITOR_HEIGHT = 420
LAYER_FILTER = "Python files (*.py);;All files (*)"


def _hash_or_none(path: Path) -> str | None:
    """The file's consent hash (its local imports included); None when it cannot be read."""
    try:
        return trust_digest(path)
    except OSError:
        return None


def consent_text(files: list[Path], imports: Mapping[Path, list[Path]] | None = None) -> str:
    """The files whose code would run, each with the modules it imports from its folder (`imports`
    when they were read already)."""
    lines = []
    for file in files:
        lines.append(f"    {file}")
        found = imports[file] if imports is not None and file in imports else _local_imports_or_none(file)
        lines += [f"        imports {module}" for module in found]
    return "The design uses Python code from:\n\n" + "\n".join(lines)


def ask_to_run_code(parent: QWidget, title: str, text: str, details: str) -> bool:
    """The consent dialog: a warning with Trust and load, or Don't load; True for trust."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(title)
    box.setText(text)
    box.setInformativeText(details)
    trust = box.addButton("Trust and load", QMessageBox.ButtonRole.AcceptRole)
    box.addButton("Don't load", QMessageBox.ButtonRole.RejectRole)
    box.exec()
    return box.clickedButton() is trust


def _local_imports_or_none(file: Path) -> list[Path]:
    try:
        return local_imports(file)
    except OSError:
        return []


def _survey_files(paths: list[Path]) -> ConsentSurvey:
    """On the worker thread: the layer files `paths` name, read and hashed with their imports."""
    return survey_consent(layer_files(paths))


def _normal(path: Path) -> Path:
    """An absolute, normalised path (symbolic links kept, as the person named them)."""
    return Path(os.path.normpath(Path(path).absolute()))


# ------------------------------------------------------------------ undo
class SetCustomLayerPaths(QUndoCommand):
    """Replace the project's list of custom-layer files and folders."""

    def __init__(self, document: Document, entries: list[str], text: str) -> None:
        super().__init__(text)
        self.model = document.model
        self.old = self.model.custom_layers
        self.new = tuple(entries)

    def redo(self) -> None:
        self.model.set_custom_layers(self.new)

    def undo(self) -> None:
        self.model.set_custom_layers(self.old)


@dataclass
class _Load:
    """A load request in flight: the paths offered, the project data the stand-ins are for, what
    to do once it is answered."""

    paths: list[Path]
    data: Mapping[str, Any] | None = None
    then: Callable[[], None] | None = None
    files: dict[Path, str | None] = field(default_factory=dict)
    only_if_changed: bool = False  # a file changed on disk: offered again only when its content did
    generation: int = 0  # the design it is for: the controller's generation when it was asked


@dataclass
class _Opening:
    """A project whose opening waits for its custom layers: only the newest one opens."""

    key: Path
    index: int  # the undo stack's index when the open was asked for


# -------------------------------------------------------------- controller
class CustomLayerFiles(QObject):
    """The custom-layer files of the window's design, kept loaded in the engine and the palette."""

    def __init__(self, window: WindowServices) -> None:
        super().__init__(window.window())
        self.window, self.document = window, window.document  # the window, as its services
        client = window.client
        self.client = client if client is not None and hasattr(client, "answered") else None
        self.specs: dict[str, LayerSpec] = {}  # the engine's specs of the files' layers
        self.stand_ins: dict[str, LayerSpec] = {}  # layers of the design whose code did not run
        self.problems: list[dict[str, Any]] = []  # the last load's, as the engine said them
        self.requested: list[Path] | None = None  # the paths offered last (None: never)
        self.sent: dict[Path, str | None] = {}  # each file offered last, and its hash then
        self.declined: set[str] = set()  # contents (hashes) the person would not run, this session
        self._pending: dict[int, _Load] = {}  # by request; a negative key: its files are being read
        self._surveys = 0
        self._generation = 0  # counts the designs shown: a load of an earlier one is dropped
        self._consent_imports: Mapping[Path, list[Path]] = {}  # of the files confirm_trust asks about
        self._trust_jobs = BackgroundJobs("custom-layer-trust", self)
        self._checks: set[int] = set()
        self._waiting: _Opening | None = None  # the open waiting for its files to load
        self._ready: Path | None = None  # a project whose files were just loaded for it
        self._guard_folder = QTemporaryDir()
        self.guard_path = str(Path(self._guard_folder.path()) / GUARD_FILE)
        self.watcher = QFileSystemWatcher(self)
        self.reload_timer = QTimer(self, singleShot=True, interval=RELOAD_DELAY_MS)
        self.reload_timer.timeout.connect(self.reload_changed)
        self.editor = LayerEditor()
        self._subscription = ProjectSubscription(
            self.document,
            self,
            {"custom_layers_changed": self._references_changed},
            on_replaced=self._follow_document,
        )
        self._connect()
        window.add_close_check(self._window_closing)

    def _connect(self) -> None:
        self.watcher.fileChanged.connect(self._on_disk_change)
        self.watcher.directoryChanged.connect(self._on_disk_change)
        self.document.catalog_changed.connect(self._keep_in_catalog)
        self.editor.check_requested.connect(self.check)
        self.editor.save_requested.connect(self.save_layer)
        if self.client is not None:
            self.client.answered.connect(self._answered)
            self.client.request_failed.connect(self._failed)
            self.client.started.connect(self._engine_started)

    def close(self) -> None:
        """Stop following the engine, the document and the files (the window goes)."""
        self.window.remove_close_check(self._window_closing)
        self.reload_timer.stop()
        watched = self.watcher.files() + self.watcher.directories()
        if watched:
            self.watcher.removePaths(watched)
        self.document.catalog_changed.disconnect(self._keep_in_catalog)
        self._subscription.release()
        if self.client is not None:
            self.client.answered.disconnect(self._answered)
            self.client.request_failed.disconnect(self._failed)
            self.client.started.disconnect(self._engine_started)
            self.client = None

    # ------------------------------------------------------------------ paths
    def paths(self, data: Mapping[str, Any] | None = None, folder: Path | None = None) -> list[Path]:
        """The files and folders the design names (or `data`, a project file's, in `folder`)."""
        entries = self.document.model.custom_layers if data is None else data.get(SECTION)
        folder = folder if folder is not None else self._folder()
        absolute = [
            Path(entry) if Path(entry).is_absolute() else folder / entry
            for entry in (entries if isinstance(entries, list | tuple) else [])
            if isinstance(entry, str)
        ]
        return [_normal(path) for path in absolute]

    def _folder(self) -> Path:
        return self.document.path.parent if self.document.path is not None else Path.cwd()

    def _make_absolute(self) -> None:
        """The design just shown may name its files relative to the working folder (it has no file
        yet): name them absolutely (not an edit, nor a change to load: they mean the same files)."""
        self._subscription.disconnect()
        self.document.model.set_custom_layers(str(path) for path in self.paths())
        self._subscription.connect()

    def _references_changed(self) -> None:
        """Files were added to the design, or that step was undone or redone."""
        self.sync()

    def add_paths(self, paths: list[Path]) -> bool:
        """Add files or folders to the design (File > Load Custom Layers…), once trusted; for
        files the design names already, trust them (a stand-in's way to load)."""
        named = list(dict.fromkeys(map(_normal, paths)))
        files = [file for file in layer_files(named) if file.is_file()]
        if not files:
            self.window.show_message(f"No layer files (.py) in {', '.join(str(p) for p in named)}.")
            return False
        store = TrustStore()
        untrusted = store.untrusted(files)
        shown = consent_snapshot(untrusted)  # what the dialog shows is what gets trusted
        if untrusted and not self.confirm_trust(untrusted):
            self.window.show_message(f"Not loaded: {', '.join(f.name for f in untrusted)}")
            return False
        if untrusted:
            self._remember_trust(lambda: store.trust_snapshot(shown))
            self.declined -= {digest for digest in map(_hash_or_none, untrusted) if digest}
        current = self.paths()
        new = [path for path in named if path not in current]
        if not new:
            if untrusted:
                self.sync()
            else:
                self.window.show_message("Those custom layers are loaded already.")
            return bool(untrusted)
        entries = [str(path) for path in [*current, *new]]
        names = ", ".join(path.name for path in new)
        self.document.undo_stack.push(SetCustomLayerPaths(self.document, entries, f"Load {names}"))
        return True

    # ---------------------------------------------------------------- consent
    def confirm_trust(self, files: list[Path]) -> bool:
        """Ask before code from `files` runs: Trust and load, or Don't load."""
        return ask_to_run_code(
            self.window.window(),
            "Run custom layer code?",
            consent_text(files, self._consent_imports),
            "Loading runs this code, and the modules it imports from its folder, with your permissions. "
            "Trust it only if you know where it comes from; the answer is remembered until one of "
            "these files changes.",
        )

    def _ask_consent(self, survey: ConsentSurvey) -> None:
        """Trust or decline the files not trusted yet (a declined content is not asked about again),
        as `survey` read them off the GUI thread."""
        untrusted = survey.asking(self.declined)
        if not untrusted:
            return
        shown = survey.shown(untrusted)  # what the dialog shows is what gets trusted
        self._consent_imports = survey.imports
        try:
            trusted = self.confirm_trust(untrusted)
        finally:
            self._consent_imports = {}
        if trusted:
            self._remember_trust(lambda: TrustStore().trust_snapshot(shown))
        else:
            self.declined |= {digest for file in untrusted if (digest := survey.digests.get(file))}
            self.window.show_message(f"Not run: {', '.join(f.name for f in untrusted)} (not trusted)")

    def _remember_trust(self, write: Callable[[], None]) -> None:
        """Write a consent to the trust store; a store that cannot be written (a full or read-only
        configuration folder) is said, and the code stays unrun: the engine asks the store too."""
        try:
            write()
        except OSError as error:
            self.window.report_error(
                "Cannot remember that you trust this code",
                f"{error.filename or ''}: {error.strerror or error}\n"
                "The custom layers will not run until the trust store can be written. "
                "Opening and saving designs still work.",
            )

    # ----------------------------------------------------------------- loading
    def sync(
        self,
        data: Mapping[str, Any] | None = None,
        folder: Path | None = None,
        then: Callable[[], None] | None = None,
    ) -> None:
        """Offer the design's files (or those of `data`) to the engine, after asking about new ones.
        The files and their local imports are read and hashed off the GUI thread first (a load is
        under way meanwhile); without an engine nothing runs, so nothing is asked."""
        load = _Load(self.paths(data, folder), data, then, generation=self._generation)
        if self.client is None:
            load.files = {file: _hash_or_none(file) for file in layer_files(load.paths)}
            self._send(load)
            return
        self._survey(load)

    def _survey(self, load: _Load) -> None:
        self._surveys += 1
        key = -self._surveys
        self._pending[key] = load
        self._trust_jobs.submit(
            _survey_files,
            load.paths,
            done=lambda survey: self._surveyed(key, survey),
            failed=lambda _error: self._surveyed(key, ConsentSurvey({}, [], {}, {})),  # the engine asks too
        )

    def _surveyed(self, key: int, survey: ConsentSurvey) -> None:
        """Back on the GUI thread: ask about the files not trusted, then offer them to the engine."""
        load = self._pending.pop(key, None)
        if load is None or self.client is None or load.generation != self._generation:
            return  # closed meanwhile, or about a design no longer shown
        unchanged = set(survey.digests) == set(self.sent) and all(
            digest == self.sent[file] for file, digest in survey.digests.items()
        )
        if load.only_if_changed and unchanged:
            return
        self._ask_consent(survey)
        load.files = dict(survey.digests)
        self._send(load)

    def _send(self, load: _Load) -> None:
        self.requested, self.sent = list(load.paths), dict(load.files)
        self._watch(load.paths)
        if self.client is None:
            self._apply(load, {"specs": [], "problems": [], "stopped": []})
            if load.then is not None:
                load.then()
            return
        fields = {"paths": [str(path) for path in load.paths], "guard": self.guard_path}
        self._pending[self.client.request("load_custom_layers", fields)] = load

    def _in_effect(self, paths: list[Path]) -> bool:
        """Whether these paths are loaded as they are on disk now (or none are, and none asked)."""
        if self._pending or self.requested is None:
            return not paths and not self._pending
        files = layer_files(paths)
        same = sorted(self.requested) == sorted(paths) and set(files) == set(self.sent)
        return same and all(_hash_or_none(file) == self.sent[file] for file in files)

    def _engine_started(self) -> None:
        """A new engine knows no custom layers: offer them again (no question: nothing changed)."""
        if self.requested:
            self._send(_Load(self.requested, None, None, dict(self.sent), generation=self._generation))

    def _current(self, request: int) -> _Load | None:
        """The load `request` answers, unless it was about a design no longer shown (then dropped)."""
        load = self._pending.pop(request, None)
        return load if load is not None and load.generation == self._generation else None

    def _answered(self, request: int, op: str, result: Any) -> None:
        if request in self._checks:
            self._checks.discard(request)
            self.editor.show_result(dict(result))
            return
        load = self._current(request)
        if load is None:
            return
        self._apply(load, dict(result))
        if load.then is not None:
            load.then()
        else:
            self.revalidate()

    def _failed(self, request: int, message: str) -> None:
        if request in self._checks:
            self._checks.discard(request)
            self.editor.show_error(
                f"The engine stopped while checking the layer ({message}); it was restarted. "
                "Does build or call hang?"
            )
            return
        load = self._current(request)
        if load is None:
            return
        self.window.show_message(f"The engine did not load the custom layers: {message}")
        self._apply(
            load, {"specs": [spec.to_dict() for spec in self.specs.values()], "problems": self.problems}
        )
        if load.then is not None:
            load.then()

    def _apply(self, load: _Load, reply: Mapping[str, Any]) -> None:
        """The engine's specs and problems, and stand-ins for the layers of `load.data` (else the
        design's) that did not load, into the document's catalog."""
        specs = {spec.key: spec for spec in (LayerSpec.from_dict(s) for s in reply.get("specs", []))}
        self.problems = list(reply.get("problems", []))
        self._set_specs(specs, self._stand_ins(load.data, load.paths, specs))
        self._report(reply, specs)

    def _stand_ins(
        self, data: Mapping[str, Any] | None, paths: list[Path], specs: Mapping[str, LayerSpec]
    ) -> dict[str, LayerSpec]:
        data = data if data is not None else self.document.to_project().to_dict()
        base = self._base_catalog()
        stand_ins: dict[str, LayerSpec] = {}

        def known(key: str) -> bool:
            return key in specs or key in base

        for file in layer_files(paths):
            for spec in stand_in_specs(data, known, {file.stem}, self._why_not_loaded(file)):
                stand_ins[spec.key] = spec
        return stand_ins

    def _why_not_loaded(self, file: Path) -> str:
        if self.client is None:
            return f"Not loaded: the Keras engine is not running ({file.name})."
        problem = next(
            (p for p in self.problems if Path(str(p.get("file"))).resolve() == file.resolve()), None
        )
        reason = problem.get("message") if problem else "it defines no such layer"
        return f"Not loaded: {file.name}: {reason}."

    def _base_catalog(self) -> Catalog:
        """The document's catalog without what this object put in it."""
        mine = self.specs.keys() | self.stand_ins.keys()
        catalog = self.document.catalog
        return Catalog([spec for key, spec in catalog.items() if key not in mine], catalog.version)

    def _set_specs(self, specs: dict[str, LayerSpec], stand_ins: dict[str, LayerSpec]) -> None:
        if specs == self.specs and stand_ins == self.stand_ins and not self._missing_from_catalog():
            return
        base = self._base_catalog()
        self.specs, self.stand_ins = specs, stand_ins
        self.document.set_catalog(base.merged([*specs.values(), *stand_ins.values()]))

    def _missing_from_catalog(self) -> bool:
        catalog = self.document.catalog
        return any(catalog.get(key) != spec for key, spec in {**self.stand_ins, **self.specs}.items())

    def _keep_in_catalog(self) -> None:
        """Someone replaced the catalog (the engine's arrived, an import): put the layers back."""
        if self._missing_from_catalog():
            mine = [*self.stand_ins.values(), *self.specs.values()]
            self.document.set_catalog(self.document.catalog.merged(mine))

    def _report(self, reply: Mapping[str, Any], specs: Mapping[str, LayerSpec]) -> None:
        """One status-bar line: what stopped the engine, else the first problem, else what loaded."""
        stopped = list(reply.get("stopped", []))
        if stopped:
            self.window.show_message(_stopped_text(stopped[0]))
        elif self.problems:
            more = (
                f" (and {len(self.problems) - 1} more in the Problems panel)"
                if len(self.problems) > 1
                else ""
            )
            self.window.show_message(_problem_text(self.problems[0]) + more)
        elif specs:
            names = ", ".join(spec.class_name for spec in specs.values())
            self.window.show_message(f"Custom layers loaded: {names}")

    def revalidate(self) -> None:
        """Analyse the design again (its layers changed under it)."""
        self.window.reanalyze()

    # ---------------------------------------------------------------- opening
    def prepare_open(self, path: Path, retry: Callable[[], object]) -> bool:
        """Before the project at `path` opens: True when its custom layers are ready (loaded, or
        stand-ins for those that are not); else they are being loaded and `retry` follows."""
        try:
            data = project.read_data(path)
        except ProjectError:
            return True  # opening reports it
        return self.prepare_data(data, _normal(path).parent, _normal(path), retry)

    def prepare_data(self, data: Any, folder: Path, key: Path, retry: Callable[[], object]) -> bool:
        """`prepare_open` for project data whose custom-layer paths are relative to `folder`
        (a recovered design's come from its project file); `key` names the file being opened."""
        if not isinstance(data, dict):
            return True
        paths = self.paths(data, folder)
        ready, self._ready = self._ready == key, None
        self._waiting = None  # this open replaces any that waits
        if ready or self._in_effect(paths):
            self._set_specs(self.specs, self._stand_ins(data, paths, self.specs))
            return True
        opening = _Opening(key, self.document.undo_stack.index())
        self._waiting = opening
        self.window.show_message(f"Opening {key.name} once its custom layers are loaded…")
        self.sync(data, folder, then=lambda: self._loaded_for(opening, retry))
        return False

    def _loaded_for(self, opening: _Opening, retry: Callable[[], object]) -> None:
        """The files of a waiting open are loaded: open it, unless a newer open or another design
        replaced it, or the design was edited meanwhile and the person keeps it."""
        if self._waiting is not opening:
            return
        self._waiting = None
        edited = self.document.is_dirty and self.document.undo_stack.index() != opening.index
        if edited and not self.window.confirm_discard():
            self.window.show_message(f"Did not open {opening.key.name}: the design was changed meanwhile")
            return
        self._ready = opening.key
        retry()

    def _follow_document(self) -> None:
        """Another design is shown (New, Open, Recover): the surveys and loads still under way are
        about the last one and are dropped when they answer; offer its files if they differ from
        what is loaded, and always when one was under way (the engine may load the last design's)."""
        self._generation += 1
        self._waiting = None  # an open still waiting for its files must not replace this design
        self._make_absolute()
        paths = self.paths()
        if self._pending or not self._in_effect(paths):
            self.sync()
        else:
            self._watch(paths)

    # --------------------------------------------------------------- watching
    def _watch(self, paths: list[Path]) -> None:
        """Watch the files, their local imports, their folders (a save by rename replaces a file)
        and the folders named."""
        files = layer_files(paths)
        files += [module for file in files for module in _local_imports_or_none(file)]
        wanted = (
            {str(f) for f in files} | {str(f.parent) for f in files} | {str(p) for p in paths if p.is_dir()}
        )
        wanted = {path for path in wanted if os.path.exists(path)}
        watched = set(self.watcher.files()) | set(self.watcher.directories())
        if watched - wanted:
            self.watcher.removePaths(sorted(watched - wanted))
        if wanted - watched:
            self.watcher.addPaths(sorted(wanted - watched))

    def _on_disk_change(self, _path: str) -> None:
        self.reload_timer.start()

    def reload_changed(self) -> None:
        """Offer the files again when one changed, appeared or went (a changed one is asked about)."""
        if self._pending:
            self.reload_timer.start()  # look again once the engine has answered
            return
        paths = self.paths()
        self._watch(paths)
        if self.client is None:
            files = layer_files(paths)
            if set(files) != set(self.sent) or any(_hash_or_none(f) != self.sent.get(f) for f in files):
                self.sync()
            return
        # the hashes compared off the GUI thread
        self._survey(_Load(paths, only_if_changed=True, generation=self._generation))

    # ----------------------------------------------------------------- editor
    def new_layer(self) -> None:
        """File > New Custom Layer…: the editor on the template, with the class name asked for."""
        if not self.confirm_discard_layer():
            return
        name = self.ask_class_name()
        if name:
            self.editor.new_layer(name)
            self.show_editor()

    def edit_layer_file(self, path: Path | None = None) -> bool:
        """File > Edit Custom Layer File…: a .py file in the editor."""
        if not self.confirm_discard_layer():
            return False
        path = path if path is not None else self.ask_layer_file()
        if path is None:
            return False
        try:
            self.editor.open_file(path)
        except (OSError, UnicodeDecodeError) as error:
            self.window.report_error("Cannot edit the layer file", f"{path}: {error}")
            return False
        self.show_editor()
        return True

    def show_editor(self) -> None:
        self.window.bring_forward("layer_editor", EDITOR_HEIGHT)
        self.editor.code.setFocus()

    def check(self, source: str, class_name: str, input_shape: str) -> None:
        """Ask the engine to build the editor's layer on the input shape."""
        if self.client is None:
            self.editor.show_error("The Keras engine is not running: Check needs it.")
            return
        fields = {
            "source": source,
            "class_name": class_name,
            "input_shape": input_shape,
            "file": str(self.editor.path or ""),
            "guard": self.guard_path,
        }
        self._checks.add(self.client.request("check_layer", fields, timeout_s=CHECK_TIMEOUT_S))

    def save_layer(self, source: str) -> bool:
        """Write the editor's code (beside the design when it is new), trust it, and load it."""
        path = self.editor.path or self._new_layer_path()
        if path is None:
            return False
        path = _normal(path)
        self._remember_trust(lambda: TrustStore().trust_content(path, source.encode("utf-8")))
        try:
            project.atomic_write_text(path, source)
        except OSError as error:
            self.window.report_error("Cannot save the layer", f"{path}: {error.strerror or error}")
            return False
        self.editor.saved_as(path)
        self.window.show_message(f"Saved {path}")
        if path in layer_files(self.paths()):
            self.sync()
        else:
            self.add_paths([path])
        return True

    def _new_layer_path(self) -> Path | None:
        """Beside the design when it has a file and the name is free; else where the person says."""
        name = self.editor.suggested_name or "custom_layer.py"
        if self.document.path is not None and not (self.document.path.parent / name).exists():
            return self.document.path.parent / name
        return self.ask_layer_save_path(self._folder() / name)

    def _window_closing(self) -> bool:
        """The window closing: the editor's unsaved code is asked about first."""
        return self.confirm_discard_layer()

    # ---------------------------------------------------------------- dialogs
    def confirm_discard_layer(self) -> bool:
        """Before the editor's unsaved code goes: Save it (then go on), Discard it, or Cancel."""
        if not self.editor.is_modified:
            return True
        name = self.editor.path.name if self.editor.path else "The new layer"
        answer = QMessageBox.question(
            self.window.window(),
            "Layer Editor",
            f"{name} has unsaved changes. Save them?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save_layer(self.editor.source())
        return answer == QMessageBox.StandardButton.Discard

    def ask_layer_files(self) -> list[Path]:
        names, _ = QFileDialog.getOpenFileNames(
            self.window.window(), "Load custom layers", str(self._folder()), LAYER_FILTER
        )
        return [Path(name) for name in names]

    def ask_layer_folder(self) -> Path | None:
        name = QFileDialog.getExistingDirectory(
            self.window.window(), "Load the custom layers of a folder", str(self._folder())
        )
        return Path(name) if name else None

    def ask_layer_file(self) -> Path | None:
        name, _ = QFileDialog.getOpenFileName(
            self.window.window(), "Edit a custom layer file", str(self._folder()), LAYER_FILTER
        )
        return Path(name) if name else None

    def ask_layer_save_path(self, suggested: Path) -> Path | None:
        name, _ = QFileDialog.getSaveFileName(
            self.window.window(), "Save the layer", str(suggested), LAYER_FILTER
        )
        if not name:
            return None
        return Path(name) if Path(name).suffix else Path(name).with_suffix(".py")

    def ask_class_name(self) -> str | None:
        """A class name for a new layer (CapWords), asked again until it is one."""
        name, hint = "MyLayer", ""
        while True:
            name, accepted = QInputDialog.getText(
                self.window.window(), "New custom layer", f"{hint}Class name of the new layer:", text=name
            )
            if not accepted:
                return None
            if CLASS_NAME.match(name.strip()):
                return name.strip()
            hint = f"'{name}' is not a class name: start with a capital letter, then letters or digits.\n"

    def load_files_dialog(self) -> None:
        paths = self.ask_layer_files()
        if paths:
            self.add_paths(paths)

    def load_folder_dialog(self) -> None:
        folder = self.ask_layer_folder()
        if folder is not None:
            self.add_paths([folder])


def _problem_text(problem: Mapping[str, Any]) -> str:
    name = Path(str(problem.get("file"))).name
    where = f"{name}:{problem['line']}" if problem.get("line") else name
    return f"{where}: {problem.get('message')}"


def _stopped_text(entry: Mapping[str, Any]) -> str:
    file = Path(str(entry.get("file"))).name
    if entry.get("kind") == "layer":
        return (
            f"The engine stopped while inferring {entry.get('name')} ({entry.get('key')} in {file}) and was "
            "restarted: that layer is not run again until its file changes."
        )
    return f"The engine stopped while loading {file} and was restarted: it is not run again until it changes."


# ------------------------------------------------------------------- wiring
def install_custom_layers(services: WindowServices) -> CustomLayerFiles:
    """The custom-layer files of a window: its File menu entries and the Layer Editor dock."""
    files = CustomLayerFiles(services)
    dock = services.add_dock(
        "layer_editor", "Layer Editor", files.editor, Qt.DockWidgetArea.BottomDockWidgetArea, tab_with="code"
    )
    dock.hide()
    parent = services.window()
    actions = {
        "load_custom_layers": QAction("Load Custom &Layers…", parent),
        "load_custom_folder": QAction("Load Custom Layer Fol&der…", parent),
        "new_custom_layer": QAction("New C&ustom Layer…", parent),
        "edit_custom_layer": QAction("Edit Custom Layer &File…", parent),
    }
    slots = (files.load_files_dialog, files.load_folder_dialog, files.new_layer, files.edit_layer_file)
    for action, slot in zip(actions.values(), slots, strict=True):
        action.triggered.connect(lambda _checked=False, s=slot: s())
    services.add_actions("&File", actions, before=services.action("quit"))
    view_menu, reset_layout = services.menu("&View"), services.action("reset_layout")
    if reset_layout is not None:  # the end of the View menu's list of panels
        view_menu.insertAction(reset_layout, dock.toggleViewAction())
    else:
        view_menu.addAction(dock.toggleViewAction())
    return files
