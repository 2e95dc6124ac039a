"""TrainingConfig: the codegen schema both ways, checks that name the field, defaults per output."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from training_helpers import chain, load_example

from designer.codegen import DEFAULT_TRAINING_CONFIG, generate_training_script, resolve_config
from designer.training.config import (
    LOSSES,
    METRICS,
    CallbacksConfig,
    ConfigError,
    OptimizerConfig,
    TrainingConfig,
)

EXAMPLE_NAMES = ("digits_mlp", "digits_cnn", "resnet_block", "two_in_two_out")


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_the_examples_training_sections_round_trip_exactly(name: str) -> None:
    training = load_example(name).training
    config = TrainingConfig.from_dict(training)
    assert config.to_dict() == training
    assert TrainingConfig.from_dict(config.to_dict()) == config
    assert config.problems(load_example(name).graph) == []


def test_the_defaults_are_codegens_defaults() -> None:
    assert TrainingConfig().to_dict() == DEFAULT_TRAINING_CONFIG
    assert list(TrainingConfig().to_dict()) == list(DEFAULT_TRAINING_CONFIG)


def test_a_partial_config_reads_as_codegen_resolves_it() -> None:
    partial = {"epochs": 3, "optimizer": {"name": "sgd", "momentum": 0.9}, "callbacks": {"tensorboard": True}}
    assert TrainingConfig.from_dict(partial).to_dict() == resolve_config(partial)


def test_optimizer_arguments_and_schedule_survive_the_round_trip() -> None:
    optimizer = {
        "name": "sgd",
        "learning_rate": 0.1,
        "schedule": {"name": "cosine_decay", "decay_steps": 100},
        "momentum": 0.9,
        "nesterov": True,
    }
    config = TrainingConfig.from_dict({"optimizer": optimizer})
    assert config.optimizer == OptimizerConfig(
        "sgd", 0.1, {"name": "cosine_decay", "decay_steps": 100}, {"momentum": 0.9, "nesterov": True}
    )
    assert config.to_dict()["optimizer"] == optimizer
    assert config.problems() == []


def test_copy_is_deep() -> None:
    config = TrainingConfig(losses={"digit": "mse"})
    changed = config.copy(epochs=2)
    changed.losses["digit"] = "mae"
    assert (config.epochs, config.losses) == (10, {"digit": "mse"})


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"optimiser": {}}, "training.optimiser"),
        ({"callbacks": {"tensorbord": True}}, "callbacks.tensorbord"),
        ({"optimizer": "adam"}, "optimizer"),
    ],
)
def test_reading_refuses_unknown_keys_and_wrong_structure_naming_the_field(data: dict, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        TrainingConfig.from_dict(data)
    assert caught.value.problems[0].field == field
    assert str(caught.value).startswith(f"{field}: ")


PROBLEMS: list[tuple[dict[str, Any], str, str]] = [
    ({"epochs": 0}, "epochs", "expected a whole number of at least 1, got 0"),
    ({"batch_size": 2.5}, "batch_size", "expected a whole number of at least 1, got 2.5"),
    ({"seed": -1}, "seed", "at least 0"),
    ({"shuffle": "yes"}, "shuffle", "expected true or false"),
    ({"optimizer": {"name": "adamm"}}, "optimizer.name", "unknown optimizer 'adamm'; did you mean 'adam'?"),
    ({"optimizer": {"learning_rate": -1}}, "optimizer.learning_rate", "expected a positive number, got -1"),
    ({"optimizer": {"name": "sgd", "momentum": -0.5}}, "optimizer.momentum", "at least 0"),
    (
        {"optimizer": {"schedule": {"name": "cosine"}}},
        "optimizer.schedule.name",
        "unknown schedule 'cosine'; did you mean 'cosine_decay'?",
    ),
    (
        {"optimizer": {"schedule": {"name": "exponential_decay", "decay_steps": 0}}},
        "optimizer.schedule.decay_steps",
        "exponential_decay needs a whole number of at least 1, got 0",
    ),
    (
        {
            "optimizer": {"schedule": {"name": "cosine_decay", "decay_steps": 10}},
            "callbacks": {"reduce_lr_on_plateau": {"factor": 0.5}},
        },
        "optimizer.schedule",
        "ReduceLROnPlateau cannot change a scheduled learning rate",
    ),
    ({"losses": {"digit": "msee"}}, "losses.digit", "unknown loss 'msee'; did you mean 'mse'?"),
    ({"metrics": {"digit": ["acuracy"]}}, "metrics.digit", "did you mean 'accuracy'?"),
    ({"metrics": {"digit": "accuracy"}}, "metrics.digit", "expected a list of names, got a string"),
    ({"loss_weights": {"digit": -1}}, "loss_weights.digit", "expected a number of at least 0, got -1"),
    ({"validation": {"split": 1.5}}, "validation.split", "expected a fraction between 0 and 1, got 1.5"),
    ({"validation": {"fraction": 0.2}}, "validation", 'expected null, {"split": 0.2}'),
    (
        {"validation": None, "callbacks": {"early_stopping": {"monitor": "val_loss"}}},
        "callbacks.early_stopping.monitor",
        "watches 'val_loss', but there is no validation data",
    ),
    ({"callbacks": {"early_stopping": {"patience": -2}}}, "callbacks.early_stopping.patience", "at least 0"),
    (
        {"callbacks": {"reduce_lr_on_plateau": {"factor": 2}}},
        "callbacks.reduce_lr_on_plateau.factor",
        "between 0 and 1",
    ),
    ({"callbacks": {"checkpoint": {"often": True}}}, "callbacks.checkpoint", 'expected {"every_epoch": bool'),
    ({"distribution": "multi_worker"}, "distribution", "expected 'none' or 'mirrored', got 'multi_worker'"),
    ({"data": {"kind": "sklearn", "name": "digit"}}, "data.name", "did you mean 'digits'?"),
    ({"data": {"kind": "parquet"}}, "data.kind", "unknown data source kind 'parquet'"),
    ({"data": {"kind": "npz"}}, "data", "npz sources need 'path'"),
    ({"data": {"kind": "keras_dataset", "name": "mnistt"}}, "data.name", "did you mean 'mnist'?"),
    (
        {"data": {"kind": "synthetic", "task": "ranking"}},
        "data.task",
        "expected 'classification' or 'regression'",
    ),
    (
        {"data": {"kind": "sklearn", "name": "digits", "reshape": {"image": [8, 0]}}},
        "data.reshape.image",
        "expected a list of positive whole numbers",
    ),
    (
        {"validation": {"data": {"kind": "csv", "path": "a.csv", "targets": {"digit": "label"}}}},
        "validation.data",
        "csv sources need 'features'",
    ),
]


@pytest.mark.parametrize(("changes", "field", "fragment"), PROBLEMS)
def test_each_problem_names_its_field(changes: dict[str, Any], field: str, fragment: str) -> None:
    data = copy.deepcopy(load_example("digits_mlp").training)
    for key, value in changes.items():
        data[key] = {**data[key], **value} if key in ("optimizer", "callbacks") else value
    problems = TrainingConfig.from_dict(data).problems(load_example("digits_mlp").graph)
    assert [problem.field for problem in problems] == [field], problems
    assert fragment in problems[0].message


def test_losses_are_checked_against_the_models_outputs() -> None:
    graph = load_example("two_in_two_out").graph
    config = TrainingConfig(losses={"digit": "sparse_categorical_crossentropy", "sise": "mse"})
    messages = [str(problem) for problem in config.problems(graph)]
    assert "losses.sise: the model has no output 'sise' (its outputs: digit, size)" in messages
    assert "losses: the model's output 'size' has no loss" in messages


def test_check_raises_with_every_problem() -> None:
    with pytest.raises(ConfigError) as caught:
        TrainingConfig(epochs=0, batch_size=0).check()
    assert [problem.field for problem in caught.value.problems] == ["epochs", "batch_size"]


def test_callbacks_read_and_write_their_own_part() -> None:
    callbacks = CallbacksConfig.from_dict({"early_stopping": {"patience": 3}})
    assert callbacks.to_dict()["early_stopping"] == {"patience": 3}
    assert callbacks.to_dict()["checkpoint"] == {"every_epoch": False, "best": True}


# ------------------------------------------------------------------ defaults
def test_defaults_for_a_softmax_output_are_sparse_crossentropy_and_accuracy() -> None:
    config = TrainingConfig.for_graph(load_example("digits_cnn").graph)
    assert config.losses == {"digit": "sparse_categorical_crossentropy"}
    assert config.metrics == {"digit": ["accuracy"]}
    assert config.data == {
        "kind": "synthetic",
        "task": "classification",
        "samples": 256,
        "classes": 10,
        "seed": 0,
    }


def test_defaults_per_output_of_a_two_output_model() -> None:
    config = TrainingConfig.for_graph(load_example("two_in_two_out").graph)
    assert config.losses == {"digit": "sparse_categorical_crossentropy", "size": "mse"}
    assert config.metrics == {"digit": ["accuracy"], "size": ["mae"]}


@pytest.mark.parametrize(
    ("layer", "shape", "expected"),
    [
        (
            ("Dense", "out", {"units": 1, "activation": "sigmoid"}),
            None,
            ("binary_crossentropy", ["accuracy"]),
        ),
        (("Dense", "out", {"units": 3}), None, ("mse", ["mae"])),
        (("Dense", "out", {"units": 1, "activation": "softmax"}), None, ("mse", ["mae"])),
        (("Softmax", "out", {}), (None, 5), ("sparse_categorical_crossentropy", ["accuracy"])),
        (("Activation", "out", {"activation": "sigmoid"}), None, ("binary_crossentropy", ["accuracy"])),
    ],
)
def test_the_loss_guess_reads_the_last_activation_and_units(
    layer: tuple[str, str, dict], shape: tuple | None, expected: tuple[str, list[str]]
) -> None:
    graph = chain("guess", ("Input", "x", {"shape": [4]}), ("Dense", "hidden", {"units": 5}), layer)
    config = TrainingConfig.for_graph(graph, {"out": shape} if shape else None)
    assert (config.losses["out"], config.metrics["out"]) == expected
    assert config.problems(graph) == []


def test_regression_defaults_train_on_synthetic_regression_data() -> None:
    graph = chain("regression", ("Input", "x", {"shape": [4]}), ("Dense", "value", {"units": 1}))
    config = TrainingConfig.for_graph(graph)
    assert config.data == {"kind": "synthetic", "task": "regression", "samples": 256, "seed": 0}
    assert "def load_data(model):" in generate_training_script(graph, config.to_dict())


# ---------------------------------------------------------------- vs Keras
def test_every_loss_and_metric_name_offered_is_one_keras_accepts() -> None:
    import keras

    for name in LOSSES:
        keras.losses.get(name)
    for name in METRICS:
        keras.metrics.get(name)
