"""The declared interface of a generated train.py: every step there with its parameters, or an
error that names what is missing."""

from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path

import pytest
from training_helpers import chain

from designer.catalog.spec import Catalog
from designer.codegen import DEFAULT_TRAINING_CONFIG, export
from designer.graph.model import ModelGraph
from designer.training.config import TrainingConfig
from designer.training.script import STEPS, ScriptInterfaceError, training_script


def import_export(folder: Path, graph: ModelGraph, catalog: Catalog) -> types.ModuleType:
    """Export's model.py and train.py written to `folder`, train.py imported from there."""
    config = TrainingConfig.for_graph(graph).to_dict()
    for name, source in export(graph, catalog, with_training=True, training_config=config).items():
        (folder / name).write_text(source, encoding="utf-8")
    sys.modules.pop("model", None)
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module("train")
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("model", None)
        sys.modules.pop("train", None)


def test_a_generated_script_declares_every_step_the_worker_calls(tmp_path: Path, catalog: Catalog) -> None:
    graph = chain("table", ("Input", "features", {"shape": [4]}), ("Dense", "label", {"units": 3}))
    script = training_script(import_export(tmp_path, graph, catalog), tmp_path / "train.py")
    docstring = (script.__doc__ or "") if isinstance(script, types.ModuleType) else ""
    for name in STEPS:
        assert callable(getattr(script, name))
        assert f"{name}(" in docstring  # the script's docstring names each step


def test_a_script_without_the_steps_is_refused_with_what_is_missing() -> None:
    module = types.ModuleType("train")
    exec("def make_model():\n    pass\n\ndef fit(model, data):\n    pass\n", module.__dict__)
    with pytest.raises(ScriptInterfaceError) as raised:
        training_script(module, Path("runs/1/train.py"))
    message = str(raised.value)
    assert "runs/1/train.py does not declare the steps the training worker calls" in message
    assert "no function prepare_data(model)" in message
    assert (
        "fit(model, data) where fit(model, data, epochs, output_dir, callbacks, initial_epoch) was expected"
        in (message)
    )
    assert "no function save_model(model, output_dir)" in message
    assert "Export the training script again" in message


def test_the_default_config_is_the_data_packages_defaults() -> None:
    from designer import data

    assert DEFAULT_TRAINING_CONFIG["batch_size"] == data.DEFAULT_BATCH_SIZE
    assert DEFAULT_TRAINING_CONFIG["seed"] == data.DEFAULT_SEED
    assert DEFAULT_TRAINING_CONFIG["validation"] == data.DEFAULT_VALIDATION


def test_a_run_of_an_earlier_version_is_refused_on_resume_with_what_can_be_done(tmp_path: Path) -> None:
    from designer.training.runs import RunFolder
    from designer.training.worker import run_script

    run = RunFolder(tmp_path / "run_0001")
    run.path.mkdir()
    run.training_file.write_text("def main(argv=None, callbacks=()):\n    pass\n", encoding="utf-8")
    with pytest.raises(ScriptInterfaceError) as raised:
        run_script(run, resume_epoch=2)
    message = str(raised.value)
    assert message.startswith("run_0001 was written by an earlier version of the designer")
    assert "cannot be resumed. Start a new run instead" in message
    with pytest.raises(ScriptInterfaceError, match="Export the training script again"):
        run_script(run, resume_epoch=0)  # a new run of such a script: the plain refusal
