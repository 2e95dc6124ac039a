"""The Weights and Activations panels: every view drawn from real arrays, hover read-outs, colour
levels, PNG export, the client's request handling, health pills and exports in the window.

Most tests draw replies shaped as designer.engine.inspect_ops writes them, made here from numpy
arrays saved in tmp_path; `RecordingEngine` stands in for the EngineClient's transport (it
records the requests a test then answers). The last ones run the real engine process and a real
training worker: a BatchNormalization node's variables, a conv kernel's filters, a digits
sample's activations, a run's epochs, gradient norms, health flags and an export.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot
from test_canvas import small_catalog
from test_canvas_engine import Engine, start_engine
from test_main_window import FakeClient, make_window

from designer.app import stop_engine
from designer.graph import project
from designer.graph.model import ModelGraph
from designer.ui.document import Document
from designer.ui.engine_client import EngineSync
from designer.ui.main_window import MainWindow
from designer.ui.panels.activations import TABS as ACTIVATION_TABS
from designer.ui.panels.activations import ActivationsView, ThumbnailItem
from designer.ui.panels.inspection_client import INITIAL, InspectionClient, Source, format_number
from designer.ui.panels.inspection_plots import ImagePlot, PlotCard, cell_at, symmetric_levels, with_gaps
from designer.ui.panels.training_config import SetTrainingConfig, current_config
from designer.ui.panels.weights import SELECT_A_NODE, WeightsView
from designer.ui.panels.weights import TABS as WEIGHT_TABS

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "resources" / "examples" / "digits_cnn.json"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MOUSE_INTERVAL_MS = 50
CONV, DENSE, IMAGE = "n2", "n6", "n1"  # conv_1, digit and image in digits_cnn


# ------------------------------------------------------------------ the engine's transport
class RecordingEngine(FakeClient):
    """The EngineClient's generic request API: records requests; the test answers them."""

    answered = Signal(int, str, object)
    started = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[tuple[int, str, dict[str, Any]]] = []

    def request(self, op: str, fields: dict[str, Any] | None = None, timeout_s: float | None = None) -> int:
        self.requests.append((len(self.requests) + 1, op, dict(fields or {})))
        return len(self.requests)

    def last(self, op: str) -> tuple[int, dict[str, Any]]:
        request_id, _, fields = next(r for r in reversed(self.requests) if r[1] == op)
        return request_id, fields

    def of(self, op: str) -> list[dict[str, Any]]:
        return [fields for _, name, fields in self.requests if name == op]

    def answer(self, op: str, reply: dict[str, Any]) -> None:
        """Answer the newest request of `op`."""
        request_id, _ = self.last(op)
        self.answered.emit(request_id, op, reply)


# ------------------------------------------------------------------ replies from numpy arrays
def save(folder: Path, name: str, array: np.ndarray) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.npy"
    np.save(path, np.asarray(array, dtype=np.float32))
    return str(path)


def statistics(array: np.ndarray) -> dict[str, Any]:
    finite = array[np.isfinite(array)].astype(np.float64)
    number = (lambda v: float(v)) if finite.size else (lambda v: "nan")
    return {
        "mean": number(finite.mean() if finite.size else 0),
        "std": number(finite.std() if finite.size else 0),
        "min": number(finite.min() if finite.size else 0),
        "max": number(finite.max() if finite.size else 0),
        "norm": number(np.linalg.norm(finite)),
        "sparsity": float(np.mean(finite == 0)) if finite.size else "nan",
        "near_zero": float(np.mean(np.abs(finite) < 1e-6)) if finite.size else "nan",
        "count": int(array.size),
        "nan_count": int(np.isnan(array).sum()),
        "inf_count": int(np.isinf(array).sum()),
    }


def filter_grid(kernel: np.ndarray, channel: int | None = None) -> np.ndarray:
    """Each filter of (kh, kw, in, out), for one input or averaged, scaled to [0, 1], tiled."""
    cells = np.moveaxis(kernel[:, :, channel, :] if channel is not None else kernel.mean(axis=2), -1, 0)
    low = cells.min(axis=(1, 2), keepdims=True)
    span = cells.max(axis=(1, 2), keepdims=True) - low
    return tiled((cells - low) / np.where(span > 0, span, 1))


