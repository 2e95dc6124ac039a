"""The engine host's side of the user's own layers: their files, the layer editor's Check, and
keeping code that crashed or hung the engine from running again.

`CustomLayers` holds the custom-layer files of the design the GUI shows. `load`
takes all of them each time: a file runs only when its content is trusted
(`designer.trust`, asked here again, where the code runs), and again only when
it changed; a reload that fails keeps the last good version of each layer.
The loaded specs join the host's catalog, the files' problems join every
analysis as model-wide warnings, and a node whose layer is not loaded gets a
diagnostic that says why (not trusted, broken file, stopped the engine).

`Guard` is a small JSON file the GUI names, the same for every host it starts.
Before the host runs user code (loading a file, inferring a custom node,
checking the editor's code) it writes there what it is doing, and clears it
afterwards. A host that crashed, or was killed because it hung, leaves it
behind: the next host moves it to its "stopped" list and does not run that
code again until it changes (a file by its content hash, editor code by its own).
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import inspect
import json
import math
import os
import re
import types
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras

from designer.catalog.keras_layers import spec_from_class, to_keras_kwargs
from designer.catalog.spec import Catalog, LayerSpec
from designer.catalog.user_modules import (
    USER_CATEGORY,
    ModuleProblem,
    UserModule,
    error_line,
    load_module,
    with_last_good,
)
from designer.engine.inference import ShapeInference, call_layer
from designer.engine.results import NodeResult
from designer.graph.model import ModelGraph, Node, PortLayout
from designer.graph.validation import Diagnostic
from designer.trust import TrustStore, content_hash, layer_files, stand_in_specs, trust_digest

EDITOR_FILENAME = "<layer editor>"
CHECK_MODULE = "_designer_layer_check"
FILE_CODE = "custom-layer-file"  # Diagnostic.code of a custom-layer file's problem
NOT_LOADED_CODE = "custom-layer-not-loaded"
STOPPED_CODE = "custom-layer-stopped"
ANSI_CODES = re.compile(r"\x1b\[[0-9;]*m")


# ------------------------------------------------------------------- the guard
class Guard:
    """What the host is running of the user's code, on disk, so that the next host knows."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        state = self._read()
        self.stopped: list[dict[str, Any]] = [e for e in state.get("stopped", []) if isinstance(e, dict)]
        busy = state.get("busy")
        if isinstance(busy, dict):  # the previous host died running this
            self.stopped.append(busy)
        self._write(None)

    @contextlib.contextmanager
    def running(self, work: dict[str, Any]) -> Iterator[None]:
        """Note `work` as under way while the block runs."""
        self._write(work)
        try:
            yield
        finally:
            self._write(None)

    def stopped_on(self, **fields: Any) -> dict[str, Any] | None:
        """The stopped entry with these fields, if any."""
        return next((e for e in self.stopped if all(e.get(k) == v for k, v in fields.items())), None)

    def forget_file(self, file: str, digest: str) -> None:
        """The file changed: what stopped in its earlier versions may run again."""
        kept = [e for e in self.stopped if e.get("file") != file or e.get("hash") == digest]
        if len(kept) != len(self.stopped):
            self.stopped = kept
            self._write(None)

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, busy: dict[str, Any] | None) -> None:
        """Replace the file in one step: a host killed while writing leaves the old one."""
        temporary = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}.tmp")
        try:
            temporary.write_text(json.dumps({"busy": busy, "stopped": self.stopped}), encoding="utf-8")
            os.replace(temporary, self.path)
        except OSError:
            temporary.unlink(missing_ok=True)


# -------------------------------------------------------------------- the files
@dataclass
class CustomFile:
    """One custom-layer file as the host holds it."""

    path: Path
    status: str  # "loaded", "not trusted", "stopped", "unreadable", "refused"
    seen: str | None = None  # hash of the content last looked at
    in_use: UserModule | None = None  # the version whose layers are used (the last good one)
    used: str | None = None  # hash of that version
    problems: list[ModuleProblem] = field(default_factory=list)

    def is_version(self, digest: object) -> bool:
        """Whether `digest` is the content looked at last or the one in use."""
        return digest is not None and digest in (self.seen, self.used)


