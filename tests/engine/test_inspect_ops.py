"""The weights panel's engine ops through EngineHost.handle, on small real Keras designs and a real run."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
from sklearn import datasets

from designer.catalog.spec import Catalog
from designer.engine import inspection
from designer.engine.build import build_model
from designer.engine.host import EngineHost, answer
from designer.engine.protocol import RequestError
from designer.graph import project
from designer.graph.model import Edge, ModelGraph, Node
from designer.training.config import OptimizerConfig, TrainingConfig
from designer.training.launcher import prepare_run, start_run
from designer.training.runs import RunFolder

RUN_TIMEOUT_S = 300.0
DIGITS_IMAGES = {"kind": "sklearn", "name": "digits", "image": True}


@pytest.fixture(scope="module")
def host() -> EngineHost:
    return EngineHost()


def add_node(graph: ModelGraph, catalog: Catalog, type_key: str, name: str, **params: Any) -> str:
    spec = catalog[type_key]
    node = Node(graph.new_id(), type_key, name, {**spec.initial_params(), **params}, ports=spec.ports)
    return graph.add_node(node).id


def chain(catalog: Catalog, name: str, *layers: tuple[str, str, dict[str, Any]]) -> ModelGraph:
    """A design of layers one after the other, (type, name, params) each; the last is the output."""
    graph = ModelGraph(name)
    ids = [add_node(graph, catalog, type_key, node_name, **params) for type_key, node_name, params in layers]
    for source, target in itertools.pairwise(ids):
        graph.connect(Edge(source, 0, target, 0))
    graph.mark_output(ids[-1], 0)
    return graph


def dense_design(catalog: Catalog) -> ModelGraph:
    """features (6) -> hidden Dense(4) -> norm BatchNormalization -> relu ReLU -> scores Dense(3)."""
    return chain(
        catalog,
        "dense",
        ("Input", "features", {"shape": [6]}),
        ("Dense", "hidden", {"units": 4}),
        ("BatchNormalization", "norm", {}),
        ("ReLU", "relu", {}),
        ("Dense", "scores", {"units": 3, "activation": "softmax"}),
    )


def conv_design(catalog: Catalog) -> ModelGraph:
    """image (8, 8, 1) -> conv Conv2D(4, 3x3) -> norm -> relu -> flat -> digit Dense(10)."""
    return chain(
        catalog,
        "conv",
        ("Input", "image", {"shape": [8, 8, 1]}),
        ("Conv2D", "conv", {"filters": 4, "kernel_size": [3, 3]}),
        ("BatchNormalization", "norm", {}),
        ("ReLU", "relu", {}),
        ("Flatten", "flat", {}),
        ("Dense", "digit", {"units": 10, "activation": "softmax"}),
    )


def digits_training(graph: ModelGraph, epochs: int = 3) -> TrainingConfig:
    return TrainingConfig.for_graph(graph).copy(
        data=DIGITS_IMAGES,
        epochs=epochs,
        losses={"digit": "sparse_categorical_crossentropy"},
        metrics={"digit": ["accuracy"]},
        optimizer=OptimizerConfig(learning_rate=0.01),
    )


def data_of(graph: ModelGraph, training: TrainingConfig | None = None) -> dict[str, Any]:
    return project.to_dict(graph, training=training.to_dict() if training else None)


def node_id(graph: ModelGraph, name: str) -> str:
    node = graph.node_by_name(name)
    assert node is not None, name
    return node.id


def seeded_model(graph: ModelGraph, catalog: Catalog, seed: int = 42) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return build_model(graph, catalog)


def load(path: str) -> np.ndarray:
    assert Path(path).is_absolute()
    return np.load(path)


# ------------------------------------------------------------------ inspect_weights
def test_batch_normalization_lists_two_trainable_and_two_non_trainable_variables(
    host: EngineHost, catalog: Catalog, tmp_path: Path
) -> None:
    graph = dense_design(catalog)
    reply = host.handle(
        {
            "op": "inspect_weights",
            "project": data_of(graph),
            "node": node_id(graph, "norm"),
            "out_dir": str(tmp_path),
        }
    )
    assert (reply["layer"], reply["class"], reply["source"]) == ("norm", "BatchNormalization", "initial")
    assert [(v["name"], v["trainable"]) for v in reply["variables"]] == [
        ("gamma", True),
        ("beta", True),
        ("moving_mean", False),
        ("moving_variance", False),
    ]
    assert [v["path"] for v in reply["variables"]] == [
        "norm/gamma",
        "norm/beta",
        "norm/moving_mean",
        "norm/moving_variance",
    ]
    assert reply["totals"] == {"trainable": 8, "non_trainable": 8}
    gamma = reply["variables"][0]
    np.testing.assert_array_equal(load(gamma["array"]), np.ones(4))
    assert (gamma["shape"], gamma["dtype"], gamma["count"]) == ([4], "float32", 4)
    assert (gamma["heatmap"], gamma["filters"]) == (None, None)
    np.testing.assert_array_equal(load(gamma["bars"]["file"]), np.ones(4))
    assert gamma["bars"]["step"] == 1
    assert reply["variables"][1]["stats"]["sparsity"] == 1.0  # beta starts at zero


def test_a_dense_kernel_gives_numpy_statistics_histogram_and_heatmap(
    host: EngineHost, catalog: Catalog, tmp_path: Path
) -> None:
    graph = dense_design(catalog)
    request = {
        "op": "inspect_weights",
        "project": data_of(graph),
        "node": node_id(graph, "hidden"),
        "out_dir": str(tmp_path),
        "bins": 7,
    }
    kernel, bias = host.handle(request)["variables"]
    values = load(kernel["array"])
    np.testing.assert_array_equal(values, seeded_model(graph, catalog).get_layer("hidden").get_weights()[0])
    assert kernel["stats"]["mean"] == pytest.approx(values.mean())
    assert kernel["stats"]["std"] == pytest.approx(values.std())
    assert kernel["stats"]["norm"] == pytest.approx(np.linalg.norm(values))
    assert (kernel["stats"]["min"], kernel["stats"]["max"]) == (
        pytest.approx(values.min()),
        pytest.approx(values.max()),
    )
    counts, edges = np.histogram(values, bins=7)
    assert kernel["histogram"] == {"counts": counts.tolist(), "edges": pytest.approx(edges.tolist())}
    heatmap = kernel["heatmap"]
    np.testing.assert_array_equal(load(heatmap["file"]), values)
    assert {key: heatmap[key] for key in ("rows", "cols", "row_step", "col_step", "index")} == {
        "rows": 6,
        "cols": 4,
        "row_step": 1,
        "col_step": 1,
        "index": [],
    }
    assert bias["heatmap"] is None and bias["bars"] is not None
    again = EngineHost().handle({**request, "out_dir": str(tmp_path / "again")})
    np.testing.assert_array_equal(load(again["variables"][0]["array"]), values)  # seeded: the same weights


def test_a_conv_kernel_gives_filters_and_any_slice(
    host: EngineHost, catalog: Catalog, tmp_path: Path
) -> None:
    graph = conv_design(catalog)
    reply = host.handle(
        {
            "op": "inspect_weights",
            "project": data_of(graph),
            "node": node_id(graph, "conv"),
            "out_dir": str(tmp_path),
        }
    )
    kernel = reply["variables"][0]
    values = load(kernel["array"])
    assert values.shape == (3, 3, 1, 4)
    filters = kernel["filters"]
    assert {key: filters[key] for key in ("count", "cell", "mode", "channel")} == {
        "count": 4,
        "cell": [3, 3],
        "mode": "mean",
        "channel": None,
    }
    np.testing.assert_allclose(load(filters["file"]), inspection.filter_grid(values), rtol=1e-6)
    assert kernel["heatmap"]["index"] == [0, 0]
    np.testing.assert_array_equal(load(kernel["heatmap"]["file"]), values[0, 0])
    sliced = host.handle(
        {
            "op": "weight_slice",
            "array": kernel["array"],
            "index": [1, 2],
            "channel": 0,
            "out_dir": str(tmp_path),
        }
    )
    np.testing.assert_array_equal(load(sliced["heatmap"]["file"]), values[1, 2])
    assert sliced["heatmap"]["index"] == [1, 2]
    assert (sliced["filters"]["mode"], sliced["filters"]["channel"]) == ("channel", 0)
    cells = [values[:, :, 0, out] for out in range(4)]
    grid = load(sliced["filters"]["file"])
    for out, cell in enumerate(cells):
        top, left = (out // 2) * 4, (out % 2) * 4
        span = cell.max() - cell.min()
        np.testing.assert_allclose(
            grid[top : top + 3, left : left + 3], (cell - cell.min()) / span, rtol=1e-5
        )


def test_weight_slice_names_a_wrong_index_or_channel(host: EngineHost, tmp_path: Path) -> None:
    array = tmp_path / "kernel.npy"
    np.save(array, np.zeros((3, 3, 2, 4), dtype="float32"))
    request = {"op": "weight_slice", "array": str(array), "channel": None, "out_dir": str(tmp_path)}
    with pytest.raises(RequestError, match=r"Index 3 is out of range for axis 0 of shape \(3, 3, 2, 4\)"):
        host.handle({**request, "index": [3, 0]})
    with pytest.raises(RequestError, match=r"takes 2 leading index\(es\), received \[0\]"):
        host.handle({**request, "index": [0]})
    with pytest.raises(RequestError, match=r"Channel 2 is out of range: the kernel has 2 input channels"):
        host.handle({**request, "index": [0, 0], "channel": 2})
    with pytest.raises(RequestError, match="does not exist"):
        host.handle({**request, "array": str(tmp_path / "missing.npy")})


def test_a_layer_without_variables_gives_an_empty_list(
    host: EngineHost, catalog: Catalog, tmp_path: Path
) -> None:
    graph = dense_design(catalog)
    reply = host.handle(
        {
            "op": "inspect_weights",
            "project": data_of(graph),
            "node": node_id(graph, "relu"),
            "out_dir": str(tmp_path),
        }
    )
    assert (reply["class"], reply["variables"], reply["totals"]) == (
        "ReLU",
        [],
        {"trainable": 0, "non_trainable": 0},
    )


def test_an_unknown_node_and_a_design_with_errors_are_named(
    host: EngineHost, catalog: Catalog, tmp_path: Path
) -> None:
    graph = dense_design(catalog)
    request = {"op": "inspect_weights", "project": data_of(graph), "out_dir": str(tmp_path)}
    with pytest.raises(RequestError, match="There is no node with id 'n99' in the design"):
        host.handle({**request, "node": "n99"})
    broken = chain(catalog, "broken", ("Input", "features", {"shape": [6]}))
    lonely = add_node(broken, catalog, "Dense", "lonely", units=2)
    broken.mark_output(lonely, 0)
    with pytest.raises(RequestError, match="The design has errors; fix them first:\n- lonely: "):
        host.handle({**request, "project": data_of(broken), "node": lonely})


def test_model_summary_equals_keras_summary(host: EngineHost, catalog: Catalog) -> None:
    graph = conv_design(catalog)
    reply = host.handle({"op": "model_summary", "project": data_of(graph), "checkpoint": None})
    model = seeded_model(graph, catalog)
    lines: list[str] = []
    model.summary(print_fn=lambda line, **_: lines.append(line))
    text = "\n".join(lines)
    assert f"Trainable params: {reply['totals']['trainable']:,}" in text
    assert f"Non-trainable params: {reply['totals']['non_trainable']:,}" in text
    assert [row["name"] for row in reply["rows"]] == [layer.name for layer in model.layers]
    assert [row["node"] for row in reply["rows"]] == [node_id(graph, layer.name) for layer in model.layers]
    assert [row["params"] for row in reply["rows"]] == [layer.count_params() for layer in model.layers]
    norm = next(row for row in reply["rows"] if row["name"] == "norm")
    assert (norm["class"], norm["output_shape"], norm["trainable"], norm["non_trainable"]) == (
        "BatchNormalization",
        "(None, 6, 6, 4)",
        8,
        8,
    )


# ------------------------------------------------------------------ inspect_activations
def test_activations_of_a_data_sample_equal_the_models_own(
    host: EngineHost, catalog: Catalog, tmp_path: Path
) -> None:
    graph = conv_design(catalog)
    reply = host.handle(
        {
            "op": "inspect_activations",
            "project": data_of(graph, digits_training(graph)),
            "node": None,
            "checkpoint": None,
            "sample": {"kind": "data", "index": 5},
            "out_dir": str(tmp_path),
        }
    )
    digits = datasets.load_digits()
    sample = reply["sample"]
    assert (sample["index"], sample["shape"], sample["label"]) == (5, [8, 8, 1], str(digits.target[5]))
    x = (digits.images[5] / 16.0).reshape(1, 8, 8, 1).astype("float32")
    np.testing.assert_array_equal(load(sample["file"]), x[0])
    expected = inspection.activations(seeded_model(graph, catalog), x)
    layers = reply["layers"]
    assert set(layers) == {
        node_id(graph, name) for name in ("image", "conv", "norm", "relu", "flat", "digit")
    }
    digit = layers[node_id(graph, "digit")]
    assert (digit["kind"], digit["shape"], digit["dead_fraction"]) == ("vector", [10], None)
    np.testing.assert_allclose(load(digit["file"]), expected["digit"][0], rtol=1e-5)
    relu = layers[node_id(graph, "relu")]
    assert (relu["kind"], relu["shape"]) == ("maps", [6, 6, 4])
    np.testing.assert_allclose(
        load(relu["file"]), inspection.feature_map_grid(expected["relu"]), rtol=1e-5, atol=1e-6
    )
    assert relu["dead_fraction"] == inspection.unit_dead_fraction(expected["relu"])
    assert load(relu["thumbnail"]).shape == (13, 13)
    assert relu["stats"]["max"] == pytest.approx(expected["relu"].max())
    assert layers[node_id(graph, "image")]["kind"] == "maps"
    json.dumps(reply, allow_nan=False)


def test_activations_of_one_node_and_of_an_image_file(
    host: EngineHost, catalog: Catalog, tmp_path: Path
) -> None:
    from PIL import Image

    graph = conv_design(catalog)
    red = tmp_path / "red.png"
    Image.new("RGB", (32, 24), (255, 0, 0)).save(red)
    reply = host.handle(
        {
            "op": "inspect_activations",
            "project": data_of(graph),
            "node": node_id(graph, "conv"),
            "checkpoint": None,
            "sample": {"kind": "file", "path": str(red)},
            "out_dir": str(tmp_path),
        }
    )
    assert list(reply["layers"]) == [node_id(graph, "conv")]
    sample = load(reply["sample"]["file"])
    assert (reply["sample"]["index"], reply["sample"]["label"], sample.shape) == (None, None, (8, 8, 1))
    np.testing.assert_allclose(sample, 76 / 255, rtol=1e-5)  # Pillow's grey of pure red


def test_a_shared_layer_shows_its_weights_for_both_nodes_and_its_first_call(
    host: EngineHost, catalog: Catalog, tmp_path: Path
) -> None:
    graph = chain(catalog, "shared", ("Input", "features", {"shape": [4]}), ("Dense", "square", {"units": 4}))
    features, first = node_id(graph, "features"), node_id(graph, "square")
    second = add_node(graph, catalog, "Dense", "again", units=4)
    graph.set_shares(second, first)
    graph.connect(Edge(first, 0, second, 0))
    graph.set_outputs([])
    graph.mark_output(second, 0)
    data = data_of(graph)
    weights = host.handle(
        {"op": "inspect_weights", "project": data, "node": second, "out_dir": str(tmp_path)}
    )
    assert (weights["layer"], [v["path"] for v in weights["variables"]]) == (
        "square",
        ["square/kernel", "square/bias"],
    )
    sample = tmp_path / "ones.npy"
    np.save(sample, np.ones(4, dtype="float32"))
    request = {"op": "inspect_activations", "project": data, "sample": {"kind": "array", "path": str(sample)}}
    reply = host.handle({**request, "node": None, "out_dir": str(tmp_path)})
    assert set(reply["layers"]) == {features, first}
    kernel, bias = seeded_model(graph, catalog).get_layer("square").get_weights()
    np.testing.assert_allclose(load(reply["layers"][first]["file"]), np.ones(4) @ kernel + bias, rtol=1e-5)


def test_a_sample_that_does_not_fit_is_named_with_the_shape_expected(
    host: EngineHost, catalog: Catalog, tmp_path: Path
) -> None:
    graph = dense_design(catalog)
    request = {"op": "inspect_activations", "project": data_of(graph), "node": None, "out_dir": str(tmp_path)}
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros((5, 7)))
    with pytest.raises(
        RequestError,
        match=r"wrong\.npy: The sample has shape \(5, 7\); the input 'features' expects \(None, 6\)",
    ):
        host.handle({**request, "sample": {"kind": "array", "path": str(wrong)}})
    text = tmp_path / "notes.txt"
    text.write_text("1 2 3")
    with pytest.raises(RequestError, match=r"notes\.txt: a sample file is one of \.png"):
        host.handle({**request, "sample": {"kind": "file", "path": str(text)}})
    with pytest.raises(RequestError, match="has no training data source"):
        host.handle({**request, "sample": {"kind": "data", "index": 0}})
    fitting = tmp_path / "fitting.npy"
    np.save(fitting, np.arange(6.0))
    reply = host.handle({**request, "sample": {"kind": "array", "path": str(fitting)}})
    np.testing.assert_array_equal(load(reply["sample"]["file"]), np.arange(6.0))


def test_a_data_index_out_of_range_is_named(host: EngineHost, catalog: Catalog, tmp_path: Path) -> None:
    graph = conv_design(catalog)
    request = {
        "op": "inspect_activations",
        "project": data_of(graph, digits_training(graph)),
        "node": None,
        "out_dir": str(tmp_path),
        "sample": {"kind": "data", "index": 5000},
    }
    with pytest.raises(
        RequestError, match=r"Sample 5000 is out of range: the data source has 1797 samples \(0 to 1796\)"
    ):
        host.handle(request)


def test_a_data_sample_of_an_image_folder_has_its_class_name(
    host: EngineHost, catalog: Catalog, tmp_path: Path
) -> None:
    from PIL import Image

    for label, shade in (("cats", 50), ("dogs", 200)):
        (tmp_path / "images" / label).mkdir(parents=True)
        for number in range(2):
            Image.new("L", (8, 8), shade).save(tmp_path / "images" / label / f"{number}.png")
    graph = conv_design(catalog)
    source = {"kind": "image_folder", "path": "images", "image_size": [8, 8], "color_mode": "grayscale"}
    training = digits_training(graph).copy(data=source, validation=None)
    request = {
        "op": "inspect_activations",
        "project": data_of(graph, training),
        "node": node_id(graph, "digit"),
        "base_dir": str(tmp_path),
        "out_dir": str(tmp_path / "out"),
    }
    for index in range(4):
        reply = host.handle({**request, "sample": {"kind": "data", "index": index}})
        shade = {"cats": 50, "dogs": 200}[reply["sample"]["label"]]
        np.testing.assert_array_equal(
            load(reply["sample"]["file"]), np.full((8, 8, 1), shade)
        )  # pixels as fit gets them
    with pytest.raises(RequestError, match="Sample 4 is out of range"):
        host.handle({**request, "sample": {"kind": "data", "index": 4}})


# ------------------------------------------------------------------ a run
@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, catalog: Catalog) -> tuple[RunFolder, ModelGraph]:
    """A real 3-epoch run of the conv design on the digits, by the training worker."""
    graph = conv_design(catalog)
    run = prepare_run(graph, digits_training(graph), catalog, runs_root=tmp_path_factory.mktemp("runs"))
    report = start_run(run).finish(timeout=RUN_TIMEOUT_S)
    assert report.status == "finished", report
    return run, graph


def test_inspect_run_has_one_row_per_epoch_and_the_recorded_norms(
    host: EngineHost, trained: tuple[RunFolder, ModelGraph], tmp_path: Path
) -> None:
    run, graph = trained
    reply = host.handle(
        {
            "op": "inspect_run",
            "run": str(run.path),
            "node": node_id(graph, "conv"),
            "bins": 12,
            "out_dir": str(tmp_path),
        }
    )
    assert reply["epochs"] == [1, 2, 3]
    assert set(reply["variables"]) == {"conv/kernel", "conv/bias"}
    kernel = reply["variables"]["conv/kernel"]
    counts = load(kernel["counts"])
    assert counts.shape == (3, 12)
    assert counts.sum(axis=1).tolist() == [3 * 3 * 1 * 4] * 3
    assert len(kernel["edges"]) == 13
    model = keras.saving.load_model(run.last_checkpoint, compile=False)
    final = model.get_layer("conv").get_weights()[0]
    np.testing.assert_array_equal(counts[-1], np.histogram(final, bins=kernel["edges"])[0])
    assert set(reply["gradient_norms"]) == {"conv", "norm", "digit"}
    assert all(
        len(norms) == 3 and all(norm > 0 for norm in norms) for norms in reply["gradient_norms"].values()
    )
    assert list(reply["dead_relu"]) == ["relu"]
    assert all(0.0 <= fraction <= 1.0 for fraction in reply["dead_relu"]["relu"])
    assert reply["layer_nodes"]["conv"] == node_id(graph, "conv")


def test_inspect_weights_of_a_runs_checkpoint_uses_the_runs_design(
    host: EngineHost, trained: tuple[RunFolder, ModelGraph], catalog: Catalog, tmp_path: Path
) -> None:
    run, graph = trained
    (epoch, first), *_ = run.epoch_weights()
    reply = host.handle(
        {
            "op": "inspect_weights",
            "project": None,
            "run": str(run.path),
            "node": node_id(graph, "norm"),
            "checkpoint": str(first),
            "out_dir": str(tmp_path),
        }
    )
    assert (epoch, reply["source"]) == (1, str(first))
    moving_mean = load(reply["variables"][2]["array"])
    assert reply["variables"][2]["name"] == "moving_mean"
    assert np.any(moving_mean != 0)  # trained statistics, not the initial zeros
    other = dense_design(catalog)
    with pytest.raises(RequestError, match=r"does not fit the design: .*Open it with the run it belongs to"):
        host.handle(
            {
                "op": "inspect_weights",
                "project": data_of(other),
                "node": node_id(other, "norm"),
                "checkpoint": str(first),
                "out_dir": str(tmp_path),
            }
        )


def test_a_runs_data_sample_comes_from_its_config_not_the_code_in_its_folder(
    host: EngineHost, trained: tuple[RunFolder, ModelGraph], tmp_path: Path
) -> None:
    """A shared folder's runs/ could hold any train.py: the sample is read through the code
    Export writes for the run's config.json, and the file on disk never runs."""
    run, graph = trained
    marker = tmp_path / "ran"
    script = run.path / "train.py"
    original = script.read_text(encoding="utf-8")
    planted = original.replace(
        "def load_data(", f"def load_data(_ran=open({str(marker)!r}, 'w').close(), ", 1
    )
    assert planted != original
    script.write_text(planted, encoding="utf-8")
    try:
        reply = host.handle(
            {
                "op": "inspect_activations",
                "project": None,
                "run": str(run.path),
                "node": node_id(graph, "norm"),
                "checkpoint": None,
                "sample": {"kind": "data", "index": 3},
                "out_dir": str(tmp_path / "out"),
            }
        )
    finally:
        script.write_text(original, encoding="utf-8")
    assert reply["sample"]["label"] == "3" and not marker.exists()


