"""Compare the generated train.py's own loaders with designer.data's, array by array."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from designer.data import DataLayout, DataSettings, load_source, prepare_data
from designer.engine.keras_data import KerasData


def import_script(folder: Path, files: dict[str, str], name: str) -> ModuleType:
    """Write an export's files into `folder` and import its train.py as `name` (its model.py
    as `model`, as the script imports it)."""
    for file, source in files.items():
        (folder / file).write_text(source, encoding="utf-8")
    sys.modules.pop("model", None)
    sys.path.insert(0, str(folder))
    try:
        spec = importlib.util.spec_from_file_location(name, folder / "train.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("model", None)
    return module


def assert_same(script_data: Any, designer_data: Any, where: str = "data") -> None:
    """The same structure and the same arrays (values, shapes and dtypes); datasets batch by batch."""
    if hasattr(script_data, "element_spec"):
        assert hasattr(designer_data, "element_spec"), f"{where}: a dataset against {type(designer_data)}"
        assert getattr(script_data, "class_names", None) == getattr(designer_data, "class_names", None)
        script_batches, designer_batches = list(script_data), list(designer_data)
        assert len(script_batches) == len(designer_batches), f"{where}: batch count"
        for index, (left, right) in enumerate(zip(script_batches, designer_batches, strict=True)):
            assert_same(_numpy(left), _numpy(right), f"{where}[batch {index}]")
    elif isinstance(script_data, tuple | list):
        assert isinstance(designer_data, tuple | list), f"{where}: {type(designer_data)}"
        assert len(script_data) == len(designer_data), f"{where}: length"
        for index, (left, right) in enumerate(zip(script_data, designer_data, strict=True)):
            assert_same(left, right, f"{where}[{index}]")
    elif isinstance(script_data, dict):
        assert isinstance(designer_data, dict) and list(script_data) == list(designer_data), where
        for key in script_data:
            assert_same(script_data[key], designer_data[key], f"{where}[{key!r}]")
    elif script_data is None:
        assert designer_data is None, f"{where}: None against {type(designer_data)}"
    else:
        assert isinstance(designer_data, np.ndarray), f"{where}: {type(designer_data)}"
        np.testing.assert_array_equal(np.asarray(script_data), designer_data, err_msg=where, strict=True)


def _numpy(batch: Any) -> Any:
    if isinstance(batch, tuple | list):
        return tuple(_numpy(part) for part in batch)
    return batch.numpy()


def compare_loaders(
    script: ModuleType, config: dict[str, Any], graph_data: dict[str, Any], folder: Path
) -> None:
    """Every loader of the script against designer.data's, and prepare_data against prepare_data.
    The script reads relative paths from the working folder, designer.data from `folder`."""
    model = script.make_model()
    keras_side = KerasData(model)
    settings = DataSettings.of_config(config)
    layout = DataLayout.of_project_data(graph_data)
    loaders = {"load_data": (settings.data, True), "load_test_data": (settings.data, False)}
    if settings.validation_source is not None:
        loaders["load_validation_data"] = (settings.validation_source, False)
    for name, (source, training) in loaders.items():
        function = getattr(script, name, None)
        if function is None:
            continue
        expected = function(model) if function.__code__.co_argcount else function()
        loaded = load_source(
            source, layout, training=training, settings=settings, keras=keras_side, base_dir=folder
        )
        assert_same(expected, loaded, name)
    assert_same(
        script.prepare_data(model), prepare_data(settings, layout, keras_side, folder), "prepare_data"
    )
