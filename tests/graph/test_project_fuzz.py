"""Damaged project files: every one is a ProjectError naming the file and JSON path, never another
exception, whether the damage is deep nesting, huge numbers, wrong types or removed keys.

The fuzz mutates the example projects' parsed JSON at random places with a fixed seed and runs
the whole read path (text -> JSON -> imported specs -> graph). `DESIGNER_FUZZ_EDITS` raises the
number of edits for a longer run by hand (the issue asks for 100,000 clean edits).
"""

from __future__ import annotations

import copy
import gzip
import json
import os
import random
from pathlib import Path
from typing import Any

import pytest

from designer.catalog.spec import IMPORTED_SPECS_KEY, Catalog
from designer.graph import project
from designer.graph.errors import ProjectError
from designer.trust import stand_in_specs

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "resources" / "examples").glob("*.json"))
FILE = "damaged.json"
EDITS = int(os.environ.get("DESIGNER_FUZZ_EDITS", "3000"))


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    """The shipped catalog snapshot: Keras' specs as plain data, no Keras needed."""
    (snapshot,) = (ROOT / "resources" / "catalog").glob("catalog-keras-*.json.gz")
    return Catalog.from_dict(json.loads(gzip.decompress(snapshot.read_bytes())))


def load_text(text: str, catalog: Catalog) -> project.Project:
    """The read path every opener takes, from the file's text on."""
    data = project.parse_text(text, FILE)
    merged = catalog.with_project_specs(data, FILE)
    return project.from_dict(data, merged.ports_of, FILE)


def load_data(data: Any, catalog: Catalog) -> project.Project:
    """The read path of the GUI, the CLI and the engine: stand-ins for layers of custom files
    that did not run (they read the raw data), the imported specs, then the graph."""
    if isinstance(data, dict):
        stand_in_specs(data, lambda key: False, {"keras", "layers"}, "not loaded")
    merged = catalog.with_project_specs(data, FILE)
    return project.from_dict(data, merged.ports_of, FILE)


def example_with_imported_spec(catalog: Catalog, random_source: random.Random) -> dict[str, Any]:
    """An example project that also carries an imported spec, so its fields get damaged too."""
    data = json.loads(random_source.choice(EXAMPLES).read_text(encoding="utf-8"))
    spec = catalog["Dense"].to_dict()
    data[IMPORTED_SPECS_KEY] = [{**spec, "key": "ops.dense_copy"}]
    return data


def places(data: Any) -> list[tuple[Any, Any]]:
    """Every (container, key or index) in `data`."""
    found: list[tuple[Any, Any]] = []
    pending = [data]
    while pending:
        value = pending.pop()
        for key in keys_of(value):
            found.append((value, key))
            pending.append(value[key])
    return found


def keys_of(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return list(value)
    return list(range(len(value))) if isinstance(value, list) else []


def random_value(random_source: random.Random) -> Any:
    choices = [
        None,
        True,
        random_source.randint(-5, 5),
        10**400,
        -(10**30),
        2**63,
        1e308,
        float("nan"),
        "",
        "x" * random_source.randint(1, 5),
        [],
        {},
        [1, "a", None],
        {"params": 5},
        nested(random_source.randint(50, 300)),
    ]
    return random_source.choice(choices)


def nested(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


def mutate(data: Any, random_source: random.Random) -> None:
    """Replace, remove or wrap one value somewhere in `data`."""
    container, key = random_source.choice(places(data))
    action = random_source.random()
    if action < 0.2 and isinstance(container, dict):
        del container[key]
    elif action < 0.3:
        container[key] = [container[key]]
    else:
        container[key] = random_value(random_source)


def test_fuzzed_edits_raise_only_project_errors(catalog: Catalog) -> None:
    random_source = random.Random(13)
    originals = [example_with_imported_spec(catalog, random.Random(seed)) for seed in range(10)]
    for edit in range(EDITS):
        data = copy.deepcopy(random_source.choice(originals))
        for _ in range(random_source.randint(1, 3)):
            mutate(data, random_source)
        try:
            load_data(data, catalog)
        except ProjectError as error:
            assert error.file == FILE and error.path.startswith("$"), (edit, str(error))
            assert "\n" not in str(error), (edit, str(error))


def test_json_nested_100000_deep_is_a_project_error(catalog: Catalog) -> None:
    with pytest.raises(ProjectError, match="nested more than 100 levels deep") as caught:
        load_text("[" * 100_000 + "]" * 100_000, catalog)
    assert caught.value.file == FILE


def test_nesting_beyond_the_limit_names_its_path(catalog: Catalog) -> None:
    data = json.loads(EXAMPLES[0].read_text(encoding="utf-8"))
    data["nodes"][0]["params"]["deep"] = nested(200)
    with pytest.raises(ProjectError, match="nested more than") as caught:
        load_data(data, catalog)
    assert caught.value.path.startswith("$.nodes[0].params.deep[0][0]")


@pytest.mark.parametrize("where", ["params", "position"])
def test_an_integer_of_400_digits_is_a_project_error(catalog: Catalog, where: str) -> None:
    data = json.loads(EXAMPLES[0].read_text(encoding="utf-8"))
    node = data["nodes"][1]
    if where == "params":
        node["params"]["units"] = 10**400
    else:
        node["position"][0] = 10**400
    text = json.dumps(data)
    with pytest.raises(ProjectError, match="too large") as caught:
        load_text(text, catalog)
    assert caught.value.path.startswith(f"$.nodes[1].{where}")


def test_an_integer_of_5000_digits_is_a_project_error(catalog: Catalog) -> None:
    with pytest.raises(ProjectError, match="not JSON this designer reads"):
        load_text('{"x": ' + "9" * 5000 + "}", catalog)


def test_an_imported_spec_without_params_names_its_path(catalog: Catalog) -> None:
    data = example_with_imported_spec(catalog, random.Random(0))
    del data[IMPORTED_SPECS_KEY][0]["params"]
    with pytest.raises(ProjectError, match="missing key 'params'") as caught:
        load_data(data, catalog)
    assert caught.value.path == f"$.{IMPORTED_SPECS_KEY}[0].params"


def test_custom_layers_that_is_not_a_list_is_a_project_error(catalog: Catalog) -> None:
    data = json.loads(EXAMPLES[0].read_text(encoding="utf-8"))
    data["custom_layers"] = {"layers.py": True}
    with pytest.raises(ProjectError, match="expected a list") as caught:
        load_data(data, catalog)
    assert caught.value.path == "$.custom_layers"
