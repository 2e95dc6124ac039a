"""The imports of a generated module, and the inlining of custom layer classes.

Keras layers are written `layers.Dense` after `from keras import layers`;
custom layers (spec.source != "keras") are imported from their module
(`from layers.linear import Linear`), or, for a self-contained export, their
class source is copied in with the imports and module-level helpers it needs,
read from the layer's file with `ast` (never imported: codegen runs no user code).

An inlined import that binds a name the module already binds otherwise (a
tutorial's `from tensorflow import keras` beside the generated `import keras`)
is imported under a name of its own (`from tensorflow import keras as
tensorflow_keras`) and the copied code's uses of it are renamed to match, so
the code means what it meant in its file and no import shadows another.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from designer.catalog.spec import LayerSpec
from designer.codegen.errors import CodegenError

KERAS_LAYERS_MODULE = "keras.layers"

# The generated code's own imports: these names always mean Keras' modules in it.
OWN_IMPORTS = {"keras": "import keras", "layers": "from keras import layers"}


@dataclass
class InlinedClass:
    """A custom layer class copied into the generated module."""

    spec_key: str
    imports: list[str]
    definitions: list[str]  # module-level helpers, then the class, in file order
    defined: dict[str, str] = field(default_factory=dict)  # name -> the definition's source

    @property
    def names(self) -> set[str]:
        """Every module-level name these lines bind."""
        return set(self.defined) | _names_of(self.imports)


class Imports:
    """Collects what one generated module imports and the names that binds."""

    def __init__(self, *, self_contained: bool = False) -> None:
        self.self_contained = self_contained
        self.standard: set[str] = set()  # stdlib import lines
        self.third_party: set[str] = set()  # keras, numpy...
        self.local: dict[str, str] = {}  # import line -> bound name (custom layers, the model module)
        self.inlined: dict[str, InlinedClass] = {}
        self._class_names: dict[str, str] = {}  # spec key -> name bound in the module

    # ------------------------------------------------------------ requests
    def keras(self) -> str:
        self.third_party.add(OWN_IMPORTS["keras"])
        return "keras"

    def layers(self) -> str:
        self.third_party.add(OWN_IMPORTS["layers"])
        return "layers"

    def add(self, line: str) -> None:
        """An import line of the standard library or a third-party package."""
        target = self.standard if line.split()[1].split(".")[0] in _STANDARD else self.third_party
        target.add(line)

    def add_local(self, module: str, name: str) -> str:
        line = f"from {module} import {name}"
        self.local[line] = name
        return name

    def layer_class(self, spec: LayerSpec) -> str:
        """The expression naming spec's class: `layers.Dense`, `keras.Input`, `Linear`."""
        if spec.module == KERAS_LAYERS_MODULE:
            return f"{self.layers()}.{spec.class_name}"
        if spec.module == "keras" or spec.module.startswith("keras."):
            self.keras()
            return f"{spec.module}.{spec.class_name}"
        if spec.key not in self._class_names:
            self._class_names[spec.key] = self._custom_class(spec)
        return self._class_names[spec.key]

    # ------------------------------------------------------------- results
    @property
    def bound_names(self) -> set[str]:
        """Names the imports and inlined code bind at module level."""
        names = {"keras", "layers"} | set(self.local.values())
        for inlined in self.inlined.values():
            names |= inlined.names
        return names

    @property
    def local_modules(self) -> set[str]:
        """Top-level packages imported as first-party code (isort sections)."""
        return {line.split()[1].split(".")[0] for line in self.local}

    def lines(self) -> list[str]:
        """Import lines in isort order: stdlib, third party, local; blank lines between."""
        inlined = {line for item in self.inlined.values() for line in item.imports}
        future = sorted(line for line in inlined if line.startswith("from __future__"))
        standard, third_party, local = set(self.standard), set(self.third_party), set(self.local)
        for line in inlined - set(future):
            root = line.split()[1].split(".")[0]
            if root in _STANDARD:
                standard.add(line)
            elif root in self.local_modules:
                local.add(line)
            else:
                third_party.add(line)
        blocks = [future, *(sorted(block, key=_isort_key) for block in (standard, third_party, local))]
        return _join_blocks(blocks)

    def definitions(self) -> list[str]:
        """The inlined classes' sources, each helper once, in a stable order."""
        seen: set[str] = set()
        sources = []
        for key in sorted(self.inlined):
            for source in self.inlined[key].definitions:
                if source not in seen:
                    seen.add(source)
                    sources.append(source)
        return sources

    # ------------------------------------------------------------ internal
    def _bindings(self) -> dict[str, str | None]:
        """Each module-level name bound so far, with the import line that binds it
        (None for an inlined definition); `keras` and `layers` always Keras' own."""
        bindings: dict[str, str | None] = dict(OWN_IMPORTS)
        lines = [*sorted(self.standard), *sorted(self.third_party), *self.local]
        lines += [line for item in self.inlined.values() for line in item.imports]
        for line in lines:
            for name in _names_of([line]):
                bindings.setdefault(name, line)
        for item in self.inlined.values():
            bindings.update(dict.fromkeys(item.defined, None))
        return bindings

    def _definition(self, name: str) -> str | None:
        """The source an already inlined class brought for `name`, if any."""
        return next((item.defined[name] for item in self.inlined.values() if name in item.defined), None)

    def _custom_class(self, spec: LayerSpec) -> str:
        taken = self.bound_names
        if self.self_contained:
            inlined = inline_class(spec, self._bindings())
            clash = sorted(
                name
                for name in inlined.defined
                if name in taken and self._definition(name) != inlined.defined[name]
            )
            if clash:
                raise CodegenError(
                    f"Cannot inline {spec.class_name} from {spec.file}: {', '.join(clash)} would clash with "
                    "names the generated module already uses. Export without self_contained, or rename them."
                )
            self.inlined[spec.key] = inlined
            return spec.class_name
        if not spec.module:
            raise CodegenError(f"The custom layer {spec.key} has no module to import it from.")
        name = spec.class_name
        if name in taken:
            name = next(
                f"{spec.class_name}{i}" for i in range(2, 10_000) if f"{spec.class_name}{i}" not in taken
            )
            line = f"from {spec.module} import {spec.class_name} as {name}"
        else:
            line = f"from {spec.module} import {name}"
        self.local[line] = name
        return name


