"""The headless commands: validate and summary, and clear errors for bad project files."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from designer.cli import run_command
from designer.graph import project

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_command(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def test_validate_an_example_exits_zero() -> None:
    code, out, _ = run("validate", str(EXAMPLES / "digits_cnn.json"))
    assert code == 0
    assert out.strip().endswith("0 error(s), 0 warning(s)")


def test_validate_reports_errors_with_node_and_hint_and_exits_one(tmp_path: Path) -> None:
    data = json.loads((EXAMPLES / "digits_cnn.json").read_text())
    pooling = next(n for n in data["nodes"] if n["type"] == "GlobalAveragePooling2D")
    pooling["type"] = "Identity"  # Dense is now fed a 4-D feature map
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    code, out, _ = run("validate", str(path))
    assert code == 1
    assert "error [digit]: digit (Dense) expects a rank-2 input (batch, features), got (None, 4, 4, 32)" in (
        out
    )
    assert "hint: Insert Flatten or GlobalAveragePooling2D before digit." in out


def test_summary_matches_keras_totals() -> None:
    code, out, _ = run("summary", str(EXAMPLES / "resnet_block.json"))
    assert code == 0
    assert 'Model: "resnet_block"' in out
    assert "block_add (Add)" in out and "(None, 8, 8, 16)" in out
    import keras

    from designer.engine.analysis import default_catalog, load_project
    from designer.engine.build import build_model

    catalog = default_catalog()
    model = build_model(load_project(EXAMPLES / "resnet_block.json", catalog).graph, catalog)
    assert f"Total params: {model.count_params():,}" in out
    frozen = sum(int(keras.ops.size(v)) for v in model.non_trainable_weights)
    assert f"Non-trainable params: {frozen:,}" in out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{not json", "$: not JSON"),
        ('{"format_version": 99}', "$.format_version: unsupported format_version 99"),
        (None, "$.nodes[1].type: unknown layer type 'Dens'"),
        ("[" * 100_000 + "]" * 100_000, "$: not JSON this designer reads: nested more than 100 levels"),
        ('{"nodes": [{"params": {"units": 1' + "0" * 400 + "}}]}", "$.nodes[0].params.units: an integer"),
        ('{"imported_specs": [{"key": "a", "class_name": "A", "module": "m", "category": "c"}]}', "params"),
    ],
)
@pytest.mark.parametrize("command", ["validate", "summary"])
def test_bad_project_files_print_one_line_and_exit_two(
    tmp_path: Path, text: str | None, expected: str, command: str
) -> None:
    path = tmp_path / "broken.json"
    if text is None:
        data = json.loads((EXAMPLES / "digits_mlp.json").read_text())
        data["nodes"][1]["type"] = "Dens"
        text = json.dumps(data)
    path.write_text(text)
    code, out, err = run(command, str(path))
    assert code == 2 and out == ""
    assert err.startswith("error: ") and expected in err and "Traceback" not in err
    assert str(path) in err and err.count("\n") == 1


def test_custom_layers_that_is_not_a_list_exits_two(tmp_path: Path) -> None:
    data = json.loads((EXAMPLES / "digits_mlp.json").read_text())
    data["custom_layers"] = 7
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(data))
    code, _, err = run("validate", str(path))
    assert (code, err) == (2, f"error: {path}: $.custom_layers: expected a list, got int\n")


def test_missing_file_is_reported_without_a_traceback(tmp_path: Path) -> None:
    code, _, err = run("summary", str(tmp_path / "nowhere.json"))
    assert code == 2 and "nowhere.json" in err


def test_the_installed_command_has_help_for_every_subcommand() -> None:
    executable = shutil.which("designer", path=str(Path(sys.executable).parent))
    assert executable is not None
    result = subprocess.run([executable, "--help"], capture_output=True, text=True, check=True)
    for command in ("validate", "summary"):
        assert command in result.stdout
    result = subprocess.run([executable, "validate", "--help"], capture_output=True, text=True, check=True)
    assert "project file" in result.stdout


def test_export_writes_ruff_clean_code_that_builds(tmp_path: Path) -> None:
    target = tmp_path / "model.py"
    code, out, _ = run(
        "export", str(EXAMPLES / "resnet_block.json"), "--style", "subclassed", "-o", str(target)
    )
    assert code == 0 and f"wrote {target}" in out
    namespace: dict = {"__name__": "exported"}
    exec(compile(target.read_text(), str(target), "exec"), namespace)
    assert namespace["build_model"]().count_params() > 0
    lint = subprocess.run(
        [str(Path(sys.executable).parent / "ruff"), "check", "--isolated", str(target)],
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout


def test_export_with_training_writes_both_files_into_a_folder(tmp_path: Path) -> None:
    code, _out, _ = run(
        "export", str(EXAMPLES / "digits_mlp.json"), "--with-training", "-o", str(tmp_path / "out")
    )
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["model.py", "train.py"]


def test_export_refuses_a_design_with_errors_and_lists_them(tmp_path: Path) -> None:
    data = json.loads((EXAMPLES / "digits_mlp.json").read_text())
    data["edges"] = data["edges"][1:]  # the first layer loses its input
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(data))
    code, out, _ = run("export", str(path), "-o", str(tmp_path / "model.py"))
    assert code == 1 and "export refused" in out and "error [hidden_1]" in out
    assert not (tmp_path / "model.py").exists()


def test_export_reports_names_renamed_for_python(tmp_path: Path) -> None:
    data = json.loads((EXAMPLES / "digits_mlp.json").read_text())
    data["nodes"][2]["name"] = "lambda_"
    data["nodes"][3]["name"] = "print"
    path = tmp_path / "names.json"
    path.write_text(json.dumps(data))
    code, out, _ = run("export", str(path), "-o", str(tmp_path / "model.py"))
    assert code == 0
    assert "renamed: print -> print_" in out
    assert 'name="print"' in (tmp_path / "model.py").read_text()


def test_custom_layer_code_runs_only_with_trust(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESIGNER_CONFIG_DIR", str(tmp_path / "config"))
    (tmp_path / "my_layers.py").write_text(
        "import keras\n\n\nclass Doubling(keras.layers.Layer):\n"
        "    def call(self, inputs):\n        return inputs * 2\n"
    )
    data = json.loads((EXAMPLES / "digits_mlp.json").read_text())
    data["custom_layers"] = ["my_layers.py"]
    hidden = next(n for n in data["nodes"] if n["name"] == "hidden_2")
    hidden.update(type="my_layers.Doubling", params={})
    path = tmp_path / "custom.json"
    path.write_text(json.dumps(data))
    code, _, err = run("validate", str(path))
    assert code == 2 and "$.custom_layers" in err and "--trust" in err and "my_layers.py" in err
    code, out, _ = run("validate", "--trust", str(path))
    assert code == 0, out
    code, out, _ = run("summary", str(path))  # trusted now: remembered by file hash
    assert code == 0 and "hidden_2 (my_layers.Doubling)" in out

    (tmp_path / "my_helper.py").write_text("FACTOR = 2\n")
    layers = tmp_path / "my_layers.py"
    layers.write_text("from my_helper import FACTOR\n" + layers.read_text())
    code, _, err = run("validate", str(path))  # it imports a module of its folder now: asked again
    assert code == 2 and f"my_layers.py (importing {(tmp_path / 'my_helper.py').resolve()})" in err


BUILDER = """
import keras