def tiled(cells: np.ndarray) -> np.ndarray:
    """Cells (n, h, w) in rows of ceil(sqrt(n)), 1 pixel of 0 apart, as the engine tiles them."""
    count, height, width = cells.shape
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    grid = np.zeros((rows * (height + 1) - 1, columns * (width + 1) - 1))
    for index, cell in enumerate(cells):
        top, left = (index // columns) * (height + 1), (index % columns) * (width + 1)
        grid[top : top + height, left : left + width] = cell
    return grid


def assert_grid(drawn: np.ndarray, grid: np.ndarray, cell: int = 3) -> None:
    """A grid of 16 square cells as drawn: its cells as they are, the gaps between them blank."""
    gaps = np.zeros(grid.shape, dtype=bool)
    gaps[cell :: cell + 1, :] = gaps[:, cell :: cell + 1] = True
    assert np.isnan(drawn[gaps]).all() and np.allclose(drawn[~gaps], grid[~gaps])


def variable(
    folder: Path, layer: str, name: str, array: np.ndarray, trainable: bool = True
) -> dict[str, Any]:
    """One entry of inspect_weights' `variables`, its views written as the engine writes them."""
    stem = f"{layer}.{name}"
    counts, edges = np.histogram(array[np.isfinite(array)], bins=30)
    entry: dict[str, Any] = {
        "path": f"{layer}/{name}",
        "name": name,
        "shape": list(array.shape),
        "dtype": "float32",
        "trainable": trainable,
        "count": int(array.size),
        "stats": statistics(array),
        "histogram": {"counts": counts.tolist(), "edges": edges.tolist()},
        "array": save(folder, stem, array),
        "heatmap": None,
        "filters": None,
        "bars": None,
    }
    if array.ndim >= 2:
        index = [0] * (array.ndim - 2)
        matrix = array[tuple(index)]
        entry["heatmap"] = heatmap_entry(folder, stem, matrix, index)
    if array.ndim == 4:
        entry["filters"] = filters_entry(folder, stem, array, None)
    if array.ndim == 1:
        entry["bars"] = {"file": save(folder, f"{stem}.bars", array), "step": 1}
    return entry


def heatmap_entry(folder: Path, stem: str, matrix: np.ndarray, index: list[int]) -> dict[str, Any]:
    name = ".".join([stem, "heatmap", *map(str, index)])
    return {
        "file": save(folder, name, matrix),
        "rows": matrix.shape[0],
        "cols": matrix.shape[1],
        "row_step": 1,
        "col_step": 1,
        "index": index,
    }


def filters_entry(folder: Path, stem: str, kernel: np.ndarray, channel: int | None) -> dict[str, Any]:
    mode = "channel" if channel is not None else "mean"
    return {
        "file": save(
            folder,
            f"{stem}.filters.{mode}{channel if channel is not None else ''}",
            filter_grid(kernel, channel),
        ),
        "count": kernel.shape[-1],
        "cell": list(kernel.shape[:2]),
        "mode": mode,
        "channel": channel,
    }


def weights_reply(
    folder: Path, node: str, layer: str, kind: str, variables: list[dict[str, Any]]
) -> dict[str, Any]:
    trainable = sum(v["count"] for v in variables if v["trainable"])
    frozen = sum(v["count"] for v in variables if not v["trainable"])
    return {
        "node": node,
        "layer": layer,
        "class": kind,
        "source": "initial",
        "variables": variables,
        "totals": {"trainable": trainable, "non_trainable": frozen},
    }


def generator() -> np.random.Generator:
    return np.random.default_rng(7)


def conv_reply(folder: Path) -> tuple[dict[str, Any], np.ndarray]:
    kernel = generator().normal(0, 0.2, (3, 3, 4, 16)).astype(np.float32)
    bias = np.linspace(-0.1, 0.2, 16, dtype=np.float32)
    variables = [variable(folder, "conv_1", "kernel", kernel), variable(folder, "conv_1", "bias", bias)]
    return weights_reply(folder, CONV, "conv_1", "Conv2D", variables), kernel


def dense_reply(folder: Path, kernel: np.ndarray) -> dict[str, Any]:
    bias = np.zeros(kernel.shape[1], dtype=np.float32)
    variables = [variable(folder, "digit", "kernel", kernel), variable(folder, "digit", "bias", bias)]
    return weights_reply(folder, DENSE, "digit", "Dense", variables)


def run_reply(folder: Path, kernel_path: str) -> dict[str, Any]:
    """inspect_run: three epochs of histograms and the worker's records of three layers."""
    counts = np.stack(
        [np.histogram(generator().normal(0, s, 500), bins=30, range=(-1, 1))[0] for s in (0.1, 0.2, 0.3)]
    )
    return {
        "epochs": [1, 2, 3],
        "variables": {
            kernel_path: {"edges": np.linspace(-1, 1, 31).tolist(), "counts": save(folder, "epochs", counts)}
        },
        "gradient_norms": {"conv_1": [0.5, 0.3, 0.2], "conv_2": [0.9, 0.0, None], "digit": [1.5, 1.1, 0.8]},
        "dead_relu": {"conv_1": [0.1, 0.2, 0.25], "conv_2": [0.0, 0.05, 0.1]},
        "layer_nodes": {"image": IMAGE, "conv_1": CONV, "conv_2": "n4", "digit": DENSE},
    }


def activations_reply(folder: Path) -> dict[str, Any]:
    """inspect_activations for an 8x8 sample: the image, conv_1's maps, the softmax vector."""
    sample = generator().uniform(0, 16, (8, 8, 1))
    maps = tiled(generator().uniform(0, 1, (16, 8, 8)))  # conv_1's 16 maps of 8x8, 4 a row
    probabilities = np.array([0.01, 0.02, 0.6, 0.05, 0.02, 0.1, 0.05, 0.05, 0.05, 0.05])
    layer = lambda name, kind, shape, image, dead=None: {  # noqa: E731 - a table of four rows
        "shape": shape,
        "kind": kind,
        "file": save(folder, f"activation.{name}", image),
        "thumbnail": save(
            folder, f"activation.{name}.thumbnail", image if image.ndim == 1 else image[::2, ::2]
        ),
        "stats": statistics(np.asarray(image)),
        "dead_fraction": dead,
    }
    return {
        "sample": {
            "index": 3,
            "shape": [8, 8, 1],
            "file": save(folder, "sample", sample),
            "label": "3",
            "inputs": {},
        },
        "layers": {
            IMAGE: layer("image", "maps", [8, 8, 1], sample[..., 0]),
            CONV: layer("conv_1", "maps", [8, 8, 16], maps, dead=0.375),
            "n5": layer("pool_2", "vector", [32], generator().uniform(0, 2, 32)),
            DENSE: layer("digit", "vector", [10], probabilities),
        },
    }


# ------------------------------------------------------------------ fixtures
@pytest.fixture
def document() -> Document:
    document = Document(small_catalog())
    document.replace(project.load(EXAMPLE, document.catalog.ports_of), None)
    return document


@pytest.fixture
def engine() -> RecordingEngine:
    return RecordingEngine()


@pytest.fixture
def client(document: Document, engine: RecordingEngine) -> InspectionClient:
    client = InspectionClient(document, engine, selection_delay_ms=10)
    yield client
    client.close()


@pytest.fixture
def weights(qtbot: QtBot, client: InspectionClient) -> WeightsView:
    view = WeightsView(client)
    qtbot.addWidget(view)
    view.resize(1200, 520)
    view.show()
    qtbot.waitExposed(view)
    return view


@pytest.fixture
def activations(qtbot: QtBot, client: InspectionClient) -> ActivationsView:
    view = ActivationsView(client)
    qtbot.addWidget(view)
    view.resize(1000, 520)
    view.show()
    qtbot.waitExposed(view)
    return view


def select(qtbot: QtBot, client: InspectionClient, node: str | None) -> None:
    client.document.set_selection([node] if node else [])
    qtbot.waitUntil(lambda: client.node == node, timeout=2000)


def hover(qtbot: QtBot, plot: ImagePlot, row: int, column: int) -> str:
    """Move the mouse over a pixel of an image plot; the read-out it shows."""
    qtbot.wait(MOUSE_INTERVAL_MS)  # pyqtgraph drops mouse moves that come faster
    point = plot.mapFromScene(plot.scene_position(row, column))
    qtbot.mouseMove(plot.viewport(), point)
    qtbot.waitUntil(lambda: plot.readout.text != "", timeout=2000)
    return plot.readout.text


def drawn_image(plot: ImagePlot) -> np.ndarray:
    return np.asarray(plot.image_item.image)


# ------------------------------------------------------------------ every view
def test_every_tab_of_both_panels_shows_a_plot(
    qtbot: QtBot, tmp_path: Path, weights: WeightsView, activations: ActivationsView, engine: RecordingEngine
) -> None:
    """The pytest-qt walk through every view of both panels, drawn from real arrays."""
    reply, kernel = conv_reply(tmp_path)
    weights.client.set_source(
        Source(tmp_path / "run_0001", tmp_path / "epoch_003.weights.h5", None, "latest")
    )
    select(qtbot, weights.client, CONV)
    engine.answer("inspect_weights", reply)
    assert weights.table.rowCount() == 2
    seen: dict[str, bool] = {}
    for row in range(weights.table.rowCount()):  # the kernel first: heatmap, filters; then the bias: bars
        weights.table.selectRow(row)
        for index, name in enumerate(WEIGHT_TABS):
            weights.tabs.setCurrentIndex(index)
            if name in ("Over epochs", "Gradient norms") and weights.run_reply is None:
                assert engine.of("inspect_run")[-1]["node"] == CONV
                engine.answer("inspect_run", run_reply(tmp_path, reply["variables"][0]["path"]))
            card = weights.cards[name]
            seen[name] = seen.get(name, False) or card.showing_plot
            assert not card.grab().isNull()
    assert seen == dict.fromkeys(WEIGHT_TABS, True)
    assert np.allclose(drawn_image(weights.heatmap), kernel[0, 0])
    engine.answer("inspect_activations", activations_reply(tmp_path))
    for node in (CONV, DENSE):
        select(qtbot, weights.client, node)
        for index in range(activations.tabs.count()):
            activations.tabs.setCurrentIndex(index)
            assert not activations.tabs.currentWidget().grab().isNull()
        assert activations.output_card.showing_plot and activations.sample_card.showing_plot
    assert activations.layer_list.count() == 4


def test_weights_table_lists_the_variables_with_their_statistics(
    qtbot: QtBot, tmp_path: Path, weights: WeightsView, engine: RecordingEngine
) -> None:
    gamma, beta = np.ones(8, np.float32), np.zeros(8, np.float32)
    mean, variance = np.full(8, 0.5, np.float32), np.array([1, 2, np.nan, 1, 1, np.inf, 1, 1], np.float32)
    variables = [
        variable(tmp_path, "bn", "gamma", gamma),
        variable(tmp_path, "bn", "beta", beta),
        variable(tmp_path, "bn", "moving_mean", mean, trainable=False),
        variable(tmp_path, "bn", "moving_variance", variance, trainable=False),
    ]
    select(qtbot, weights.client, CONV)
    engine.answer("inspect_weights", weights_reply(tmp_path, CONV, "bn", "BatchNormalization", variables))
    table = weights.table
    rows = [[table.item(r, c).text() for c in range(table.columnCount())] for r in range(table.rowCount())]
    assert [row[:5] for row in rows] == [
        ["gamma", "(8,)", "float32", "yes", "8"],
        ["beta", "(8,)", "float32", "yes", "8"],
        ["moving_mean", "(8,)", "float32", "no", "8"],
        ["moving_variance", "(8,)", "float32", "no", "8"],
    ]
    assert rows[0][5:11] == ["1", "0", "1", "1", format_number(math.sqrt(8)), "0.0%"]
    assert rows[1][10] == "100.0%" and rows[3][11] == "1 / 1"
    assert table.item(3, 0).foreground().color().name() == "#c62828"  # NaN or Inf: in red
    assert weights.totals.text() == (
        "4 variables · 2 trainable (gamma, beta; 16 params) · "
        "2 non-trainable (moving_mean, moving_variance; 16 params)"
    )
    assert weights.cards["Bars"].showing_plot and not weights.cards["Heatmap"].showing_plot


# ------------------------------------------------------------------ heatmap
def test_heatmap_hover_shows_the_index_and_the_value(
    qtbot: QtBot, tmp_path: Path, weights: WeightsView, engine: RecordingEngine
) -> None:
    kernel = np.arange(64 * 10, dtype=np.float32).reshape(64, 10) / 1000 - 0.2
    select(qtbot, weights.client, DENSE)
    engine.answer("inspect_weights", dense_reply(tmp_path, kernel))
    assert hover(qtbot, weights.heatmap, 12, 3) == f"kernel[12, 3] = {format_number(kernel[12, 3], 5)}"
    assert weights.heatmap.toolTip() == weights.heatmap.readout.text


def test_heatmap_levels_are_symmetric_around_zero(
    qtbot: QtBot, tmp_path: Path, weights: WeightsView, engine: RecordingEngine
) -> None:
    kernel = np.linspace(-0.2, 0.7, 640, dtype=np.float32).reshape(64, 10)
    select(qtbot, weights.client, DENSE)
    engine.answer("inspect_weights", dense_reply(tmp_path, kernel))
    low, high = weights.heatmap.levels
    assert high == pytest.approx(0.7) and low == pytest.approx(-0.7)
    assert weights.heatmap.colour_bar.levels() == pytest.approx((-0.7, 0.7))
    assert symmetric_levels(np.array([np.nan, -3.0, 1.0, np.inf])) == (-3.0, 3.0)
    assert symmetric_levels(np.zeros(4)) == (-1.0, 1.0)


def test_a_downsampled_heatmap_names_the_block_under_the_mouse(
    qtbot: QtBot, tmp_path: Path, weights: WeightsView, engine: RecordingEngine
) -> None:
    kernel = generator().normal(0, 1, (600, 10)).astype(np.float32)
    reply = dense_reply(tmp_path, kernel)
    shrunk = kernel.reshape(200, 3, 10).mean(axis=1)  # block means of 3 rows, as the engine sends them
    reply["variables"][0]["heatmap"].update(file=save(tmp_path, "shrunk", shrunk), row_step=3)
    select(qtbot, weights.client, DENSE)
    engine.answer("inspect_weights", reply)
    assert hover(qtbot, weights.heatmap, 4, 7) == f"kernel[12:15, 7] ≈ {format_number(shrunk[4, 7], 5)}"
    assert "block means of 3" in weights.cards["Heatmap"].title.text()


def test_the_slice_picker_asks_for_another_slice_of_a_conv_kernel(
    qtbot: QtBot, tmp_path: Path, weights: WeightsView, engine: RecordingEngine
) -> None:
    reply, kernel = conv_reply(tmp_path)
    select(qtbot, weights.client, CONV)
    engine.answer("inspect_weights", reply)
    assert [spin.maximum() for spin in weights.slice_picker.spins] == [2, 2]
    weights.slice_picker.spins[0].setValue(1)
    fields = engine.last("weight_slice")[1]
    assert fields["index"] == [1, 0] and fields["array"] == reply["variables"][0]["array"]
    stem = "conv_1.kernel"
    engine.answer(
        "weight_slice", {"heatmap": heatmap_entry(tmp_path, stem, kernel[1, 0], [1, 0]), "filters": None}
    )
    assert np.allclose(drawn_image(weights.heatmap), kernel[1, 0])
    assert "kernel[1, 0, :, :]" in weights.cards["Heatmap"].title.text()
    assert (
        hover(qtbot, weights.heatmap, 2, 5) == f"kernel[1, 0, 2, 5] = {format_number(kernel[1, 0, 2, 5], 5)}"
    )


def test_filters_show_one_input_channel_or_the_average(
    qtbot: QtBot, tmp_path: Path, weights: WeightsView, engine: RecordingEngine
) -> None:
    reply, kernel = conv_reply(tmp_path)
    select(qtbot, weights.client, CONV)
    engine.answer("inspect_weights", reply)
    combo = weights.channel_combo
    assert [combo.itemText(i) for i in range(combo.count())] == [
        "Average of the 4 inputs",
        *(f"Input channel {c}" for c in range(4)),
    ]
    assert_grid(drawn_image(weights.filters), filter_grid(kernel))
    combo.setCurrentIndex(3)
    combo.activated.emit(3)
    assert engine.last("weight_slice")[1]["channel"] == 2
    engine.answer(
        "weight_slice",
        {"heatmap": reply["variables"][0]["heatmap"], "filters": filters_entry(tmp_path, "k", kernel, 2)},
    )
    assert_grid(drawn_image(weights.filters), filter_grid(kernel, 2))
    assert combo.currentIndex() == 3 and "input channel 2" in weights.cards["Filters"].title.text()
    weights.tabs.setCurrentIndex(WEIGHT_TABS.index("Filters"))
    assert hover(qtbot, weights.filters, 5, 1) == "filter 4 · (1, 1) · input channel 2"  # 4 a row, 3x3 cells


def test_grid_gaps_and_unused_cells_show_blank() -> None:
    grid = np.arange(8 * 8, dtype=float).reshape(8, 8)  # 7 cells of 2x2, 3 a row, 1 pixel apart
    shown = with_gaps(grid, [2, 2], 7)
    assert np.isnan(shown[[2, 5], :]).all() and np.isnan(shown[:, [2, 5]]).all()
    assert np.isnan(shown[6:, 3:]).all()  # the 8th and 9th cells are not there
    assert shown[7, 1] == grid[7, 1] and shown[4, 7] == grid[4, 7]
    assert np.isnan(shown).sum() == 64 - 7 * 4
    assert not np.isnan(with_gaps(grid[:7], [2, 2], 7)).any()  # not such a grid: left as it is
    assert cell_at(4, 7, [2, 2], 7) == (5, 1, 1)
    assert cell_at(2, 0, [2, 2], 7) is None and cell_at(7, 7, [2, 2], 7) is None


# ------------------------------------------------------------------ runs
def test_over_epochs_and_gradient_norms_come_from_the_run(
    qtbot: QtBot, tmp_path: Path, weights: WeightsView, engine: RecordingEngine
) -> None:
    reply, _ = conv_reply(tmp_path)
    select(qtbot, weights.client, CONV)
    engine.answer("inspect_weights", reply)
    weights.tabs.setCurrentIndex(WEIGHT_TABS.index("Over epochs"))
    assert not engine.of("inspect_run")  # the initial weights have no epochs
    assert "Pick a training run" in weights.cards["Over epochs"].message.text()
    weights.client.set_source(
        Source(tmp_path / "run_0001", tmp_path / "epoch_003.weights.h5", None, "latest")
    )
    engine.answer("inspect_weights", reply)
    assert engine.last("inspect_run")[1] == {
        "run": str(tmp_path / "run_0001"),
        "node": CONV,
        "bins": 30,
        "out_dir": engine.last("inspect_run")[1]["out_dir"],
    }
    engine.answer("inspect_run", run_reply(tmp_path, "conv_1/kernel"))
    plot = weights.over_epochs
    curves = [item for item in plot.curves.getPlotItem().items if hasattr(item, "yData")]
    assert len(curves) == 3 and [c.zValue() for c in curves] == [0, 1, 2]  # the newest in front
    plot.set_mode("Image")
    assert drawn_image(plot.image).shape == (3, 30)
    text = hover(qtbot, plot.image, 1, 15)
    assert text.startswith("epoch 2 · [0, 0.06667) · ") and text.endswith(" values")
    lines = weights.gradients.lines
    assert set(lines) == {"conv_1", "conv_2", "digit"}
    assert lines["conv_1"].opts["pen"].widthF() == 3 and lines["digit"].opts["pen"].widthF() == 1.5
    assert weights.gradients.norms.ctrl.logYCheck.isChecked()
    assert weights.gradients.zero_floor == pytest.approx(0.02)  # a tenth of the smallest norm, 0.2
    assert "a norm of 0 is a cross at the bottom" in weights.cards["Gradient norms"].title.text()
    x, y = lines["conv_2"].getOriginalDataset()
    assert list(x) == [1, 2, 3] and y[1] == pytest.approx(0.02) and np.isnan(y[2])
    select(qtbot, weights.client, DENSE)  # another node: its epochs are asked for, the old ones go
    assert engine.last("inspect_run")[1]["node"] == DENSE and weights.run_reply is None
    assert weights.cards["Over epochs"].message.text() == "Reading the checkpoints of run_0001…"


# ------------------------------------------------------------------ PNG
def test_save_as_png_writes_the_plot(
    qtbot: QtBot, tmp_path: Path, weights: WeightsView, engine: RecordingEngine
) -> None:
    select(qtbot, weights.client, DENSE)
    engine.answer("inspect_weights", dense_reply(tmp_path, generator().normal(0, 1, (64, 10))))
    card: PlotCard = weights.cards["Heatmap"]
    target = tmp_path / "plots" / "heatmap.png"
    target.parent.mkdir()
    card.ask_png_path = lambda suggested: target  # type: ignore[method-assign]
    assert card.save_dialog() == target
    assert target.read_bytes()[:8] == PNG_SIGNATURE
    assert QImage(str(target)).size() == card.plot.size() * card.plot.devicePixelRatioF()
    menu = weights.heatmap.plot_item.getViewBox().menu
    assert "Save as PNG…" in [action.text() for action in menu.actions()]


# ------------------------------------------------------------------ the client
def test_only_the_newest_reply_is_shown_and_older_files_go(
    qtbot: QtBot, tmp_path: Path, weights: WeightsView, engine: RecordingEngine
) -> None:
    select(qtbot, weights.client, CONV)
    first_id, first = engine.last("inspect_weights")
    select(qtbot, weights.client, DENSE)
    second_id, second = engine.last("inspect_weights")
    assert first["node"] == CONV and second["node"] == DENSE and first_id != second_id
    assert not Path(first["out_dir"]).exists()  # the moot request's folder went at once
    engine.answered.emit(first_id, "inspect_weights", conv_reply(tmp_path)[0])
    assert weights.table.rowCount() == 0
    engine.answered.emit(second_id, "inspect_weights", dense_reply(tmp_path, np.ones((64, 10))))
    assert weights.table.rowCount() == 2 and "digit" in weights.title.text()
    select(qtbot, weights.client, CONV)
    third_id, third = engine.last("inspect_weights")
    engine.answered.emit(third_id, "inspect_weights", conv_reply(tmp_path)[0])
    assert not Path(second["out_dir"]).exists() and Path(third["out_dir"]).exists()
    out_dir = weights.client.out_dir
    weights.client.close()
    assert not out_dir.exists()


def test_a_new_request_never_reuses_or_removes_the_folder_of_the_reply_shown(
    client: InspectionClient, engine: RecordingEngine
) -> None:
    shown_id = client.request("weight_slice", {"node": CONV})
    shown = Path(engine.last("weight_slice")[1]["out_dir"])
    (shown / "array.npy").write_bytes(b"shown")
    engine.answered.emit(shown_id, "weight_slice", {})
    client.request("weight_slice", {"node": DENSE})
    second = Path(engine.last("weight_slice")[1]["out_dir"])
    client.request("weight_slice", {"node": CONV})  # replaces the second, still in flight
    third = Path(engine.last("weight_slice")[1]["out_dir"])
    assert len({shown, second, third}) == 3
    assert (shown / "array.npy").read_bytes() == b"shown"  # the shown reply keeps its files
    assert not second.exists() and third.exists()


def test_fast_selection_changes_ask_once(qtbot: QtBot, weights: WeightsView, engine: RecordingEngine) -> None:
    for node in ("n2", "n3", "n4", "n5", DENSE):
        weights.client.document.set_selection([node])
    qtbot.waitUntil(lambda: weights.client.node == DENSE, timeout=2000)
    assert [fields["node"] for fields in engine.of("inspect_weights")] == [DENSE]


def test_a_hidden_panel_asks_once_it_is_shown(
    qtbot: QtBot, weights: WeightsView, engine: RecordingEngine
) -> None:
    weights.set_active(False)
    select(qtbot, weights.client, CONV)
    assert not engine.of("inspect_weights")
    weights.set_active(True)
    assert [fields["node"] for fields in engine.of("inspect_weights")] == [CONV]


def test_opening_another_design_shows_none_of_the_last_ones_weights(
    qtbot: QtBot, tmp_path: Path, weights: WeightsView, activations: ActivationsView, engine: RecordingEngine
) -> None:
    select(qtbot, weights.client, CONV)
    request_id, _ = engine.last("inspect_weights")
    document = weights.client.document
    document.replace(project.Project(ModelGraph("other")), None)  # File > New
    late_reply = conv_reply(tmp_path)[0]  # the last design's weights, answered after the switch
    engine.answered.emit(request_id, "inspect_weights", late_reply)
    assert weights.table.rowCount() == 0 and weights.totals.text() == SELECT_A_NODE
    assert weights.title.text() == "Weights"
    assert activations.reply is None and activations.layer_list.count() == 0


def test_a_failed_request_says_why(qtbot: QtBot, weights: WeightsView, engine: RecordingEngine) -> None:
    select(qtbot, weights.client, CONV)
    request_id, _ = engine.last("inspect_weights")
    engine.request_failed.emit(request_id, "The design has errors; fix them first")
    assert "could not read the weights: The design has errors" in weights.totals.text()
    assert weights.cards["Heatmap"].message.text() == weights.totals.text()


def test_without_an_engine_the_panels_say_so(qtbot: QtBot, document: Document) -> None:
    client = InspectionClient(document, None, selection_delay_ms=10)
    view = WeightsView(client)
    qtbot.addWidget(view)
    select(qtbot, client, CONV)
    assert "engine is not running" in view.totals.text()
    client.close()


# ------------------------------------------------------------------ activations
def test_activations_show_maps_bars_the_dead_fraction_and_the_sample(
    qtbot: QtBot, tmp_path: Path, activations: ActivationsView, engine: RecordingEngine
) -> None:
    activations.index_spin.setValue(3)
    qtbot.mouseClick(activations.data_button, Qt.MouseButton.LeftButton)
    fields = engine.last("inspect_activations")[1]
    assert fields["sample"] == {"kind": "data", "index": 3} and fields["node"] is None
    assert fields["run"] is None and fields["checkpoint"] is None and "base_dir" in fields
    reply = activations_reply(tmp_path)
    engine.answer("inspect_activations", reply)
    select(qtbot, activations.client, CONV)
    assert activations.output_stack.currentWidget() is activations.output_image
    assert_grid(drawn_image(activations.output_image), np.load(reply["layers"][CONV]["file"]), cell=8)
    assert "dead ReLU units: 37.5%" in activations.output_stats.text()
    select(qtbot, activations.client, DENSE)
    assert activations.output_stack.currentWidget() is activations.output_bars
    assert activations.output_bars.values.argmax() == 2
    assert "dead" not in activations.output_stats.text()
    assert "Sample #3 of the data" in activations.status.text() and "label 3" in activations.status.text()
    assert activations.sample_image.image.shape == (8, 8)
    assert activations.draw_pad.pen_value == pytest.approx(float(np.load(reply["sample"]["file"]).max()))


def test_clicking_a_layer_tile_selects_its_node(
    qtbot: QtBot, tmp_path: Path, activations: ActivationsView, engine: RecordingEngine
) -> None:
    activations.refresh()
    engine.answer("inspect_activations", activations_reply(tmp_path))
    tiles = [activations.layer_list.item(i) for i in range(activations.layer_list.count())]
    assert [tile.text().splitlines()[0] for tile in tiles] == ["image", "conv_1", "pool_2", "digit"]
    assert tiles[1].text().splitlines()[2] == "dead ReLU units: 37.5%" and not tiles[1].icon().isNull()
    activations.layer_list.itemClicked.emit(tiles[3])
    assert activations.client.document.selection == [DENSE]


def test_drawing_a_sample_sends_it_through_the_model(
    qtbot: QtBot, activations: ActivationsView, engine: RecordingEngine
) -> None:
    activations.tabs.setCurrentIndex(ACTIVATION_TABS.index("Sample"))
    pad = activations.draw_pad
    assert pad.isVisibleTo(activations) and pad.values.shape == (8, 8)  # the digits input is 8x8x1
    pad.pen_value = 16.0
    cell = pad.width() / 8
    start, end = QPointF(4.5 * cell, 2.5 * cell).toPoint(), QPointF(4.5 * cell, 5.5 * cell).toPoint()
    qtbot.mousePress(pad, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(pad, end)
    qtbot.mouseRelease(pad, Qt.MouseButton.LeftButton, pos=end)
    sample = engine.last("inspect_activations")[1]["sample"]
    assert sample["kind"] == "array"
    drawn = np.load(sample["path"])
    assert drawn.shape == (8, 8, 1) and drawn.max() == pytest.approx(16.0)
    assert drawn[2, 4, 0] == pytest.approx(16.0) and drawn[5, 4, 0] == pytest.approx(16.0)
    assert drawn[0, 0, 0] == 0 and drawn[5, 0, 0] == 0


def test_loading_an_image_file_asks_for_it(
    tmp_path: Path, activations: ActivationsView, engine: RecordingEngine
) -> None:
    image = tmp_path / "seven.png"
    activations.ask_sample_path = lambda: image  # type: ignore[method-assign]
    activations.load_button.click()
    assert engine.last("inspect_activations")[1]["sample"] == {"kind": "file", "path": str(image)}


# ------------------------------------------------------------------ the window
@pytest.fixture
def window(qtbot: QtBot, tmp_path: Path, engine: RecordingEngine) -> MainWindow:
    window = make_window(qtbot, tmp_path, client=engine)
    assert window.open_path(EXAMPLE)
    return window


def test_thumbnails_go_under_the_nodes_on_the_canvas(
    qtbot: QtBot, tmp_path: Path, window: MainWindow, engine: RecordingEngine
) -> None:
    inspection = window.inspection
    inspection.show_dock("activations")
    qtbot.waitUntil(lambda: inspection.activations.active)
    engine.answer("inspect_activations", activations_reply(tmp_path))
    inspection.activations.canvas_check.setChecked(True)
    thumbnails = {
        node: [c for c in item.childItems() if isinstance(c, ThumbnailItem)]
        for node, item in window.scene.node_items.items()
    }
    assert {node for node, found in thumbnails.items() if found} == {IMAGE, CONV, "n5", DENSE}
    conv = thumbnails[CONV][0]
    assert conv.pixmap is not None and conv.caption == "dead ReLU units: 37.5%"
    assert conv.pos().y() > window.scene.node_items[CONV].height
    assert thumbnails[DENSE][0].values.size == 10
    inspection.activations.canvas_check.setChecked(False)
    assert not any(
        isinstance(c, ThumbnailItem) for item in window.scene.node_items.values() for c in item.childItems()
    )


def test_health_flags_show_as_pills_on_the_nodes(window: MainWindow, tmp_path: Path) -> None:
    inspection = window.inspection
    inspection.client.source = Source(tmp_path, tmp_path / "epoch_002.weights.h5", None, "latest (epoch 2)")
    inspection.show_health(
        {
            "flags": {CONV: ["nan-or-inf", "mostly-dead-relu"], DENSE: ["vanishing-gradients"]},
            "messages": {
                CONV: ["conv_1 has NaN or infinite weights after epoch 2: kernel (3).", "95% dead"],
                DENSE: ["fell"],
            },
            "epoch": 2,
        }
    )
    conv, dense, pool = (window.scene.node_items[n] for n in (CONV, DENSE, "n3"))
    assert conv.health.isVisible() and conv.health.text == "NaN dead"
    assert "kernel (3)" in conv.health.toolTip() and dense.health.text == "\u2207\u2193"
    assert not pool.health.isVisible()
    assert "health flags on conv_1, digit" in window.statusBar().currentMessage()
    window.scene.set_view_scale(0.05)  # far out: no pills
    assert not conv.health.isVisible()
    window.scene.set_view_scale(1.0)
    inspection.client.set_source(INITIAL)
    assert not conv.health.isVisible() and not dense.health.isVisible()


def test_picking_a_run_asks_for_its_health(
    window: MainWindow, tmp_path: Path, engine: RecordingEngine
) -> None:
    source = Source(tmp_path / "run_0001", tmp_path / "run_0001" / "last.keras", None, "latest")
    window.inspection.client.set_source(source)
    assert engine.last("run_health")[1]["run"] == str(tmp_path / "run_0001")


def test_exports_go_through_the_engine(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, engine: RecordingEngine
) -> None:
    inspection = window.inspection
    asked: list[str] = []
    inspection.ask_export_path = lambda title, _filter, suggested: asked.append(suggested) or tmp_path / "out"  # type: ignore[method-assign]
    inspection.actions["weights.h5"].trigger()
    fields = engine.last("export")[1]
    assert fields["format"] == "weights.h5" and fields["path"] == str(tmp_path / "out.weights.h5")
    assert fields["project"]["name"] == "digits_cnn" and fields["checkpoint"] is None
    engine.answer("export", {"path": fields["path"]})
    assert window.statusBar().currentMessage() == f"Exported {tmp_path / 'out.weights.h5'}"
    inspection.actions["keras"].trigger()
    assert engine.last("export")[1]["path"] == str(tmp_path / "out.keras")
    inspection.actions["npz"].trigger()  # no node selected: nothing asked
    assert "Select one node" in window.statusBar().currentMessage() and len(engine.of("export")) == 2
    select(qtbot, inspection.client, CONV)
    inspection.actions["npz"].trigger()
    assert engine.last("export")[1]["node"] == CONV and asked[-1] == "conv_1.npz"
    errors: list[str] = []
    window.report_error = lambda title, text: errors.append(f"{title}: {text}")  # type: ignore[method-assign]
    engine.request_failed.emit(engine.last("export")[0], "Cannot export to /x: the folder does not exist.")
    assert errors == ["Cannot export: Cannot export to /x: the folder does not exist."]


def test_the_summary_shows_keras_trainable_split(
    qtbot: QtBot, window: MainWindow, engine: RecordingEngine
) -> None:
    window.bring_forward("summary")  # shown (View > Summary): Keras' summary is asked for
    asked = len(engine.of("model_summary"))
    assert asked
    rows = [
        {
            "node": "n2",
            "name": "bn",
            "class": "BatchNormalization",
            "output_shape": "(None, 8)",
            "params": 32,
            "trainable": 16,
            "non_trainable": 16,
        }
    ]
    engine.answer("model_summary", {"rows": rows, "totals": {"trainable": 116, "non_trainable": 16}})
    assert window.summary.built_label.text() == (
        "Keras' model.summary() of Initial weights: 132 params: 116 trainable, 16 non-trainable (bn: 16)"
    )
    assert window.summary.built_label.isVisible()
    window.document.set_results({}, [])  # an edit: the line no longer holds, asked again once edits pause
    assert not window.summary.built_label.isVisible() and len(engine.of("model_summary")) == asked
    qtbot.waitUntil(lambda: len(engine.of("model_summary")) == asked + 1, timeout=5000)


def test_the_inspect_menu_and_docks(window: MainWindow) -> None:
    menus = [action.text() for action in window.menuBar().actions()]
    assert menus.index("&Inspect") == menus.index("&View") - 1
    inspect_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Inspect")
    texts = [action.text() for action in inspect_menu.actions() if action.text()]
    assert texts == [
        "Show &Weights",
        "Show &Activations",
        "Export &Weights (.weights.h5)…",
        "Export &Model (.keras)…",
        "Export &Layer Arrays (.npz)…",
    ]
    assert not window.inspection.weights.active  # hidden along the bottom until asked for
    window.inspection.actions["show_weights"].trigger()
    assert window.inspection.weights.active
    window.bring_forward("training")  # the run panels share the bottom as tabs
    assert window.docks["training"] in window.tabifiedDockWidgets(window.docks["weights"])


# ------------------------------------------------------------------ the real engine
# One engine process for these tests (its start takes seconds); the window talks to it through
# the real EngineClient, and the training run is a real worker process.
ENGINE_MS = 240_000
RUN_MS = 400_000


@pytest.fixture(scope="module")
def live_engine(qapp: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    started = start_engine(tmp_path_factory.mktemp("engine-cache"))
    yield started
    stop_engine(started.client, grace_s=10.0)


@pytest.fixture
def live_window(
    qtbot: QtBot, tmp_path: Path, live_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> MainWindow:
    monkeypatch.setenv("DESIGNER_RECOVERY_DIR", str(tmp_path / "recovery"))
    window = make_window(qtbot, tmp_path, catalog=live_engine.catalog, client=live_engine.client)
    window.resize(1500, 950)
    return window


def batch_norm_design() -> dict[str, Any]:
    """features (8,) -> Dense(4) -> BatchNormalization, the output."""
    node = lambda node_id, kind, name, params: {  # noqa: E731 - three rows of a table
        "id": node_id,
        "type": kind,
        "name": name,
        "params": params,
        "position": [240.0 * (int(node_id[1]) - 1), 0.0],
    }
    return {
        "format_version": project.PROJECT_FORMAT_VERSION,
        "name": "normalized",
        "nodes": [
            node("n1", "Input", "features", {"shape": [8]}),
            node("n2", "Dense", "hidden", {"units": 4}),
            node("n3", "BatchNormalization", "bn", {}),
        ],
        "edges": [
            {"source": "n1", "source_port": 0, "target": "n2", "target_port": 0},
            {"source": "n2", "source_port": 0, "target": "n3", "target_port": 0},
        ],
        "outputs": [{"node": "n3", "port": 0, "name": "bn"}],
    }


def click_node(qtbot: QtBot, window: MainWindow, node_id: str) -> None:
    """Click a node on the canvas, as a person selects it."""
    window.view.centre_on_node(node_id)
    item = window.scene.node_items[node_id]
    point = window.view.mapFromScene(item.sceneBoundingRect().center())
    qtbot.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert window.document.selection == [node_id]


def test_a_batch_normalization_node_lists_two_trainable_and_two_non_trainable_variables(
    qtbot: QtBot, live_window: MainWindow
) -> None:
    window = live_window
    window.document.replace(project.from_dict(batch_norm_design(), window.document.catalog.ports_of), None)
    window.inspection.show_dock("weights")
    weights = window.inspection.weights
    qtbot.waitUntil(lambda: weights.active)
    click_node(qtbot, window, "n3")
    qtbot.waitUntil(lambda: weights.table.rowCount() == 4, timeout=ENGINE_MS)
    table = weights.table
    assert [(table.item(r, 0).text(), table.item(r, 3).text()) for r in range(4)] == [
        ("gamma", "yes"),
        ("beta", "yes"),
        ("moving_mean", "no"),
        ("moving_variance", "no"),
    ]
    assert weights.totals.text() == (
        "4 variables · 2 trainable (gamma, beta; 8 params) · "
        "2 non-trainable (moving_mean, moving_variance; 8 params)"
    )
    assert weights.title.text() == "<b>bn</b> (BatchNormalization)"
    assert weights.cards["Bars"].showing_plot and np.allclose(weights.bars.values, 1.0)  # gamma starts at 1


def test_conv_filters_and_a_dense_heatmap_from_the_engine(qtbot: QtBot, live_window: MainWindow) -> None:
    window = live_window
    assert window.open_path(EXAMPLE)
    window.inspection.show_dock("weights")
    weights = window.inspection.weights
    click_node(qtbot, window, CONV)
    qtbot.waitUntil(lambda: "conv_1" in weights.title.text(), timeout=ENGINE_MS)
    assert weights.cards["Filters"].showing_plot
    assert drawn_image(weights.filters).shape == (15, 15)  # 16 filters of 3x3, 4 a row, 1 pixel apart
    assert "16 filters of 3\u00d73, one input channel" in weights.cards["Filters"].title.text()
    assert not weights.channel_combo.isVisibleTo(weights)
    click_node(qtbot, window, DENSE)
    qtbot.waitUntil(lambda: "digit" in weights.title.text(), timeout=ENGINE_MS)
    kernel = np.load(weights.reply["variables"][0]["array"])
    assert kernel.shape == (32, 10) and np.allclose(drawn_image(weights.heatmap), kernel)
    largest = float(np.abs(kernel).max())
    assert weights.heatmap.levels == pytest.approx((-largest, largest))


def test_activations_of_a_digits_sample(qtbot: QtBot, live_window: MainWindow) -> None:
    window = live_window
    assert window.open_path(EXAMPLE)
    activations = window.inspection.activations
    window.inspection.show_dock("activations")
    qtbot.waitUntil(lambda: activations.reply is not None, timeout=ENGINE_MS)  # sample #0 at once
    activations.index_spin.setValue(3)
    activations.use_data_sample()
    qtbot.waitUntil(lambda: activations.reply["sample"]["index"] == 3, timeout=ENGINE_MS)
    assert "label 3" in activations.status.text()
    assert set(activations.reply["layers"]) == set(window.document.graph.nodes)
    click_node(qtbot, window, CONV)
    qtbot.waitUntil(lambda: "conv_1 output (8, 8, 16)" in activations.output_card.title.text())
    assert activations.output_stack.currentWidget() is activations.output_image
    assert "dead ReLU units:" in activations.output_stats.text()
    click_node(qtbot, window, DENSE)
    qtbot.waitUntil(lambda: activations.output_stack.currentWidget() is activations.output_bars)
    assert activations.output_bars.values.sum() == pytest.approx(1.0, abs=1e-3)  # a softmax


def configure(document: Document, **changes: Any) -> None:
    data = {**current_config(document).to_dict(), **changes}
    document.undo_stack.push(SetTrainingConfig(document, data, "Configure the test run"))


def nan_into(checkpoint: Path, group: str) -> None:
    """Write NaN into the first variable of a layer in a Keras .weights.h5 file; Keras names the
    layers' groups by class and order (the first Conv2D is "conv2d")."""
    with h5py.File(checkpoint, "r+") as file:
        dataset = file[f"layers/{group}/vars/0"]
        values = dataset[()]
        values.flat[:3] = np.nan
        dataset[...] = values


def test_a_training_run_gives_epochs_gradient_norms_health_flags_and_exports(
    qtbot: QtBot, live_window: MainWindow, tmp_path: Path
) -> None:
    window, inspection = live_window, live_window.inspection
    design = tmp_path / "digits_cnn.json"
    design.write_bytes(EXAMPLE.read_bytes())
    assert window.open_path(design)
    EngineSync(window.document, window.client, parent=window)  # training needs the shapes
    qtbot.waitUntil(lambda: len(window.document.results) == 6, timeout=ENGINE_MS)
    configure(window.document, epochs=2)
    window.inspection.show_dock("weights")
    click_node(qtbot, window, CONV)
    with qtbot.waitSignal(window.training_client.finished, timeout=RUN_MS) as finished:
        window.training.start()  # brings the Training tab forward
        window.inspection.show_dock("weights")
    assert finished.args[0]["status"] == "finished", finished.args[0]
    run = Path(finished.args[0]["run"])
    source = inspection.client.source
    assert (source.run, source.checkpoint.name) == (run, "epoch_002.weights.h5")
    picker = inspection.weights.source_picker
    assert (
        picker.run_combo.currentText() == run.name and picker.epoch_combo.currentText() == "latest (epoch 2)"
    )
    assert [picker.epoch_combo.itemText(i) for i in range(3)] == ["latest (epoch 2)", "epoch 1", "epoch 2"]
    weights = inspection.weights
    assert inspection.client.pending("inspect_weights")  # the run's weights, asked for at once
    qtbot.waitUntil(lambda: not inspection.client.pending("inspect_weights"), timeout=ENGINE_MS)
    assert weights.table.rowCount() == 2 and "conv_1" in weights.title.text()
    weights.tabs.setCurrentIndex(WEIGHT_TABS.index("Over epochs"))
    qtbot.waitUntil(lambda: weights.cards["Over epochs"].showing_plot, timeout=ENGINE_MS)
    assert len(weights.over_epochs.epochs) == 2
    weights.tabs.setCurrentIndex(WEIGHT_TABS.index("Gradient norms"))
    assert set(weights.gradients.lines) == {"conv_1", "conv_2", "digit"}
    assert weights.gradients.lines["conv_1"].opts["pen"].widthF() == 3  # the selected node's layer
    assert not any(item.health.isVisible() for item in window.scene.node_items.values())  # a healthy run

    nan_into(run / "checkpoints" / "epoch_002.weights.h5", "conv2d")  # conv_1
    window.training.refresh_runs()
    qtbot.waitUntil(lambda: not window.training.listing_runs, timeout=ENGINE_MS)  # read off the GUI thread
    window.training.run_table.selectRow(len(window.training.run_model.runs) - 1)
    conv = window.scene.node_items[CONV]
    qtbot.waitUntil(lambda: conv.health.isVisible(), timeout=ENGINE_MS)
    assert conv.health.text == "NaN" and "NaN or infinite weights" in conv.health.toolTip()

    target = tmp_path / "conv_1.npz"
    inspection.ask_export_path = lambda *_: target  # type: ignore[method-assign]
    assert inspection.export_dialog("npz")
    qtbot.waitUntil(target.exists, timeout=ENGINE_MS)
    with np.load(target) as arrays:
        assert sorted(arrays) == ["bias", "kernel"] and np.isnan(arrays["kernel"]).sum() == 3


def test_gradient_norm_ticks_step_1_2_5_and_never_crowd() -> None:
    from designer.ui.panels.inspection_plots import log_ticks

    assert [label for _, label in log_ticks(0.18, 2.0)] == ["0.2", "0.5", "1", "2"]
    assert [label for _, label in log_ticks(1e-6, 3.0)] == [
        "1e-06",
        "1e-05",
        "0.0001",
        "0.001",
        "0.01",
        "0.1",
        "1",
    ]
    assert all(abs(position - np.log10(float(label))) < 1e-12 for position, label in log_ticks(0.003, 40.0))
