"""Fixtures of the training tests: the Keras catalog with the library's add_loss layer."""

from __future__ import annotations

import dataclasses

import pytest
from training_helpers import ADD_LOSS_KEY

from designer.catalog.spec import Catalog


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """Keras' layers plus ActivityRegularizationLoss from layers/ (it calls add_loss)."""
    from designer.catalog.keras_layers import spec_from_class
    from designer.engine.analysis import default_catalog
    from layers import activity_regularization

    spec = spec_from_class(
        activity_regularization.ActivityRegularizationLoss,
        key=ADD_LOSS_KEY,
        module="layers.activity_regularization",
        category="library",
        source="library",
    )
    return default_catalog().merged([dataclasses.replace(spec, file=activity_regularization.__file__)])
