"""`KLDivergenceLoss`: adds a VAE's KL-divergence term with `add_loss()` and passes its inputs on."""

import keras
from keras import ops

from layers._validation import check_non_negative_float


@keras.saving.register_keras_serializable(package="designer_layers")
class KLDivergenceLoss(keras.layers.Layer):
    """Adds the KL divergence of a VAE's latent distribution to the loss.

    The layer takes the `z_mean` and `z_log_var` that a VAE encoder
    produces and adds `weight` times the Kullback-Leibler divergence between
    the Gaussian `N(z_mean, exp(z_log_var))` and the standard normal prior,
    summed over the latent axis and averaged over the batch:

    `-0.5 * mean(sum(1 + z_log_var - square(z_mean) - exp(z_log_var), axis=-1))`

    It returns its two inputs unchanged, so it can sit between the encoder
    and a `Sampling` layer; the reconstruction loss is left to `compile()`.

    Args:
        weight: Non-negative float, the factor applied to the KL term
            (the `beta` of a beta-VAE). Defaults to `1.0`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        z_mean: Tensor, the mean of the latent distribution.
        z_log_var: Tensor of the same shape, its log-variance.

    Input shape:
        `z_mean` and `z_log_var`: two tensors of the same shape, typically
        `(batch_size, latent_dim)`.

    Output shape:
        The two outputs `z_mean` and `z_log_var`, unchanged.

    Example:

    ```python
    encoded = keras.Input(shape=(8,))
    z_mean = keras.layers.Dense(2)(encoded)
    z_log_var = keras.layers.Dense(2)(encoded)
    z_mean, z_log_var = KLDivergenceLoss(weight=0.5)(z_mean, z_log_var)
    z = Sampling(seed=1)(z_mean, z_log_var)
    encoder = keras.Model(encoded, z)
    encoder(np.ones((4, 8)))
    encoder.losses  # [the weighted KL term]
    ```
    """

    def __init__(self, weight=1.0, **kwargs):
        super().__init__(**kwargs)
        self.weight = check_non_negative_float("KLDivergenceLoss", "weight", weight)

    def build(self, z_mean_shape, z_log_var_shape):
        _check_same_shape(z_mean_shape, z_log_var_shape)

    def call(self, z_mean, z_log_var):
        divergence = -0.5 * (1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
        self.add_loss(self.weight * ops.mean(ops.sum(divergence, axis=-1)))
        return z_mean, z_log_var

    def compute_output_shape(self, z_mean_shape, z_log_var_shape):
        _check_same_shape(z_mean_shape, z_log_var_shape)
        return z_mean_shape, z_log_var_shape

    def get_config(self):
        base_config = super().get_config()
        config = {"weight": self.weight}
        return {**base_config, **config}


def _check_same_shape(z_mean_shape, z_log_var_shape):
    """Raises unless `z_mean` and `z_log_var` have the same shape."""
    if tuple(z_mean_shape) != tuple(z_log_var_shape):
        raise ValueError(
            "KLDivergenceLoss expected `z_mean` and `z_log_var` of the same shape, "
            f"received: z_mean.shape={tuple(z_mean_shape)}, z_log_var.shape={tuple(z_log_var_shape)}"
        )
