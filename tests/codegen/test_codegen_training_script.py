"""The generated training script: clean source for every config, clear errors for
bad ones, and real runs (1 epoch, in a subprocess, from a temporary folder)."""

from __future__ import annotations

import ast
import copy
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from codegen_helpers import (
    GraphBuilder,
    chain_graph,
    custom_graph,
    import_module_from_source,
    multi_io_graph,
    write_custom_layers,
)

from designer.catalog.spec import Catalog
from designer.codegen import DEFAULT_TRAINING_CONFIG, CodegenError, export, generate_training_script
from designer.codegen.formatting import lint
from designer.graph.model import ModelGraph
from designer.training.config import TrainingConfig

ROOT = Path(__file__).resolve().parents[2]
CLASSIFY = {"losses": {"label": "sparse_categorical_crossentropy"}, "metrics": {"label": ["accuracy"]}}
TWO_HEADS = {
    "losses": {"label": "sparse_categorical_crossentropy", "score": "mse"},
    "loss_weights": {"label": 1.0, "score": 0.5},
    "metrics": {"label": ["accuracy"], "score": ["mae"]},
}


def table_graph(catalog: Catalog, features: int = 4, classes: int = 3) -> ModelGraph:
    b = GraphBuilder("table", catalog)
    x = b.input("features", [features])
    x = b.add("Dense", "hidden", [x], units=8, activation="relu")
    b.output(b.add("Dense", "label", [x], units=classes, activation="softmax"))
    return b.graph


def image_graph(catalog: Catalog) -> ModelGraph:
    b = GraphBuilder("images", catalog)
    x = b.input("image", [8, 8, 3])
    x = b.add("Flatten", "flatten", [x])
    b.output(b.add("Dense", "label", [x], units=2, activation="softmax"))
    return b.graph


def config_with(**changes: Any) -> dict[str, Any]:
    config = copy.deepcopy(DEFAULT_TRAINING_CONFIG)
    config.update(copy.deepcopy(CLASSIFY))
    config.update(changes)
    return config


# Exported code must run without the designer: the subprocess cannot import it.
WITHOUT_DESIGNER = "import sys\nsys.modules['designer'] = None\n"


