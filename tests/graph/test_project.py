"""Project files: round trips, exact JSON paths for malformed data, migration, atomic save."""

from __future__ import annotations

import copy
import json
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designer.graph import project
from designer.graph.errors import ProjectError
from designer.graph.model import INPUT_PORTS, MERGE_PORTS, Edge, ModelGraph, Node, PortLayout
from designer.graph.project import PROJECT_FORMAT_VERSION, Project, from_dict, load, migrate, save, to_dict

PORTS = {
    "Input": INPUT_PORTS,
    "Dense": PortLayout(),
    "Add": MERGE_PORTS,
    "Attention": PortLayout(inputs=("query", "value")),
    "Split": PortLayout(outputs=("first", "second")),
}


def ports_of(type_key: str) -> PortLayout | None:
    return PORTS.get(type_key)


def add(graph: ModelGraph, type_key: str, name: str, **fields: Any) -> Node:
    return graph.add_node(Node(graph.new_id(), type_key, name, ports=PORTS[type_key], **fields))


def sample_graph() -> ModelGraph:
    """x -> split -> (dense, again sharing dense) -> add -> output; split's second output too."""
    graph = ModelGraph("classifier")
    source = add(graph, "Input", "x", params={"shape": [28, None], "dtype": "float32"}, position=(-5.5, 2))
    split = add(graph, "Split", "split")
    dense = add(graph, "Dense", "dense", params={"units": 10, "activation": "relu"}, position=(100, 0))
    again = add(graph, "Dense", "again", shares=dense.id)
    merge = add(graph, "Add", "add")
    for edge in [
        Edge(source.id, 0, split.id, 0),
        Edge(split.id, 0, dense.id, 0),
        Edge(split.id, 1, again.id, 0),
        Edge(dense.id, 0, merge.id, 0),
        Edge(again.id, 0, merge.id, 1),
    ]:
        graph.connect(edge)
    graph.mark_output(merge.id, 0, "logits")
    graph.mark_output(split.id, 1)
    return graph


def sample_data() -> dict[str, Any]:
    return to_dict(sample_graph())


# ------------------------------------------------------------------ round trip
def test_to_dict_layout() -> None:
    graph = ModelGraph("tiny")
    source, dense = add(graph, "Input", "x"), add(graph, "Dense", "dense", params={"units": 2})
    graph.connect(Edge(source.id, 0, dense.id, 0))
    graph.mark_output(dense.id)
    assert to_dict(graph) == {
        "format_version": 1,
        "name": "tiny",
        "nodes": [
            {"id": "n1", "type": "Input", "name": "x", "params": {}, "position": [0.0, 0.0]},
            {"id": "n2", "type": "Dense", "name": "dense", "params": {"units": 2}, "position": [0.0, 0.0]},
        ],
        "edges": [{"source": "n1", "source_port": 0, "target": "n2", "target_port": 0}],
        "outputs": [{"node": "n2", "port": 0, "name": "dense"}],
        "groups": [],
        "training": None,
        "custom_layers": [],
    }


def test_project_round_trip_through_a_file(tmp_path: Path) -> None:
    original = Project(
        sample_graph(),
        groups=[{"name": "block", "nodes": ["n3", "n4"]}],
        training={"epochs": 3, "optimizer": {"name": "adam"}},
        custom_layers=[{"path": "layers/linear.py"}],
        extra={"ui": {"zoom": 1.5}},
    )
    save(tmp_path / "model.json", original)
    loaded = load(tmp_path / "model.json", ports_of)
    assert loaded == original
    assert loaded.to_dict() == original.to_dict()
    assert loaded.graph.node("n4").shares == "n3"


def test_graph_and_dict_can_be_saved(tmp_path: Path) -> None:
    graph = sample_graph()
    save(tmp_path / "graph.json", graph)
    save(tmp_path / "data.json", to_dict(graph))
    assert load(tmp_path / "graph.json", ports_of).graph == graph
    assert (tmp_path / "graph.json").read_bytes() == (tmp_path / "data.json").read_bytes()