_STANDARD = frozenset(sys.stdlib_module_names)


def _isort_key(line: str) -> tuple[int, str, str]:
    """isort's force-sort-within-sections=false order: `import x` lines, then
    `from x import` lines, each by module (case-insensitively)."""
    words = line.split()
    return (0 if words[0] == "import" else 1, words[1].lower(), line)


def _join_blocks(blocks: Iterable[list[str]]) -> list[str]:
    lines: list[str] = []
    for block in blocks:
        if block:
            if lines:
                lines.append("")
            lines.extend(block)
    return lines


def _names_of(import_lines: Iterable[str]) -> set[str]:
    names = set()
    for line in import_lines:
        for statement in ast.parse(line).body:
            names |= _bound_by(statement)
    return names


# ---------------------------------------------------------------- inlining
def inline_class(spec: LayerSpec, bindings: Mapping[str, str | None] | None = None) -> InlinedClass:
    """The class `spec.class_name` from `spec.file`, with the imports and the
    module-level definitions it uses (transitively), in file order.

    `bindings` are the names the module binds already, with the import line of
    each (None: a definition); an import of the file that would bind one of them
    otherwise gets a name of its own, and the copied code uses that name."""
    if not spec.file:
        raise CodegenError(f"Cannot inline {spec.key}: its spec names no source file.")
    path = Path(spec.file)
    try:
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text, filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError) as error:
        raise CodegenError(f"Cannot read the source of {spec.key} from {path}: {error}") from error
    lines = text.splitlines()
    definitions = {name: node for node in tree.body for name in _defined_by(node)}
    if spec.class_name not in definitions or not isinstance(definitions[spec.class_name], ast.ClassDef):
        raise CodegenError(f"{path} defines no class {spec.class_name}.")
    imports = {
        name: node
        for node in tree.body
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for name in _bound_by(node)
    }
    needed = _closure(definitions[spec.class_name], definitions)
    kept = [node for node in tree.body if any(node is definitions.get(n) for n in needed)]
    used = set().union(*(_used_names(node) for node in kept))
    file_names = set(definitions) | set(imports)
    found = [(name, _import_line(imports[name], name, spec)) for name in sorted(used & set(imports))]
    renames = _renames(found, bindings or {}, file_names, spec)
    import_lines = sorted({_aliased(line, renames.get(name)) for name, line in found})
    if any(isinstance(node, ast.ImportFrom) and node.module == "__future__" for node in tree.body):
        import_lines.insert(0, "from __future__ import annotations")
    lines = _renamed_uses(kept, lines, renames, spec)
    sources = [_source_of(node, lines) for node in kept]
    defined = {name: source for node, source in zip(kept, sources, strict=True) for name in _defined_by(node)}
    return InlinedClass(spec.key, import_lines, sources, defined)


def _closure(root: ast.stmt, definitions: dict[str, ast.stmt]) -> set[str]:
    needed: set[str] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        for name in _used_names(node) | _defined_by(node):
            if name in definitions and name not in needed:
                needed.add(name)
                stack.append(definitions[name])
    return needed


