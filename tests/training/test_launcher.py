"""`designer train` and the worker's command line: checks before the run, a line per epoch."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from training_helpers import EXAMPLES

from designer.catalog.spec import Catalog
from designer.graph import project
from designer.training.config import TrainingConfig
from designer.training.launcher import (
    ModelCheck,
    format_event,
    prepare_run,
    train_cli,
    visible_gpu_count,
    with_distribution,
    worker_command,
    worker_environment,
)
from designer.training.runs import list_runs

DIGIT_SHAPES = ModelCheck(output_shapes={"digit": (None, 10)})


def copy_example(tmp_path: Path, name: str, **training: object) -> Path:
    data = json.loads((EXAMPLES / f"{name}.json").read_text())
    data["training"].update(training)
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(data))
    return path


def project_of(path: Path, catalog: Catalog) -> project.Project:
    return project.load(path, catalog.ports_of)


def train(path: Path, catalog: Catalog, **options: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = train_cli(
        path, catalog=catalog, check_model=lambda graph: DIGIT_SHAPES, out=out, err=err, **options
    )
    return code, out.getvalue(), err.getvalue()


def test_the_worker_command_line() -> None:
    command = worker_command("runs/run_0001", resume=True, epochs=7, events_fd=5, python="python3")
    assert command[:5] == ["python3", "-P", "-m", "designer.training.worker", "runs/run_0001"]
    assert command[5:] == ["--resume", "--epochs", "7", "--events-fd", "5"]


def test_the_worker_environment_names_the_backend() -> None:
    environment = worker_environment("jax", base={"PATH": "/bin", "PYTHONPATH": "/mine"})
    assert environment["KERAS_BACKEND"] == "jax"
    assert environment["PYTHONPATH"].split(":")[1:] == ["/mine"]
    assert "KERAS_BACKEND" not in worker_environment(base={})


def test_data_that_does_not_fit_is_reported_before_any_run(tmp_path: Path, catalog: Catalog) -> None:
    path = copy_example(tmp_path, "digits_cnn")
    code, _, err = train(path, catalog, data="sklearn:digits")
    assert code == 1
    assert "input 'image' expects (None, 8, 8, 1); the data gives (1797, 64): reshape to (8, 8, 1)?" in err
    assert "--fix applies the suggested fixes" in err
    assert not (tmp_path / "digits_cnn.runs").exists()


def test_a_bad_config_is_a_usage_error(tmp_path: Path, catalog: Catalog) -> None:
    path = copy_example(tmp_path, "digits_mlp", epochs=0)
    code, _, err = train(path, catalog)
    assert code == 2
    assert "epochs: expected a whole number of at least 1, got 0" in err


def test_a_design_with_errors_does_not_train(tmp_path: Path, catalog: Catalog) -> None:
    out, err = io.StringIO(), io.StringIO()
    path = copy_example(tmp_path, "digits_mlp")
    code = train_cli(
        path,
        catalog=catalog,
        check_model=lambda graph: ModelCheck(["error [digit]: broken"]),
        out=out,
        err=err,
    )
    assert code == 1
    assert "error [digit]: broken" in err.getvalue()


def test_designer_train_fixes_the_data_and_prints_a_line_per_epoch(tmp_path: Path, catalog: Catalog) -> None:
    path = copy_example(tmp_path, "digits_cnn", epochs=5)
    code, out, err = train(path, catalog, epochs=2, data="sklearn:digits", fix=True)
    assert code == 0, err
    assert "fixed: input 'image' expects (None, 8, 8, 1)" in err
    lines = out.splitlines()
    assert lines[0] == f"digits_cnn: run folder {tmp_path / 'digits_cnn.runs' / 'run_0001'}"
    assert lines[1] == "training on CPU (tensorflow), 2 epochs"
    assert [line.split("  ")[0] for line in lines[2:4]] == ["epoch 1/2", "epoch 2/2"]
    assert " loss " in f" {lines[2]} " and "val_accuracy" in lines[2]
    assert lines[-1] == "finished after 2 epochs"
    [summary] = list_runs(tmp_path / "digits_cnn.runs")
    assert summary.status == "finished"
    assert summary.config["data"]["reshape"] == {"image": [8, 8, 1]}
    assert summary.config["epochs"] == 2


def test_format_event_lines() -> None:
    nan = {"type": "nan", "epoch": 0, "step": 3, "metric": "loss", "value": "nan"}
    assert format_event(nan) == "loss became nan at epoch 1, batch 4"
    assert format_event({"type": "stopped", "epochs": 2, "reason": "stop requested"}) == (
        "stopped after 2 epochs: stop requested"
    )
    assert format_event({"type": "batch"}) == ""
    epoch = {"type": "epoch", "epoch": 1, "logs": {"loss": 0.25}, "duration": 1.5, "partial": True}
    assert format_event(epoch, 4) == "epoch 2/4  loss 0.2500  (1.5 s, stopped inside it)"


def test_the_training_package_imports_neither_keras_nor_qt() -> None:
    code = (
        "import sys; import designer.training.launcher, designer.training.runs, designer.training.data; "
        "print(sorted(m for m in ('keras', 'tensorflow', 'PySide6') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_several_gpus_on_tensorflow_train_mirrored(tmp_path: Path, catalog: Catalog) -> None:
    loaded = project_of(copy_example(tmp_path, "digits_mlp"), catalog)
    config = TrainingConfig.from_dict(loaded.training)
    mirrored = prepare_run(
        loaded.graph, config, catalog, runs_root=tmp_path / "a", gpus=2, backend="tensorflow"
    )
    assert mirrored.config().distribution == "mirrored"
    assert "tf.distribute.MirroredStrategy" in mirrored.training_file.read_text()
    single = prepare_run(loaded.graph, config, catalog, runs_root=tmp_path / "b", gpus=1)
    assert single.config().distribution == "none"
    assert with_distribution(config, 4, "jax").distribution == "none"


def test_cuda_visible_devices_narrows_the_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert visible_gpu_count() == 0
