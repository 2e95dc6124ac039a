"""The project file: a design as JSON, its format version, migration and atomic save.

`to_dict` / `from_dict` convert between a `ModelGraph` (its groups included,
plus the parts later features own: training settings, custom layers) and plain
JSON data;
`save` / `load` put that data on disk. Reading checks every key and raises a
`ProjectError` whose `path` is the JSON path of the first problem
("$.nodes[3].type"), so a person can find it in the file; nesting past
MAXIMUM_DEPTH and integers past int64 are such problems too (`check_limits`), so
no damaged file raises anything else. Saving and reading remove the temporary
files a killed save left beside the project.
"""

from __future__ import annotations

import copy
import dataclasses
import glob
import json
import math
import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from designer.graph.errors import GraphError, ProjectError
from designer.graph.model import (
    INPUT_PORTS,
    INPUT_TYPE,
    Edge,
    Group,
    ModelGraph,
    ModelOutput,
    Node,
    PortLayout,
    is_valid_name,
)

PROJECT_FORMAT_VERSION = 1
IMPORTED_WEIGHTS_KEY = "weights"  # an imported model's .weights.h5 file, relative to the project file
PROJECT_KEYS = ("format_version", "name", "nodes", "edges", "outputs", "groups", "training", "custom_layers")
NODE_KEYS = frozenset({"id", "type", "name", "params", "position", "shares"})
EDGE_KEYS = frozenset({"source", "source_port", "target", "target_port"})
OUTPUT_KEYS = frozenset({"node", "port", "name"})
GROUP_KEYS = frozenset({"id", "name", "nodes", "block", "shares", "collapsed"})

MAXIMUM_DEPTH = 100  # JSON nesting a project file may have; deeper is damage, not design
LARGEST_INTEGER = 2**63 - 1  # the largest integer a parameter or position may hold (int64)
STALE_TEMPORARY_SECONDS = 60.0  # a save's temporary file older than this was left by a killed save

# MIGRATIONS[v] upgrades the data of format version v to version v + 1.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}

PortsOf = Callable[[str], PortLayout | None]
TypeKey = Callable[[str], str]  # a node type as read -> the key it is kept under (an alias's class key)


@dataclass
class Project:
    """A design as read from a file; the parts besides the graph stay JSON for their owners.

    The groups are the graph's own (`graph.groups`). `groups` here is only kept so
    that callers which still pass it keep working: it is neither read nor written.
    """

    graph: ModelGraph
    groups: list[Any] = field(default_factory=list, compare=False, repr=False)  # deprecated: graph.groups
    training: dict[str, Any] | None = None
    custom_layers: list[Any] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # unknown top-level keys, kept as they are

    def to_dict(self) -> dict[str, Any]:
        return to_dict(
            self.graph,
            groups=self.groups,
            training=self.training,
            custom_layers=self.custom_layers,
            extra=self.extra,
        )