class GuardedInference(ShapeInference):
    """Shape inference that notes in the guard which custom node it is inferring."""

    def __init__(self, catalog: Catalog, guard: Guard | None, digests: Mapping[str, str | None]) -> None:
        super().__init__(catalog)
        self.guard, self.digests = guard, dict(digests)

    def _infer_node(self, graph: ModelGraph, node: Node) -> NodeResult:
        spec = self.catalog.get(node.type)
        if self.guard is None or spec is None or spec.source != "user":
            return super()._infer_node(graph, node)
        work = {"kind": "layer", "key": spec.key, "file": spec.file, "hash": self.digests.get(spec.key)}
        with self.guard.running({**work, "node": node.id, "name": node.name}):
            return super()._infer_node(graph, node)


class CustomLayers:
    """The custom-layer files of the design the GUI shows, and what the host made of them."""

    def __init__(self) -> None:
        self.files: dict[Path, CustomFile] = {}
        self.guard: Guard | None = None
        self._over: tuple[Catalog, Catalog] | None = None  # the last catalog_over: (base, result)
        self._provided: set[str] = set()  # keys of every layer the files have given, now or before

    def use_guard(self, path: object) -> None:
        """Follow the guard file the GUI names (read once per host: it holds what stopped)."""
        if isinstance(path, str) and path and (self.guard is None or self.guard.path != Path(path)):
            self.guard = Guard(Path(path))

    # ------------------------------------------------------------------ loading
    def load(self, paths: list[Any]) -> dict[str, Any]:
        """Load the files and folders named, all of the design's; forget the others."""
        store = TrustStore()
        files = [Path(p).resolve() for p in layer_files(str(p) for p in paths if isinstance(p, str))]
        loaded: dict[Path, CustomFile] = {}
        for path in dict.fromkeys(files):
            clash = next((other for other in loaded if other.stem == path.stem), None)
            loaded[path] = (
                _refused(path, f"it has the same module name as {clash}: rename one of them")
                if clash is not None
                else self._load_file(path, self.files.get(path), store)
            )
        self.files, self._over = loaded, None
        return self.reply()

    def _load_file(self, path: Path, previous: CustomFile | None, store: TrustStore) -> CustomFile:
        """Run the file if it changed and is trusted; else keep the version in use."""
        in_use = previous.in_use if previous is not None else None
        used = previous.used if previous is not None else None
        try:
            content = path.read_bytes()
        except OSError as error:
            note = f"cannot read the file: {error.strerror or error}"
            problems = [ModuleProblem(str(path), None, note)]
            return CustomFile(path, "unreadable", problems=problems, in_use=in_use, used=used)
        digest = trust_digest(path, content)  # the file and what it imports from its folder
        if previous is not None and previous.seen == digest and previous.status != "not trusted":
            return previous
        if not store.trusts(digest):
            note = (
                "changed, and the new version is not trusted: the last trusted version stays in use"
                if in_use is not None
                else "not trusted, so its code was not run"
            )
            problems = [ModuleProblem(str(path), None, note)]
            return CustomFile(path, "not trusted", digest, in_use, used, problems)
        if self.guard is not None:
            self.guard.forget_file(str(path), digest)
            if self.guard.stopped_on(kind="load", file=str(path), hash=digest):
                note = "the engine stopped while loading this file (it crashed or hung): it is not run again"
                return CustomFile(path, "stopped", digest, problems=[ModuleProblem(str(path), None, note)])
        return self._run_file(path, content, digest, previous)

    def _run_file(self, path: Path, content: bytes, digest: str, previous: CustomFile | None) -> CustomFile:
        last_good = previous.in_use if previous is not None else None
        try:
            source = content.decode("utf-8")
        except UnicodeDecodeError as error:
            problem = ModuleProblem(str(path), None, f"not UTF-8 text: {error.reason} at byte {error.start}")
            return CustomFile(path, "unreadable", digest, problems=[problem])
        with self._running({"kind": "load", "file": str(path), "hash": digest}):
            module = with_last_good(load_module(path, source), last_good)
        if module.module is None:
            return CustomFile(path, "refused", digest, problems=module.problems)
        return CustomFile(path, "loaded", digest, module, digest, module.problems)

    def _running(self, work: dict[str, Any]) -> contextlib.AbstractContextManager[None]:
        return self.guard.running(work) if self.guard is not None else contextlib.nullcontext()

    def reply(self) -> dict[str, Any]:
        """What the GUI is told: every spec, every problem, the files in use, what stopped."""
        return {
            "specs": [spec.to_dict() for spec in self.specs()],
            "problems": [problem.to_dict() for file in self.files.values() for problem in file.problems],
            "loaded": [str(path) for path, file in self.files.items() if file.in_use is not None],
            "stopped": self.stopped(),
        }

    # ---------------------------------------------------------------- the catalog
    def specs(self) -> list[LayerSpec]:
        return [spec for file in self.files.values() if file.in_use for spec in file.in_use.specs]

    def stopped(self) -> list[dict[str, Any]]:
        """The guard's entries for the files and layers as they are now (not for older versions)."""
        if self.guard is None:
            return []
        files = {str(path): file for path, file in self.files.items()}
        return [
            e
            for e in self.guard.stopped
            if e.get("file") in files and files[e["file"]].is_version(e.get("hash"))
        ]

    def stopped_layers(self) -> dict[str, dict[str, Any]]:
        return {e["key"]: e for e in self.stopped() if e.get("kind") == "layer" and e.get("key")}

    def catalog_over(self, base: Catalog) -> Catalog:
        """`base` with the custom layers loaded now (those that stopped the engine too: the GUI
        needs their ports), and without custom layers of files no longer loaded."""
        if self._over is not None and self._over[0] is base:
            return self._over[1]
        specs = self.specs()
        self._provided.update(spec.key for spec in specs)
        # Only layers these files gave: an import's registered classes are "user" specs too.
        stale = [spec for spec in base.values() if spec.key in self._provided]
        kept = [spec for spec in base.values() if spec.key not in self._provided]
        catalog = Catalog([*kept, *specs], base.version) if specs or stale else base
        self._over = (base, catalog)
        return catalog

    def inference(self, catalog: Catalog) -> ShapeInference:
        """Inference over `catalog` without the layers that stopped the engine."""
        stopped = self.stopped_layers()
        runnable = Catalog([s for s in catalog.values() if s.key not in stopped], catalog.version)
        digests = {
            spec.key: file.used for file in self.files.values() if file.in_use for spec in file.in_use.specs
        }
        return GuardedInference(runnable, self.guard, digests)

    def ports_of(self, catalog: Catalog, data: Mapping[str, Any]) -> Callable[[str], PortLayout | None]:
        """The catalog's ports, and for layers of the files whose code did not run the ports the
        design gives them, so such a design still reads (its nodes then say why)."""
        stems = {path.stem for path in self.files}
        stand_ins = {s.key: s.ports for s in stand_in_specs(data, catalog.__contains__, stems, "")}
        return lambda key: catalog.ports_of(key) or stand_ins.get(key)

    # -------------------------------------------------------------- diagnostics
    def explain(
        self, graph: ModelGraph, results: Mapping[str, NodeResult], runnable: Catalog
    ) -> dict[str, NodeResult]:
        """The results, with the nodes whose layer is not `runnable` told why."""
        explained = dict(results)
        stopped = self.stopped_layers()
        for node in graph.nodes.values():
            if node.type in runnable or node.id not in results:
                continue
            diagnostic = (
                _stopped_diagnostic(node, stopped[node.type])
                if node.type in stopped
                else self._not_loaded_diagnostic(node)
            )
            if diagnostic is not None:
                explained[node.id] = dataclasses.replace(results[node.id], diagnostics=(diagnostic,))
        return explained

    def _not_loaded_diagnostic(self, node: Node) -> Diagnostic | None:
        module, _, class_name = node.type.rpartition(".")
        file = next((f for path, f in self.files.items() if path.stem == module), None)
        if file is None:
            return None
        name = file.path.name
        if file.status == "not trusted" and file.in_use is None:
            message = (
                f"{node.name}: {node.type} is not loaded: {name} is not trusted, so its code was not run."
            )
            hint = f"Load {file.path} with File > Load Custom Layers… and choose Trust and load."
        elif file.status in ("stopped", "refused", "unreadable") and file.in_use is None:
            message = f"{node.name}: {node.type} is not loaded: {name}: {file.problems[0].message}."
            hint = f"Fix {file.path} and save it: it is loaded again when it changes."
        else:
            failed = f" ({_located(file.problems[0])})" if file.problems else ""
            message = f"{node.name}: {name} defines no layer class {class_name}{failed}."
            hint = f"Fix {file.path}, or give the node a layer type the file defines."
        return Diagnostic("error", message, hint, node=node.id, edge=None, code=NOT_LOADED_CODE)

    def file_diagnostics(self) -> list[Diagnostic]:
        """A model-wide warning for each problem of a file."""
        diagnostics = []
        for file in self.files.values():
            for problem in file.problems:
                hint = (
                    f"Trust {file.path} (File > Load Custom Layers…) to use its layers."
                    if file.status == "not trusted"
                    else f"Fix {file.path} and save it: it is reloaded. Until then the last good version "
                    "of its layers stays in use."
                )
                diagnostics.append(Diagnostic("warning", _located(problem), hint, code=FILE_CODE))
        return diagnostics

    # ------------------------------------------------------------- the editor
    def check(
        self, source: str, class_name: str | None, input_shape: Any, filename: str | None
    ) -> dict[str, Any]:
        """Check the editor's code (see `check_layer`), unless it stopped the engine before."""
        filename = filename or EDITOR_FILENAME
        digest = content_hash(f"{filename}\n{class_name}\n{input_shape}\n{source}".encode())
        if self.guard is not None and self.guard.stopped_on(kind="check", hash=digest):
            return _failure(
                "The engine stopped while checking this code (it crashed or hung) and was restarted. "
                "Change the code or the input shape to check it again.",
                None,
            )
        with self._running({"kind": "check", "hash": digest}):
            return check_layer(source, class_name, input_shape, filename)


