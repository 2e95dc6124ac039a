"""A standalone library of custom Keras layers: each one a well-made example of a Keras pattern."""

from layers.activity_regularization import ActivityRegularizationLoss
from layers.compute_sum import ComputeSum
from layers.drop_path import DropPath
from layers.kl_divergence import KLDivergenceLoss
from layers.layer_norm import LayerNorm
from layers.linear import Linear
from layers.logistic_endpoint import LogisticEndpoint
from layers.masked_global_average import MaskedGlobalAverage
from layers.mlp_block import MLPBlock
from layers.resnet_identity_block import ResNetIdentityBlock
from layers.sampling import Sampling

__all__ = [
    "ActivityRegularizationLoss",
    "ComputeSum",
    "DropPath",
    "KLDivergenceLoss",
    "LayerNorm",
    "Linear",
    "LogisticEndpoint",
    "MLPBlock",
    "MaskedGlobalAverage",
    "ResNetIdentityBlock",
    "Sampling",
]