def test_file_text_is_indented_sorted_and_stable(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    save(path, sample_graph())
    text = path.read_text(encoding="utf-8")
    assert text.startswith('{\n  "custom_layers": [],\n  "edges": [\n')
    assert text.endswith("}\n")
    save(path, load(path, ports_of))
    assert path.read_text(encoding="utf-8") == text


def test_loaded_ids_are_kept_and_never_handed_out_again() -> None:
    data = sample_data()
    data["nodes"][2]["id"] = "n40"
    for edge in data["edges"]:
        edge["source"], edge["target"] = ("n40" if n == "n3" else n for n in (edge["source"], edge["target"]))
    data["nodes"][3]["shares"] = "n40"
    graph = from_dict(data, ports_of).graph
    assert list(graph.nodes) == ["n1", "n2", "n40", "n4", "n5"]
    graph.remove_node("n40")
    assert graph.new_id() == "n41"


def test_input_nodes_need_no_catalog_entry() -> None:
    graph = from_dict(sample_data(), lambda type_key: None if type_key == "Input" else PORTS[type_key]).graph
    assert graph.node("n1").ports == INPUT_PORTS


def test_a_type_read_under_another_name_is_kept_and_saved_under_its_key(tmp_path: Path) -> None:
    data = sample_data()
    data["nodes"][2]["type"] = "FullyConnected"  # an alias of Dense, as a catalog's canonical_key says
    aliases = {"FullyConnected": "Dense"}
    path = tmp_path / "aliased.json"
    path.write_text(json.dumps(data))
    loaded = load(path, ports_of, type_key=lambda type_key: aliases.get(type_key, type_key))
    assert loaded.graph.node("n3").type == "Dense"
    assert loaded.graph.node("n3").ports == PORTS["Dense"]
    assert to_dict(loaded.graph)["nodes"][2]["type"] == "Dense"
    with pytest.raises(ProjectError, match="unknown layer type 'FullyConnected'"):
        from_dict(data, ports_of)  # without the catalog's aliases the name is unknown


def test_sharer_may_come_before_its_owner() -> None:
    data = sample_data()
    data["nodes"][2], data["nodes"][3] = data["nodes"][3], data["nodes"][2]
    graph = from_dict(data, ports_of).graph
    assert graph.node("n4").shares == "n3"


def test_extra_keys_must_not_overwrite_project_keys() -> None:
    with pytest.raises(ValueError, match="'nodes'"):
        to_dict(sample_graph(), extra={"nodes": []})


# ---------------------------------------------------------- random round trips
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-project.LARGEST_INTEGER, project.LARGEST_INTEGER)  # a file holds int64 at most
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
coordinates = st.floats(allow_nan=False, allow_infinity=False, width=64)
TYPES = ("Dense", "Add", "Attention", "Split")


@st.composite
def designs(draw: st.DrawFn) -> Project:
    """A random DAG: every node takes its inputs from earlier nodes; some share, some are outputs."""
    graph = ModelGraph(draw(st.sampled_from(["model", "réseau", "net_2"])))
    for index in range(draw(st.integers(1, 10))):
        type_key = "Input" if index == 0 else draw(st.sampled_from(("Input", *TYPES)))
        node_id = draw(st.sampled_from(["n", "node_", "x"])) + str(index * draw(st.integers(1, 3)))
        node = Node(
            node_id if node_id not in graph.nodes else graph.new_id(),
            type_key,
            f"{draw(st.sampled_from(['layer', 'été', 'x']))}_{index}",
            params=draw(st.dictionaries(st.text(max_size=6), json_values, max_size=3)),
            position=(draw(coordinates), draw(coordinates)),
            ports=PORTS[type_key],
        )
        earlier = list(graph.nodes.values())
        graph.add_node(node)
        draw_inputs(draw, graph, node, earlier)
        draw_sharing(draw, graph, node, earlier)
    draw_outputs(draw, graph)
    lists = st.lists(json_values, max_size=3)
    training = draw(st.none() | st.dictionaries(st.text(max_size=5), json_values, max_size=3))
    return Project(graph, groups=draw(lists), training=training, custom_layers=draw(lists))


