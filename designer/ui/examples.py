"""The built-in example designs (resources/examples/): where they are, and telling them apart.

An example is opened as an untitled copy, so that Save asks where to put it
and the installed file is never overwritten, and so that nothing (runs, say)
is ever written inside the installed package.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

DEFAULT_EXAMPLE = "digits_cnn.json"


def examples_folder() -> Path:
    """resources/examples/, from the installed package or the source tree."""
    try:
        return Path(str(importlib.resources.files("resources").joinpath("examples")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[2] / "resources" / "examples"


def example_path(name: str = DEFAULT_EXAMPLE) -> Path:
    return examples_folder() / name


def is_example(path: Path) -> bool:
    """Whether `path` is one of the built-in examples (however it is spelled)."""
    try:
        return Path(path).resolve().parent == examples_folder().resolve()
    except OSError:
        return False
