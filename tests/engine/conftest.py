"""Fixtures for engine tests: the catalog (built once) and a small graph builder."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from designer.catalog.spec import Catalog
from designer.engine.analysis import default_catalog
from designer.graph.model import Edge, ModelGraph, Node


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return default_catalog()


class GraphBuilder:
    """Add nodes with their catalog ports and chain them, in one line each."""

    def __init__(self, catalog: Catalog, name: str = "model") -> None:
        self.catalog = catalog
        self.graph = ModelGraph(name)

    def add(self, type_key: str, name: str | None = None, **params: Any) -> str:
        spec = self.catalog[type_key]
        node = Node(
            self.graph.new_id(),
            type_key,
            name or self.graph.unique_name(type_key),
            {**spec.initial_params(), **params},
            ports=spec.ports,
        )
        return self.graph.add_node(node).id

    def connect(self, source: str, target: str, port: int = 0, source_port: int = 0) -> None:
        self.graph.connect(Edge(source, source_port, target, port))

    def chain(self, *ids: str) -> str:
        for source, target in itertools.pairwise(ids):
            self.connect(source, target)
        return ids[-1]

    def output(self, node_id: str, name: str | None = None) -> None:
        self.graph.mark_output(node_id, 0, name)


@pytest.fixture
def builder(catalog: Catalog) -> Callable[..., GraphBuilder]:
    return lambda name="model": GraphBuilder(catalog, name)
