"""`ComputeSum`: a layer with non-trainable state that it updates on every call."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="designer_layers")
class ComputeSum(keras.layers.Layer):
    """Running per-feature sum of every input the layer has seen.

    The layer owns one non-trainable weight, `total`, with one entry per
    feature. Each call adds the sum of its inputs over every axis but the
    last to `total` and returns the new value. The optimizer never touches
    `total`, but it is saved with the model and, being a weight, it can be
    read and reset with `get_weights()` / `set_weights()`.

    Args:
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Input shape:
        N-D tensor with shape `(batch_size, ..., features)`.

    Output shape:
        1-D tensor with shape `(features,)`: the running total, with no
        batch axis.

    Example:

    ```python
    layer = ComputeSum()
    layer(np.ones((2, 3)))  # [2., 2., 2.]
    layer(np.ones((2, 3)))  # [4., 4., 4.]
    ```
    """

    def build(self, input_shape):
        features = input_shape[-1]
        if features is None:
            raise ValueError(
                "ComputeSum expected the last axis of its input to be defined, "
                f"received: input_shape={input_shape}"
            )
        self.total = self.add_weight(shape=(features,), initializer="zeros", trainable=False, name="total")

    def call(self, inputs):
        batch_axes = tuple(range(len(inputs.shape) - 1))
        self.total.assign_add(ops.cast(ops.sum(inputs, axis=batch_axes), self.total.dtype))
        return ops.copy(self.total)

    def compute_output_shape(self, input_shape):
        return (input_shape[-1],)
