"""Training data as arrays: every data source kind of the training config, loaded and split.

The one importable loader of the designer: the engine (a sample's activations) and the
training worker (the arrays a run trains on) load data here. The generated train.py keeps
its own inline loader, so that it runs with nothing of the designer installed; a test holds
the two to the same arrays for every source kind. numpy-level: no Qt, no Keras (the sources
that need Keras reach it through a `KerasSide` their caller passes); scikit-learn is imported
only by an sklearn source.

- sources.py  the source kinds and their constants, the model's inputs and outputs as data needs them
- loading.py  load_source, split, prepare_data
"""

from designer.data.loading import KerasSide, TrainingData, load_source, prepare_data, split, take
from designer.data.sources import (
    DATA_SOURCE_KINDS,
    DEFAULT_BATCH_SIZE,
    DEFAULT_SEED,
    DEFAULT_SHUFFLE,
    DEFAULT_VALIDATION,
    KERAS_DATASETS,
    SEQUENCE_LENGTH,
    SKLEARN_DATASETS,
    UNKNOWN_DIMENSION,
    DataLayout,
    DataSettings,
    DataSourceError,
    ModelInput,
)

__all__ = [
    "DATA_SOURCE_KINDS",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_SEED",
    "DEFAULT_SHUFFLE",
    "DEFAULT_VALIDATION",
    "KERAS_DATASETS",
    "SEQUENCE_LENGTH",
    "SKLEARN_DATASETS",
    "UNKNOWN_DIMENSION",
    "DataLayout",
    "DataSettings",
    "DataSourceError",
    "KerasSide",
    "ModelInput",
    "TrainingData",
    "load_source",
    "prepare_data",
    "split",
    "take",
]