def draw_inputs(draw: st.DrawFn, graph: ModelGraph, node: Node, earlier: list[Node]) -> None:
    count = draw(st.integers(0, 3)) if node.ports.variadic else len(node.ports.inputs)
    for port in range(count):
        if earlier and draw(st.booleans() | st.just(True)):
            source = draw(st.sampled_from(earlier))
            source_port = draw(st.integers(0, len(source.ports.outputs) - 1))
            graph.connect(Edge(source.id, source_port, node.id, port))


def draw_sharing(draw: st.DrawFn, graph: ModelGraph, node: Node, earlier: list[Node]) -> None:
    owners = [n for n in earlier if n.type == node.type and not n.is_input and n.shares is None]
    if owners and draw(st.booleans()):
        graph.set_shares(node.id, draw(st.sampled_from(owners)).id)


def draw_outputs(draw: st.DrawFn, graph: ModelGraph) -> None:
    candidates = [(node.id, port) for node in graph.nodes.values() for port in range(len(node.ports.outputs))]
    for index, (node_id, port) in enumerate(draw(st.lists(st.sampled_from(candidates), unique=True))):
        graph.mark_output(node_id, port, f"output_{index}")


@settings(max_examples=60, deadline=None)
@given(designs())
def test_random_designs_round_trip(design: Project) -> None:
    assert from_dict(to_dict(design.graph), ports_of).graph == design.graph
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "design.json"
        save(path, design)
        loaded = load(path, ports_of)
    assert loaded == design
    assert loaded.to_dict() == design.to_dict()


# -------------------------------------------------------------- malformed data
Mutation = Callable[[dict[str, Any]], Any]


