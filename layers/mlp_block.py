"""`MLPBlock`: a layer made of other layers, created in `__init__` and built in `build()`."""

import keras

from layers._validation import check_positive_integer


@keras.saving.register_keras_serializable(package="designer_layers")
class MLPBlock(keras.layers.Layer):
    """Stack of `Dense` layers wrapped as one layer.

    The block shows how to nest layers in a layer: the `Dense` sub-layers are
    created in `__init__` (their sizes are known from the arguments), and
    `build()` builds each of them in turn from the shape the one before it
    produces. Keras tracks layers assigned to attributes, also inside lists,
    so their weights belong to the block and are saved with it.

    Args:
        units: Sequence of positive integers, the width of each hidden layer.
            Defaults to `(32, 32)`.
        output_units: Positive integer, the width of the final layer, which
            has no activation. Defaults to `1`.
        activation: Activation function of the hidden layers, as a name or a
            callable. Defaults to `"relu"`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Input shape:
        N-D tensor with shape `(batch_size, ..., input_dim)`.

    Output shape:
        N-D tensor with shape `(batch_size, ..., output_units)`.

    Example:

    ```python
    block = MLPBlock(units=(16, 8), output_units=2)
    outputs = block(np.ones((4, 3)))  # shape (4, 2)
    len(block.trainable_weights)  # 6: a kernel and a bias per Dense layer
    ```
    """

    def __init__(self, units=(32, 32), output_units=1, activation="relu", **kwargs):
        super().__init__(**kwargs)
        if isinstance(units, str) or not isinstance(units, (list, tuple)):
            raise ValueError(
                f"MLPBlock expected a sequence of positive integers for `units`, received: units={units!r}"
            )
        self.units = tuple(check_positive_integer("MLPBlock", "units", width) for width in units)
        self.output_units = check_positive_integer("MLPBlock", "output_units", output_units)
        self.activation = keras.activations.get(activation)
        self.hidden_layers = [
            keras.layers.Dense(width, activation=self.activation, name=f"hidden_{index}")
            for index, width in enumerate(self.units)
        ]
        self.output_layer = keras.layers.Dense(self.output_units, name="output")

    def build(self, input_shape):
        shape = input_shape
        for layer in self.hidden_layers:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.output_layer.build(shape)

    def call(self, inputs):
        hidden = inputs
        for layer in self.hidden_layers:
            hidden = layer(hidden)
        return self.output_layer(hidden)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.output_units)

    def get_config(self):
        base_config = super().get_config()
        config = {
            "units": list(self.units),
            "output_units": self.output_units,
            "activation": keras.activations.serialize(self.activation),
        }
        return {**base_config, **config}
