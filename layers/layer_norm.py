"""`LayerNorm`: layer normalisation over the last axis, with learned `gamma` and `beta`."""

import keras
from keras import ops

from layers._validation import check_positive_float


@keras.saving.register_keras_serializable(package="designer_layers")
class LayerNorm(keras.layers.Layer):
    """Normalises each sample over its last axis, then scales and shifts it.

    For every position the layer subtracts the mean of the features and
    divides by their standard deviation, then applies the learned per-feature
    scale `gamma` (initialised to ones) and offset `beta` (initialised to
    zeros): `gamma * (x - mean) / sqrt(variance + epsilon) + beta`. Unlike
    batch normalisation it keeps no running statistics, so it behaves the
    same in training and inference. It is a from-scratch version of
    `keras.layers.LayerNormalization(axis=-1)`.

    Args:
        epsilon: Positive float added to the variance to avoid dividing by
            zero. Defaults to `1e-6`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Input shape:
        N-D tensor with shape `(batch_size, ..., features)`.

    Output shape:
        Same shape as the input.

    Example:

    ```python
    layer = LayerNorm()
    outputs = layer(np.array([[1.0, 2.0, 3.0]]))  # [[-1.2247, 0.0, 1.2247]]
    ```
    """

    def __init__(self, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = check_positive_float("LayerNorm", "epsilon", epsilon)
        self.supports_masking = True

    def build(self, input_shape):
        features = input_shape[-1]
        if features is None:
            raise ValueError(
                "LayerNorm expected the last axis of its input to be defined, "
                f"received: input_shape={input_shape}"
            )
        self.gamma = self.add_weight(shape=(features,), initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(features,), initializer="zeros", name="beta")

    def call(self, inputs):
        mean = ops.mean(inputs, axis=-1, keepdims=True)
        variance = ops.var(inputs, axis=-1, keepdims=True)
        normalized = (inputs - mean) * ops.rsqrt(variance + self.epsilon)
        return normalized * self.gamma + self.beta

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        base_config = super().get_config()
        config = {"epsilon": self.epsilon}
        return {**base_config, **config}
