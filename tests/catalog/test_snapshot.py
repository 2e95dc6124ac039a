"""The catalog snapshot shipped for a first start is what the catalog module builds for this Keras."""

from __future__ import annotations

import gzip
import json

import keras
import pytest

from designer.catalog.snapshot import SNAPSHOT_FOLDER, snapshot_name, snapshot_text


def test_the_shipped_snapshot_equals_the_catalog_of_the_installed_keras() -> None:
    shipped = SNAPSHOT_FOLDER / snapshot_name(keras.__version__)
    if not shipped.exists():
        release = ".".join(keras.__version__.split(".")[:2])
        assert list(SNAPSHOT_FOLDER.glob(f"catalog-keras-{release}.*")), "no snapshot for this Keras release"
        pytest.skip(f"the snapshot is of another {release} patch release than {keras.__version__}")
    text = gzip.decompress(shipped.read_bytes()).decode("utf-8")
    assert json.loads(text) == json.loads(snapshot_text()), (
        "resources/catalog is stale: run `python -m designer.catalog.snapshot`"
    )
