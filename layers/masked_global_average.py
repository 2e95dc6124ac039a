"""`MaskedGlobalAverage`: a layer that consumes the mask of its input."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="designer_layers")
class MaskedGlobalAverage(keras.layers.Layer):
    """Averages a sequence over time, skipping the masked timesteps.

    Placed after an `Embedding(mask_zero=True)` or a `Masking` layer, the
    layer receives the mask as the `mask` argument of `call()` and averages
    only the timesteps where it is `True`, so padding does not dilute the
    mean. A sample with every timestep masked averages to zeros. The output
    has no time axis left to mask, so `compute_mask()` returns `None`: the
    layer consumes the mask rather than passing it on. Without a mask it
    averages every timestep.

    Args:
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: A 3D tensor.
        mask: Optional boolean tensor of shape `(batch_size, steps)`, `True`
            for the timesteps to keep. Keras passes it automatically.

    Input shape:
        3D tensor with shape `(batch_size, steps, features)`.

    Output shape:
        2D tensor with shape `(batch_size, features)`.

    Example:

    ```python
    tokens = keras.Input(shape=(None,), dtype="int32")
    embedded = keras.layers.Embedding(100, 8, mask_zero=True)(tokens)
    pooled = MaskedGlobalAverage()(embedded)  # ignores the 0 tokens
    model = keras.Model(tokens, pooled)
    model(np.array([[5, 7, 0, 0]]))  # the mean of the embeddings of 5 and 7
    ```
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(
                "MaskedGlobalAverage expected a 3D input (batch_size, steps, features), "
                f"received: input_shape={input_shape}"
            )

    def call(self, inputs, mask=None):
        if mask is None:
            return ops.mean(inputs, axis=1)
        weights = ops.expand_dims(ops.cast(mask, inputs.dtype), axis=-1)
        total = ops.sum(inputs * weights, axis=1)
        count = ops.sum(weights, axis=1)
        return ops.divide_no_nan(total, count)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])