def test_run_health_flags_a_layer_with_nan_weights(
    host: EngineHost, trained: tuple[RunFolder, ModelGraph], catalog: Catalog, tmp_path: Path
) -> None:
    run, graph = trained
    assert host.handle({"op": "run_health", "run": str(run.path)}) == {
        "flags": {},
        "messages": {},
        "epoch": 3,
    }
    copy = RunFolder(Path(shutil.copytree(run.path, tmp_path / "run")))
    _, last = copy.epoch_weights()[-1]
    model = build_model(graph, catalog)
    model.load_weights(last)
    kernel, bias = model.get_layer("digit").get_weights()
    kernel[0, :3] = np.nan
    model.get_layer("digit").set_weights([kernel, bias])
    model.save_weights(last)
    reply = host.handle({"op": "run_health", "run": str(copy.path)})
    digit = node_id(graph, "digit")
    assert reply["flags"] == {digit: [inspection.NAN_OR_INF]}
    assert reply["messages"][digit] == [
        "digit has NaN or infinite weights after epoch 3: kernel (3). Lower the learning rate, clip the "
        "gradients (clipnorm) or look for NaN in the data."
    ]
    weights = host.handle(
        {
            "op": "inspect_weights",
            "run": str(copy.path),
            "node": digit,
            "checkpoint": str(last),
            "out_dir": str(tmp_path),
        }
    )
    assert weights["variables"][0]["stats"]["nan_count"] == 3
    line = answer(host, json.dumps({"id": 7, "op": "run_health", "run": str(copy.path)}).encode())
    json.loads(line, parse_constant=lambda constant: pytest.fail(f"{constant} in the reply"))