def _refused(path: Path, note: str) -> CustomFile:
    return CustomFile(path, "refused", problems=[ModuleProblem(str(path), None, note)])


def _located(problem: ModuleProblem) -> str:
    """`my_layers.py:12: SyntaxError: ...` (the file's name, not its whole path)."""
    name = Path(problem.file).name
    return f"{name}:{problem.line}: {problem.message}" if problem.line else f"{name}: {problem.message}"


def _stopped_diagnostic(node: Node, entry: Mapping[str, Any]) -> Diagnostic:
    where = f" in {Path(entry['file']).name}" if entry.get("file") else ""
    message = (
        f"{node.name}: the engine stopped while inferring {entry.get('name') or node.name} "
        f"({node.type}{where}): its build or call crashed or hung the engine, which was restarted."
    )
    hint = f"Fix the layer{where} and save the file: the layer runs again once the file changes."
    return Diagnostic("error", message, hint, node=node.id, edge=None, code=STOPPED_CODE)


# ------------------------------------------------------------------ the check
def check_layer(source: str, class_name: str | None, input_shape: Any, filename: str) -> dict[str, Any]:
    """Build a layer class of `source` on `input_shape` (text like "(None, 16)", or several shapes)
    with its default params: its output shape and weights, and warnings about
    `compute_output_shape` and `get_config`; or {"error", "line"} where it failed.
    What the code registers with Keras' serialization is undone afterwards."""
    try:
        shapes = parse_input_shapes(input_shape)
    except ValueError as error:
        return _failure(str(error), None, field="input_shape")
    registered = dict(keras.saving.get_custom_objects())
    try:
        return _check_source(source, class_name, shapes, filename)
    finally:
        custom_objects = keras.saving.get_custom_objects()
        custom_objects.clear()
        custom_objects.update(registered)


