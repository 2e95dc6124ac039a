"""Typed errors of the design model: each message says what went wrong and where; and what a
valid name is, the rule behind `NameError_`."""

from __future__ import annotations

import keyword


def is_valid_name(name: str) -> bool:
    """A node, block or model name must be usable as a Python identifier in generated code."""
    return (
        isinstance(name, str)
        and name.isidentifier()
        and not keyword.iskeyword(name)
        and not name.startswith("_")  # TensorFlow refuses such layer names as name scopes
    )


class GraphError(Exception):
    """Base class of every error the design model raises for a refused edit."""


class UnknownNodeError(GraphError):
    """An edit names a node id the graph does not hold."""


class PortError(GraphError):
    """An edge names a port index the node does not have."""


class PortOccupiedError(GraphError):
    """An input port already takes an edge; disconnect it first (or replace it)."""

    def __init__(self, message: str, existing: object) -> None:
        super().__init__(message)
        self.existing = existing


class CycleError(GraphError):
    """The edge would close a cycle (or is a self-loop)."""

    def __init__(self, message: str, cycle: list[str]) -> None:
        super().__init__(message)
        self.cycle = cycle


class NameError_(GraphError):  # noqa: N801, N818 - the builtin NameError is taken
    """A node name is not a valid Python identifier or is already used."""


class SharingError(GraphError):
    """A node cannot share the layer of the node it names."""


class ProjectError(GraphError):
    """A project file cannot be read: `path` is the JSON path of the problem."""

    def __init__(self, message: str, path: str = "$", file: str | None = None) -> None:
        self.path = path
        self.file = file
        self.problem = message
        where = f"{file}: " if file else ""
        super().__init__(f"{where}{path}: {message}")


class GroupError(GraphError):
    """A group (a block of nodes) cannot be made, changed or removed as asked."""