def test_run_health_flags_exploding_gradients_from_the_records(
    host: EngineHost, trained: tuple[RunFolder, ModelGraph], tmp_path: Path
) -> None:
    run, graph = trained
    copy = RunFolder(Path(shutil.copytree(run.path, tmp_path / "run")))
    copy.append_event(
        {"type": "inspection", "epoch": 3, "gradient_norms": {"conv": "inf"}, "dead_relu": {"relu": 0.95}}
    )
    reply = host.handle({"op": "run_health", "run": str(copy.path)})
    assert reply["flags"] == {
        node_id(graph, "conv"): [inspection.EXPLODING_GRADIENTS],
        node_id(graph, "relu"): [inspection.MOSTLY_DEAD_RELU],
    }
    assert reply["messages"][node_id(graph, "relu")][0].startswith("95% of relu's ReLU units")


# ------------------------------------------------------------------ export
def test_exports_load_back_in_keras(
    host: EngineHost, trained: tuple[RunFolder, ModelGraph], catalog: Catalog, tmp_path: Path
) -> None:
    run, graph = trained
    request = {"op": "export", "run": str(run.path), "checkpoint": str(run.last_checkpoint)}
    trained_model = keras.saving.load_model(run.last_checkpoint, compile=False)
    weights = host.handle({**request, "format": "weights.h5", "path": str(tmp_path / "conv.weights.h5")})
    fresh = build_model(graph, catalog)
    fresh.load_weights(weights["path"])
    for mine, theirs in zip(fresh.get_weights(), trained_model.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)
    saved = host.handle({**request, "format": "keras", "path": str(tmp_path / "conv.keras")})
    x = np.random.default_rng(0).uniform(size=(2, 8, 8, 1)).astype("float32")
    reloaded = keras.saving.load_model(saved["path"], compile=False)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(reloaded(x)), keras.ops.convert_to_numpy(trained_model(x)), rtol=1e-5
    )
    arrays = host.handle(
        {**request, "format": "npz", "node": node_id(graph, "norm"), "path": str(tmp_path / "norm")}
    )
    assert arrays["path"] == str(tmp_path / "norm.npz")
    with np.load(arrays["path"]) as loaded:
        assert sorted(loaded) == ["beta", "gamma", "moving_mean", "moving_variance"]
        np.testing.assert_array_equal(
            loaded["moving_variance"], trained_model.get_layer("norm").get_weights()[3]
        )
    assert sorted(path.name for path in tmp_path.iterdir()) == ["conv.keras", "conv.weights.h5", "norm.npz"]


def test_a_refused_export_leaves_no_file(host: EngineHost, catalog: Catalog, tmp_path: Path) -> None:
    graph = dense_design(catalog)
    request = {"op": "export", "project": data_of(graph), "checkpoint": None}
    with pytest.raises(RequestError, match=r"Expected a file name ending in \.keras, received 'model\.h5'"):
        host.handle({**request, "format": "keras", "path": str(tmp_path / "model.h5")})
    with pytest.raises(RequestError, match=r"the folder .* does not exist"):
        host.handle({**request, "format": "keras", "path": str(tmp_path / "missing" / "model.keras")})
    with pytest.raises(RequestError, match=r"must be \"weights\.h5\", \"keras\" or \"npz\", got 'onnx'"):
        host.handle({**request, "format": "onnx", "path": str(tmp_path / "model.onnx")})
    assert list(tmp_path.iterdir()) == []