def run_python(
    script: str, arguments: list[str], cwd: Path, timeout: int = 240
) -> subprocess.CompletedProcess[str]:
    """Run `script` (a file in cwd) as __main__ with `arguments`, PYTHONPATH = cwd only."""
    env = {**os.environ, "PYTHONPATH": str(cwd), "KERAS_BACKEND": "tensorflow"}
    code = f"{WITHOUT_DESIGNER}import runpy\nrunpy.run_path({script!r}, run_name='__main__')\n"
    result = subprocess.run(
        [sys.executable, "-c", code, *arguments],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    return result


def compact(source: str) -> str:
    """Source without whitespace and magic trailing commas: immune to how ruff wraps lines."""
    return re.sub(r",([)\]}])", r"\1", re.sub(r"\s+", "", source))


def write_export(folder: Path, files: dict[str, str]) -> None:
    for name, source in files.items():
        (folder / name).write_text(source, encoding="utf-8")


# ------------------------------------------------------------------- source
DATA_SOURCES: dict[str, dict[str, Any]] = {
    "sklearn": {"kind": "sklearn", "name": "iris"},
    "sklearn_digits": {"kind": "sklearn", "name": "digits", "reshape": {"features": [4, 16]}},
    "synthetic": {"kind": "synthetic", "task": "regression", "samples": 64, "seed": 3},
    "npz": {"kind": "npz", "path": "data.npz", "inputs": {"features": "x"}, "targets": {"label": "y"}},
    "npy": {"kind": "npy", "inputs": {"features": "x.npy"}, "targets": {"label": "y.npy"}},
    "csv": {
        "kind": "csv",
        "path": "data.csv",
        "features": ["a", "b", "c", "d"],
        "targets": {"label": "kind"},
    },
    "image_folder": {"kind": "image_folder", "path": "images", "image_size": [8, 8]},
    "keras_dataset": {"kind": "keras_dataset", "name": "mnist", "reshape": {"features": [784]}},
}


@pytest.mark.parametrize("kind", sorted(DATA_SOURCES))
def test_every_data_source_gives_clean_deterministic_code(catalog: Catalog, kind: str) -> None:
    graph = table_graph(catalog)
    config = config_with(data=DATA_SOURCES[kind])
    source = generate_training_script(graph, config)
    ast.parse(source)
    assert lint(source, local_modules=("model",)) == ""
    assert generate_training_script(graph.copy(), config) == source
    assert "from model import build_model" in source
    assert "def main(argv=None, callbacks=()):" in source
    assert 'if __name__ == "__main__":\n    main()\n' in source


def test_a_full_config_is_written_out(catalog: Catalog) -> None:
    config = config_with(
        optimizer={
            "name": "sgd",
            "learning_rate": 0.01,
            "momentum": 0.9,
            "schedule": {"name": "cosine_decay", "decay_steps": 100},
        },
        callbacks={
            "early_stopping": {"patience": 3, "restore_best_weights": True},
            "checkpoint": {"every_epoch": True, "best": True},
            "tensorboard": True,
            "csv_logger": True,
        },
        mixed_precision=True,
        jit_compile=True,
        distribution="mirrored",
    )
    source = generate_training_script(
        table_graph(catalog), config, model_module="table_model", style="subclassed"
    )
    assert lint(source, local_modules=("table_model",)) == ""
    for expected in (
        'os.environ["KERAS_BACKEND"] = "tensorflow"',
        "from table_model import build_model",
        "keras.optimizers.schedules.CosineDecay(initial_learning_rate=0.01, decay_steps=100)",
        "keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9)",
        'keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)',
        'every_epoch = str(checkpoints / "epoch_{epoch:03d}.keras")',
        'str(checkpoints / "best.keras"), monitor="val_loss", save_best_only=True',
        'keras.callbacks.TensorBoard(log_dir=str(output_dir / "logs"))',
        'keras.callbacks.CSVLogger(str(output_dir / "history.csv"))',
        'keras.config.set_dtype_policy("mixed_float16")',
        "jit_compile=True",
        "strategy = make_strategy()",
        'print(f"Replicas in sync: {strategy.num_replicas_in_sync}")',
        "    with strategy.scope():\n        model = build_model()\n        compile_model(model)\n",
    ):
        assert compact(expected) in compact(source), expected


@pytest.mark.parametrize("steps_key", ["decay_steps", "first_decay_steps"])
def test_cosine_decay_restarts_gets_its_first_decay_steps(catalog: Catalog, steps_key: str) -> None:
    """The form's one "decay steps" field is CosineDecayRestarts' first_decay_steps."""
    import keras

    schedule = {"name": "cosine_decay_restarts", steps_key: 50}
    config = config_with(optimizer={"name": "adam", "learning_rate": 0.01, "schedule": schedule})
    assert TrainingConfig.from_dict(config).problems() == []
    source = generate_training_script(table_graph(catalog), config)
    expected = (
        "keras.optimizers.schedules.CosineDecayRestarts(initial_learning_rate=0.01, first_decay_steps=50)"
    )
    assert compact(expected) in compact(source)
    statement = next(
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Assign) and "Restarts" in ast.unparse(node)
    )
    namespace: dict[str, object] = {"keras": keras}
    exec(ast.unparse(statement), namespace)  # the generated statement uses Keras' own argument names
    assert float(namespace["learning_rate"](50)) == pytest.approx(0.01)  # the first restart


