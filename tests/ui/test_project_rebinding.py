"""Opening another design shows its own project state in every panel; views follow the project model.

Design 1 is opened and changed through the widgets, then design 2 is opened:
what a person sees in the Training Setup, the Training panel and the custom
layers must be design 2's, and nothing of design 1 may come back. The views
also follow changes made to the model without them (Undo, another panel).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QEventLoop
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from test_main_window import make_window

from designer.catalog.keras_layers import build_catalog
from designer.catalog.spec import Catalog
from designer.project.model import UnreadableTraining
from designer.training.config import TrainingConfig
from designer.ui.main_window import MainWindow
from designer.ui.panels.training_config import SetTrainingConfig, TrainingConfigView

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
RESHAPE_PROBLEM = "input 'pixels' expects (None, 64); the data gives (1797, 8, 8, 1): reshape to (64,)?"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return build_catalog()


@pytest.fixture
def window(
    qtbot: QtBot, tmp_path: Path, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> Iterator[MainWindow]:
    monkeypatch.setenv("DESIGNER_RUNS_DIR", str(tmp_path / "user runs"))
    monkeypatch.setenv("DESIGNER_CONFIG_DIR", str(tmp_path / "config"))
    window = make_window(qtbot, tmp_path, catalog=catalog)
    yield window
    window.custom_layers.close()
    window.training_client.shutdown()


def copy_example(name: str, folder: Path, **changes: Any) -> Path:
    """An example design copied into `folder`, with top-level keys changed."""
    data = json.loads((EXAMPLES / f"{name}.json").read_text())
    path = folder / f"{name}.json"
    path.write_text(json.dumps({**data, **changes}))
    return path


def check_data(view: TrainingConfigView) -> list[Any]:
    """Check data as its button does, waiting for the answer from the worker thread."""
    answers: list[list[Any]] = []
    view.data_checked.connect(answers.append)
    view.data.check_button.click()
    deadline = time.monotonic() + 60
    while not answers and time.monotonic() < deadline:
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    assert answers, "Check data gave no answer"
    return answers[-1]


# ------------------------------------------------------------- Training Setup
def test_another_design_opened_shows_its_own_training_setup_and_no_check_answer_of_the_last(
    window: MainWindow, tmp_path: Path
) -> None:
    setup = window.training_config
    assert window.open_path(copy_example("digits_mlp", tmp_path))
    setup.fit.epochs.setValue(7)
    setup.data.pages["sklearn"].image.setChecked(True)
    assert [str(problem) for problem in check_data(setup)] == [RESHAPE_PROBLEM]
    assert setup.data.problems.messages == [RESHAPE_PROBLEM] and setup.data.problems.fix_buttons

    assert window.open_path(copy_example("two_in_two_out", tmp_path))

    assert setup.fit.epochs.value() == 5
    assert setup.data.kind.currentData() == "synthetic"
    assert setup.data.problems.messages == [] and setup.data.problems.fix_buttons == []
    assert setup.data.problems.isHidden()
    assert sorted(setup.outputs.rows) == sorted(mark.name for mark in window.document.graph.outputs)
    assert not window.document.undo_stack.canUndo()  # design 1's edits stay with design 1


def test_the_training_panel_shows_nothing_of_the_last_design(window: MainWindow, tmp_path: Path) -> None:
    assert window.open_path(copy_example("digits_mlp", tmp_path, training={"epoch": 6}))
    window.training.start_button.click()  # refused: the stored config has an unknown key
    assert any("training.epoch" in message for message in window.training.problems.messages)

    assert window.open_path(copy_example("digits_cnn", tmp_path))

    assert window.training.problems.messages == []
    assert window.training.status_label.text() == "Ready."


# ---------------------------------------------------- following the model
def test_the_training_setup_follows_changes_it_did_not_make(window: MainWindow, tmp_path: Path) -> None:
    setup, document = window.training_config, window.document
    assert window.open_path(copy_example("digits_mlp", tmp_path))
    document.model.set_training(TrainingConfig.from_dict({**setup.config.to_dict(), "epochs": 3}))
    assert setup.fit.epochs.value() == 3  # no undo step, no edit through the view: the model said so

    document.undo_stack.push(SetTrainingConfig(document, setup.config.copy(epochs=9), "Set epochs"))
    assert setup.fit.epochs.value() == 9
    document.undo_stack.undo()
    assert setup.fit.epochs.value() == 3
    document.undo_stack.redo()
    assert setup.fit.epochs.value() == 9


def test_one_edit_is_one_undo_step_and_one_model_change(window: MainWindow, tmp_path: Path) -> None:
    setup, document = window.training_config, window.document
    assert window.open_path(copy_example("digits_mlp", tmp_path))
    changes: list[Any] = []
    document.model.events.training_changed.connect(changes.append)
    setup.fit.epochs.setValue(7)
    setup.fit.epochs.setValue(8)  # typing folds into one step
    assert [change.epochs for change in changes] == [7, 8]
    assert document.undo_stack.count() == 1
    document.undo_stack.undo()
    assert changes[-1].epochs == 20 and setup.fit.epochs.value() == 20


def test_a_training_section_with_an_unknown_key_opens_shows_why_and_is_kept_until_edited(
    window: MainWindow, tmp_path: Path
) -> None:
    setup, document = window.training_config, window.document
    stored = {"epochs": 5, "epoch": 6}
    path = copy_example("digits_mlp", tmp_path, training=stored)
    assert window.open_path(path)
    unusable = "The stored config is unusable: training.epoch: unknown key"
    assert setup.config_problems.messages[0].startswith(unusable)
    assert setup.fit.epochs.value() == TrainingConfig.for_graph(document.graph).epochs  # the defaults show
    assert isinstance(document.model.training, UnreadableTraining)
    assert window.save()
    assert json.loads(path.read_text())["training"] == stored  # written back as it was

    setup.fit.epochs.setValue(4)  # the first edit replaces it
    assert document.model.training == TrainingConfig.for_graph(document.graph).copy(epochs=4)
    assert not any(message.startswith(unusable) for message in setup.config_problems.messages)
    document.undo_stack.undo()
    assert setup.config_problems.messages[0].startswith(unusable)
    assert window.save() and json.loads(path.read_text())["training"] == stored


# ------------------------------------------------------------ custom layers
def test_another_design_opened_names_only_its_own_custom_layers(window: MainWindow, tmp_path: Path) -> None:
    layers = tmp_path / "layers.py"
    shutil.copy(Path(__file__).resolve().parents[2] / "layers" / "activity_regularization.py", layers)
    window.custom_layers.confirm_trust = lambda files: True  # type: ignore[method-assign]
    assert window.open_path(copy_example("digits_mlp", tmp_path, custom_layers=["layers.py"]))
    assert window.document.model.custom_layers == (str(layers),)  # held absolute while open
    assert window.custom_layers.requested == [layers]

    assert window.open_path(copy_example("digits_cnn", tmp_path))

    assert window.document.model.custom_layers == ()
    assert window.custom_layers.requested == [] and window.custom_layers.paths() == []
    window.document.undo_stack.undo()  # nothing to undo: the load belonged to design 1
    assert window.custom_layers.paths() == []


def test_the_synthetic_task_is_set_from_the_model_not_read_back_from_the_classes_box(
    window: MainWindow, tmp_path: Path
) -> None:
    setup, document = window.training_config, window.document
    assert window.open_path(copy_example("two_in_two_out", tmp_path))
    page = setup.data.pages["synthetic"]
    page.classes.setValue(7)
    page.task.setCurrentIndex(page.task.findData("regression"))
    assert "classes" not in document.model.training_config().data and not page.classes.isEnabled()
    page.task.setCurrentIndex(page.task.findData("classification"))
    assert document.model.training_config().data["classes"] == 10 == page.classes.value()
    document.undo_stack.undo()
    document.undo_stack.undo()
    assert document.model.training_config().data["classes"] == 7 == page.classes.value()
