"""Keras' side of designer.data: the keras.datasets, sequence padding, image folders and the
model call that some data sources need. The engine and the training worker pass a `KerasData`
to designer.data's loaders, which import no Keras themselves."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from designer.data import DataSourceError
from designer.data.loading import Arrays, Pair


class KerasData:
    """designer.data.KerasSide with Keras itself; `model` answers what a synthetic regression
    source asks (the shapes of its outputs)."""

    def __init__(self, model: keras.Model | None = None) -> None:
        self.model = model

    def keras_dataset(self, name: str, num_words: int | None) -> tuple[Pair, Pair]:
        module = getattr(keras.datasets, name)
        if num_words is None:
            return module.load_data()
        return module.load_data(num_words=num_words)

    def pad_sequences(self, sequences: Any, maxlen: int) -> np.ndarray:
        return keras.utils.pad_sequences(sequences, maxlen=maxlen)

    def image_dataset(
        self,
        path: str,
        *,
        image_size: tuple[int, int],
        color_mode: str,
        batch_size: int,
        shuffle: bool,
        seed: int,
        validation_split: float | None,
    ) -> Any:
        split = {} if validation_split is None else {"validation_split": validation_split, "subset": "both"}
        return keras.utils.image_dataset_from_directory(
            path,
            image_size=image_size,
            color_mode=color_mode,
            batch_size=batch_size,
            shuffle=shuffle,
            seed=seed,
            **split,
        )

    def model_output_shapes(self, sample: Arrays) -> list[tuple[int, ...]]:
        if self.model is None:
            raise DataSourceError(
                "Synthetic regression targets take their shapes from the model: build it first."
            )
        return [tuple(output.shape) for output in keras.tree.flatten(self.model(sample))]