# ----------------------------------------------------------------------- write
def to_dict(
    graph: ModelGraph,
    *,
    groups: list[Any] | None = None,
    training: dict[str, Any] | None = None,
    custom_layers: list[Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The project file's data: nodes in insertion order, edges sorted, outputs in mark
    order, groups in insertion order. `groups` is deprecated and ignored: the graph's
    own groups are written."""
    clash = set(extra or ()) & set(PROJECT_KEYS)
    if clash:
        raise ValueError(f"extra keys {sorted(clash)} would overwrite the project's own keys")
    data = {
        "format_version": PROJECT_FORMAT_VERSION,
        "name": graph.name,
        "nodes": [_node_to_dict(node) for node in graph.nodes.values()],
        "edges": [_edge_to_dict(edge) for edge in graph.edges],
        "outputs": [{"node": o.node, "port": o.port, "name": o.name} for o in graph.outputs],
        "groups": [group_to_dict(group) for group in graph.groups.values()],
        "training": copy.deepcopy(training),
        "custom_layers": copy.deepcopy(custom_layers or []),
    }
    return {**copy.deepcopy(dict(extra or {})), **data}


def _node_to_dict(node: Node) -> dict[str, Any]:
    data = {
        "id": node.id,
        "type": node.type,
        "name": node.name,
        "params": copy.deepcopy(node.params),
        "position": [float(node.position[0]), float(node.position[1])],
    }
    if node.shares is not None:
        data["shares"] = node.shares
    return data


def group_to_dict(group: Group) -> dict[str, Any]:
    return {
        "id": group.id,
        "name": group.name,
        "nodes": list(group.nodes),
        "block": group.block,
        "shares": group.shares,
        "collapsed": group.collapsed,
    }


def _edge_to_dict(edge: Edge) -> dict[str, Any]:
    return {
        "source": edge.source,
        "source_port": edge.source_port,
        "target": edge.target,
        "target_port": edge.target_port,
    }


def dumps(data: Mapping[str, Any]) -> str:
    """The file's text: indented, keys sorted, one trailing newline (diff-friendly)."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def save(path: str | os.PathLike[str], content: ModelGraph | Project | Mapping[str, Any]) -> None:
    """Write a graph, a project or project data to `path` atomically."""
    atomic_write_text(path, dumps(_as_data(content)))


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write `text` to `path` so that a reader sees the old file or the new one, never a part.

    The text goes to a temporary file in the same folder, is flushed and synced,
    then replaces `path` in one step: a failure at any point leaves the old file
    as it was.
    """
    target = Path(path)
    remove_stale_temporaries(target)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "x", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        if target.exists():
            os.chmod(temporary, target.stat().st_mode & 0o7777)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _sync_folder(target.parent)


def remove_stale_temporaries(target: Path) -> None:
    """Delete the `.NAME.<hex>.tmp` files a killed save of `target` left beside it. Only those
    older than STALE_TEMPORARY_SECONDS go: a younger one may be another save in progress."""
    now = time.time()
    for temporary in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        try:
            if now - temporary.stat().st_mtime > STALE_TEMPORARY_SECONDS:
                temporary.unlink()
        except OSError:
            continue  # gone meanwhile, or a folder we may not write to: nothing to clean


def _as_data(content: ModelGraph | Project | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(content, ModelGraph):
        return to_dict(content)
    if isinstance(content, Project):
        return content.to_dict()
    return content


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable where the system allows opening a folder (not Windows)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


# ------------------------------------------------------------------------ read
def load(path: str | os.PathLike[str], ports_of: PortsOf, *, type_key: TypeKey | None = None) -> Project:
    """Read the project file at `path`; every problem is a ProjectError naming the file."""
    return from_dict(read_data(path), ports_of, os.fspath(path), type_key=type_key)


def read_data(path: str | os.PathLike[str]) -> Any:
    """The JSON of a project file, before any check of its content."""
    file = os.fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ProjectError(f"not UTF-8 text: {error.reason} at byte {error.start}", "$", file) from None
    except OSError as error:
        raise ProjectError(f"cannot read the file: {error.strerror or error}", "$", file) from None
    remove_stale_temporaries(Path(path))
    return parse_text(text, file)


def parse_text(text: str, file: str | None = None) -> Any:
    """The JSON of a project file's text, within the limits `check_limits` sets."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        message = f"not JSON: {error.msg} at line {error.lineno} column {error.colno}"
        raise ProjectError(message, "$", file) from None
    except RecursionError:
        raise ProjectError(f"not JSON this designer reads: {_TOO_DEEP}", "$", file) from None
    except ValueError as error:  # an integer of more digits than Python converts
        raise ProjectError(f"not JSON this designer reads: {error}", "$", file) from None
    check_limits(data, file)
    return data


_TOO_DEEP = f"nested more than {MAXIMUM_DEPTH} levels deep"


def check_limits(data: Any, file: str | None = None) -> None:
    """Raise a ProjectError at the first place in `data` nested deeper than MAXIMUM_DEPTH or
    holding an integer beyond LARGEST_INTEGER (both would break the code that reads it)."""
    pending: list[tuple[Any, str, int]] = [(data, "$", 0)]
    while pending:
        value, path, depth = pending.pop()
        if depth > MAXIMUM_DEPTH:
            raise ProjectError(_TOO_DEEP, path, file)
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > LARGEST_INTEGER:
            digits = math.floor(math.log10(abs(value))) + 1
            message = f"an integer of about {digits} digits is too large (at most 2**63 - 1)"
            raise ProjectError(message, path, file)
        if isinstance(value, dict):
            items = [(item, _key_path(path, str(key)), depth + 1) for key, item in value.items()]
            pending += reversed(items)  # the stack pops the file's first problem first
        elif isinstance(value, list):
            items = [(item, f"{path}[{index}]", depth + 1) for index, item in enumerate(value)]
            pending += reversed(items)


def migrate(data: dict[str, Any], file: str | None = None) -> dict[str, Any]:
    """Upgrade data of an older format version to the current one, step by step.

    Returns `data` itself when it is current, else an upgraded copy.
    """
    version = _format_version(data, file)
    if version == PROJECT_FORMAT_VERSION:
        return data
    data = copy.deepcopy(data)
    while version < PROJECT_FORMAT_VERSION:
        data = _upgrade(data, version, file)
        version += 1
        data["format_version"] = version
    return data


def _upgrade(data: dict[str, Any], version: int, file: str | None) -> dict[str, Any]:
    try:
        return MIGRATIONS[version](data)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as error:
        message = f"cannot upgrade from format_version {version}: {type(error).__name__}: {error}"
        raise ProjectError(message, "$", file) from error


def _format_version(data: dict[str, Any], file: str | None) -> int:
    version = _require(data, "format_version", int, "$", file)
    readable = version == PROJECT_FORMAT_VERSION or version in MIGRATIONS
    if not readable:
        message = f"unsupported format_version {version} (this designer reads {PROJECT_FORMAT_VERSION})"
        raise ProjectError(message, "$.format_version", file)
    return version


def from_dict(
    data: Any, ports_of: PortsOf, file: str | None = None, *, type_key: TypeKey | None = None
) -> Project:
    """Build a Project from project data; raise ProjectError at the first problem. `type_key`
    (a catalog's `canonical_key`) names the type each node keeps, so an alias a file uses
    (MaxPool2D) is read and saved as its catalog key (MaxPooling2D)."""
    reader = _Reader(ports_of, file, type_key)
    check_limits(data, file)
    data = migrate(reader.expect(data, dict, "$"), file)
    graph = ModelGraph()
    reader.read_name(graph, data)
    reader.read_nodes(graph, reader.field(data, "nodes", list, "$"))
    reader.read_edges(graph, reader.field(data, "edges", list, "$"))
    reader.read_outputs(graph, reader.field(data, "outputs", list, "$"))
    reader.read_groups(graph, reader.optional(data, "groups", list, "$", []))
    graph.reserve_ids()
    return Project(
        graph=graph,
        training=copy.deepcopy(reader.optional(data, "training", dict, "$", None)),
        custom_layers=copy.deepcopy(reader.optional(data, "custom_layers", list, "$", [])),
        extra={key: copy.deepcopy(value) for key, value in data.items() if key not in PROJECT_KEYS},
    )


_TYPE_NAMES = {dict: "an object", list: "a list", str: "a string", int: "an integer", float: "a number"}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # json reads NaN, Infinity and 1e400 as floats that are no numbers
    return {dict: "object", bool: "bool", float: "float"}.get(type(value), type(value).__name__)


def _expect(value: Any, kind: type, path: str, file: str | None) -> Any:
    """`value` if it is of JSON type `kind` (bools are not numbers here), else a ProjectError."""
    accepted = isinstance(value, kind) and not isinstance(value, bool)
    if kind is float:
        accepted = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not accepted:
        raise ProjectError(f"expected {_TYPE_NAMES[kind]}, got {_json_type(value)}", path, file)
    return value


def _require(data: dict[str, Any], key: str, kind: type, path: str, file: str | None) -> Any:
    if key not in data:
        raise ProjectError(f"missing key '{key}'", _key_path(path, key), file)
    return _expect(data[key], kind, _key_path(path, key), file)


def _key_path(path: str, key: str) -> str:
    """`$.nodes` for a plain key, `$["odd key"]` for any other."""
    return f"{path}.{key}" if key.isidentifier() else f"{path}[{json.dumps(key)}]"


class _Reader:
    """Reads the parts of project data into a graph, knowing the file and the port catalog."""

    def __init__(self, ports_of: PortsOf, file: str | None, type_key: TypeKey | None = None) -> None:
        self.ports_of = ports_of
        self.file = file
        self.type_key = type_key

    # -- checks
    def expect(self, value: Any, kind: type, path: str) -> Any:
        return _expect(value, kind, path, self.file)

    def field(self, data: dict[str, Any], key: str, kind: type, path: str) -> Any:
        return _require(data, key, kind, path, self.file)

    def optional(self, data: dict[str, Any], key: str, kind: type, path: str, default: Any) -> Any:
        if data.get(key) is None:
            return default
        return self.expect(data[key], kind, _key_path(path, key))

    def only_keys(self, data: dict[str, Any], allowed: frozenset[str], path: str) -> None:
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ProjectError(f"unexpected key '{unknown[0]}'", _key_path(path, unknown[0]), self.file)

    def fail(self, message: str, path: str) -> ProjectError:
        return ProjectError(message, path, self.file)

    # -- model name
    def read_name(self, graph: ModelGraph, data: dict[str, Any]) -> None:
        self.apply("$.name", graph.set_name, self.field(data, "name", str, "$"))

    # -- nodes
    def read_nodes(self, graph: ModelGraph, items: list[Any]) -> None:
        """Add every node unshared first, then set sharing, so an owner may come after its sharers."""
        shared: list[tuple[str, str, str]] = []
        for index, item in enumerate(items):
            path = f"$.nodes[{index}]"
            node = self.read_node(self.expect(item, dict, path), path)
            if node.id in graph.nodes:
                raise self.fail(f"duplicate node id '{node.id}'", f"{path}.id")
            self.apply(f"{path}.name", graph.add_node, node)
            if item.get("shares") is not None:
                shared.append((node.id, self.field(item, "shares", str, path), f"{path}.shares"))
        for node_id, owner_id, path in shared:
            if owner_id not in graph.nodes:
                raise self.fail(f"shares missing node '{owner_id}'", path)
            self.apply(path, graph.set_shares, node_id, owner_id)

    def read_node(self, data: dict[str, Any], path: str) -> Node:
        self.only_keys(data, NODE_KEYS, path)
        node_id = self.field(data, "id", str, path)
        if not node_id:
            raise self.fail("a node id cannot be empty", f"{path}.id")
        type_key = self.field(data, "type", str, path)
        type_key = self.type_key(type_key) if self.type_key is not None else type_key
        params = self.field(data, "params", dict, path)
        return Node(
            id=node_id,
            type=type_key,
            name=self.field(data, "name", str, path),
            params=params,
            position=self.read_position(data, path),
            ports=self.read_ports(type_key, f"{path}.type").for_params(params),  # return_state...
        )

    def read_position(self, data: dict[str, Any], path: str) -> tuple[float, float]:
        position = self.field(data, "position", list, path)
        if len(position) != 2:
            raise self.fail(f"expected [x, y], got a list of {len(position)}", f"{path}.position")
        x, y = (self.expect(value, float, f"{path}.position[{i}]") for i, value in enumerate(position))
        return (float(x), float(y))

    def read_ports(self, type_key: str, path: str) -> PortLayout:
        ports = self.ports_of(type_key)
        if ports is None and type_key == INPUT_TYPE:
            return INPUT_PORTS
        if ports is None:
            raise self.fail(f"unknown layer type '{type_key}'", path)
        return ports

    # -- edges
    def read_edges(self, graph: ModelGraph, items: list[Any]) -> None:
        for index, item in enumerate(items):
            path = f"$.edges[{index}]"
            edge = self.read_edge(graph, self.expect(item, dict, path), path)
            self.apply(path, graph.connect, edge)

    def read_edge(self, graph: ModelGraph, data: dict[str, Any], path: str) -> Edge:
        self.only_keys(data, EDGE_KEYS, path)
        source = self.field(data, "source", str, path)
        source_port = self.field(data, "source_port", int, path)
        target = self.field(data, "target", str, path)
        target_port = self.field(data, "target_port", int, path)
        if source not in graph.nodes:
            raise self.fail(f"edge from missing node '{source}'", f"{path}.source")
        if target not in graph.nodes:
            raise self.fail(f"edge to missing node '{target}'", f"{path}.target")
        return Edge(source, source_port, target, target_port)

    # -- outputs
    def read_outputs(self, graph: ModelGraph, items: list[Any]) -> None:
        for index, item in enumerate(items):
            path = f"$.outputs[{index}]"
            mark = self.read_output(graph, self.expect(item, dict, path), path)
            self.apply(path, graph.mark_output, mark.node, mark.port, mark.name)

    def read_output(self, graph: ModelGraph, data: dict[str, Any], path: str) -> ModelOutput:
        self.only_keys(data, OUTPUT_KEYS, path)
        node_id = self.field(data, "node", str, path)
        port = self.field(data, "port", int, path)
        name = self.field(data, "name", str, path)
        if node_id not in graph.nodes:
            raise self.fail(f"output of missing node '{node_id}'", f"{path}.node")
        if graph.output_names(node_id).get(port) is not None:
            raise self.fail(f"output {port} of node '{node_id}' is marked twice", path)
        if not is_valid_name(name):
            raise self.fail(f"'{name}' is not a valid output name: use a Python identifier", f"{path}.name")
        return ModelOutput(node_id, port, name)

    # -- groups
    def read_groups(self, graph: ModelGraph, items: list[Any]) -> None:
        """Add every group unshared first, then set sharing, so an owner may come after its sharers."""
        shared: list[tuple[Group, str]] = []
        for index, item in enumerate(items):
            path = f"$.groups[{index}]"
            group = self.read_group(graph, self.expect(item, dict, path), path)
            if group.id in graph.groups:
                raise self.fail(f"duplicate group id '{group.id}'", f"{path}.id")
            self.apply(path, graph.add_group, dataclasses.replace(group, shares=None))
            if group.shares is not None:
                shared.append((group, f"{path}.shares"))
        for group, path in shared:
            if group.shares not in graph.groups:
                raise self.fail(f"shares missing group '{group.shares}'", path)
            self.apply(path, graph.update_group, group)

    def read_group(self, graph: ModelGraph, data: dict[str, Any], path: str) -> Group:
        self.only_keys(data, GROUP_KEYS, path)
        group_id = self.field(data, "id", str, path)
        name = self.field(data, "name", str, path)
        if not is_valid_name(name):
            raise self.fail(f"'{name}' is not a valid block name: use a Python identifier", f"{path}.name")
        block = self.optional(data, "block", str, path, name)
        collapsed = data.get("collapsed", True)
        if not isinstance(collapsed, bool):
            raise self.fail(f"expected true or false, got {_json_type(collapsed)}", f"{path}.collapsed")
        return Group(
            id=group_id,
            name=name,
            nodes=self.read_members(graph, self.field(data, "nodes", list, path), f"{path}.nodes"),
            block=block,
            shares=self.optional(data, "shares", str, path, None),
            collapsed=collapsed,
        )

    def read_members(self, graph: ModelGraph, items: list[Any], path: str) -> tuple[str, ...]:
        members: list[str] = []
        for index, item in enumerate(items):
            node_id = self.expect(item, str, f"{path}[{index}]")
            if node_id not in graph.nodes:
                raise self.fail(f"group of missing node '{node_id}'", f"{path}[{index}]")
            owner = graph.group_of(node_id)
            if owner is not None or node_id in members:
                where = f"the group '{owner.id}'" if owner else "this group already"
                raise self.fail(f"node '{node_id}' is in {where}", f"{path}[{index}]")
            members.append(node_id)
        return tuple(members)

    def apply(self, path: str, mutator: Callable[..., object], *arguments: Any) -> None:
        """Run one graph mutator; the graph's own refusal becomes a ProjectError at `path`."""
        try:
            mutator(*arguments)
        except GraphError as error:
            raise self.fail(str(error).rstrip("."), path) from None
