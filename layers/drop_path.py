"""`DropPath`: stochastic depth, a layer that behaves differently in training and inference."""

import keras
from keras import ops

from layers._validation import check_optional_seed, check_rate


@keras.saving.register_keras_serializable(package="designer_layers")
class DropPath(keras.layers.Layer):
    """Drops a residual branch for whole samples during training.

    Also known as stochastic depth. Applied to the output of a residual
    branch, just before it is added back to the shortcut, the layer zeroes
    the branch for a random fraction `rate` of the samples in the batch and
    scales the kept samples by `1 / (1 - rate)`, so the expected output is
    unchanged. Unlike `Dropout`, which drops single units, it drops the whole
    branch of a sample. At inference (`training=False`, the default outside
    `fit()`) the layer returns its inputs unchanged.

    Args:
        rate: Float in the range [0, 1), the probability of dropping the
            branch for a sample.
        seed: Optional integer, the seed of the random generator.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: Input tensor, of any rank of at least 1.
        training: Python boolean, whether to drop paths (training) or to
            return the inputs unchanged (inference).

    Input shape:
        Arbitrary, with the batch on the first axis.

    Output shape:
        Same shape as the input.

    Example:

    ```python
    layer = DropPath(rate=0.5, seed=1)
    branch = np.ones((4, 3))
    layer(branch, training=True)  # each row is all 0. or all 2.
    layer(branch, training=False)  # the input, unchanged
    ```
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_rate("DropPath", "rate", rate)
        self.seed = check_optional_seed("DropPath", seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed)
        self.supports_masking = True

    def call(self, inputs, training=False):
        if not training or self.rate == 0.0:
            return inputs
        # One draw per sample, broadcast over every other axis.
        noise_shape = (ops.shape(inputs)[0],) + (1,) * (len(inputs.shape) - 1)
        return keras.random.dropout(inputs, self.rate, noise_shape=noise_shape, seed=self.seed_generator)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        base_config = super().get_config()
        config = {"rate": self.rate, "seed": self.seed}
        return {**base_config, **config}
