"""Consent to run custom-layer code: which files (by content hash) the user trusted.

A project may reference or embed Python files. Nothing of them runs until the
user agrees, once per file content: an edited file must be trusted again. What
a file imports from its own folder runs with it (`from helper_mod import scale`
finds helper_mod.py there), so consent covers those modules too:
`local_imports` finds them statically (ast, recursively, nothing run) and
`trust_digest` hashes them with the file; a change to any of them asks again.
Imports made by other means (importlib, __import__, exec) are not seen. The
store is a small JSON file in the user's configuration folder, written
atomically. Both processes ask it: the GUI before it offers a file to the
engine, the engine again before it runs one; `survey_consent` reads all the GUI's
consent flow needs (digests, the files not trusted, their imports) in one call,
which it makes off the GUI thread. A layer whose file did not run still has its
nodes: `stand_in_specs` gives them ports from the design itself. No Qt, no Keras.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from designer.catalog.expressions import expression_digest, lambda_source
from designer.catalog.spec import LayerSpec
from designer.graph.model import PortLayout

STAND_IN_SOURCE = "stand-in"  # LayerSpec.source of a layer whose code did not run
MAXIMUM_STAND_IN_PORTS = 256  # ports a stand-in may have: a damaged file's port 10**18 is no layer's


def file_hash(path: Path) -> str:
    return content_hash(Path(path).read_bytes())


def content_hash(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def trust_digest(file: Path, content: bytes | None = None) -> str:
    """The hash consent is given to: the file's content (`content`, when read already) alone when it
    imports nothing from its folder, else that and each local import's path and content."""
    file = Path(file)
    content = file.read_bytes() if content is None else content
    imports = local_imports(file, content)
    if not imports:
        return content_hash(content)
    parts = [content_hash(content)]
    for module in imports:
        relative = module.relative_to(file.parent.resolve()).as_posix()
        parts.append(f"{relative}:{file_hash(module)}")
    return content_hash("\n".join(parts).encode("utf-8"))


def local_imports(file: Path, content: bytes | None = None) -> list[Path]:
    """The files of the modules and packages that `file` imports from its own folder, and theirs
    in turn, found by reading the code (never running it); sorted, `file` itself left out."""
    root = Path(file).resolve().parent
    found: set[Path] = set()
    pending = [(Path(file).resolve(), content)]
    while pending:
        current, text = pending.pop()
        for module in _imported_files(current, text, root):
            if module not in found and module != Path(file).resolve():
                found.add(module)
                pending.append((module, None))
    return sorted(found)


def _imported_files(file: Path, content: bytes | None, root: Path) -> set[Path]:
    try:
        tree = ast.parse(file.read_bytes() if content is None else content, str(file))
    except (OSError, SyntaxError, ValueError):
        return set()
    files: set[Path] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                files |= _module_files(root, alias.name.split("."))
        elif isinstance(node, ast.ImportFrom):
            base = _relative_base(file, root, node.level)
            parts = (node.module or "").split(".") if node.module else []
            for alias in node.names:  # a name may be a submodule: `from package import module`
                files |= _module_files(base, [*parts, alias.name])
    return {path for path in files if path.is_relative_to(root)}


def _relative_base(file: Path, root: Path, level: int) -> Path:
    """The folder a `from` import starts in: the root for an absolute one, else the file's package."""
    if level == 0:
        return root
    base = file.parent
    for _ in range(level - 1):
        base = base.parent
    return base


def _module_files(base: Path, parts: list[str]) -> set[Path]:
    """The files that importing `parts` (a dotted name split) from `base` runs: each package's
    __init__.py on the way and the module's own file; those that exist."""
    files: set[Path] = set()
    folder = base
    for part in parts:
        if not part or part == "*":
            break
        module, package = folder / f"{part}.py", folder / part
        if (package / "__init__.py").is_file():
            files.add((package / "__init__.py").resolve())
        elif module.is_file():
            files.add(module.resolve())
            break
        elif not package.is_dir():
            break
        folder = package
    return files


def layer_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The .py files named, and those directly in the folders named (not `_private.py` ones)."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files += sorted(p for p in path.glob("*.py") if not p.name.startswith("_"))
        else:
            files.append(path)
    return files


def default_store_path() -> Path:
    base = os.environ.get("DESIGNER_CONFIG_DIR") or os.environ.get("XDG_CONFIG_HOME") or "~/.config"
    folder = Path(base).expanduser()
    if "DESIGNER_CONFIG_DIR" in os.environ:
        return folder / "trust.json"
    return folder / "keras-designer" / "trust.json"


