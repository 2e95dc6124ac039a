"""Which files define the custom classes an import uses, so that the project records them.

A design whose nodes are registered custom layers builds only once the module
defining each class is loaded. The designer loads a custom-layer file as the
module named after its stem (`designer.catalog.user_modules.load_module`), so
a class is recorded by its file when it was loaded that way, or when it comes
from a top-level module whose file has that name (`mylayers.py` for
`mylayers.Scale`). Keras' own classes and the designer's layer library need
no file; a class from a package module or an installed package cannot be
recorded as a custom-layer file, and the import says so.
"""

from __future__ import annotations

import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from designer.catalog.user_modules import LIBRARY_PACKAGE, USER_FILE_ATTRIBUTE

_BUILT_IN_PACKAGES = ("keras", "designer", LIBRARY_PACKAGE)


@dataclass(frozen=True)
class DefiningFile:
    """Where a class used by an import is defined: the file to record, or why none is."""

    path: Path | None = None
    note: str = ""


def defining_file(cls: type) -> DefiningFile:
    """The custom-layer file that defines `cls` (None for Keras' and the library's classes, or
    with a note saying why the project cannot record it)."""
    module_name = cls.__module__
    if module_name.split(".")[0] in _BUILT_IN_PACKAGES:
        return DefiningFile()
    module = sys.modules.get(module_name)
    user_file = getattr(module, USER_FILE_ATTRIBUTE, None)
    if isinstance(user_file, str):
        return DefiningFile(Path(user_file).resolve())
    if module_name == "__main__" or "<locals>" in cls.__qualname__:
        return DefiningFile()  # the walk notes that generated code cannot import it
    file = _source_file(module, cls)
    if file is None or file.suffix != ".py" or _installed(file) or file.stem != module_name:
        return DefiningFile(
            note=(
                f"{cls.__qualname__} comes from the module {module_name}, which the project cannot "
                "record as a custom-layer file (a single .py file named like its module): import "
                "that module before opening the project, or move the class to such a file."
            )
        )
    return DefiningFile(file)


def _source_file(module: Any, cls: type) -> Path | None:
    """The module's file; for a module run from a file and never put in sys.modules
    (`file.py:function` sources), the file its methods were compiled from."""
    location = getattr(module, "__file__", None)
    if isinstance(location, str):
        return Path(location).resolve()
    for member in vars(cls).values():
        code = getattr(member, "__code__", None)
        if code is not None and Path(code.co_filename).is_file():
            return Path(code.co_filename).resolve()
    return None


def _installed(file: Path) -> bool:
    """A file of the standard library or of an installed package."""
    roots = {sysconfig.get_path(name) for name in ("stdlib", "platstdlib", "purelib", "platlib")}
    return any(root and file.is_relative_to(Path(root).resolve()) for root in roots)