def setting(path: tuple[Any, ...], value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> dict[str, Any]:
        container = data
        for key in path[:-1]:
            container = container[key]
        container[path[-1]] = value
        return data

    return mutate


def deleting(path: tuple[Any, ...]) -> Mutation:
    def mutate(data: dict[str, Any]) -> dict[str, Any]:
        container = data
        for key in path[:-1]:
            container = container[key]
        del container[path[-1]]
        return data

    return mutate


MALFORMED: list[tuple[Mutation, str, str]] = [
    (lambda data: [data], "$", "expected an object, got list"),
    (deleting(("format_version",)), "$.format_version", "missing key 'format_version'"),
    (
        setting(("format_version",), 7),
        "$.format_version",
        "unsupported format_version 7 (this designer reads 1)",
    ),
    (
        setting(("format_version",), 0),
        "$.format_version",
        "unsupported format_version 0 (this designer reads 1)",
    ),
    (setting(("format_version",), "1"), "$.format_version", "expected an integer, got str"),
    (setting(("format_version",), True), "$.format_version", "expected an integer, got bool"),
    (setting(("name",), None), "$.name", "expected a string, got null"),
    (setting(("name",), "my model"), "$.name", "'my model' is not a valid model name"),
    (deleting(("nodes",)), "$.nodes", "missing key 'nodes'"),
    (setting(("nodes",), "n1"), "$.nodes", "expected a list, got str"),
    (setting(("nodes", 1), 3), "$.nodes[1]", "expected an object, got int"),
    (deleting(("nodes", 3, "type")), "$.nodes[3].type", "missing key 'type'"),
    (setting(("nodes", 3, "type"), "Dens"), "$.nodes[3].type", "unknown layer type 'Dens'"),
    (setting(("nodes", 3, "type"), ["Dense"]), "$.nodes[3].type", "expected a string, got list"),
    (setting(("nodes", 1, "id"), 2), "$.nodes[1].id", "expected a string, got int"),
    (setting(("nodes", 1, "id"), ""), "$.nodes[1].id", "a node id cannot be empty"),
    (setting(("nodes", 1, "id"), "n1"), "$.nodes[1].id", "duplicate node id 'n1'"),
    (setting(("nodes", 1, "name"), "x"), "$.nodes[1].name", "The name 'x' is already used by another node"),
    (setting(("nodes", 1, "name"), "import"), "$.nodes[1].name", "'import' is not a valid name"),
    (setting(("nodes", 2, "params"), []), "$.nodes[2].params", "expected an object, got list"),
    (setting(("nodes", 2, "position"), [1]), "$.nodes[2].position", "expected [x, y], got a list of 1"),
    (setting(("nodes", 2, "position"), [1, "2"]), "$.nodes[2].position[1]", "expected a number, got str"),
    (setting(("nodes", 2, "position"), [1, 1e400]), "$.nodes[2].position[1]", "expected a number, got inf"),
    (setting(("nodes", 2, "colour"), "red"), "$.nodes[2].colour", "unexpected key 'colour'"),
    (
        setting(("nodes", 2, "fill colour"), "red"),
        '$.nodes[2]["fill colour"]',
        "unexpected key 'fill colour'",
    ),
    (setting(("nodes", 3, "shares"), 3), "$.nodes[3].shares", "expected a string, got int"),
    (setting(("nodes", 3, "shares"), "n9"), "$.nodes[3].shares", "shares missing node 'n9'"),
    (
        setting(("nodes", 3, "shares"), "n2"),
        "$.nodes[3].shares",
        "'again' (Dense) cannot share the layer of 'split'",
    ),
    (setting(("edges",), {}), "$.edges", "expected a list, got object"),
    (setting(("edges", 0), None), "$.edges[0]", "expected an object, got null"),
    (setting(("edges", 0, "target"), "n9"), "$.edges[0].target", "edge to missing node 'n9'"),
    (setting(("edges", 0, "source"), "n9"), "$.edges[0].source", "edge from missing node 'n9'"),
    (setting(("edges", 0, "source_port"), "0"), "$.edges[0].source_port", "expected an integer, got str"),
    (setting(("edges", 0, "target_port"), 1.0), "$.edges[0].target_port", "expected an integer, got float"),
    (deleting(("edges", 0, "target_port")), "$.edges[0].target_port", "missing key 'target_port'"),
    (setting(("edges", 0, "weight"), 1), "$.edges[0].weight", "unexpected key 'weight'"),
    (setting(("edges", 0, "source_port"), 1), "$.edges[0]", "'x' has 1 output(s); there is no output 1"),
    (setting(("edges", 0, "target_port"), 1), "$.edges[0]", "'split' (Split) takes 1 input(s)"),
    (setting(("edges", 0, "source"), "n5"), "$.edges[3]", "would make a cycle: add -> split -> dense -> add"),
    (setting(("edges", 1, "target"), "n4"), "$.edges[2]", "Input 0 of 'again' is already fed by 'split'"),
    (setting(("outputs",), None), "$.outputs", "expected a list, got null"),
    (setting(("outputs", 0, "node"), "n9"), "$.outputs[0].node", "output of missing node 'n9'"),
    (setting(("outputs", 0, "port"), 5), "$.outputs[0]", "'add' has no output 5"),
    (setting(("outputs", 0, "name"), "1st"), "$.outputs[0].name", "'1st' is not a valid output name"),
    (
        setting(("outputs", 1, "name"), "logits"),
        "$.outputs[1]",
        "Another model output is already called 'logits'",
    ),
    (
        setting(("outputs", 1), {"node": "n5", "port": 0, "name": "y"}),
        "$.outputs[1]",
        "output 0 of node 'n5'",
    ),
    (setting(("groups",), "all"), "$.groups", "expected a list, got str"),
    (setting(("training",), []), "$.training", "expected an object, got list"),
    (setting(("custom_layers",), {}), "$.custom_layers", "expected a list, got object"),
]


@pytest.mark.parametrize(("mutate", "path", "message"), MALFORMED, ids=[case[1] for case in MALFORMED])
def test_malformed_data_names_the_json_path(mutate: Mutation, path: str, message: str) -> None:
    data = mutate(sample_data())
    with pytest.raises(ProjectError) as caught:
        from_dict(data, ports_of)
    assert (caught.value.path, caught.value.file) == (path, None)
    assert message in caught.value.problem


def test_optional_keys_may_be_missing_or_null() -> None:
    data = sample_data()
    del data["groups"], data["custom_layers"]
    data["training"] = None
    loaded = from_dict(data, ports_of)
    assert (loaded.groups, loaded.training, loaded.custom_layers) == ([], None, [])


# ----------------------------------------------------------------------- files
def test_not_json_names_the_file_and_position(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("", encoding="utf-8")
    with pytest.raises(ProjectError) as caught:
        load(path, ports_of)
    assert caught.value.problem == "not JSON: Expecting value at line 1 column 1"
    assert (caught.value.path, caught.value.file) == ("$", str(path))
    assert str(caught.value) == f"{path}: $: not JSON: Expecting value at line 1 column 1"


def test_file_errors_become_project_errors(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="cannot read the file: No such file"):
        load(tmp_path / "missing.json", ports_of)
    (tmp_path / "latin.json").write_bytes(b'{"name": "caf\xe9"}')
    with pytest.raises(ProjectError, match="not UTF-8 text"):
        load(tmp_path / "latin.json", ports_of)


def test_problems_in_a_file_carry_its_name(tmp_path: Path) -> None:
    data = sample_data()
    data["nodes"][3]["type"] = "Dens"
    path = tmp_path / "model.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ProjectError) as caught:
        load(path, ports_of)
    assert str(caught.value) == f"{path}: $.nodes[3].type: unknown layer type 'Dens'"


# ------------------------------------------------------------------- migration
def test_current_data_is_not_migrated() -> None:
    data = sample_data()
    assert migrate(data) is data


def test_older_versions_are_upgraded_step_by_step(monkeypatch: pytest.MonkeyPatch) -> None:
    def from_zero(data: dict[str, Any]) -> dict[str, Any]:
        data["name"] = data.pop("model_name")
        return data

    monkeypatch.setitem(project.MIGRATIONS, 0, from_zero)
    old = sample_data()
    old["format_version"] = 0
    old["model_name"] = old.pop("name")
    kept = copy.deepcopy(old)
    assert from_dict(old, ports_of).graph == sample_graph()
    assert old == kept
    assert migrate(old)["format_version"] == PROJECT_FORMAT_VERSION
    del old["model_name"]
    with pytest.raises(ProjectError, match="cannot upgrade from format_version 0: KeyError: 'model_name'"):
        from_dict(old, ports_of)


# ----------------------------------------------------------------- atomic save
@pytest.fixture
def saved(tmp_path: Path) -> Path:
    path = tmp_path / "model.json"
    save(path, sample_graph())
    return path


def failing(*arguments: Any, **keywords: Any) -> None:
    raise OSError("disk full")


@pytest.mark.parametrize("step", ["replace", "fsync", "dumps"])
def test_failed_save_leaves_the_old_file_intact(
    saved: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    before = saved.read_bytes()
    target = {"replace": (os, "replace"), "fsync": (os, "fsync"), "dumps": (json, "dumps")}[step]
    monkeypatch.setattr(*target, failing)
    other = ModelGraph("other")
    with pytest.raises(OSError, match="disk full"):
        save(saved, other)
    monkeypatch.undo()
    assert saved.read_bytes() == before
    assert [path.name for path in saved.parent.iterdir()] == ["model.json"]


def test_save_keeps_the_file_mode(saved: Path) -> None:
    saved.chmod(0o640)
    save(saved, ModelGraph("other"))
    assert stat.S_IMODE(saved.stat().st_mode) == 0o640
    assert load(saved, ports_of).graph == ModelGraph("other")


def _left_by_a_killed_save(target: Path, age_seconds: float) -> Path:
    temporary = target.with_name(f".{target.name}.{os.urandom(16).hex()}.tmp")
    temporary.write_text("{half a proj", encoding="utf-8")
    old = temporary.stat().st_mtime - age_seconds
    os.utime(temporary, (old, old))
    return temporary


@pytest.mark.parametrize("action", ["save", "load"])
def test_stale_temporary_files_of_a_killed_save_are_removed(tmp_path: Path, action: str) -> None:
    target = tmp_path / "design.json"
    save(target, sample_graph())
    stale = _left_by_a_killed_save(target, age_seconds=3600)
    recent = _left_by_a_killed_save(target, age_seconds=0)  # may be another save under way
    other = _left_by_a_killed_save(tmp_path / "other.json", age_seconds=3600)
    if action == "save":
        save(target, sample_graph())
    else:
        load(target, ports_of)
    assert not stale.exists()
    assert recent.exists() and other.exists()
