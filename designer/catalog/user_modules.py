"""Specs for `keras.layers.Layer` subclasses found in Python files: layers/ and the user's own.

A file is imported under its stem as module name (as generated code imports
it), every Layer subclass it defines becomes a `LayerSpec` made by the same
`spec_from_class` as Keras' own layers, with its ports from `call`'s signature
and, when `call` returns a tuple, one output port per element. A file that
fails to import is reported with its path and line (`ModuleProblem`); a file
with a syntax error still gives the layers of its good blocks, and a reload
that fails keeps the last good version of each layer it lost (`with_last_good`).
A file whose name is no module name, or clashes with a module already there
(`layers.py`, `math.py`), is refused before any of it runs. The modules it
imports from its own folder (covered by its consent, `designer.trust`) are
imported afresh each time it loads.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import importlib.util
import inspect
import keyword
import pkgutil
import sys
import textwrap
import traceback
import types
from dataclasses import dataclass, field
from pathlib import Path

import keras

from designer.catalog.keras_layers import spec_from_class
from designer.catalog.spec import LayerSpec
from designer.trust import layer_files, local_imports

LIBRARY_PACKAGE = "layers"
USER_CATEGORY = "custom"
LIBRARY_CATEGORY = "library"
USER_FILE_ATTRIBUTE = "__designer_user_file__"  # marks the modules made from the user's files


@dataclass(frozen=True)
class ModuleProblem:
    """A file that could not be loaded: where and why."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


@dataclass
class UserModule:
    """One file imported as a module: the module (None when it was refused), its layers' specs
    and what went wrong."""

    path: Path
    module: types.ModuleType | None
    specs: list[LayerSpec] = field(default_factory=list)
    problems: list[ModuleProblem] = field(default_factory=list)


@dataclass
class LoadedModules:
    """The specs found in some files, and the files that failed."""

    specs: list[LayerSpec] = field(default_factory=list)
    problems: list[ModuleProblem] = field(default_factory=list)


def library_specs() -> list[LayerSpec]:
    """Specs of every layer in the standalone `layers` package (imported as a package)."""
    package = importlib.import_module(LIBRARY_PACKAGE)
    specs = []
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{LIBRARY_PACKAGE}.{info.name}")
        specs += specs_of_module(module, LIBRARY_CATEGORY, "library", Path(module.__file__ or ""))
    return specs


def load_paths(paths: list[Path]) -> LoadedModules:
    """Load .py files and every .py file in the given folders (not recursive)."""
    loaded = LoadedModules()
    for path in expand_paths(paths):
        specs, problems = load_file(path)
        loaded.specs += specs
        loaded.problems += problems
    return loaded


def expand_paths(paths: list[Path]) -> list[Path]:
    """The .py files named and those in the folders named (`designer.trust.layer_files`)."""
    return layer_files(paths)


def load_file(path: Path, source: str | None = None) -> tuple[list[LayerSpec], list[ModuleProblem]]:
    """The specs of one file's layers and its problems (see `load_module`)."""
    loaded = load_module(path, source)
    return loaded.specs, loaded.problems


def load_module(path: Path, source: str | None = None) -> UserModule:
    """Import one file as module `<stem>`, its folder on sys.path as generated code will have it.

    `source` is the file's text when the caller has read it already (and checked
    that it may run). A file with a syntax error is run block by block (each
    top-level statement on its own), so the classes that are fine still load and
    each broken block is reported with its line.
    """
    path = Path(path).resolve()
    if source is None:
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            message = f"cannot read the file: {getattr(error, 'strerror', None) or error}"
            return UserModule(path, None, problems=[ModuleProblem(str(path), None, message)])
    refused = module_name_problem(path)
    if refused is not None:
        return UserModule(path, None, problems=[refused])
    _forget_local_modules(path, source)
    module = _fresh_module(path)
    try:
        code = compile(source, str(path), "exec")
    except SyntaxError:
        problems = _run_by_blocks(source, path, module)
    else:
        problems = _run(code, path, module, line=None)
    return UserModule(path, module, specs_of_module(module, USER_CATEGORY, "user", path), problems)


def module_name_problem(path: Path) -> ModuleProblem | None:
    """Why `path` cannot be imported under its stem: not an identifier, or the name of another
    module (the standard library's, a package's). None when it can."""
    stem = path.stem
    if not stem.isidentifier() or keyword.iskeyword(stem):
        message = (
            f"'{stem}' is not a Python module name, so generated code could not import it: "
            "rename the file using letters, digits and underscores"
        )
        return ModuleProblem(str(path), None, message)
    origin = _origin_of(stem)
    if origin is not None and origin != path:
        message = (
            f"the file name clashes with the module '{stem}' ({origin}): "
            f"rename the file, for example to my_{stem}.py"
        )
        return ModuleProblem(str(path), None, message)
    return None


def _origin_of(name: str) -> Path | str | None:
    """Where the module `name` comes from: its file, or "built in"; None when there is no such
    module or it was made from a user file (a newer user file of that name replaces it)."""
    module = sys.modules.get(name)
    if module is not None:
        if getattr(module, USER_FILE_ATTRIBUTE, None):
            return None
        location = getattr(module, "__file__", None)
        return Path(location).resolve() if location else "built in"
    try:
        found = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if found is None:
        return None
    if found.origin and found.has_location:
        return Path(found.origin).resolve()
    locations = list(found.submodule_search_locations or [])
    return Path(locations[0]).resolve() if locations else "built in"