def _check_source(
    source: str, class_name: str | None, shapes: list[tuple[int | None, ...]], filename: str
) -> dict[str, Any]:
    module = types.ModuleType(CHECK_MODULE)
    module.__file__ = filename
    try:
        exec(compile(source, filename, "exec"), module.__dict__)
    except Exception as error:  # the user's code may raise anything
        return _failure(_error_text(error), error_line(error, filename))
    classes = _layer_classes(module)
    if not classes:
        return _failure("The code defines no keras.layers.Layer subclass.", None)
    cls = classes.get(class_name or "") or next(iter(classes.values()))
    if class_name and class_name not in classes:
        return _failure(f"The code defines no layer class {class_name}: it has {', '.join(classes)}.", None)
    return _build(cls, shapes, filename)


def parse_input_shapes(text: Any) -> list[tuple[int | None, ...]]:
    """ "(None, 16)" -> [(None, 16)]; "[(None, 16), (None, 8)]" -> two shapes."""
    expected = "expected a shape like (None, 16), or several like [(None, 16), (None, 8)]"
    try:
        value = ast.literal_eval(text) if isinstance(text, str) else text
    except (ValueError, SyntaxError):
        raise ValueError(f"Input shape: {expected}; got {text!r}.") from None
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, (list, tuple)) for v in value):
        shapes = [tuple(v) for v in value]
    elif isinstance(value, (list, tuple)):
        shapes = [tuple(value)]
    else:
        raise ValueError(f"Input shape: {expected}; got {text!r}.")
    for shape in shapes:
        if not shape or not all(
            d is None or (isinstance(d, int) and not isinstance(d, bool) and d > 0) for d in shape
        ):
            raise ValueError(f"Input shape: each axis must be a positive int or None; got {shape}.")
    return shapes


