"""`Sampling`: the reparameterisation step of a variational autoencoder."""

import keras
from keras import ops

from layers._validation import check_optional_seed


@keras.saving.register_keras_serializable(package="designer_layers")
class Sampling(keras.layers.Layer):
    """Draws `z` from the Gaussian described by `z_mean` and `z_log_var`.

    The layer returns `z_mean + exp(0.5 * z_log_var) * epsilon` with
    `epsilon` drawn from a standard normal distribution. Writing the sample
    this way (the reparameterisation trick) keeps it differentiable with
    respect to `z_mean` and `z_log_var`. The noise comes from a
    `keras.random.SeedGenerator`, whose state the layer owns, so results are
    reproducible for a given `seed` on every backend and inside compiled
    functions. The layer samples in training and in inference alike.

    Args:
        seed: Optional integer, the seed of the random generator.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        z_mean: Tensor, the mean of the distribution.
        z_log_var: Tensor of the same shape, the log-variance of the
            distribution.

    Input shape:
        `z_mean` and `z_log_var`: N-D tensors of the same shape, typically
        `(batch_size, latent_dim)`.

    Output shape:
        Same shape as `z_mean`.

    Example:

    ```python
    z_mean = np.zeros((4, 2))
    z_log_var = np.zeros((4, 2))
    z = Sampling(seed=1)(z_mean, z_log_var)  # shape (4, 2), draws from N(0, 1)
    ```
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = check_optional_seed("Sampling", seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed)

    def call(self, z_mean, z_log_var):
        epsilon = keras.random.normal(ops.shape(z_mean), dtype=self.compute_dtype, seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon

    def compute_output_shape(self, z_mean_shape, z_log_var_shape):
        if tuple(z_mean_shape) != tuple(z_log_var_shape):
            raise ValueError(
                "Sampling expected `z_mean` and `z_log_var` of the same shape, "
                f"received: z_mean.shape={tuple(z_mean_shape)}, z_log_var.shape={tuple(z_log_var_shape)}"
            )
        return z_mean_shape

    def get_config(self):
        base_config = super().get_config()
        config = {"seed": self.seed}
        return {**base_config, **config}