def with_last_good(loaded: UserModule, previous: UserModule | None) -> UserModule:
    """A reload that failed somewhere keeps the previous version of each layer it lost: its
    class goes back into the new module (where `layer_class` finds it) with its old spec."""
    if not loaded.problems or previous is None or previous.module is None:
        return loaded
    have = {spec.key for spec in loaded.specs}
    kept = [spec for spec in previous.specs if spec.key not in have]
    module = loaded.module or previous.module
    for spec in kept:
        setattr(module, spec.class_name, getattr(previous.module, spec.class_name))
    specs = sorted([*loaded.specs, *kept], key=lambda spec: spec.class_name)
    return UserModule(loaded.path, module, specs, loaded.problems)


def _forget_local_modules(path: Path, source: str) -> None:
    """Drop the modules of the file's folder that it imports from sys.modules, so that a helper
    changed (and trusted again, `designer.trust.trust_digest`) runs anew with the file."""
    files = set(local_imports(path, source.encode("utf-8")))
    for name, module in list(sys.modules.items()):
        location = getattr(module, "__file__", None)
        if location and Path(location).resolve() in files:
            del sys.modules[name]


def _fresh_module(path: Path) -> types.ModuleType:
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    module = types.ModuleType(path.stem)
    module.__file__ = str(path)
    setattr(module, USER_FILE_ATTRIBUTE, str(path))
    sys.modules[path.stem] = module
    return module


def _run(code: types.CodeType, path: Path, module: types.ModuleType, line: int | None) -> list[ModuleProblem]:
    try:
        exec(code, module.__dict__)
    except Exception as error:  # the user's code may raise anything
        return [ModuleProblem(str(path), error_line(error, path) or line, f"{type(error).__name__}: {error}")]
    return []


def _run_by_blocks(source: str, path: Path, module: types.ModuleType) -> list[ModuleProblem]:
    problems = []
    for start, text in top_level_blocks(source):
        padded = "\n" * (start - 1) + text  # keeps line numbers in tracebacks
        try:
            code = compile(padded, str(path), "exec")
        except SyntaxError as error:
            problems.append(ModuleProblem(str(path), error.lineno, f"SyntaxError: {error.msg}"))
            continue
        problems += _run(code, path, module, line=start)
    return problems


def top_level_blocks(source: str) -> list[tuple[int, str]]:
    """(first line, text) of each top-level statement: decorators stay with their def or class."""
    blocks: list[tuple[int, list[str]]] = []
    for number, line in enumerate(source.splitlines(keepends=True), start=1):
        starts_block = line[:1] not in ("", " ", "\t", "\n", "\r", "#", ")", "]", "}")
        follows_decorator = bool(blocks) and blocks[-1][1][-1].startswith("@")
        if (starts_block and not follows_decorator) or not blocks:
            blocks.append((number, [line]))
        else:
            blocks[-1][1].append(line)
    return [(start, "".join(lines)) for start, lines in blocks]


def specs_of_module(module: object, category: str, source: str, path: Path) -> list[LayerSpec]:
    """A spec for every Layer subclass defined (not imported) in `module`."""
    name = getattr(module, "__name__", "")
    classes = [
        value
        for value in vars(module).values()
        if inspect.isclass(value)
        and issubclass(value, keras.layers.Layer)
        and value.__module__ == name
        and not inspect.isabstract(value)
    ]
    return [_spec(cls, name, category, source, path) for cls in sorted(classes, key=lambda c: c.__name__)]


def _spec(cls: type, module: str, category: str, source: str, path: Path) -> LayerSpec:
    spec = spec_from_class(
        cls, key=f"{module}.{cls.__name__}", module=module, category=category, source=source
    )
    outputs = returned_names(cls)
    ports = dataclasses.replace(spec.ports, outputs=outputs) if outputs else spec.ports
    return dataclasses.replace(spec, ports=ports, file=str(path))


def returned_names(cls: type) -> tuple[str, ...]:
    """Output port names when `call` returns a tuple literal (`return z_mean, z_log_var, z`)."""
    try:
        source = textwrap.dedent(inspect.getsource(cls.call))  # type: ignore[attr-defined]
    except (OSError, TypeError):
        return ()
    tuples = [
        node.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple)
    ]
    if not tuples:
        return ()
    elements = tuples[-1].elts
    return tuple(
        element.id if isinstance(element, ast.Name) else f"output_{index}"
        for index, element in enumerate(elements)
    )


def error_line(error: BaseException, path: Path | str) -> int | None:
    """The last line of `path` in the error's traceback (where the user's code failed); the
    line a SyntaxError names in it."""
    if isinstance(error, SyntaxError) and error.filename and Path(error.filename) == Path(path):
        return error.lineno
    lines = [
        frame.lineno
        for frame in traceback.extract_tb(error.__traceback__)
        if Path(frame.filename) == Path(path)
    ]
    return lines[-1] if lines else None


def located_error(error: BaseException, path: Path | str) -> str | None:
    """`my_layers.py:12: ZeroDivisionError: division by zero`: the error as the user's file raised
    it (the innermost exception of the chain whose traceback passes through the file, at its last
    line there); None when the file is not in any traceback of the chain."""
    found = [(link, line) for link in _exception_chain(error) if (line := error_line(link, path))]
    if not found:
        return None
    link, line = found[-1]
    text = " ".join(str(link).split())
    described = f"{type(link).__name__}: {text}" if text else type(link).__name__
    return f"{Path(path).name}:{line}: {described}"


def _exception_chain(error: BaseException) -> list[BaseException]:
    """The error, then what caused it (or what it was raised while handling), outermost first."""
    chain: list[BaseException] = []
    link: BaseException | None = error
    while link is not None and all(link is not seen for seen in chain):
        chain.append(link)
        link = link.__cause__ or link.__context__
    return chain
