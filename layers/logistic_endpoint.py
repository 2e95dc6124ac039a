"""`LogisticEndpoint`: an output layer that adds its own loss and tracks its own metric."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="designer_layers")
class LogisticEndpoint(keras.layers.Layer):
    """Binary classification head that owns its loss and accuracy.

    The layer takes the targets as an input next to the logits, so a model
    ending in it needs no `loss` in `compile()`: the binary cross-entropy is
    added with `add_loss()`. Keras 3 has no `Layer.add_metric()`; instead a
    metric assigned to a layer attribute is tracked like a sub-layer, and a
    model's `metrics` gathers the metrics of all its layers. `fit()` and
    `evaluate()` therefore report `accuracy_metric` under its name,
    `"accuracy"`, and reset it at the start of every epoch.

    The metric is updated as a side effect of `call()`, which works with the
    TensorFlow and PyTorch backends. The JAX trainer runs the model
    statelessly and keeps only the model's weights, so there the reported
    accuracy stays at zero.

    Args:
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        targets: Tensor of 0/1 labels, with the same shape as `logits`.
        logits: Tensor of unnormalised log-odds.
        sample_weight: Optional tensor of per-sample weights for the loss
            and the accuracy.

    Input shape:
        `targets` and `logits`: N-D tensors with shape
        `(batch_size, ..., 1)` or any other shape the two share.

    Output shape:
        Same shape as `logits`: the probabilities `sigmoid(logits)`.

    Example:

    ```python
    features = keras.Input(shape=(3,), name="features")
    targets = keras.Input(shape=(1,), name="targets")
    logits = keras.layers.Dense(1)(features)
    probabilities = LogisticEndpoint()(targets, logits)
    model = keras.Model([features, targets], probabilities)
    model.compile(optimizer="adam")  # no loss: the endpoint adds it
    data = {"features": np.ones((8, 3)), "targets": np.ones((8, 1))}
    history = model.fit(data, epochs=1, verbose=0)
    history.history["accuracy"]
    ```
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)
        self.accuracy_metric = keras.metrics.BinaryAccuracy(name="accuracy")

    def call(self, targets, logits, sample_weight=None):
        self.add_loss(self.loss_fn(targets, logits, sample_weight))
        probabilities = ops.sigmoid(logits)
        self.accuracy_metric.update_state(targets, probabilities, sample_weight)
        return probabilities

    def compute_output_shape(self, targets_shape, logits_shape, sample_weight_shape=None):
        return logits_shape