def _used_names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _defined_by(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {n.id for target in targets for n in ast.walk(target) if isinstance(n, ast.Name)}
    return set()


def _bound_by(node: ast.stmt) -> set[str]:
    if isinstance(node, ast.Import):
        return {alias.asname or alias.name.split(".")[0] for alias in node.names}
    if isinstance(node, ast.ImportFrom) and node.module != "__future__":
        return {alias.asname or alias.name for alias in node.names}
    return set()


def _import_line(node: ast.Import | ast.ImportFrom, name: str, spec: LayerSpec) -> str:
    """The import of `name` alone, a relative import made absolute."""
    for alias in node.names:
        bound = alias.asname or (alias.name.split(".")[0] if isinstance(node, ast.Import) else alias.name)
        if bound != name:
            continue
        suffix = f" as {alias.asname}" if alias.asname else ""
        if isinstance(node, ast.Import):
            return f"import {alias.name}{suffix}"
        return f"from {_absolute(node, spec)} import {alias.name}{suffix}"
    raise AssertionError(f"{name!r} is bound by the import, by construction")


# ------------------------------------------------- imports that clash, renamed
_ABSENT = object()


def _renames(
    found: list[tuple[str, str]],
    bindings: Mapping[str, str | None],
    file_names: set[str],
    spec: LayerSpec,
) -> dict[str, str]:
    """A name of its own (`tensorflow_keras`) for each import in `found`, (name, import
    line), that would bind a name of `bindings` to something else."""
    renames: dict[str, str] = {}
    for name, line in found:
        if bindings.get(name, line) == line or _same_package(line, name, bindings.get(name)):
            continue
        if line.startswith("import ") and " as " not in line:
            raise CodegenError(
                f"Cannot inline {spec.class_name} from {spec.file}: its '{line}' binds {name!r}, which the "
                f"generated module binds to {bindings[name] or 'a definition'}. Import it with "
                f"'import {line.split()[1]} as ...' in the file, or export without self_contained."
            )
        stem = _alias_stem(line)
        for candidate in [stem, *(f"{stem}_{index}" for index in range(2, 10_000))]:
            free = bindings.get(candidate, _ABSENT) in (_ABSENT, _aliased(line, candidate))
            if free and candidate not in file_names and candidate not in renames.values():
                renames[name] = candidate
                break
    return renames


def _same_package(line: str, name: str, bound: str | None) -> bool:
    """`import keras.layers` binds `keras` as `import keras` does."""
    return bound == f"import {name}" and line.startswith(f"import {name}.") and " as " not in line


def _alias_stem(line: str) -> str:
    """`tensorflow_keras` for `from tensorflow import keras` or `import tensorflow.keras as keras`."""
    words = line.split()
    path = f"{words[1]}.{words[3]}" if words[0] == "from" else words[1]
    return path.replace(".", "_").lstrip("_")


def _aliased(line: str, alias: str | None) -> str:
    """`line` binding `alias` instead of its own name."""
    if alias is None:
        return line
    return f"{line.split(' as ')[0]} as {alias}"


def _renamed_uses(
    kept: list[ast.stmt], lines: list[str], renames: Mapping[str, str], spec: LayerSpec
) -> list[str]:
    """`lines` with each use of a renamed import in the `kept` definitions renamed."""
    if not renames:
        return lines
    uses = [n for node in kept for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in renames]
    rebound = {n.id for n in uses if not isinstance(n.ctx, ast.Load)} | {
        name for node in kept for name in _locally_bound(node) if name in renames
    }
    if rebound:
        raise CodegenError(
            f"Cannot inline {spec.class_name} from {spec.file}: it binds {', '.join(sorted(rebound))} "
            "inside its code too, which the generated module imports otherwise. Rename them in the file, "
            "or export without self_contained."
        )
    edited = list(lines)
    for use in sorted(uses, key=lambda n: (n.lineno, n.col_offset), reverse=True):
        text = edited[use.lineno - 1].encode("utf-8")  # ast offsets count UTF-8 bytes
        replacement = renames[use.id].encode("utf-8")
        edited[use.lineno - 1] = (text[: use.col_offset] + replacement + text[use.end_col_offset :]).decode()
    return edited


def _locally_bound(node: ast.AST) -> set[str]:
    """Names bound inside `node` other than by assignment: arguments, imports, global declarations."""
    names: set[str] = set()
    for inner in ast.walk(node):
        if isinstance(inner, ast.arg):
            names.add(inner.arg)
        elif isinstance(inner, (ast.Import, ast.ImportFrom)):
            names |= _bound_by(inner)
        elif isinstance(inner, (ast.Global, ast.Nonlocal)):
            names |= set(inner.names)
        elif isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and inner is not node:
            names.add(inner.name)
    return names


def _absolute(node: ast.ImportFrom, spec: LayerSpec) -> str:
    if not node.level:
        return node.module or ""
    parts = spec.module.split(".")[: -node.level] if spec.module else []
    if not parts:
        raise CodegenError(f"Cannot inline {spec.key}: its relative import '.{node.module}' has no package.")
    return ".".join([*parts, *([node.module] if node.module else [])])


def _source_of(node: ast.stmt, lines: list[str]) -> str:
    decorators = getattr(node, "decorator_list", [])
    start = min([node.lineno, *(d.lineno for d in decorators)])
    return "\n".join(lines[start - 1 : node.end_lineno])
