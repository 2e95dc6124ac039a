"""What every part of the importer shares: the refusal, the names it writes into projects and
weights files, and what counts as a nested model."""

from __future__ import annotations

import re
from typing import Any

import keras
from keras.src.models.functional import Functional

from designer.catalog.spec import IMPORTED_SPECS_KEY
from designer.graph.errors import GraphError
from designer.graph.model import is_valid_name
from designer.graph.project import IMPORTED_WEIGHTS_KEY

WEIGHTS_SUFFIX = ".weights.h5"
LAYER_PATHS_ATTRIBUTE = "designer_layer_paths"  # h5 root attribute: {layer name: path in the file}
PROJECT_WEIGHTS_KEY = IMPORTED_WEIGHTS_KEY  # project.extra key of the weights file, relative to the project
PROJECT_SPECS_KEY = IMPORTED_SPECS_KEY  # project.extra key of the specs made during the import
MODEL_FILE_SUFFIXES = (".keras", ".h5")

SUBCLASSED_MESSAGE = (
    "{name} is a subclassed keras.Model: Keras cannot describe its layers as a graph. "
    "Rebuild it with the Functional API, or import a function that returns a functional model."
)
_REGISTER_HINT = (
    "Decorate it with @keras.saving.register_keras_serializable() in a .py file and load that file "
    "before importing the model (designer import --layers FILE, or Load Custom Layers in the "
    "editor): the project then records the file."
)


class ImportRefused(GraphError):  # noqa: N818 - reads as what happened, like ExportRefused
    """The source cannot be imported as a design; the message says why and what to do instead."""


def is_model(operation: Any) -> bool:
    """A Functional or Sequential model: expanded inline, never a node of its own."""
    return isinstance(operation, (Functional, keras.Sequential))


def first_line(error: BaseException, limit: int = 300) -> str:
    """An error's first line, cut short (Keras' shape errors print whole arrays); its type's
    name when it says nothing."""
    text = str(error).strip()
    line = text.splitlines()[0] if text else type(error).__name__
    return line if len(line) <= limit else line[: limit - 1] + "…"


def identifier(name: str) -> str:
    """A Keras name as a node name: kept when it is a Python identifier, else made one."""
    text = re.sub(r"\W", "_", name) or "layer"
    if text[0].isdigit():
        text = f"layer_{text}"
    return f"{text}_" if not is_valid_name(text) else text


def identifier_path(path: str) -> str:
    """A layer path of the imported model ("mobilenetv2_1.00_32/Conv1") as exported code with
    blocks names it: each part an identifier ("mobilenetv2_1_00_32/Conv1")."""
    return "/".join(identifier(part) for part in path.split("/"))
