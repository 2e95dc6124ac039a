"""`ActivityRegularizationLoss`: a layer that adds a loss term with `add_loss()`."""

import keras
from keras import ops

from layers._validation import check_non_negative_float


@keras.saving.register_keras_serializable(package="designer_layers")
class ActivityRegularizationLoss(keras.layers.Layer):
    """Adds an L2 penalty on its inputs to the model's loss.

    On every call the layer adds `rate * sum(square(inputs))` with
    `add_loss()` and returns its inputs unchanged. Keras gathers such losses
    in `model.losses` and adds them to the compiled loss during `fit()` and
    `evaluate()`. It is named apart from the built-in
    `keras.layers.ActivityRegularization`, which does the same job through
    an `activity_regularizer`.

    Args:
        rate: Non-negative float, the weight of the penalty.
            Defaults to `1e-2`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Input shape:
        Arbitrary.

    Output shape:
        Same shape as the input.

    Example:

    ```python
    inputs = keras.Input(shape=(3,))
    outputs = ActivityRegularizationLoss(rate=0.1)(keras.layers.Dense(2)(inputs))
    model = keras.Model(inputs, outputs)
    model(np.ones((1, 3)))
    model.losses  # [0.1 * sum of the squared Dense outputs]
    ```
    """

    def __init__(self, rate=1e-2, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_non_negative_float("ActivityRegularizationLoss", "rate", rate)
        self.supports_masking = True

    def call(self, inputs):
        self.add_loss(self.rate * ops.sum(ops.square(inputs)))
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        base_config = super().get_config()
        config = {"rate": self.rate}
        return {**base_config, **config}