class TrustStore:
    """Trusted file hashes, each with the path it was trusted for and when."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_store_path()
        self._entries: dict[str, dict[str, object]] = self._read()

    def is_trusted(self, file: Path) -> bool:
        """Whether the file and its local imports, as they are now, were trusted."""
        try:
            return trust_digest(file) in self._entries
        except OSError:
            return False

    def trusts(self, digest: str) -> bool:
        """Whether content with this hash (`trust_digest`) was trusted."""
        return digest in self._entries

    def untrusted(self, files: list[Path]) -> list[Path]:
        return [Path(f) for f in files if not self.is_trusted(Path(f))]

    def trust(self, files: list[Path]) -> None:
        """Trust the files as they are now, with their local imports."""
        self.trust_snapshot(consent_snapshot(files))

    def trust_snapshot(self, snapshot: dict[str, dict[str, object]]) -> None:
        """Trust exactly what a consent dialog showed (`consent_snapshot` taken before it opened):
        a file changed while the dialog was open has another digest and is asked about again."""
        self._entries.update(snapshot)
        self._write()

    def trust_content(self, file: Path, content: bytes) -> None:
        """Trust `content` about to be written to `file` (the app's own layer editor saves it),
        with the local imports it has now."""
        self._entries[trust_digest(file, content)] = _entry(file, local_imports(file, content))
        self._write()

    def trust_expressions(self, expressions: Iterable[str]) -> None:
        """Trust Lambda expressions (`designer.catalog.expressions`), each by its own hash: the
        same expression is trusted in every project, an edited one is asked about again."""
        for expression in expressions:
            self._entries[expression_digest(expression)] = {
                "lambda": lambda_source(expression),
                "trusted_at": time.time(),
            }
        self._write()

    def _read(self) -> dict[str, dict[str, object]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".trust.", suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(self._entries, stream, indent=2, sort_keys=True)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, self.path)


@dataclass(frozen=True)
class ConsentSurvey:
    """Layer files as they are now, read and hashed for the consent flow (off the GUI thread: a
    file's local imports are parsed and hashed with it)."""

    digests: dict[Path, str | None]  # each file's trust digest; None when it cannot be read
    untrusted: list[Path]  # the files the store does not trust as they are now
    snapshot: dict[str, dict[str, object]]  # those by digest, as `consent_snapshot` gives them
    imports: dict[Path, list[Path]]  # the modules each untrusted file imports from its folder

    def asking(self, declined: set[str]) -> list[Path]:
        """The untrusted files to ask about: not those whose content was declined already."""
        return [file for file in self.untrusted if self.digests.get(file) not in declined]

    def shown(self, files: Iterable[Path]) -> dict[str, dict[str, object]]:
        """The snapshot of `files`: what a dialog asking about them shows, and trusting them stores."""
        wanted = {self.digests.get(file) for file in files}
        return {digest: entry for digest, entry in self.snapshot.items() if digest in wanted}


def survey_consent(files: Iterable[Path], store: TrustStore | None = None) -> ConsentSurvey:
    """Hash each of `files` with its local imports and ask `store` (the user's, by default)
    which it trusts; files that cannot be read are not trusted and get no snapshot."""
    store = store if store is not None else TrustStore()
    digests: dict[Path, str | None] = {}
    survey = ConsentSurvey(digests, [], {}, {})
    for file in map(Path, files):
        try:
            digests[file] = digest = trust_digest(file)
            imports = local_imports(file) if not store.trusts(digest) else []
        except OSError:
            digests[file] = None
            if file.is_file():
                survey.untrusted.append(file)
            continue
        if not store.trusts(digest):
            survey.untrusted.append(file)
            survey.snapshot[digest] = _entry(file, imports)
            survey.imports[file] = imports
    return survey


def consent_snapshot(files: list[Path]) -> dict[str, dict[str, object]]:
    """The files as they are now, by trust digest (file and local imports): what a dialog shows."""
    return {trust_digest(file): _entry(file, local_imports(file)) for file in map(Path, files)}


def _entry(file: Path, imports: list[Path]) -> dict[str, object]:
    entry: dict[str, object] = {"file": str(Path(file).resolve()), "trusted_at": time.time()}
    if imports:
        entry["imports"] = [str(path) for path in imports]
    return entry


# ---------------------------------------------------------------- stand-ins
def stand_in_specs(
    data: Mapping[str, Any], known: Callable[[str], bool], modules: set[str], note: str
) -> list[LayerSpec]:
    """Specs for the layer types of `data` (project data) that come from one of `modules` (custom
    layer files by stem) but are not `known`: their ports are those the design uses, so the
    design opens whole and its nodes can say why they are not loaded (`note`)."""
    used = _ports_used(data)
    specs = []
    for key in sorted(used):
        module, _, class_name = key.rpartition(".")
        if module in modules and not known(key):
            inputs, outputs = used[key]
            ports = PortLayout(
                _port_names("inputs", inputs), _port_names("output", outputs), min_inputs=inputs
            )
            specs.append(
                LayerSpec(
                    key=key,
                    class_name=class_name,
                    module=module,
                    category="custom",
                    ports=ports,
                    doc=note,
                    summary=note,
                    source=STAND_IN_SOURCE,
                )
            )
    return specs


def _ports_used(data: Mapping[str, Any]) -> dict[str, tuple[int, int]]:
    """{type: (input ports, output ports)} as the design's edges and outputs use them (at least 1)."""
    types = {
        n["id"]: n["type"]
        for n in _dicts(data.get("nodes"))
        if isinstance(n.get("id"), str) and isinstance(n.get("type"), str)
    }
    counts = {key: [1, 1] for key in types.values()}
    for edge in _dicts(data.get("edges")):
        if _port(edge, "target", "target_port", types):
            entry = counts[types[edge["target"]]]
            entry[0] = max(entry[0], edge["target_port"] + 1)
        if _port(edge, "source", "source_port", types):
            entry = counts[types[edge["source"]]]
            entry[1] = max(entry[1], edge["source_port"] + 1)
    for mark in _dicts(data.get("outputs")):
        if _port(mark, "node", "port", types):
            entry = counts[types[mark["node"]]]
            entry[1] = max(entry[1], mark["port"] + 1)
    return {key: (inputs, outputs) for key, (inputs, outputs) in counts.items()}


def _port(item: dict[str, Any], node_key: str, port_key: str, types: Mapping[str, str]) -> bool:
    """Whether `item` names a port of a known node that a stand-in may have (reading the file
    reports the others)."""
    node, port = item.get(node_key), item.get(port_key)
    is_index = isinstance(port, int) and not isinstance(port, bool) and 0 <= port < MAXIMUM_STAND_IN_PORTS
    return isinstance(node, str) and node in types and is_index


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _port_names(name: str, count: int) -> tuple[str, ...]:
    """`(name,)` for one port, else `name_0`, `name_1`..."""
    return (name,) if count == 1 else tuple(f"{name}_{i}" for i in range(count))
