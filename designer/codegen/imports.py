"""The imports of a generated module, and the inlining of custom layer classes.

Keras layers are written `layers.Dense` after `from keras import layers`;
custom layers (spec.source != "keras") are imported from their module
(`from layers.linear import Linear`), or, for a self-contained export, their
class source is copied in with the imports and module-level helpers it needs,
read from the layer's file with `ast` (never imported: codegen runs no user code).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from designer.catalog.spec import LayerSpec
from designer.codegen.errors import CodegenError

KERAS_LAYERS_MODULE = "keras.layers"


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
        self.third_party.add("import keras")
        return "keras"

    def layers(self) -> str:
        self.third_party.add("from keras import layers")
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
    def _definition(self, name: str) -> str | None:
        """The source an already inlined class brought for `name`, if any."""
        return next((item.defined[name] for item in self.inlined.values() if name in item.defined), None)

    def _custom_class(self, spec: LayerSpec) -> str:
        taken = self.bound_names
        if self.self_contained:
            inlined = inline_class(spec)
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
def inline_class(spec: LayerSpec) -> InlinedClass:
    """The class `spec.class_name` from `spec.file`, with the imports and the
    module-level definitions it uses (transitively), in file order."""
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
    import_lines = sorted(
        {line for name in used if name in imports for line in _import_lines(imports[name], name, spec)}
    )
    if any(isinstance(node, ast.ImportFrom) and node.module == "__future__" for node in tree.body):
        import_lines.insert(0, "from __future__ import annotations")
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


def _import_lines(node: ast.Import | ast.ImportFrom, name: str, spec: LayerSpec) -> list[str]:
    """The import of `name` alone, relative imports made absolute."""
    for alias in node.names:
        bound = alias.asname or (alias.name.split(".")[0] if isinstance(node, ast.Import) else alias.name)
        if bound != name:
            continue
        suffix = f" as {alias.asname}" if alias.asname else ""
        if isinstance(node, ast.Import):
            return [f"import {alias.name}{suffix}"]
        return [f"from {_absolute(node, spec)} import {alias.name}{suffix}"]
    return []


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
