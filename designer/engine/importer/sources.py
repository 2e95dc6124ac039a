"""Where a Keras model to import comes from: a .keras or .h5 file, a JSON config, `module:function`.

A file is read as data (`load_file`: Keras' safe mode, no code of the file runs),
unless it holds a Lambda layer: its function is bytecode that runs when loaded,
so such a file loads only with `run_code` (Keras' safe mode off for that load
alone, in the engine process), else the refusal says why and how to allow it.
`module:function` (or `file.py:function`) imports and calls Python code, so
`load_source` takes it only with `run_code` (the CLI's --trust, the GUI's consent);
a name that is an existing file is always that file, never `module:function`
(a picked file literally named `model.py:build` does not run `model.py`).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
from keras.src.saving.serialization_lib import SafeModeScope  # Model.from_config takes no safe_mode

from designer.catalog.expressions import LAMBDA_FILE_REFUSAL
from designer.catalog.user_modules import USER_FILE_ATTRIBUTE, module_name_problem
from designer.engine.importer.base import _REGISTER_HINT, MODEL_FILE_SUFFIXES, ImportRefused, first_line


def load_source(source: str, *, run_code: bool = False) -> keras.Model:
    """The Keras model a source names, or an ImportRefused saying what is wrong with it.

    `module:function` runs code: refused unless `run_code`. A source that is a file, or has a
    model file's suffix, is a file (`load_file`)."""
    path = Path(source)
    if path.is_file() or path.suffix.lower() in (*MODEL_FILE_SUFFIXES, ".json"):
        return load_file(path, run_code=run_code)
    if ":" not in source:
        raise ImportRefused(
            f"Cannot import {source!r}: expected a .keras file, a .json model config "
            "(model.to_json() or model.get_config()), or module:function."
        )
    if not run_code:
        raise ImportRefused(
            f"{source} is Python code to run (module:function): importing it runs that code with your "
            "permissions. Pass --trust if you trust it."
        )
    return _load_attribute(source)


def load_file(path: Path, *, run_code: bool = False) -> keras.Model:
    """The Keras model in a .keras or .h5 file or a .json config; any other file is refused (a
    picked file is read, never run: Python code is imported only as module:function). A Lambda's
    bytecode in the file is loaded only with `run_code`."""
    suffix = path.suffix.lower()
    if suffix in MODEL_FILE_SUFFIXES:
        return _load_model_file(path, run_code)
    if suffix == ".json":
        return _load_json(path, run_code)
    raise ImportRefused(
        f"Cannot import {path}: expected a .keras or .h5 model file or a .json model config "
        "(model.to_json() or model.get_config())."
    )


def _load_model_file(path: Path, run_code: bool) -> keras.Model:
    _require_file(path)
    if path.suffix.lower() == ".keras" and not zipfile.is_zipfile(path):
        raise ImportRefused(
            f"{path} is not a Keras model file: a .keras file is a zip archive written by model.save()."
        )
    return _deserialized(path, lambda: keras.saving.load_model(path, compile=False, safe_mode=not run_code))