def _layer_classes(module: types.ModuleType) -> dict[str, type[keras.layers.Layer]]:
    """The Layer subclasses the module defines, in the order it defines them."""
    return {
        name: value
        for name, value in vars(module).items()
        if isinstance(value, type)
        and issubclass(value, keras.layers.Layer)
        and value.__module__ == CHECK_MODULE
    }


def _build(
    cls: type[keras.layers.Layer], shapes: list[tuple[int | None, ...]], filename: str
) -> dict[str, Any]:
    """Construct the layer with its default params, run it on zeros (so `build` and `call` really
    run), then call it symbolically for the shape the designer shows (None axes kept)."""
    spec = spec_from_class(cls, key=cls.__name__, module=CHECK_MODULE, category=USER_CATEGORY, source="user")
    expected = len(spec.ports.inputs)
    if len(shapes) != expected and not spec.ports.variadic:
        names = ", ".join(spec.ports.inputs)
        return _failure(
            f"{cls.__name__}.call takes {expected} input tensor(s) ({names}); the input shape gives "
            f"{len(shapes)}.",
            None,
            field="input_shape",
        )
    params = spec.initial_params()
    try:
        layer = cls(**to_keras_kwargs(spec, params))
        ran = keras.tree.flatten(call_layer(layer, spec, [keras.ops.zeros(_concrete(s)) for s in shapes]))
        symbolic = keras.tree.flatten(call_layer(layer, spec, [keras.KerasTensor(s) for s in shapes]))
    except Exception as error:  # the user's code may raise anything
        return _failure(_error_text(error), error_line(error, filename))
    weights = [{"name": w.name, "shape": list(w.shape), "trainable": w.trainable} for w in layer.weights]
    output_shapes = [list(tensor.shape) for tensor in symbolic]
    return {
        "class_name": cls.__name__,
        "params": _own_params(cls, spec.full_params(params)),
        "output_shape": output_shapes[0] if len(output_shapes) == 1 else output_shapes,
        "output_shapes": output_shapes,
        "weights": weights,
        "trainable": sum(math.prod(w["shape"]) for w in weights if w["trainable"]),
        "non_trainable": sum(math.prod(w["shape"]) for w in weights if not w["trainable"]),
        "warnings": _shape_warnings(output_shapes, [list(t.shape) for t in ran], shapes)
        + _config_warnings(layer, cls, filename),
    }


