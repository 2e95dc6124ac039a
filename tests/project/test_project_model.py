"""ProjectModel: one mutator per part, a past-tense signal on real change only, the file record both ways."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from designer.graph import project
from designer.graph.model import INPUT_PORTS, Edge, ModelGraph, Node, PortLayout
from designer.project.model import (
    ProjectModel,
    UnreadableTraining,
    absolute_references,
    relative_references,
)
from designer.training.config import ConfigError, TrainingConfig

ROOT = Path(__file__).resolve().parent.parent.parent


def small_graph() -> ModelGraph:
    graph = ModelGraph("digits")
    graph.add_node(Node("n1", "Input", "pixels", {"shape": [64], "dtype": "float32"}, ports=INPUT_PORTS))
    graph.add_node(Node("n2", "Dense", "digit", {"units": 10, "activation": "softmax"}, ports=PortLayout()))
    graph.connect(Edge("n1", 0, "n2", 0))
    graph.mark_output("n2", 0, "digit")
    return graph


def recorded(model: ProjectModel) -> dict[str, list[Any]]:
    """Every emission of the model's events, by signal name."""
    seen: dict[str, list[Any]] = {"training_changed": [], "custom_layers_changed": [], "extra_changed": []}
    for name, values in seen.items():
        getattr(model.events, name).connect(values.append)
    return seen


# ------------------------------------------------------------------ signals
def test_set_training_emits_once_with_the_new_config_and_not_for_an_equal_one() -> None:
    model = ProjectModel(small_graph())
    seen = recorded(model)
    config = TrainingConfig(epochs=3)
    model.set_training(config)
    model.set_training(TrainingConfig(epochs=3))  # equal: no change
    assert seen["training_changed"] == [config]
    assert model.training == config
    model.set_training(None)
    assert seen["training_changed"] == [config, None]
    assert seen["custom_layers_changed"] == seen["extra_changed"] == []


def test_the_stored_config_cannot_be_changed_behind_the_model() -> None:
    model = ProjectModel()
    seen = recorded(model)
    config = TrainingConfig(epochs=3)
    model.set_training(config)
    config.epochs = 99  # the caller's object
    shown = model.training
    assert isinstance(shown, TrainingConfig)
    shown.epochs = 50  # a reader's copy
    seen["training_changed"][0].epochs = 7  # a listener's copy
    assert model.training == TrainingConfig(epochs=3)


def test_set_custom_layers_emits_once_with_the_new_tuple() -> None:
    model = ProjectModel()
    seen = recorded(model)
    model.set_custom_layers(["/a/layers.py"])
    model.set_custom_layers(("/a/layers.py",))  # the same references
    model.set_custom_layers([])
    assert seen["custom_layers_changed"] == [("/a/layers.py",), ()]
    assert model.custom_layers == ()


def test_set_extra_emits_once_on_change_and_extra_is_read_only() -> None:
    model = ProjectModel(extra={"notes": "x"})
    seen = recorded(model)
    model.set_extra({"notes": "x"})
    model.set_extra({"notes": "y"})
    assert [dict(extra) for extra in seen["extra_changed"]] == [{"notes": "y"}]
    with pytest.raises(TypeError):
        model.extra["notes"] = "z"  # type: ignore[index]


# ---------------------------------------------------------------- defaults
def test_without_a_stored_config_the_defaults_for_the_outputs_apply() -> None:
    model = ProjectModel(small_graph(), extra={project.IMPORTED_WEIGHTS_KEY: "digits.weights.h5"})
    config = model.training_config()
    assert config.losses == {"digit": "sparse_categorical_crossentropy"}
    assert config.initial_weights == "digits.weights.h5"
    assert model.training is None  # nothing is stored by asking


def test_a_stored_config_is_what_a_run_uses() -> None:
    model = ProjectModel(small_graph(), TrainingConfig(epochs=4))
    assert model.training_config().epochs == 4


# ------------------------------------------------------------- file record
def test_the_file_record_round_trips() -> None:
    training = {**TrainingConfig(epochs=4).to_dict()}
    record = project.Project(small_graph(), training=training, custom_layers=["layers.py"], extra={"k": [1]})
    model = ProjectModel.from_project(record)
    assert model.training == TrainingConfig(epochs=4)
    assert model.custom_layers == ("layers.py",)  # no folder: as they are
    again = model.to_project()
    assert (again.training, again.custom_layers, again.extra) == (training, ["layers.py"], {"k": [1]})
    assert again.graph is model.graph


def test_a_project_without_training_has_none() -> None:
    model = ProjectModel.from_project(project.Project(small_graph()))
    assert model.training is None and model.to_project().training is None


def test_an_unreadable_training_section_opens_kept_as_it_was() -> None:
    stored = {"epochs": 5, "epoch": 6}  # a typo: an unknown key
    model = ProjectModel.from_project(project.Project(small_graph(), training=stored))
    training = model.training
    assert isinstance(training, UnreadableTraining)
    assert [problem.field for problem in training.problems] == ["training.epoch"]
    with pytest.raises(ConfigError, match=r"training\.epoch: unknown key"):
        model.training_config()
    assert model.to_project().training == stored  # saving writes it back unchanged

    seen = recorded(model)
    model.set_training(TrainingConfig(epochs=5))  # the first edit replaces it
    assert seen["training_changed"] == [TrainingConfig(epochs=5)]
    model.set_training(training)  # its undo brings it back
    assert model.to_project().training == stored


def test_custom_layer_references_are_absolute_in_the_model_and_relative_in_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "designs"
    record = project.Project(
        small_graph(), custom_layers=["layers.py", "../library/./blocks.py", 7, str(tmp_path / "x.py")]
    )
    model = ProjectModel.from_project(record, folder)
    assert model.custom_layers == (
        str(folder / "layers.py"),
        str(tmp_path / "library" / "blocks.py"),
        str(tmp_path / "x.py"),
    )  # what is no path string goes
    assert model.to_project(relative_to=folder).custom_layers == [
        "layers.py",
        "../library/blocks.py",
        "../x.py",
    ]
    assert model.to_project(relative_to=tmp_path / "elsewhere").custom_layers == [
        "../designs/layers.py",
        "../library/blocks.py",
        "../x.py",
    ]
    assert model.to_project().custom_layers == list(model.custom_layers)  # the recovery file: absolute


def test_relative_references_stay_as_they_are_when_written() -> None:
    assert relative_references(["layers.py"], Path("/somewhere")) == ("layers.py",)
    assert absolute_references(["/a/b/../c.py"], Path("/x")) == (str(Path("/a/c.py")),)


# ------------------------------------------------------------------ layering
def test_the_project_model_imports_without_qt_or_keras() -> None:
    code = (
        "import sys\n"
        "import designer.project.model\n"
        "bad = sorted(m for m in ('keras', 'tensorflow', 'PySide6', 'pyqtgraph') if m in sys.modules)\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
