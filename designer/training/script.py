"""The declared interface of a generated train.py: the steps the training worker calls.

Export writes train.py (designer.codegen.training_script); its `main()` runs these module-level
functions, and the worker (designer.training.worker) calls the same ones on the run's own copy,
with its own callbacks and with data designer.data loads the way the script's `prepare_data`
does (tests/data holds the two to the same arrays):

    make_model() -> model                       seeded, built (in the strategy's scope), compiled
    prepare_data(model) -> (train, validation, test)
    fit(model, data, epochs, output_dir, callbacks=(), initial_epoch=0) -> History
    evaluate(model, data) -> dict of results
    save_model(model, output_dir)               writes output_dir/model.keras

`data` is prepare_data's triple: each part (x, y) or a dataset, None where there is none.
This module imports no Keras: the worker owns the only Keras import of designer.training.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, cast

# Each step and the parameters it must take, in order.
STEPS: dict[str, tuple[str, ...]] = {
    "make_model": (),
    "prepare_data": ("model",),
    "fit": ("model", "data", "epochs", "output_dir", "callbacks", "initial_epoch"),
    "evaluate": ("model", "data"),
    "save_model": ("model", "output_dir"),
}


class TrainingScript(Protocol):
    """A generated train.py module, as the worker calls it."""

    def make_model(self) -> Any: ...

    def prepare_data(self, model: Any) -> tuple[Any, Any, Any]: ...

    def fit(
        self,
        model: Any,
        data: tuple[Any, Any, Any],
        epochs: int,
        output_dir: Path,
        callbacks: Sequence[Any] = (),
        initial_epoch: int = 0,
    ) -> Any: ...

    def evaluate(self, model: Any, data: tuple[Any, Any, Any]) -> Any: ...

    def save_model(self, model: Any, output_dir: Path) -> None: ...


class ScriptInterfaceError(TypeError):
    """A train.py that does not declare the steps the worker calls."""


def training_script(module: ModuleType, file: Path | str) -> TrainingScript:
    """`module` as a TrainingScript, once every step is there with its parameters;
    ScriptInterfaceError names what is missing."""
    problems = [
        problem for name, parameters in STEPS.items() if (problem := _problem(module, name, parameters))
    ]
    if problems:
        raise ScriptInterfaceError(
            f"{file} does not declare the steps the training worker calls: {'; '.join(problems)}. "
            "Export the training script again with this version of the designer."
        )
    return cast(TrainingScript, module)


def _problem(module: ModuleType, name: str, parameters: tuple[str, ...]) -> str | None:
    function = getattr(module, name, None)
    expected = f"{name}({', '.join(parameters)})"
    if not callable(function):
        return f"no function {expected}"
    found = tuple(_parameter_names(function))
    if found[: len(parameters)] != parameters:
        return f"{name}({', '.join(found)}) where {expected} was expected"
    return None


def _parameter_names(function: Callable[..., Any]) -> list[str]:
    try:
        return list(inspect.signature(function).parameters)
    except (TypeError, ValueError):  # a builtin without a signature
        return []