def _own_params(cls: type[keras.layers.Layer], params: Mapping[str, Any]) -> dict[str, Any]:
    """The params the class' own __init__ declares (not Layer's name, dtype, trainable...)."""
    own = _own_arguments(cls)
    return {name: value for name, value in params.items() if name in own}


def _own_arguments(cls: type[keras.layers.Layer]) -> list[str]:
    """The named arguments of the class' __init__ that Layer's own __init__ does not have."""
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    try:
        parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
        base = set(inspect.signature(keras.layers.Layer.__init__).parameters)
    except (TypeError, ValueError):
        return []
    return [p.name for p in parameters if p.kind in named and p.name not in base]


def _concrete(shape: tuple[int | None, ...]) -> tuple[int, ...]:
    """A shape to run on: a batch of 2, and 3 for other unknown axes."""
    return tuple(dimension or (2 if axis == 0 else 3) for axis, dimension in enumerate(shape))


def _shape_warnings(
    said: list[list[Any]], ran: list[list[int]], shapes: list[tuple[int | None, ...]]
) -> list[dict[str, Any]]:
    """Where the symbolic shapes (compute_output_shape, when the class has one) disagree with what
    call returned on real input."""
    agree = len(said) == len(ran) and all(
        len(s) == len(r) and all(d is None or d == e for d, e in zip(s, r, strict=True))
        for s, r in zip(said, ran, strict=False)
    )
    if agree:
        return []
    concrete = [list(_concrete(shape)) for shape in shapes]
    message = (
        f"compute_output_shape gives {_shapes_text(said)}, but call returns {_shapes_text(ran)} for an "
        f"input of {_shapes_text(concrete)}: fix compute_output_shape, the designer shows what it says."
    )
    return [{"message": message, "line": None}]


def _config_warnings(
    layer: keras.layers.Layer, cls: type[keras.layers.Layer], filename: str
) -> list[dict[str, Any]]:
    """Whether get_config returns every __init__ argument and from_config takes it back, as saving
    and loading a model need."""
    try:
        config = layer.get_config()
        cls.from_config(config)
    except Exception as error:  # the user's code may raise anything
        message = (
            f"from_config(get_config()) fails: {_error_text(error)}. Saving the model would fail: "
            "return every __init__ argument from get_config."
        )
        return [{"message": message, "line": error_line(error, filename)}]
    missing = [name for name in _own_arguments(cls) if name not in config]
    if not missing:
        return []
    message = (
        f"get_config does not return {', '.join(missing)}: a saved model would load with the "
        "default. Add every __init__ argument to the dict get_config returns."
    )
    return [{"message": message, "line": None}]


def _shapes_text(shapes: list[list[Any]]) -> str:
    texts = [
        "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")" for shape in shapes
    ]
    return texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"


def _error_text(error: BaseException) -> str:
    """`Type: message`, without Keras' wrapping ("Exception encountered when calling...",
    "Arguments received...") and terminal colour codes."""
    if isinstance(error, SyntaxError):
        return f"SyntaxError: {error.msg}"
    text = ANSI_CODES.sub("", str(error)).split("\n\nArguments received")[0].strip()
    if text.startswith("Exception encountered when calling") and "\n\n" in text:
        text = text.split("\n\n", 1)[1].strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _failure(message: str, line: int | None, **extra: Any) -> dict[str, Any]:
    return {"error": message, "line": line, **extra}
