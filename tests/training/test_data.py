"""Data sources: shapes as generated code gives them, misfits named exactly, fixes that work."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from training_helpers import chain, load_example

from designer.training.config import TrainingConfig
from designer.training.data import (
    UNNAMED,
    ArrayInfo,
    DataError,
    apply_fix,
    check_against_model,
    check_data,
    describe,
    inspect_data,
    resolve_config_paths,
    source_from_text,
    training_samples,
)

DIGIT_OUTPUT = {"digit": (None, 10)}
SPARSE = {"digit": "sparse_categorical_crossentropy"}


# ------------------------------------------------------------------ describe
@pytest.mark.parametrize(
    ("name", "image", "inputs", "targets", "dtype"),
    [
        ("digits", False, (1797, 64), (1797,), "int64"),
        ("digits", True, (1797, 8, 8, 1), (1797,), "int64"),
        ("iris", False, (150, 4), (150,), "int64"),
        ("wine", False, (178, 13), (178,), "int64"),
        ("breast_cancer", False, (569, 30), (569,), "int64"),
        ("diabetes", False, (442, 10), (442,), "float32"),
    ],
)
def test_each_sklearn_set_describes_with_its_shapes(
    name: str, image: bool, inputs: tuple, targets: tuple, dtype: str
) -> None:
    description = describe({"kind": "sklearn", "name": name, "image": image})
    assert description.inputs[UNNAMED].shape == inputs
    assert description.targets[UNNAMED].shape == targets
    assert description.targets[UNNAMED].dtype == dtype
    assert description.samples == inputs[0]


def test_digits_labels_are_the_class_indices_0_to_9() -> None:
    labels = describe({"kind": "sklearn", "name": "digits"}).targets[UNNAMED]
    assert (labels.integer_valued, labels.minimum, labels.maximum, labels.one_hot) == (True, 0, 9, False)


def test_synthetic_data_takes_its_shapes_from_the_model() -> None:
    graph = load_example("two_in_two_out").graph
    description = describe({"kind": "synthetic", "samples": 64, "classes": 10}, graph)
    assert {name: info.shape for name, info in description.inputs.items()} == {
        "image": (64, 8, 8, 1),
        "meta": (64, 4),
    }
    assert description.targets["digit"] == ArrayInfo((64,), "int64", True, 0, 9)
    with pytest.raises(DataError, match="takes its shapes from the model"):
        describe({"kind": "synthetic"})


def test_npz_arrays_are_chosen_per_input_and_output(tmp_path: Path) -> None:
    path = tmp_path / "data.npz"
    np.savez_compressed(
        path, images=np.zeros((20, 8, 8, 1), "float32"), extra=np.zeros(3), labels=np.arange(20) % 10
    )
    source = {
        "kind": "npz",
        "path": "data.npz",
        "inputs": {"image": "images"},
        "targets": {"digit": "labels"},
    }
    description = describe(source, base_dir=tmp_path)
    assert description.inputs == {"image": ArrayInfo((20, 8, 8, 1), "float32")}
    assert description.targets["digit"].maximum == 9
    assert set(description.arrays) == {"images", "extra", "labels"}
    assert (
        check_against_model(description, load_example("digits_cnn").graph, None, DIGIT_OUTPUT, SPARSE) == []
    )


def test_npz_without_mappings_reads_x_and_y(tmp_path: Path) -> None:
    np.savez(tmp_path / "xy.npz", x=np.ones((5, 64)), y=np.zeros(5))
    description = describe({"kind": "npz", "path": str(tmp_path / "xy.npz")})
    assert description.inputs[UNNAMED].shape == (5, 64)
    with pytest.raises(DataError, match=r"has no array 'pixels'; it has x, y\."):
        describe({"kind": "npz", "path": str(tmp_path / "xy.npz"), "inputs": {"pixels": "pixels"}})


def test_npy_files_per_input_and_output(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.ones((7, 4), "float32"))
    np.save(tmp_path / "y.npy", np.eye(3)[np.arange(7) % 3])
    source = {"kind": "npy", "inputs": {"x": "x.npy"}, "targets": {"species": "y.npy"}}
    description = describe(source, base_dir=tmp_path)
    assert description.inputs["x"].shape == (7, 4)
    assert description.targets["species"].one_hot
    with pytest.raises(DataError, match=r"missing\.npy: no such file"):
        describe({**source, "inputs": {"x": "missing.npy"}}, base_dir=tmp_path)


def write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(["age,height,species", *rows]) + "\n", encoding="utf-8")
    return path


def test_csv_features_and_a_text_label_column(tmp_path: Path) -> None:
    write_csv(tmp_path / "animals.csv", ["1,2.5,cat", "3,4,dog", "5,6,cat"])
    source = {
        "kind": "csv",
        "path": "animals.csv",
        "features": ["age", "height"],
        "targets": {"out": "species"},
    }
    description = describe(source, base_dir=tmp_path)
    assert description.inputs[UNNAMED].shape == (3, 2)
    assert description.targets["out"] == ArrayInfo((3,), "int64", True, 0, 1)
    assert description.classes == ("cat", "dog")
    assert description.columns == ("age", "height", "species")


def test_csv_errors_name_the_column_and_the_row(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "animals.csv", ["1,2.5,cat", "3,tall,dog"])
    source = {"kind": "csv", "path": str(path), "features": ["age", "height"], "targets": {"out": "species"}}
    with pytest.raises(DataError, match=r"row 3, column 'height': 'tall' is not a number"):
        describe(source)
    with pytest.raises(DataError, match=r"has no column 'weight'; its columns: age, height, species"):
        describe({**source, "features": ["weight"]})


def test_an_image_folder_is_listed_not_decoded(tmp_path: Path) -> None:
    for name, count in (("cats", 3), ("dogs", 2)):
        (tmp_path / "pets" / name).mkdir(parents=True)
        for index in range(count):
            (tmp_path / "pets" / name / f"{index}.PNG").write_bytes(b"")
    (tmp_path / "pets" / "dogs" / "notes.txt").write_text("not an image")
    source = {"kind": "image_folder", "path": "pets", "image_size": [32, 24], "color_mode": "grayscale"}
    description = describe(source, base_dir=tmp_path)
    assert description.inputs[UNNAMED].shape == (5, 32, 24, 1)
    assert description.classes == ("cats", "dogs")
    assert description.targets[UNNAMED].maximum == 1
    assert (
        training_samples(description, {"split": 0.2}) == 4
    )  # image_dataset_from_directory keeps 5 - int(1.0)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"no images found\. Expected one sub-folder per class"):
        describe({"kind": "image_folder", "path": "empty"}, base_dir=tmp_path)


def test_keras_datasets_offline_and_not_cached_say_so_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(DataError) as caught:
        describe({"kind": "keras_dataset", "name": "mnist"}, online=lambda: False)
    message = str(caught.value)
    assert "keras.datasets.mnist is not in the Keras cache" in message
    assert str(tmp_path / "datasets" / "mnist.npz") in message
    assert "cannot reach storage.googleapis.com" in message
    online = describe({"kind": "keras_dataset", "name": "mnist"}, online=lambda: True)
    assert online.inputs[UNNAMED].shape == (60000, 28, 28)
    assert "downloaded once" in online.notes[0]


def test_a_cached_keras_dataset_needs_no_network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (tmp_path / "datasets" / "cifar-10-batches-py-target").mkdir(parents=True)
    description = describe(
        {"kind": "keras_dataset", "name": "cifar10"}, online=lambda: pytest.fail("went online")
    )
    assert description.inputs[UNNAMED].shape == (50000, 32, 32, 3)
    assert description.targets[UNNAMED].shape == (50000, 1)
    assert description.notes == ()


def test_sequences_are_padded_to_the_input_length(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    graph = chain("reviews", ("Input", "words", {"shape": [120]}), ("Dense", "positive", {"units": 1}))
    description = describe({"kind": "keras_dataset", "name": "imdb"}, graph, online=lambda: True)
    assert description.inputs[UNNAMED].shape == (25000, 120)


def test_reshape_is_applied_and_checked() -> None:
    source = {"kind": "sklearn", "name": "digits", "reshape": {"image": [8, 8, 1]}}
    assert describe(source).inputs[UNNAMED].shape == (1797, 8, 8, 1)
    with pytest.raises(DataError, match=r"64 values per sample do not reshape to \(8, 8, 2\)"):
        describe({**source, "reshape": {"image": [8, 8, 2]}})


# --------------------------------------------------------------------- check
def test_the_cnn_fed_flat_digits_is_told_to_reshape() -> None:
    graph = load_example("digits_cnn").graph
    description = describe({"kind": "sklearn", "name": "digits"})
    [problem] = check_against_model(description, graph, None, DIGIT_OUTPUT, SPARSE)
    assert (
        problem.message
        == "input 'image' expects (None, 8, 8, 1); the data gives (1797, 64): reshape to (8, 8, 1)?"
    )
    assert (problem.where, problem.name, problem.fix) == ("input", "image", {"reshape": {"image": [8, 8, 1]}})
    assert (problem.expected, problem.got) == ((None, 8, 8, 1), (1797, 64))


def test_the_mlp_fed_digit_images_is_told_to_flatten() -> None:
    graph = load_example("digits_mlp").graph
    description = describe({"kind": "sklearn", "name": "digits", "image": True})
    [problem] = check_against_model(description, graph, None, DIGIT_OUTPUT, SPARSE)
    assert (
        problem.message
        == "input 'pixels' expects (None, 64); the data gives (1797, 8, 8, 1): reshape to (64,)?"
    )
    assert problem.fix == {"reshape": {"pixels": [64]}}


def test_a_fix_applied_leaves_no_problem() -> None:
    project = load_example("digits_cnn")
    config = TrainingConfig.from_dict(project.training).copy(data={"kind": "sklearn", "name": "digits"})
    [problem] = check_data(config, project.graph, DIGIT_OUTPUT)
    fixed = apply_fix(config, problem.fix)
    assert fixed.data == {"kind": "sklearn", "name": "digits", "reshape": {"image": [8, 8, 1]}}
    assert check_data(fixed, project.graph, DIGIT_OUTPUT) == []
    assert config.data == {"kind": "sklearn", "name": "digits"}  # the original is left alone


def test_elements_that_do_not_add_up_get_no_fix() -> None:
    graph = chain(
        "iris", ("Input", "x", {"shape": [5]}), ("Dense", "species", {"units": 3, "activation": "softmax"})
    )
    [problem] = check_against_model(describe({"kind": "sklearn", "name": "iris"}), graph)
    assert problem.message == "input 'x' expects (None, 5); the data gives (150, 4)."
    assert problem.fix is None


def test_integer_labels_fit_softmax_units_with_the_sparse_loss() -> None:
    graph = load_example("digits_mlp").graph
    description = describe({"kind": "sklearn", "name": "digits"})
    assert check_against_model(description, graph, None, DIGIT_OUTPUT, SPARSE) == []


def test_labels_beyond_the_units_are_named() -> None:
    graph = load_example("digits_mlp").graph
    description = describe({"kind": "sklearn", "name": "digits"})
    [problem] = check_against_model(description, graph, None, {"digit": (None, 3)}, SPARSE)
    assert problem.message == (
        "output 'digit' has 3 units, but the labels go from 0 to 9 (10 classes): give 'digit' 10 units."
    )


def test_synthetic_classes_beyond_the_units_are_fixed_in_the_source() -> None:
    project = load_example("digits_mlp")
    config = TrainingConfig.from_dict(project.training).copy(data={"kind": "synthetic", "classes": 12})
    [problem] = check_data(config, project.graph, DIGIT_OUTPUT)
    assert problem.fix == {"data": {"classes": 10}}
    assert check_data(apply_fix(config, problem.fix), project.graph, DIGIT_OUTPUT) == []


def one_hot_source(tmp_path: Path) -> dict:
    np.savez(tmp_path / "onehot.npz", x=np.zeros((30, 64), "float32"), y=np.eye(10)[np.arange(30) % 10])
    return {"kind": "npz", "path": str(tmp_path / "onehot.npz")}


def test_one_hot_targets_with_the_sparse_loss_suggest_categorical_crossentropy(tmp_path: Path) -> None:
    project = load_example("digits_mlp")
    config = TrainingConfig.from_dict(project.training).copy(data=one_hot_source(tmp_path))
    [problem] = check_data(config, project.graph, DIGIT_OUTPUT)
    assert "are one-hot: use categorical_crossentropy?" in problem.message
    fixed = apply_fix(config, problem.fix)
    assert fixed.losses == {"digit": "categorical_crossentropy"}
    assert check_data(fixed, project.graph, DIGIT_OUTPUT) == []


def test_class_indices_with_categorical_crossentropy_suggest_the_sparse_loss() -> None:
    project = load_example("digits_mlp")
    config = TrainingConfig.from_dict(project.training).copy(losses={"digit": "categorical_crossentropy"})
    [problem] = check_data(config, project.graph, DIGIT_OUTPUT)
    assert problem.message == (
        "output 'digit' uses categorical_crossentropy, which expects one-hot targets (None, 10), but the "
        "targets (1797,) are class indices: use sparse_categorical_crossentropy?"
    )
    assert apply_fix(config, problem.fix).losses == SPARSE


def test_binary_crossentropy_on_many_classes_is_refused() -> None:
    graph = chain(
        "binary", ("Input", "x", {"shape": [64]}), ("Dense", "out", {"units": 1, "activation": "sigmoid"})
    )
    description = describe({"kind": "sklearn", "name": "digits"})
    [problem] = check_against_model(
        description, graph, None, {"out": (None, 1)}, {"out": "binary_crossentropy"}
    )
    assert "expects targets between 0 and 1, but they go from 0 to 9" in problem.message


def test_regression_targets_must_match_the_output_shape() -> None:
    graph = chain("regression", ("Input", "x", {"shape": [10]}), ("Dense", "value", {"units": 1}))
    description = describe({"kind": "sklearn", "name": "diabetes"})
    assert check_against_model(description, graph, None, {"value": (None, 1)}, {"value": "mse"}) == []
    [problem] = check_against_model(description, graph, None, {"value": (None, 2)}, {"value": "mse"})
    assert problem.message == "output 'value' gives (None, 2); the targets are (442,)."


def test_one_array_for_a_model_of_two_inputs_is_refused() -> None:
    graph = load_example("two_in_two_out").graph
    problems = check_against_model(describe({"kind": "sklearn", "name": "digits"}), graph)
    assert problems[0].message == (
        "The model has 2 inputs (image, meta), but a sklearn source gives one input array: use an npz "
        "or npy source with one array per input."
    )


def test_names_without_data_and_data_without_names(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", a=np.zeros((4, 8, 8, 1)), b=np.zeros((5, 4)), y=np.zeros(4))
    source = {
        "kind": "npz",
        "path": str(tmp_path / "d.npz"),
        "inputs": {"image": "a", "metadata": "b"},
        "targets": {"digit": "y", "size": "y"},
    }
    problems = check_against_model(describe(source), load_example("two_in_two_out").graph)
    messages = [problem.message for problem in problems]
    assert "input 'meta' has no data." in messages
    assert "the data names input 'metadata', which the model does not have (image, meta)." in messages
    source["inputs"] = {"image": "a", "meta": "b"}
    [problem] = check_against_model(describe(source), load_example("two_in_two_out").graph)
    assert problem.message == (
        "the arrays disagree on the number of samples: input 'image' has 4, input 'meta' has 5, "
        "target 'digit' has 4, target 'size' has 4."
    )


def test_a_separate_validation_source_is_checked_and_fixed_there() -> None:
    project = load_example("digits_cnn")
    flat = {"kind": "sklearn", "name": "digits"}
    config = TrainingConfig.from_dict(project.training).copy(validation={"data": flat})
    [problem] = check_data(config, project.graph, DIGIT_OUTPUT)
    assert problem.message.startswith("validation data: input 'image' expects (None, 8, 8, 1)")
    fixed = apply_fix(config, problem.fix)
    assert fixed.validation == {"data": {**flat, "reshape": {"image": [8, 8, 1]}}}
    assert fixed.data == config.data


def test_read_errors_become_problems_before_any_run(tmp_path: Path) -> None:
    project = load_example("digits_mlp")
    config = TrainingConfig.from_dict(project.training).copy(
        data={"kind": "npz", "path": str(tmp_path / "no.npz")}
    )
    report = inspect_data(config, project.graph)
    assert [problem.message for problem in report.problems] == [f"{tmp_path / 'no.npz'}: no such file."]


def test_training_samples_follow_the_generated_split() -> None:
    description = describe({"kind": "sklearn", "name": "digits"})
    assert training_samples(description, {"split": 0.2}) == 1797 - round(1797 * 0.2)
    assert training_samples(description, None) == 1797


# ------------------------------------------------------------- paths, text
def test_relative_paths_are_made_absolute_for_the_run(tmp_path: Path) -> None:
    config = TrainingConfig(
        data={"kind": "npy", "inputs": {"x": "x.npy"}, "targets": {"y": "sub/y.npy"}},
        validation={"data": {"kind": "csv", "path": "v.csv", "features": ["a"], "targets": {"y": "b"}}},
    )
    resolved = resolve_config_paths(config, tmp_path)
    assert resolved.data["inputs"] == {"x": str(tmp_path.resolve() / "x.npy")}
    assert resolved.data["targets"] == {"y": str(tmp_path.resolve() / "sub" / "y.npy")}
    assert resolved.validation["data"]["path"] == str(tmp_path.resolve() / "v.csv")


def test_data_from_the_command_line(tmp_path: Path) -> None:
    graph = load_example("digits_mlp").graph
    assert source_from_text("sklearn:digits:image", graph) == {
        "kind": "sklearn",
        "name": "digits",
        "image": True,
    }
    assert source_from_text("keras:mnist", graph) == {"kind": "keras_dataset", "name": "mnist"}
    assert source_from_text("synthetic:regression", graph)["task"] == "regression"
    assert source_from_text(json.dumps({"kind": "npz", "path": "a.npz"}), graph) == {
        "kind": "npz",
        "path": "a.npz",
    }
    write_csv(tmp_path / "table.csv", ["1,2,cat"])
    assert source_from_text("table.csv", graph, tmp_path) == {
        "kind": "csv",
        "path": str(tmp_path / "table.csv"),
        "features": ["age", "height"],
        "targets": {"digit": "species"},
    }
    with pytest.raises(DataError, match="expected JSON, sklearn:NAME"):
        source_from_text("data.parquet", graph, tmp_path)


# ------------------------------------------------- damaged values and empty data
def digits_npz(tmp_path: Path, labels: np.ndarray, features: np.ndarray | None = None) -> dict:
    count = len(labels)
    features = features if features is not None else np.zeros((count, 64), dtype="float32")
    np.savez(tmp_path / "digits.npz", x=features, y=labels)
    return {"kind": "npz", "path": str(tmp_path / "digits.npz")}


def sparse_problems(source: dict) -> list[str]:
    graph = load_example("digits_mlp").graph
    return [p.message for p in check_against_model(describe(source), graph, None, DIGIT_OUTPUT, SPARSE)]


def test_a_negative_label_is_named_as_such_not_as_too_few_units(tmp_path: Path) -> None:
    labels = np.array([-1, 0, 3, 9], dtype="int64")
    assert sparse_problems(digits_npz(tmp_path, labels)) == [
        "output 'digit' expects class indices from 0 to 9, but the labels go down to -1: "
        "relabel or drop the negative ones."
    ]


def test_labels_that_are_not_whole_numbers_say_so(tmp_path: Path) -> None:
    labels = np.array([0.0, 0.5, 3.0], dtype="float32")
    assert sparse_problems(digits_npz(tmp_path, labels)) == [
        "output 'digit' uses sparse_categorical_crossentropy, which expects whole class indices, "
        "but the labels are not whole numbers (they go from 0 to 3)."
    ]


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_nan_or_infinite_labels_are_named(tmp_path: Path, bad: float) -> None:
    labels = np.array([0.0, bad, 3.0], dtype="float32")
    what = "NaN" if np.isnan(bad) else "infinite"
    assert sparse_problems(digits_npz(tmp_path, labels)) == [
        f"the targets of output 'digit' hold NaN or infinite values: y has 1 {what} value (first at [1]); "
        "the losses would be NaN."
    ]


def test_nan_and_infinite_npz_features_are_counted_with_the_first_position(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("designer.training.data.SCAN_CHUNK_VALUES", 7)  # positions across chunks
    features = np.zeros((20, 64), dtype="float32")
    features[12, 5] = features[12, 6] = features[15, 0] = np.nan
    features[3, 2] = -np.inf
    labels = np.zeros((20,), dtype="int64")
    assert sparse_problems(digits_npz(tmp_path, labels, features)) == [
        "input 'pixels': x has 3 NaN values (first at [12, 5]) and 1 infinite value (first at [3, 2]); "
        "the losses would be NaN. Fill in or drop the missing values."
    ]


def test_nan_in_npy_arrays_is_found_in_fortran_order_too(tmp_path: Path) -> None:
    features = np.asfortranarray(np.zeros((20, 64), dtype="float64"))
    features[12, 5] = features[0, 9] = np.nan
    labels = np.zeros((20,), dtype="float32")
    labels[[4, 7]] = np.inf
    np.save(tmp_path / "features.npy", features)
    np.save(tmp_path / "labels.npy", labels)
    source = {
        "kind": "npy",
        "inputs": {"pixels": str(tmp_path / "features.npy")},
        "targets": {"digit": str(tmp_path / "labels.npy")},
    }
    assert sparse_problems(source) == [
        "input 'pixels': features.npy has 2 NaN values (first at [0, 9]); the losses would be NaN. "
        "Fill in or drop the missing values.",
        "the targets of output 'digit' hold NaN or infinite values: labels.npy has 2 infinite values "
        "(first at [4]); the losses would be NaN.",
    ]


def test_empty_arrays_say_there_are_no_samples(tmp_path: Path) -> None:
    source = digits_npz(tmp_path, np.zeros((0,), dtype="int64"), np.zeros((0, 64), dtype="float32"))
    assert sparse_problems(source) == ["the npz source has no samples."]


def test_a_csv_with_a_header_only_says_it_has_no_rows(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "animals.csv", [])
    source = {"kind": "csv", "path": str(path), "features": ["age", "height"], "targets": {"out": "species"}}
    with pytest.raises(DataError, match=r"animals\.csv has no rows of data under its header\.$"):
        describe(source)


@pytest.mark.parametrize("cell", ["nan", "inf", "-Infinity"])
def test_a_nan_or_infinite_feature_cell_names_its_row_and_column(tmp_path: Path, cell: str) -> None:
    path = write_csv(tmp_path / "animals.csv", ["1,2.5,cat", f"3,{cell},dog"])
    source = {"kind": "csv", "path": str(path), "features": ["age", "height"], "targets": {"out": "species"}}
    with pytest.raises(DataError, match=rf"row 3, column 'height': '{cell}' is not a finite number"):
        describe(source)