def _load_json(path: Path, run_code: bool) -> keras.Model:
    _require_file(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ImportRefused(f"{path} is not a JSON file: {error}.") from None
    return _deserialized(path, lambda: model_from_config_data(data, str(path), run_code=run_code))


def model_from_config_data(data: Any, where: str = "the config", *, run_code: bool = False) -> keras.Model:
    """A model from `model.to_json()` data ({"class_name", "config"}) or `model.get_config()` data;
    a Lambda's bytecode in it is loaded only with `run_code`."""
    if isinstance(data, dict) and isinstance(data.get("class_name"), str) and "config" in data:
        model = keras.saving.deserialize_keras_object(data, safe_mode=not run_code)
    elif isinstance(data, dict) and isinstance(data.get("layers"), list):
        model_class = keras.Model if "input_layers" in data else keras.Sequential
        with SafeModeScope(not run_code):
            model = model_class.from_config(data)
    else:
        raise ImportRefused(
            f"{where} is not a Keras model config: expected the output of model.to_json() "
            '({"class_name": ..., "config": ...}) or of model.get_config() ({"layers": [...], ...}).'
        )
    if not isinstance(model, keras.Model):
        raise ImportRefused(f"{where} describes a {type(model).__name__}, not a keras.Model.")
    return model


def _require_file(path: Path) -> None:
    if not path.is_file():
        raise ImportRefused(f"{path}: no such file.")


def _deserialized(path: Path, load: Callable[[], keras.Model]) -> keras.Model:
    """Run a Keras load; its errors become ImportRefused naming the file (and the unknown class)."""
    try:
        return load()
    except ImportRefused:
        raise
    except Exception as error:  # Keras raises TypeError, ValueError, KeyError...; the text is what counts
        raise ImportRefused(_load_failure(path, error)) from error


_LAMBDA_REFUSED = "Requested the deserialization of a `Lambda` layer"  # Keras' safe-mode refusal
LAMBDA_CONSENT_MESSAGE = (
    "{path} " + LAMBDA_FILE_REFUSAL + " (stored as bytecode), which runs when the model is loaded. "
    "Pass --trust if you trust the file (in the editor, allow it when asked)."
)
_UNKNOWN_CLASS = re.compile(r"Could not locate (class|function) '([^']+)'")
_UNKNOWN_MODULE = re.compile(r"'module': '([^']+)'")


def _load_failure(path: Path, error: Exception) -> str:
    text = str(error)
    if _LAMBDA_REFUSED in text:
        return LAMBDA_CONSENT_MESSAGE.format(path=path)
    unknown = _UNKNOWN_CLASS.search(text)
    if unknown is not None:
        module = _UNKNOWN_MODULE.search(text[unknown.end() :])
        where = f" (module {module.group(1)})" if module else ""
        return (
            f"{path} uses the {unknown.group(1)} '{unknown.group(2)}'{where}, which Keras does not know. "
            + _REGISTER_HINT
        )
    return f"Cannot load {path} as a Keras model: {type(error).__name__}: {first_line(error)}"


def _load_attribute(source: str) -> keras.Model:
    """Import `module:attribute` (or `file.py:attribute`) and call it when it is a function."""
    module_name, _, attribute = source.rpartition(":")
    module = _import_module(module_name, source)
    target = getattr(module, attribute, None)
    if target is None:
        raise ImportRefused(f"{source}: module {module_name!r} has no attribute {attribute!r}.")
    model = target if isinstance(target, keras.Model) else _call_builder(target, source)
    if not isinstance(model, keras.Model):
        raise ImportRefused(f"{source} returned a {type(model).__name__}, not a keras.Model.")
    return model


def _import_module(module_name: str, source: str) -> Any:
    try:
        if module_name.endswith(".py"):
            return _import_file(Path(module_name))
        return importlib.import_module(module_name)
    except ImportRefused:
        raise
    except Exception as error:  # the module's own code may raise anything
        raise ImportRefused(
            f"{source}: cannot import {module_name!r}: {type(error).__name__}: {error}"
        ) from error


def _import_file(path: Path) -> Any:
    """Run `path` as the module named after its stem, the way custom-layer files are loaded
    (`designer.catalog.user_modules`): the classes it defines are then found by their module
    when the design is built, and the project can record the file."""
    _require_file(path)
    path = path.resolve()
    clash = module_name_problem(path)
    if clash is not None:
        raise ImportRefused(f"{path}: {clash.message}.")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise ImportRefused(f"{path}: not a Python module.")
    module = importlib.util.module_from_spec(spec)
    setattr(module, USER_FILE_ATTRIBUTE, str(path))
    sys.modules[path.stem] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(path.stem, None)  # as a failed import leaves no module behind
        raise
    return module


def _call_builder(target: Any, source: str) -> Any:
    if not callable(target):
        raise ImportRefused(
            f"{source} is a {type(target).__name__}: expected a function that returns a model."
        )
    try:
        return target()
    except Exception as error:  # the user's builder may raise anything
        raise ImportRefused(f"{source}: calling it raised {type(error).__name__}: {error}") from error
