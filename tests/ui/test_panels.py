"""The dock panels: built from a Document, driven through their own widgets, checked on the model."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QModelIndex, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from designer.catalog.keras_layers import build_catalog
from designer.catalog.spec import Catalog
from designer.engine.results import NodeResult, TensorSpec
from designer.graph.model import Edge, ModelGraph, Node
from designer.graph.project import Project
from designer.graph.validation import Diagnostic
from designer.ui.commands import SetParams
from designer.ui.document import Document
from designer.ui.panels import (
    LAYER_MIME_TYPE,
    CodeView,
    DiagnosticsView,
    HistoryView,
    InspectorView,
    PaletteView,
    SummaryView,
)
from designer.ui.panels.palette import KEY_ROLE
from designer.ui.panels.param_editors import ChoiceEditor, IntEditor, TextEditor


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return build_catalog()


@pytest.fixture
def document(catalog: Catalog) -> Document:
    return Document(catalog)


def add(document: Document, type_key: str, name: str | None = None, **params: Any) -> str:
    """Add a node straight to the graph (not an undo step), with its catalog ports."""
    graph, spec = document.graph, document.catalog[type_key]
    node_name = name or graph.unique_name(type_key)
    node = Node(graph.new_id(), type_key, node_name, {**spec.initial_params(), **params}, ports=spec.ports)
    return graph.add_node(node).id


def chain(document: Document, *node_ids: str) -> None:
    for source, target in itertools.pairwise(node_ids):
        document.graph.connect(Edge(source, 0, target, 0))


def dense_model(document: Document) -> tuple[str, str]:
    """input (8,) -> dense (32 units), marked as the output."""
    input_id = add(document, "Input", "features", shape=[8])
    dense_id = add(document, "Dense", "dense", units=32)
    chain(document, input_id, dense_id)
    document.graph.mark_output(dense_id)
    return input_id, dense_id


def settle() -> None:
    """Run what earlier tests left pending (deferred deletes, events), so timings measure one thing."""
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QCoreApplication.processEvents()


def shown(qtbot: QtBot, widget: QWidget) -> QWidget:
    qtbot.addWidget(widget)
    widget.resize(600, 500)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


# ---------------------------------------------------------------------- palette
def test_palette_filter_finds_conv2d_and_opens_its_category(qtbot: QtBot, document: Document) -> None:
    palette = PaletteView(document)
    qtbot.addWidget(palette)
    qtbot.keyClicks(palette.search, "conv2")
    keys = palette.visible_keys()
    assert "Conv2D" in keys
    assert "Dense" not in keys
    assert all("conv2" in f"{k} {document.catalog[k].summary}".lower() for k in keys)
    category = palette.index_of("Conv2D").parent()
    assert palette.tree.isExpanded(category)


def test_palette_filter_matches_the_summary_too(qtbot: QtBot, document: Document) -> None:
    palette = PaletteView(document)
    qtbot.addWidget(palette)
    palette.search.setText("DENSELY-CONNECTED")
    assert "Dense" in palette.visible_keys()
    palette.search.clear()
    assert len(palette.visible_keys()) == len(document.catalog)


def test_palette_double_click_asks_to_add_the_layer(qtbot: QtBot, document: Document) -> None:
    palette = shown(qtbot, PaletteView(document))
    qtbot.keyClicks(palette.search, "Dense")
    index = palette.index_of("Dense")
    position = palette.tree.visualRect(index).center()
    with qtbot.waitSignal(palette.add_requested) as signal:
        qtbot.mouseClick(palette.tree.viewport(), Qt.MouseButton.LeftButton, pos=position)
        qtbot.mouseDClick(palette.tree.viewport(), Qt.MouseButton.LeftButton, pos=position)
    assert signal.args == ["Dense"]


def test_palette_enter_in_the_search_adds_the_first_match(qtbot: QtBot, document: Document) -> None:
    palette = PaletteView(document)
    qtbot.addWidget(palette)
    qtbot.keyClicks(palette.search, "conv2dtr")
    with qtbot.waitSignal(palette.add_requested) as signal:
        qtbot.keyClick(palette.search, Qt.Key.Key_Return)
    assert signal.args == ["Conv2DTranspose"]


def test_palette_drags_the_layer_key(qtbot: QtBot, document: Document) -> None:
    palette = PaletteView(document)
    qtbot.addWidget(palette)
    palette.search.setText("conv2d")
    index = palette.index_of("Conv2D")
    model = palette.tree.model()
    assert LAYER_MIME_TYPE in model.mimeTypes()
    assert model.flags(index) & Qt.ItemFlag.ItemIsDragEnabled
    assert not model.flags(index.parent()) & Qt.ItemFlag.ItemIsDragEnabled
    data = model.mimeData([index])
    assert bytes(data.data(LAYER_MIME_TYPE)).decode() == "Conv2D"


def test_palette_tooltips_come_from_the_docstring(qtbot: QtBot, document: Document) -> None:
    palette = PaletteView(document)
    qtbot.addWidget(palette)
    tooltip = palette.index_of("Dense").data(Qt.ItemDataRole.ToolTipRole)
    assert document.catalog["Dense"].summary.rstrip(".") in tooltip


def test_palette_rebuilds_on_catalog_changed(qtbot: QtBot, document: Document, catalog: Catalog) -> None:
    palette = PaletteView(document)
    qtbot.addWidget(palette)
    document.set_catalog(Catalog([catalog["Dense"]]))
    assert sorted(palette.visible_keys()) == ["Dense", "Input"]


def test_palette_builds_fast(qtbot: QtBot, document: Document) -> None:
    assert len(document.catalog) > 100
    settle()
    start = time.perf_counter()
    palette = PaletteView(document)
    elapsed = time.perf_counter() - start
    qtbot.addWidget(palette)
    assert elapsed < 0.2, f"the palette took {elapsed * 1000:.0f} ms to build"


# -------------------------------------------------------------------- inspector
def inspector_on(qtbot: QtBot, document: Document, node_id: str) -> InspectorView:
    inspector = InspectorView(document)
    qtbot.addWidget(inspector)
    document.set_selection([node_id])
    return inspector


def test_inspector_shows_a_units_spin_box_for_dense(qtbot: QtBot, document: Document) -> None:
    _, dense_id = dense_model(document)
    inspector = inspector_on(qtbot, document, dense_id)
    editor = inspector.editor("units")
    assert isinstance(editor, IntEditor)
    assert editor.spin_box.value() == 32
    assert "dimensionality" in editor.toolTip()
    assert inspector.form is not None and inspector.form.name_section.line_edit.text() == "dense"


def test_the_inspector_edits_every_parameter_of_every_layer(qtbot: QtBot, document: Document) -> None:
    inspector = InspectorView(document)
    qtbot.addWidget(inspector)
    for key, spec in document.catalog.items():
        document.set_selection([add(document, key)])
        assert inspector.form is not None, key
        assert list(inspector.form.params_section.rows) == [p.name for p in spec.params], key
        assert all(row.editor.is_valid() for row in inspector.form.params_section.rows.values()), key


def test_inspector_follows_the_selection(qtbot: QtBot, document: Document) -> None:
    input_id, dense_id = dense_model(document)
    inspector = inspector_on(qtbot, document, dense_id)
    document.set_selection([input_id, dense_id])
    assert inspector.node_id is None and inspector.editor("units") is None
    document.set_selection([input_id])
    assert isinstance(inspector.editor("shape"), TextEditor)


def test_typing_a_value_is_one_undo_step(qtbot: QtBot, document: Document) -> None:
    _, dense_id = dense_model(document)
    inspector = inspector_on(qtbot, document, dense_id)
    spin_box = inspector.editor("units").spin_box  # type: ignore[union-attr]
    edits: list[tuple[str, dict[str, Any]]] = []
    document.graph.events.params_changed.connect(lambda node_id, _old, new: edits.append((node_id, new)))
    spin_box.selectAll()
    qtbot.keyClicks(spin_box, "640")
    stack = document.undo_stack
    assert stack.count() == 1 and isinstance(stack.command(0), SetParams)
    assert document.graph.node(dense_id).params["units"] == 640
    assert edits[-1] == (dense_id, {"units": 640}) and len(edits) == 3  # one per keystroke
    stack.undo()
    assert document.graph.node(dense_id).params["units"] == 32
    assert spin_box.value() == 32  # model -> widget
    stack.redo()
    assert spin_box.value() == 640


def test_another_field_starts_another_undo_step(qtbot: QtBot, document: Document) -> None:
    _, dense_id = dense_model(document)
    inspector = inspector_on(qtbot, document, dense_id)
    spin_box = inspector.editor("units").spin_box  # type: ignore[union-attr]
    spin_box.selectAll()
    qtbot.keyClicks(spin_box, "16")
    inspector.editor("use_bias").check_box.click()  # type: ignore[union-attr]
    spin_box.selectAll()
    qtbot.keyClicks(spin_box, "24")
    assert document.undo_stack.count() == 3
    assert document.graph.node(dense_id).params == {"units": 24, "use_bias": False}


def test_typing_back_to_the_old_value_leaves_no_step(qtbot: QtBot, document: Document) -> None:
    _, dense_id = dense_model(document)
    inspector = inspector_on(qtbot, document, dense_id)
    spin_box = inspector.editor("units").spin_box  # type: ignore[union-attr]
    spin_box.selectAll()
    qtbot.keyClicks(spin_box, "3")
    qtbot.keyClick(spin_box, Qt.Key.Key_Backspace)
    qtbot.keyClicks(spin_box, "32")
    assert document.graph.node(dense_id).params["units"] == 32
    assert document.undo_stack.count() == 0


def test_an_invalid_tuple_is_rejected_and_pushes_nothing(qtbot: QtBot, document: Document) -> None:
    conv_id = add(document, "Conv2D", "conv")
    inspector = inspector_on(qtbot, document, conv_id)
    editor = inspector.editor("kernel_size")
    assert isinstance(editor, TextEditor)
    editor.line_edit.clear()
    qtbot.keyClicks(editor.line_edit, "(3, 3, 3)")
    assert "Expected 2 integers" in inspector.error_text("kernel_size")
    assert inspector.form is not None and inspector.form.params_section.rows["kernel_size"].label.isVisibleTo(
        inspector
    )
    assert document.undo_stack.count() == 0
    assert document.graph.node(conv_id).params["kernel_size"] == 3
    editor.line_edit.clear()
    qtbot.keyClicks(editor.line_edit, "(5, 1)")
    assert inspector.error_text("kernel_size") == ""
    assert document.graph.node(conv_id).params["kernel_size"] == [5, 1]
    assert document.undo_stack.count() == 1


def test_an_input_shape_is_edited_as_text(qtbot: QtBot, document: Document) -> None:
    input_id, _ = dense_model(document)
    inspector = inspector_on(qtbot, document, input_id)
    editor = inspector.editor("shape")
    assert isinstance(editor, TextEditor) and editor.line_edit.text() == "8"
    editor.line_edit.clear()
    qtbot.keyClicks(editor.line_edit, "(None, 8)")
    assert document.graph.node(input_id).params["shape"] == [None, 8]
    assert isinstance(inspector.editor("dtype"), ChoiceEditor)


def test_renaming_to_a_taken_name_is_rejected_with_the_graph_message(
    qtbot: QtBot, document: Document
) -> None:
    _, dense_id = dense_model(document)
    inspector = inspector_on(qtbot, document, dense_id)
    section = inspector.form.name_section  # type: ignore[union-attr]
    section.line_edit.clear()
    qtbot.keyClicks(section.line_edit, "features")
    qtbot.keyClick(section.line_edit, Qt.Key.Key_Return)
    assert section.error.text() == "The name 'features' is already used by another node."
    assert document.undo_stack.count() == 0
    assert document.graph.node(dense_id).name == "dense"
    section.line_edit.clear()
    qtbot.keyClicks(section.line_edit, "hidden")
    qtbot.keyClick(section.line_edit, Qt.Key.Key_Return)
    assert section.error.text() == ""
    assert document.graph.node(dense_id).name == "hidden"
    document.undo_stack.undo()
    assert section.line_edit.text() == "dense"


def test_param_errors_of_the_results_show_the_layers_message(qtbot: QtBot, document: Document) -> None:
    _, dense_id = dense_model(document)
    inspector = inspector_on(qtbot, document, dense_id)
    message = "Received an invalid value for `units`, expected a positive integer. Received: units=0"
    errors = (("units", message), ("", "The layer as a whole is unhappy."))
    document.set_results({dense_id: NodeResult(param_errors=errors)}, [])  # as the analysis brings them
    assert inspector.error_text("units") == message
    section = inspector.form.params_section  # type: ignore[union-attr]
    assert section.rows["units"].label.text() == message
    assert section.general_error.text() == "The layer as a whole is unhappy."
    document.set_results({dense_id: NodeResult()}, [])
    assert inspector.error_text("units") == ""


def test_nullable_activation_can_be_set_and_cleared(qtbot: QtBot, document: Document) -> None:
    _, dense_id = dense_model(document)
    inspector = inspector_on(qtbot, document, dense_id)
    editor = inspector.editor("activation")
    assert isinstance(editor, ChoiceEditor) and editor.combo_box.currentText() == "None"
    combo = editor.combo_box
    combo.setCurrentIndex(combo.findText("relu"))
    combo.activated.emit(combo.currentIndex())
    assert document.graph.node(dense_id).params["activation"] == "relu"
    combo.lineEdit().clear()
    qtbot.keyClicks(combo.lineEdit(), "None")
    qtbot.keyClick(combo.lineEdit(), Qt.Key.Key_Return)
    assert document.graph.node(dense_id).params["activation"] is None
    assert document.undo_stack.count() == 2
    document.undo_stack.undo()
    assert combo.currentText() == "relu"


def test_a_nullable_int_has_a_none_check_box(qtbot: QtBot, document: Document) -> None:
    _, dense_id = dense_model(document)
    inspector = inspector_on(qtbot, document, dense_id)
    editor = inspector.editor("lora_rank")
    assert isinstance(editor, IntEditor) and editor.none_box is not None
    assert editor.none_box.isChecked() and not editor.spin_box.isEnabled()
    editor.none_box.click()
    assert document.graph.node(dense_id).params["lora_rank"] == 0
    editor.none_box.click()
    assert document.graph.node(dense_id).params["lora_rank"] is None


def test_model_output_check_box_marks_the_node(qtbot: QtBot, document: Document) -> None:
    _, dense_id = dense_model(document)
    inspector = inspector_on(qtbot, document, dense_id)
    outputs = inspector.form.output_section  # type: ignore[union-attr]
    assert outputs.check_boxes[0].isChecked()
    outputs.check_boxes[0].click()
    assert document.graph.outputs == ()
    outputs.check_boxes[0].click()
    assert [o.name for o in document.graph.outputs] == ["dense"]
    outputs.name_edits[0].clear()
    qtbot.keyClicks(outputs.name_edits[0], "class")
    qtbot.keyClick(outputs.name_edits[0], Qt.Key.Key_Return)
    assert "not a valid output name" in outputs.errors[0].text()
    assert [o.name for o in document.graph.outputs] == ["dense"]
    outputs.name_edits[0].clear()
    qtbot.keyClicks(outputs.name_edits[0], "scores")
    qtbot.keyClick(outputs.name_edits[0], Qt.Key.Key_Return)
    assert [o.name for o in document.graph.outputs] == ["scores"]


def test_a_shared_node_is_read_only(qtbot: QtBot, document: Document) -> None:
    _, dense_id = dense_model(document)
    sharer_id = add(document, "Dense", "again")
    document.graph.set_shares(sharer_id, dense_id)
    inspector = inspector_on(qtbot, document, sharer_id)
    form = inspector.form
    assert form is not None
    assert form.name_section.shares.text() == "Shares the layer of dense: edit it there."
    assert not form.params_section.isEnabled()
    assert inspector.editor("units").spin_box.value() == 32  # type: ignore[union-attr]
    document.graph.set_params(dense_id, {"units": 5})
    assert inspector.editor("units").spin_box.value() == 5  # type: ignore[union-attr]


def test_inspector_shows_shapes_counts_and_diagnostics(qtbot: QtBot, document: Document) -> None:
    input_id, dense_id = dense_model(document)
    inspector = inspector_on(qtbot, document, dense_id)
    warning = Diagnostic("warning", "Dense has many units.", "Use fewer units.", node=dense_id, code="big")
    results = {
        input_id: NodeResult(outputs=(TensorSpec((None, 8), "float32"),)),
        dense_id: NodeResult(outputs=(TensorSpec((None, 32), "float32"),), trainable=288),
    }
    document.set_results(results, [warning])
    section = inspector.form.result_section  # type: ignore[union-attr]
    assert section.shapes.text() == "(None, 32) float32"
    assert section.counts.text().startswith("288 (288 trainable, 0 non-trainable)")
    assert "Dense has many units." in section.diagnostics.text()
    assert "Use fewer units." in section.diagnostics.text()


def test_inspector_forgets_a_removed_node_and_a_replaced_graph(qtbot: QtBot, document: Document) -> None:
    input_id, dense_id = dense_model(document)
    inspector = inspector_on(qtbot, document, dense_id)
    document.graph.remove_node(dense_id)
    assert inspector.node_id is None
    document.set_selection([input_id])
    old_graph = document.graph
    document.replace(Project(ModelGraph()), None)
    assert inspector.node_id is None
    old_graph.set_params(input_id, {"shape": [3]})  # the old graph no longer reaches the view
    assert inspector.form is None


# ------------------------------------------------------------------ diagnostics
def test_clicking_a_diagnostic_asks_for_its_node(qtbot: QtBot, document: Document) -> None:
    _, dense_id = dense_model(document)
    view = shown(qtbot, DiagnosticsView(document))
    diagnostics = [
        Diagnostic("error", "The model has no Input node.", "Add one.", code="no-input"),
        Diagnostic("warning", "dense reaches no output.", "Connect it.", node=dense_id, code="dead-end"),
    ]
    document.set_results({}, diagnostics)
    model = view.table.model()
    assert model.rowCount() == 2
    assert model.index(1, 1).data() == "dense"
    assert "Connect it." in model.index(1, 2).data(Qt.ItemDataRole.ToolTipRole)
    assert view.counts.text() == "1 error, 1 warning"
    position = view.table.visualRect(model.index(1, 2)).center()
    with qtbot.waitSignal(view.node_activated) as signal:
        qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=position)
    assert signal.args == [dense_id]
    with qtbot.assertNotEmitted(view.node_activated):
        view.activate_row(0)  # model-wide: no node to go to


def test_diagnostics_follow_renames(qtbot: QtBot, document: Document) -> None:
    _, dense_id = dense_model(document)
    view = DiagnosticsView(document)
    qtbot.addWidget(view)
    document.set_results({}, [Diagnostic("error", "Bad.", "Fix.", node=dense_id)])
    document.graph.rename(dense_id, "hidden")
    assert view.table.model().index(0, 1).data() == "hidden"


def test_a_thousand_diagnostics_update_quickly(qtbot: QtBot, document: Document) -> None:
    view = shown(qtbot, DiagnosticsView(document))
    diagnostics = [Diagnostic("error", f"Problem {i}.", "Fix it.", node=f"n{i}") for i in range(1000)]
    settle()
    start = time.perf_counter()
    document.set_results({}, diagnostics)
    QCoreApplication.processEvents()
    elapsed = time.perf_counter() - start
    assert view.table.model().rowCount() == 1000
    assert elapsed < 0.5, f"{elapsed * 1000:.0f} ms"


# ---------------------------------------------------------------------- summary
def test_summary_shows_rows_and_totals(qtbot: QtBot, document: Document) -> None:
    input_id, dense_id = dense_model(document)
    view = SummaryView(document)
    qtbot.addWidget(view)
    results = {
        input_id: NodeResult(outputs=(TensorSpec((None, 8), "float32"),)),
        dense_id: NodeResult(outputs=(TensorSpec((None, 32), "float32"),), trainable=288, non_trainable=10),
    }
    document.set_results(results, [])
    model = view.table.model()
    rows = [[model.index(r, c).data() for c in range(4)] for r in range(model.rowCount())]
    assert rows == [
        ["features (Input)", "(None, 8)", "0", "-"],
        ["dense (Dense)", "(None, 32)", "298", "features"],
    ]
    assert view.totals_label.text().splitlines() == [
        "Total params: 298 (1.16 KB)",
        "Trainable params: 288 (1.12 KB)",
        "Non-trainable params: 10 (40.00 B)",
    ]


def test_summary_follows_graph_changes(qtbot: QtBot, document: Document) -> None:
    _, dense_id = dense_model(document)
    view = SummaryView(document)
    qtbot.addWidget(view)
    document.graph.rename(dense_id, "hidden")
    qtbot.waitUntil(lambda: view.table.model().index(1, 0).data() == "hidden (Dense)")
    document.replace(Project(ModelGraph()), None)
    assert view.table.model().rowCount() == 0
    add(document, "Input", "pixels", shape=[4])  # the new graph's signals reach the view
    qtbot.waitUntil(lambda: view.table.model().rowCount() == 1)


def test_a_thousand_node_summary_updates_quickly(qtbot: QtBot, document: Document) -> None:
    node_ids = [add(document, "Input", "inputs", shape=[8])]
    node_ids += [add(document, "Dense", f"dense_{i}", units=8) for i in range(999)]
    chain(document, *node_ids)
    results = {n: NodeResult(outputs=(TensorSpec((None, 8), "float32"),), trainable=72) for n in node_ids}
    view = shown(qtbot, SummaryView(document))
    settle()
    start = time.perf_counter()
    document.set_results(results, [])
    QCoreApplication.processEvents()
    elapsed = time.perf_counter() - start
    assert view.table.model().rowCount() == 1000
    assert view.totals.total == 72 * 1000
    assert elapsed < 0.5, f"{elapsed * 1000:.0f} ms"


# -------------------------------------------------------------------- code view
def code_view_on(qtbot: QtBot, document: Document) -> CodeView:
    view = CodeView(document)
    qtbot.addWidget(view)
    qtbot.waitUntil(lambda: view.text() != "", timeout=20_000)
    return view


def test_code_view_shows_functional_code(qtbot: QtBot, document: Document) -> None:
    dense_model(document)
    view = code_view_on(qtbot, document)
    assert "layers.Dense(" in view.text()
    assert view.editor.isReadOnly()


def test_code_view_regenerates_after_an_edit(qtbot: QtBot, document: Document) -> None:
    _, dense_id = dense_model(document)
    view = code_view_on(qtbot, document)
    with qtbot.waitSignal(view.code_changed, timeout=20_000):
        document.graph.set_params(dense_id, {"units": 77})
    assert "77" in view.text()


def test_switching_the_style_changes_the_code(qtbot: QtBot, document: Document) -> None:
    dense_model(document)
    view = code_view_on(qtbot, document)
    functional = view.text()
    with qtbot.waitSignal(view.code_changed, timeout=20_000):
        view.style_button("subclassed").click()
    assert view.code_style == "subclassed"
    assert view.text() != functional and "class " in view.text()
    assert view.style_button("sequential").isEnabled()
    with qtbot.waitSignal(view.code_changed, timeout=20_000):
        view.style_button("sequential").click()
    assert "keras.Sequential" in view.text()


def test_sequential_is_disabled_for_two_inputs(qtbot: QtBot, document: Document) -> None:
    first = add(document, "Input", "left", shape=[4])
    second = add(document, "Input", "right", shape=[4])
    merge = add(document, "Concatenate", "joined")
    document.graph.connect(Edge(first, 0, merge, 0))
    document.graph.connect(Edge(second, 0, merge, 1))
    document.graph.mark_output(merge)
    view = code_view_on(qtbot, document)
    assert not view.style_button("sequential").isEnabled()
    assert "layers.Concatenate" in view.text()


def test_an_empty_design_gets_an_invitation_not_an_error(qtbot: QtBot, document: Document) -> None:
    view = code_view_on(qtbot, document)
    assert view.text() == "# Drag layers onto the canvas: the model's code appears here as you draw.\n"


def test_code_view_explains_when_there_is_no_code(qtbot: QtBot, document: Document) -> None:
    add(document, "Dense", units=4)
    document.set_results({}, [Diagnostic("error", "The model has no Input node.", "Add one.")])
    view = code_view_on(qtbot, document)
    assert view.text().startswith("# The code cannot be generated yet.")
    assert "#   - The model has no Input node." in view.text()


def test_export_writes_the_code_shown_and_is_refused_while_the_design_has_errors(
    qtbot: QtBot, document: Document, tmp_path: Path
) -> None:
    dense_model(document)
    view = code_view_on(qtbot, document)
    with qtbot.waitSignal(view.exported, timeout=30_000) as written:
        assert view.start_export(tmp_path / "model.py")
    text = Path(written.args[0]).read_text(encoding="utf-8")
    assert "layers.Dense(" in text and text == view.text()
    document.set_results({}, [Diagnostic("error", "Broken.", "Fix it.")])
    with qtbot.waitSignal(view.export_failed, timeout=1_000) as refused:
        assert not view.start_export(tmp_path / "refused.py")
    assert "Broken." in refused.args[0]
    assert not (tmp_path / "refused.py").exists()


def test_copy_puts_the_code_on_the_clipboard(qtbot: QtBot, document: Document) -> None:
    dense_model(document)
    view = code_view_on(qtbot, document)
    view.copy_button.click()
    assert QGuiApplication.clipboard().text() == view.text()


# ---------------------------------------------------------------------- history
def test_history_lists_the_undo_stack(qtbot: QtBot, document: Document) -> None:
    _, dense_id = dense_model(document)
    view = HistoryView(document)
    qtbot.addWidget(view)
    document.undo_stack.push(SetParams(document.graph, dense_id, {"units": 3}))
    assert view.stack() is document.undo_stack
    assert view.model().rowCount(QModelIndex()) == 2  # the empty state and the edit
    view.setCurrentIndex(view.model().index(0, 0))
    assert document.graph.node(dense_id).params["units"] == 32


def test_palette_keys_carry_the_key_role(qtbot: QtBot, document: Document) -> None:
    palette = PaletteView(document)
    qtbot.addWidget(palette)
    assert palette.index_of("Dense").data(KEY_ROLE) == "Dense"


def test_code_hidden_behind_another_tab_is_generated_when_shown(qtbot: QtBot, document: Document) -> None:
    """Generating and highlighting a thousand lines after every edit costs the event loop tens of
    milliseconds: while the Code tab is behind another, it waits until it is shown."""
    from PySide6.QtWidgets import QLabel, QTabWidget

    tabs = QTabWidget()
    qtbot.addWidget(tabs)
    tabs.addTab(QLabel("problems"), "Problems")
    view = CodeView(document)
    tabs.addTab(view, "Code")
    tabs.show()
    qtbot.waitExposed(tabs)
    generations = view._generation
    dense_model(document)
    qtbot.wait(3 * 300)  # past the debounce
    assert view._generation == generations and view.shown_refresh.owed
    tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: "layers.Dense(" in view.text(), timeout=20_000)
