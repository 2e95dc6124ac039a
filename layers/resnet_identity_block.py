"""`ResNetIdentityBlock`: a bottleneck residual block of nested layers that passes `training` on."""

import keras
from keras import ops

from layers._validation import check_positive_integer


@keras.saving.register_keras_serializable(package="designer_layers")
class ResNetIdentityBlock(keras.layers.Layer):
    """Bottleneck residual block whose shortcut is the identity.

    The main branch is a 1x1 convolution to `filters` channels, a
    `kernel_size` x `kernel_size` convolution with "same" padding, and a 1x1
    convolution back to the number of input channels, each followed by batch
    normalisation and, for the first two, a ReLU. The branch is added to the
    input and the sum goes through a final ReLU, so the output has the shape
    of the input. Convolutions have no bias, since the batch normalisation
    that follows each one has its own offset.

    The sub-layers whose sizes follow from the arguments are created in
    `__init__`; the last convolution, whose size is the number of input
    channels, is created in `build()`, which then builds every sub-layer.
    `call()` passes `training` to the batch normalisation layers, so they use
    the batch statistics in training and their moving averages in inference.

    Args:
        filters: Positive integer, the number of channels inside the block.
        kernel_size: Positive integer, the height and width of the middle
            convolution window. Defaults to `3`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: A 4D tensor, channels last.
        training: Python boolean, whether the block runs in training mode
            (batch statistics) or inference mode (moving averages).

    Input shape:
        4D tensor with shape `(batch_size, height, width, channels)`.

    Output shape:
        Same shape as the input.

    Example:

    ```python
    block = ResNetIdentityBlock(filters=4)
    outputs = block(np.ones((2, 8, 8, 16)))  # shape (2, 8, 8, 16)
    ```
    """

    def __init__(self, filters, kernel_size=3, **kwargs):
        super().__init__(**kwargs)
        self.filters = check_positive_integer("ResNetIdentityBlock", "filters", filters)
        self.kernel_size = check_positive_integer("ResNetIdentityBlock", "kernel_size", kernel_size)
        self.reduce_conv = keras.layers.Conv2D(self.filters, 1, use_bias=False, name="reduce_conv")
        self.reduce_norm = keras.layers.BatchNormalization(name="reduce_norm")
        self.spatial_conv = keras.layers.Conv2D(
            self.filters, self.kernel_size, padding="same", use_bias=False, name="spatial_conv"
        )
        self.spatial_norm = keras.layers.BatchNormalization(name="spatial_norm")
        self.expand_conv = None
        self.expand_norm = keras.layers.BatchNormalization(name="expand_norm")

    def build(self, input_shape):
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise ValueError(
                "ResNetIdentityBlock expected a 4D input (batch_size, height, width, channels) with a "
                f"defined number of channels, received: input_shape={input_shape}"
            )
        self.expand_conv = keras.layers.Conv2D(input_shape[-1], 1, use_bias=False, name="expand_conv")
        shape = input_shape
        for layer in self._branch_layers():
            layer.build(shape)
            shape = layer.compute_output_shape(shape)

    def call(self, inputs, training=None):
        hidden = ops.relu(self.reduce_norm(self.reduce_conv(inputs), training=training))
        hidden = ops.relu(self.spatial_norm(self.spatial_conv(hidden), training=training))
        hidden = self.expand_norm(self.expand_conv(hidden), training=training)
        return ops.relu(hidden + inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        base_config = super().get_config()
        config = {"filters": self.filters, "kernel_size": self.kernel_size}
        return {**base_config, **config}

    def _branch_layers(self):
        return (
            self.reduce_conv,
            self.reduce_norm,
            self.spatial_conv,
            self.spatial_norm,
            self.expand_conv,
            self.expand_norm,
        )