open({marker!r}, "w").close()


def build():
    inputs = keras.Input((2,), name="x")
    return keras.Model(inputs, keras.layers.Dense(1, name="y")(inputs))
"""


def test_import_runs_module_function_code_only_with_trust(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "builder ran"
    (tmp_path / "model.py").write_text(BUILDER.format(marker=str(marker)))
    (tmp_path / "model.py:build").write_text("not a model")  # a file, whatever its name
    monkeypatch.chdir(tmp_path)
    code, _, err = run("import", "model.py:build", "-o", "picked.json")
    assert code == 2 and "expected a .keras or .h5 model file" in err and not marker.exists()
    (tmp_path / "model.py").rename(tmp_path / "builder.py")
    code, _, err = run("import", f"{tmp_path / 'builder.py'}:build", "-o", "refused.json")
    assert code == 2 and "Pass --trust" in err and not marker.exists()
    code, _, _ = run("import", "--trust", f"{tmp_path / 'builder.py'}:build", "-o", "built.json")
    assert code == 0 and marker.exists() and (tmp_path / "built.json").exists()


def test_training_starts_from_the_imported_weights(tmp_path: Path) -> None:
    """A frozen layer keeps the imported model's weights through training; a layer added after
    the import starts fresh; --fresh ignores the imported weights."""
    import keras
    import numpy as np

    inputs = keras.Input((4,), name="features")
    hidden = keras.layers.Dense(3, activation="relu", name="frozen", trainable=False)(inputs)
    outputs = keras.layers.Dense(2, activation="softmax", name="head")(hidden)
    original = keras.Model(inputs, outputs, name="imported")
    original.save(tmp_path / "original.keras")
    frozen_kernel = original.get_layer("frozen").get_weights()[0]

    project_file = tmp_path / "imported.json"
    assert run("import", str(tmp_path / "original.keras"), "-o", str(project_file))[0] == 0
    data = json.loads(project_file.read_text())
    data["training"] = {
        "losses": {"head": "sparse_categorical_crossentropy"},
        "epochs": 1,
        "data": {"kind": "synthetic", "task": "classification", "samples": 64, "classes": 2, "seed": 0},
        "initial_weights": data["weights"],
    }
    project_file.write_text(json.dumps(data))

    code, out, err = run("train", str(project_file), "--run-dir", str(tmp_path / "run"))
    assert code == 0, err
    assert "Starting from the imported weights: 2 layer(s) loaded." in out
    assert "model.load_weights(INITIAL_WEIGHTS)" in (tmp_path / "run" / "train.py").read_text()
    trained = keras.saving.load_model(tmp_path / "run" / "model.keras")
    np.testing.assert_array_equal(trained.get_layer("frozen").get_weights()[0], frozen_kernel)

    code, out, err = run("train", str(project_file), "--fresh", "--run-dir", str(tmp_path / "fresh"))
    assert code == 0, err
    assert "imported weights" not in out
    fresh = keras.saving.load_model(tmp_path / "fresh" / "model.keras")
    assert not np.allclose(fresh.get_layer("frozen").get_weights()[0], frozen_kernel)


def _design_with_custom_layer(tmp_path: Path, layer_source: str, class_name: str) -> Path:
    """digits_mlp with hidden_2 replaced by `class_name` of my_layers.py (written from `layer_source`)."""
    (tmp_path / "my_layers.py").write_text(layer_source)
    data = json.loads((EXAMPLES / "digits_mlp.json").read_text())
    data["custom_layers"] = ["my_layers.py"]
    hidden = next(n for n in data["nodes"] if n["name"] == "hidden_2")
    hidden.update(type=f"my_layers.{class_name}", params={})
    path = tmp_path / "custom.json"
    path.write_text(json.dumps(data))
    return path


def test_an_error_in_a_custom_layer_names_its_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESIGNER_CONFIG_DIR", str(tmp_path / "config"))
    source = "import keras\n\n\nclass Dividing(keras.layers.Layer):\n    def call(self, inputs):\n"
    path = _design_with_custom_layer(tmp_path, source + "        return inputs * (1 / 0)\n", "Dividing")
    code, out, _ = run("validate", "--trust", str(path))
    assert code == 1
    expected = "hidden_2 (my_layers.Dividing): my_layers.py:6: ZeroDivisionError: division by zero"
    assert f"error [hidden_2]: {expected}" in out


LOOPING_LAYER = """import keras