def test_several_outputs_get_losses_weights_and_metrics_by_name(catalog: Catalog) -> None:
    config = config_with(**TWO_HEADS)
    source = generate_training_script(multi_io_graph(catalog), config)
    source = compact(source)
    assert compact('loss={"label": "sparse_categorical_crossentropy", "score": "mse"}') in source
    assert compact('loss_weights={"label": 1.0, "score": 0.5}') in source
    assert compact('metrics={"label": ["accuracy"], "score": ["mae"]}') in source
    assert compact('x = {"image": rng.standard_normal((samples, 8, 8, 1)).astype("float32"),') in source


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"losses": {}}, "one loss per model output .* missing: label"),
        ({"losses": {"label": "mse", "other": "mse"}}, "unknown: other"),
        ({"optimizer": {"name": "newton"}}, "Unknown optimizer 'newton'"),
        (
            {
                "optimizer": {"name": "adam", "schedule": {"name": "cosine_decay", "decay_steps": 10}},
                "callbacks": {"reduce_lr_on_plateau": {"patience": 1}},
            },
            "ReduceLROnPlateau cannot change a scheduled learning rate",
        ),
        (
            {"validation": None, "callbacks": {"early_stopping": {"monitor": "val_loss"}}},
            "EarlyStopping watches 'val_loss', but there is no validation data",
        ),
        ({"validation": {"split": 1.5}}, "fraction between 0 and 1"),
        ({"epochs": "ten"}, "'epochs' must be a whole number"),
        ({"distribution": "multi_worker"}, "Unknown distribution 'multi_worker'"),
        ({"data": {"kind": "parquet"}}, "Unknown data source kind 'parquet'"),
        (
            {"data": {"kind": "npz", "path": "d.npz", "inputs": {"other": "x"}}},
            "missing: features, unknown: other",
        ),
        ({"data": {"kind": "sklearn", "name": "mnist"}}, "Unknown scikit-learn data set 'mnist'"),
        ({"learning_rate": 0.1}, "Unknown training config key"),
    ],
)
def test_bad_configs_are_refused_with_a_clear_message(
    catalog: Catalog, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(CodegenError, match=message):
        generate_training_script(table_graph(catalog), config_with(**changes))


def test_without_validation_data_callbacks_watch_the_training_loss(catalog: Catalog) -> None:
    config = config_with(validation=None, callbacks={"early_stopping": {}, "checkpoint": {"best": True}})
    source = compact(generate_training_script(table_graph(catalog), config))
    assert compact('keras.callbacks.EarlyStopping(monitor="loss")') in source
    assert compact('monitor="loss", save_best_only=True') in source
    assert "validation_data" not in source
    assert compact("results = model.evaluate(x, y, batch_size=BATCH_SIZE, return_dict=True)") in source


def test_single_array_sources_refuse_models_with_several_inputs(catalog: Catalog) -> None:
    config = config_with(**TWO_HEADS, data={"kind": "sklearn", "name": "digits"})
    with pytest.raises(CodegenError, match="the model has 2 input"):
        generate_training_script(multi_io_graph(catalog), config)


# --------------------------------------------------------------------- runs
def test_functional_two_heads_train_from_the_command_line(catalog: Catalog, tmp_path: Path) -> None:
    config = config_with(
        losses={"label": "mse", "score": "mse"},
        loss_weights={"label": 1.0, "score": 0.5},
        metrics={"label": ["mae"], "score": ["mae"]},
        data={"kind": "synthetic", "task": "regression", "samples": 48, "seed": 1},
        batch_size=16,
        callbacks={
            "early_stopping": {"patience": 2},
            "reduce_lr_on_plateau": {"patience": 1, "factor": 0.5},
            "checkpoint": {"every_epoch": True, "best": True},
            "csv_logger": True,
        },
    )
    files = export(multi_io_graph(catalog), catalog, "functional", with_training=True, training_config=config)
    write_export(tmp_path, files)
    run_python("train.py", ["--epochs", "1", "--output-dir", "run"], tmp_path)
    written = {path.relative_to(tmp_path / "run").as_posix() for path in (tmp_path / "run").rglob("*")}
    assert {"model.keras", "history.csv", "checkpoints/best.keras", "checkpoints/epoch_001.keras"} <= written
    header = (tmp_path / "run" / "history.csv").read_text(encoding="utf-8").splitlines()[0]
    assert "val_label_mae" in header and "val_score_mae" in header


def test_subclassed_model_trains_on_digits_and_its_file_loads(catalog: Catalog, tmp_path: Path) -> None:
    config = config_with(
        optimizer={
            "name": "adamw",
            "learning_rate": 0.003,
            "schedule": {"name": "exponential_decay", "decay_steps": 10, "decay_rate": 0.9},
        },
        data={"kind": "sklearn", "name": "digits", "image": True},
        callbacks={"checkpoint": {"every_epoch": False, "best": False}, "csv_logger": False},
    )
    graph = chain_graph(catalog)
    files = export(graph, catalog, "subclassed", with_training=True, training_config=config)
    write_export(tmp_path, files)
    result = run_python("train.py", ["--epochs", "1", "--output-dir", "."], tmp_path)
    assert "Evaluation:" in result.stdout
    assert not (tmp_path / "checkpoints").exists()

    import keras
    import numpy as np

    import_module_from_source(files["model.py"], tmp_path, "digits_cnn_model")  # registers DigitsCnn
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert type(loaded).__name__ == "DigitsCnn"
    assert loaded.predict(np.zeros((2, 8, 8, 1), "float32"), verbose=0).shape == (2, 10)


def test_mirrored_strategy_uses_two_logical_cpus_and_extra_callbacks(
    catalog: Catalog, tmp_path: Path
) -> None:
    config = config_with(
        data={"kind": "synthetic", "task": "classification", "samples": 64, "classes": 3},
        distribution="mirrored",
        batch_size=16,
        callbacks={"checkpoint": {"every_epoch": False, "best": False}, "csv_logger": False},
    )
    write_export(tmp_path, export(table_graph(catalog), catalog, with_training=True, training_config=config))
    driver = textwrap.dedent(
        """
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
        )

        import keras
        import train

        epochs = []

        class Recorder(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                epochs.append(epoch)

        history = train.main(["--epochs", "2", "--output-dir", "run"], callbacks=[Recorder()])
        print("recorded epochs:", epochs, "history:", sorted(history.history))
        """
    )
    (tmp_path / "driver.py").write_text(driver, encoding="utf-8")
    result = run_python("driver.py", [], tmp_path)
    assert "Replicas in sync: 2" in result.stdout
    assert "recorded epochs: [0, 1]" in result.stdout
    assert (tmp_path / "run" / "model.keras").is_file()


def test_data_sources_and_custom_layers_train(
    catalog: Catalog, custom_catalog: Catalog, tmp_path: Path
) -> None:
    """npz (one and two inputs), npy, csv, an image folder, and a model with custom layers
    (imported from their module), each trained for one epoch by its own generated script,
    in one subprocess (TensorFlow imports once)."""
    table, images, two_heads = table_graph(catalog), image_graph(catalog), multi_io_graph(catalog)
    custom = custom_graph(custom_catalog)
    scripts = {
        "npz": (table, "table_model", DATA_SOURCES["npz"]),
        "npy": (table, "table_model", DATA_SOURCES["npy"]),
        "csv": (table, "table_model", DATA_SOURCES["csv"]),
        "images": (images, "images_model", {**DATA_SOURCES["image_folder"], "color_mode": "rgb"}),
        "two_heads_npz": (
            two_heads,
            "two_heads_model",
            {
                "kind": "npz",
                "path": "two_heads.npz",
                "inputs": {"image": "image", "meta": "meta"},
                "targets": {"label": "label", "score": "score"},
            },
        ),
        "custom": (custom, "custom_model", {"kind": "synthetic", "task": "regression", "samples": 32}),
    }
    losses = {
        "two_heads_npz": TWO_HEADS,
        "custom": {"losses": {"first": "mse", "second": "mse"}, "metrics": {}},
    }
    quiet = {"checkpoint": {"every_epoch": False, "best": False}, "csv_logger": False}
    for module, graph in {module: graph for graph, module, _ in scripts.values()}.items():
        write_export(tmp_path, {f"{module}.py": export(graph, custom_catalog)["model.py"]})
    write_custom_layers(tmp_path)
    for name, (graph, module, data) in scripts.items():
        config = config_with(**losses.get(name, {}), data=data, batch_size=8, callbacks=quiet)
        source = generate_training_script(graph, config, model_module=module)
        (tmp_path / f"train_{name}.py").write_text(source, encoding="utf-8")
    driver = textwrap.dedent(
        f"""
        import csv
        import importlib

        import numpy as np
        import tensorflow as tf

        rng = np.random.default_rng(0)
        x, y = rng.standard_normal((40, 4)).astype("float32"), rng.integers(0, 3, 40)
        np.savez("data.npz", x=x, y=y)
        np.save("x.npy", x)
        np.save("y.npy", y)
        with open("data.csv", "w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(["a", "b", "c", "d", "kind"])
            for row, label in zip(x, y):
                writer.writerow([*row, ["cat", "dog", "eel"][label]])
        for label in ("cats", "dogs"):
            for index in range(6):
                folder = f"images/{{label}}"
                tf.io.gfile.makedirs(folder)
                pixels = rng.integers(0, 255, (8, 8, 3)).astype("uint8")
                tf.io.write_file(f"{{folder}}/{{index}}.png", tf.io.encode_png(pixels))
        np.savez(
            "two_heads.npz",
            image=rng.standard_normal((24, 8, 8, 1)).astype("float32"),
            meta=rng.standard_normal((24, 4)).astype("float32"),
            label=rng.integers(0, 3, 24),
            score=rng.standard_normal((24, 1)).astype("float32"),
        )
        for name in {sorted(scripts)!r}:
            script = importlib.import_module(f"train_{{name}}")
            script.main(["--epochs", "1", "--output-dir", f"out_{{name}}"])
        """
    )
    (tmp_path / "driver.py").write_text(driver, encoding="utf-8")
    run_python("driver.py", [], tmp_path)
    for name in scripts:
        assert (tmp_path / f"out_{name}" / "model.keras").is_file(), name
