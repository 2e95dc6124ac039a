"""`Linear`: a dense layer whose weights are created in `build()` from the input shape."""

import keras
from keras import ops

from layers._validation import check_positive_integer


@keras.saving.register_keras_serializable(package="designer_layers")
class Linear(keras.layers.Layer):
    """Fully connected layer whose weights are created from the input shape.

    `Linear` computes `outputs = inputs @ w + b`. The width of the input is
    not needed when the layer is made: `build()` reads it from the last axis
    of the first input the layer sees and creates `w` and `b` then, which is
    the usual way for a Keras layer to defer its weight creation.

    Args:
        units: Positive integer, dimensionality of the output space.
        kernel_initializer: Initializer for the `w` weight matrix.
            Defaults to `"glorot_uniform"`.
        bias_initializer: Initializer for the `b` bias vector.
            Defaults to `"zeros"`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Input shape:
        N-D tensor with shape `(batch_size, ..., input_dim)`.

    Output shape:
        N-D tensor with shape `(batch_size, ..., units)`.

    Example:

    ```python
    layer = Linear(4)
    outputs = layer(np.ones((2, 3)))  # shape (2, 4)
    [tuple(weight.shape) for weight in layer.weights]  # [(3, 4), (4,)]
    ```
    """

    def __init__(self, units, kernel_initializer="glorot_uniform", bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.units = check_positive_integer("Linear", "units", units)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                "Linear expected the last axis of its input to be defined, "
                f"received: input_shape={input_shape}"
            )
        self.w = self.add_weight(shape=(input_dim, self.units), initializer=self.kernel_initializer, name="w")
        self.b = self.add_weight(shape=(self.units,), initializer=self.bias_initializer, name="b")

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        base_config = super().get_config()
        config = {
            "units": self.units,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }
        return {**base_config, **config}