class Looping(keras.layers.Layer):
    def call(self, inputs):
        while True:
            pass
"""

EXITING_LAYER = """import os

import keras


class Exiting(keras.layers.Layer):
    def call(self, inputs):
        os._exit(3)
"""


def test_a_custom_layer_that_never_returns_is_stopped_after_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESIGNER_CONFIG_DIR", str(tmp_path / "config"))
    path = _design_with_custom_layer(tmp_path, LOOPING_LAYER, "Looping")
    code, _, err = run("validate", "--trust", "--timeout", "2", str(path))
    assert code == 2
    assert "error: the custom layers in my_layers.py did not answer within 2 s" in err


def test_a_custom_layer_that_ends_the_process_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESIGNER_CONFIG_DIR", str(tmp_path / "config"))
    path = _design_with_custom_layer(tmp_path, EXITING_LAYER, "Exiting")
    code, _, err = run("validate", "--trust", str(path))
    assert code == 2
    assert "error: the custom layers in my_layers.py ended the process (exit code 3)" in err


def test_a_design_without_custom_layers_is_analysed_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_child(argv: object, timeout: float) -> None:
        raise AssertionError("no child process for a design without custom layers")

    monkeypatch.setattr("designer.cli.run_supervised", no_child)
    code, out, _ = run("validate", str(EXAMPLES / "digits_cnn.json"))
    assert code == 0, out


# ------------------------------------------------------- alias names (issue 14, item 6)
ALIASES = {
    "Conv2D": "Convolution2D",
    "MaxPooling2D": "MaxPool2D",
    "GlobalAveragePooling2D": "GlobalAvgPool2D",
}


def _aliased_cnn(tmp_path: Path) -> Path:
    """digits_cnn with its layer types written under the other names keras.layers exports."""
    data = json.loads((EXAMPLES / "digits_cnn.json").read_text())
    for node in data["nodes"]:
        node["type"] = ALIASES.get(node["type"], node["type"])
    path = tmp_path / "aliased.json"
    path.write_text(json.dumps(data))
    return path


def test_validate_and_export_accept_alias_types_and_write_the_class_names(tmp_path: Path) -> None:
    path = _aliased_cnn(tmp_path)
    code, out, _ = run("validate", str(path))
    assert code == 0 and out.strip().endswith("0 error(s), 0 warning(s)")
    code, _, _ = run("export", str(path), "-o", str(tmp_path / "model.py"))
    source = (tmp_path / "model.py").read_text()
    assert code == 0 and "layers.MaxPooling2D(" in source and "layers.Conv2D(" in source
    assert not any(alias in source for alias in ALIASES.values())


def test_an_opened_alias_project_is_saved_under_the_catalog_keys(tmp_path: Path) -> None:
    from designer.engine.analysis import open_project

    opened = open_project(_aliased_cnn(tmp_path))
    types = [node.type for node in opened.project.graph]
    assert "MaxPooling2D" in types and "Conv2D" in types
    project.save(tmp_path / "saved.json", opened.project)
    saved = json.loads((tmp_path / "saved.json").read_text())
    original = json.loads((EXAMPLES / "digits_cnn.json").read_text())
    assert [node["type"] for node in saved["nodes"]] == [node["type"] for node in original["nodes"]]


def test_import_of_a_config_naming_a_class_by_its_alias_saves_the_class_key(tmp_path: Path) -> None:
    import keras

    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, keras.layers.Flatten()(keras.layers.MaxPool2D()(inputs)))
    config = json.loads(model.to_json())
    pooling = next(layer for layer in config["config"]["layers"] if layer["class_name"] == "MaxPooling2D")
    pooling["class_name"] = "MaxPool2D"
    (tmp_path / "model.json").write_text(json.dumps(config))
    code, _, _ = run("import", str(tmp_path / "model.json"), "-o", str(tmp_path / "imported.json"))
    imported = json.loads((tmp_path / "imported.json").read_text())
    assert code == 0 and [node["type"] for node in imported["nodes"]] == ["Input", "MaxPooling2D", "Flatten"]


# ------------------------------------------- validation agrees with building (item 8)
def _dense_project(tmp_path: Path, **params: object) -> Path:
    data = json.loads((EXAMPLES / "digits_mlp.json").read_text())
    hidden = next(node for node in data["nodes"] if node["name"] == "hidden_1")
    hidden["params"].update(params)
    path = tmp_path / "dense.json"
    path.write_text(json.dumps(data))
    return path


def test_validate_refuses_a_layer_too_large_for_any_tensor(tmp_path: Path) -> None:
    code, out, _ = run("validate", str(_dense_project(tmp_path, units=2**62)))
    assert code == 1
    assert (
        "error [hidden_1]: hidden_1 (Dense) cannot be built: its weight `kernel` would have shape "
        f"(64, {2**62}), more than 2**63 - 1 numbers, which no tensor can hold." in out
    )
    assert "hint: Make `units` of hidden_1 smaller." in out


def test_validate_refuses_an_initializer_keras_refuses_when_building(tmp_path: Path) -> None:
    code, out, _ = run("validate", str(_dense_project(tmp_path, units=10, kernel_initializer="identity")))
    assert code == 0  # a 2-D kernel: Identity builds
    data = json.loads((EXAMPLES / "digits_cnn.json").read_text())
    conv = next(node for node in data["nodes"] if node["type"] == "Conv2D")
    conv["params"]["kernel_initializer"] = "identity"
    path = tmp_path / "conv.json"
    path.write_text(json.dumps(data))
    code, out, _ = run("validate", str(path))
    assert code == 1
    assert (
        f"error [{conv['name']}]: {conv['name']} (Conv2D) cannot be built: the initializer of its weight"
        in out
    )
    assert "Identity matrix initializer can only be used for 2D matrices" in out
    assert f"hint: Change `kernel_initializer` of {conv['name']} in the inspector." in out


# ------------------------------------------------ the training section (item 8)
def test_validate_checks_the_training_section_with_the_messages_of_train(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.loads((EXAMPLES / "digits_mlp.json").read_text())
    training = data["training"]
    training["optimizer"]["name"] = "adamm"
    training["losses"] = {"digit": "msee"}
    training["metrics"] = {"digit": ["acc"], "other": ["mae"]}
    training["epochs"], training["batch_size"] = 0, 2.5
    path = tmp_path / "training.json"
    path.write_text(json.dumps(data))
    code, out, _ = run("validate", str(path))
    assert code == 1 and out.strip().endswith("6 error(s), 0 warning(s)")
    reported = [line.removeprefix("error [training]: ") for line in out.splitlines() if "[training]" in line]
    capsys.readouterr()
    train_code, _, _ = run("train", str(path), "--run-dir", str(tmp_path / "run"))
    err = capsys.readouterr().err  # train writes its errors to sys.stderr
    assert train_code == 2 and not (tmp_path / "run").exists()
    assert reported == err.removeprefix("error: ").splitlines()
    assert "optimizer.name: unknown optimizer 'adamm'; did you mean 'adam'?" in reported
    assert "epochs: expected a whole number of at least 1, got 0" in reported


def test_validate_reports_an_unknown_training_key_as_train_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.loads((EXAMPLES / "digits_mlp.json").read_text())
    data["training"]["epoch"] = 5
    path = tmp_path / "training.json"
    path.write_text(json.dumps(data))
    code, out, _ = run("validate", str(path))
    capsys.readouterr()
    run("train", str(path), "--run-dir", str(tmp_path / "run"))
    err = capsys.readouterr().err
    assert code == 1
    assert f"error [training]: {err.removeprefix('error: ').strip()}" in out
    assert "training.epoch: unknown key" in out
