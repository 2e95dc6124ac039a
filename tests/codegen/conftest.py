"""Fixtures of the codegen tests: the hand-written catalog and the custom layer module."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from codegen_helpers import build_test_catalog, custom_specs, write_custom_layers

from designer.catalog.spec import Catalog


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return build_test_catalog()


@pytest.fixture(scope="session")
def custom_layers_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The custom layer module, written to a folder on sys.path."""
    folder = tmp_path_factory.mktemp("custom_layers")
    path = write_custom_layers(folder)
    sys.path.insert(0, str(folder))
    yield path
    sys.path.remove(str(folder))


@pytest.fixture(scope="session")
def custom_catalog(catalog: Catalog, custom_layers_file: Path) -> Catalog:
    return catalog.merged(custom_specs(custom_layers_file))
