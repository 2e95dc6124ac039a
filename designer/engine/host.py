"""The engine process of the GUI: serves the engine functions over JSON lines.

`python -P -m designer.engine.host --cache-dir DIR` reads one request per line on
stdin, `{"id": int, "op": str, ...}`, and writes one reply per line,
`{"id": int, "ok": true, "result": ...}` or `{"id": int, "ok": false, "error": str}`.
Its first line, written once Keras is imported, is `{"id": 0, "ok": true, "result": "ready"}`.

The message types, RequestError and how a reply is written are designer.engine.protocol's.

Operations:
- "ping" -> "pong".
- "catalog" -> `Catalog.to_dict()`; the catalog is also stored in the disk cache
  of `--cache-dir` (`load_or_build_catalog`), which the GUI reads on its next start.
- "analyze" {"project": project data} -> {"results": {node id: NodeResult}, "diagnostics":
  [Diagnostic], "totals": [trainable, non_trainable]}; a node's result carries Keras'
  complaints about its params ("param_errors"). The host keeps the last
  design and re-infers only what the difference to it can change.
- "import" {"source", "weights_dir", "code"} -> {"project", "specs", "messages"}: a Keras model
  as a design (designer.engine.importer), its weights written into weights_dir. `source` is a
  file's path, whatever its name; only with "code": true (the person agreed to run it) may it
  be `module:function`, which imports and calls Python code.
- "design_weights" {"project", "weights", "path"} -> {"path", "loaded", "fresh"}: an imported
  model's weights written for the design as it is now, by layer name: what a run starts from.
- "load_custom_layers" {"paths": [files or folders], "guard": path} -> {"specs", "problems":
  [{file, line, message}], "loaded": [files], "stopped": [...]}: the design's custom-layer files
  (designer.engine.custom_ops); their layers join the catalog, their problems every analysis.
- "check_layer" {"source", "class_name", "input_shape", "file", "guard"} -> {"output_shape",
  "weights", "trainable", "non_trainable", "warnings"} or {"error", "line"}: the layer editor's Check.
- The weights panel's ops (inspect_weights, weight_slice, inspect_activations, inspect_run,
  run_health, model_summary, export): their protocol is designer.engine.inspect_ops's docstring.

The protocol owns private duplicates of the original stdin and stdout. File
descriptors 0 and 1 are pointed at /dev/null and stderr before Keras is
imported, so neither a print() nor an input() in user layer code, nor TensorFlow
writing to fd 1, can corrupt the protocol. A failing request gets an error reply
and the host goes on serving; end of input ends the process, and so does the
end of the process that started it (designer.processes.die_with_parent), even
while user code keeps the host busy.

Test hook: when DESIGNER_ENGINE_TEST_HANG_OP names an op, the host sleeps forever
on that op, so that the GUI's supervision of a hung engine can be tested.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from designer.catalog.spec import Catalog
from designer.engine.protocol import READY_ID, RequestError, describe_error, reply_line
from designer.graph import project
from designer.graph.model import ModelGraph
from designer.processes import die_with_parent

if TYPE_CHECKING:
    from designer.engine.custom_ops import CustomLayers
    from designer.engine.inference import NodeResult, ShapeInference
    from designer.engine.inspect_ops import InspectionOps

HANG_OP_VARIABLE = "DESIGNER_ENGINE_TEST_HANG_OP"
CACHE_LIMIT = 20_000  # inference cache entries kept before the cache starts afresh


# --------------------------------------------------------------- the design diff
def changed_nodes(previous: Mapping[str, Any] | None, current: Mapping[str, Any]) -> set[str] | None:
    """Ids of the nodes of `current` whose inference the edit from `previous` can change.

    None asks for a full pass: there is no previous design, or its custom layers changed.
    A node counts as changed when it is new, its type, params or sharing changed,
    an edge into it was added or removed, or it or a node feeding it was renamed
    (messages name the layers). Sharers of a changed node count too.
    """
    if previous is None or previous.get("custom_layers") != current.get("custom_layers"):
        return None
    old_nodes = {node["id"]: node for node in previous["nodes"]}
    new_nodes = {node["id"]: node for node in current["nodes"]}
    changed = {
        node_id for node_id, node in new_nodes.items() if _layer_of(old_nodes.get(node_id)) != _layer_of(node)
    }
    renamed = {
        node_id for node_id, node in new_nodes.items() if _name_of(old_nodes.get(node_id)) != node["name"]
    }
    old_edges, new_edges = _edge_keys(previous["edges"]), _edge_keys(current["edges"])
    changed |= {target for _, _, target, _ in old_edges ^ new_edges}
    changed |= renamed | {target for source, _, target, _ in new_edges if source in renamed}
    changed |= {node_id for node_id, node in new_nodes.items() if node.get("shares") in changed}
    return changed & set(new_nodes)


def _layer_of(node: Mapping[str, Any] | None) -> str | None:
    """What defines a node's layer, in a canonical form (JSON: True and 1 differ)."""
    if node is None:
        return None
    return json.dumps([node["type"], node["params"], node.get("shares")], sort_keys=True)


def _name_of(node: Mapping[str, Any] | None) -> str | None:
    return None if node is None else node["name"]


def _edge_keys(edges: Iterable[Mapping[str, Any]]) -> set[tuple[str, int, str, int]]:
    return {(e["source"], e["source_port"], e["target"], e["target_port"]) for e in edges}


# ------------------------------------------------------------------ the engine
class EngineHost:
    """The engine state of one GUI session: the catalog, the last design and its inference."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self.cache_dir = cache_dir
        self._catalog: Catalog | None = None
        self._inference: ShapeInference | None = None
        self._untrusted_lambdas: frozenset[str] = frozenset()  # the design's, at the last analysis
        self._previous: dict[str, Any] | None = None
        self._inspection: InspectionOps | None = None
        self._custom: CustomLayers | None = None

    def handle(self, request: Mapping[str, Any]) -> Any:
        """The result of one request; raises on failure."""
        operation = request.get("op")
        if operation and operation == os.environ.get(HANG_OP_VARIABLE):
            threading.Event().wait()  # the test hook: never answer
        handlers = {
            "ping": self.ping,
            "catalog": self.catalog,
            "analyze": self.analyze,
            "import": self.import_model,
            "design_weights": self.design_weights,
            "load_custom_layers": self.load_custom_layers,
            "check_layer": self.check_layer,
            **self._inspection_ops().handlers(),
        }
        if operation not in handlers:
            raise RequestError(f"Unknown op {operation!r}; expected one of {', '.join(sorted(handlers))}.")
        return handlers[operation](request)

    def ping(self, request: Mapping[str, Any]) -> str:
        return "pong"

    def catalog(self, request: Mapping[str, Any]) -> dict[str, Any]:
        return self._current_catalog().to_dict()

    def import_model(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """A Keras model (.keras, JSON config, module:function) as project data, its weights
        saved in `weights_dir`; the specs it adds join this engine's catalog."""
        from designer.catalog.expressions import lambda_expressions
        from designer.catalog.lambda_layer import trust_lambdas
        from designer.engine.importer import import_source

        weights_dir = Path(_field(request, "weights_dir", str))
        weights_dir.mkdir(parents=True, exist_ok=True)
        code = request.get("code") is True
        source, catalog = _field(request, "source", str), self._current_catalog()
        lambdas = request.get("lambdas") is True  # the user consented to the file's Lambda code
        result = import_source(source, catalog, weights_dir, run_code=code or lambdas, as_file=not code)
        if code or lambdas:
            trust_lambdas(lambda_expressions(result.graph))
        if result.extra_specs:
            self._catalog = self._current_catalog().merged(result.extra_specs)
            self._inference = None
        return {
            "project": result.project(None).to_dict(),
            "specs": [spec.to_dict() for spec in result.extra_specs],
            "messages": list(result.messages),
        }

    def design_weights(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """The weights file `path` of the design `project` as it is now, filled by layer name from
        the `weights` file (an imported model's): what a run starts from."""
        from designer.engine.importer import weights_for_design

        catalog = self._catalog_for(_field(request, "project", dict))
        graph = project.from_dict(request["project"], catalog.ports_of).graph
        written = weights_for_design(
            graph,
            catalog,
            _field(request, "weights", str),
            Path(_field(request, "path", str)),
        )
        return {"path": str(written.path), "loaded": written.loaded, "fresh": written.fresh}

    def load_custom_layers(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """Load the design's custom-layer files; the next analysis infers everything afresh."""
        custom = self._custom_layers()
        custom.use_guard(request.get("guard"))
        reply = custom.load(_field(request, "paths", list))
        self._inference, self._previous = None, None
        if self._inspection is not None:  # its models were built with the classes of before
            self._inspection.forget_models()
        return reply

    def check_layer(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """Build the layer editor's code on an input shape (custom_ops.check_layer)."""
        custom = self._custom_layers()
        custom.use_guard(request.get("guard"))
        class_name, file = request.get("class_name"), request.get("file")
        return custom.check(
            _field(request, "source", str),
            class_name if isinstance(class_name, str) and class_name else None,
            _field(request, "input_shape", str),
            file if isinstance(file, str) and file else None,
        )

    def analyze(self, request: Mapping[str, Any]) -> dict[str, Any]:
        from designer.engine.analysis import with_param_errors

        data = _field(request, "project", dict)
        catalog = self._catalog_for(data)
        custom = self._custom_layers()
        graph = project.from_dict(data, custom.ports_of(catalog, data)).graph
        self._follow_lambda_trust(graph)
        inference = self._current_inference()
        changed = changed_nodes(self._previous, data)
        self._previous = None  # a failing pass leaves no state to diff against
        inference.infer(graph, changed)
        self._previous = data
        results = custom.explain(graph, inference.results, inference.catalog)
        reply = _analysis_reply(graph, with_param_errors(graph, inference.catalog, results))
        reply["diagnostics"] += [diagnostic.to_dict() for diagnostic in custom.file_diagnostics()]
        return reply

    def _follow_lambda_trust(self, graph: ModelGraph) -> None:
        """Infer afresh when the user trusted a Lambda expression that the last pass could not run
        (its error is no longer the answer, though nothing in the design changed)."""
        from designer.catalog.expressions import lambda_expressions
        from designer.catalog.lambda_layer import trusted_lambdas

        trusted = trusted_lambdas(graph)
        if self._untrusted_lambdas & trusted:
            self._inference, self._previous = None, None
        self._untrusted_lambdas = frozenset(lambda_expressions(graph)) - trusted

    def _custom_layers(self) -> CustomLayers:
        """The design's custom layers, made on first use (they import Keras)."""
        from designer.engine.custom_ops import CustomLayers

        if self._custom is None:
            self._custom = CustomLayers()
        return self._custom

    def _inspection_ops(self) -> InspectionOps:
        """The weights panel's ops, made on first use (they import Keras)."""
        from designer.engine.inspect_ops import InspectionOps

        if self._inspection is None:
            self._inspection = InspectionOps(self._current_catalog, self._custom_layers)
        return self._inspection

    def _current_catalog(self) -> Catalog:
        """Keras' layers, the library, and the custom layers loaded (`load_custom_layers`)."""
        if self._catalog is None:
            self._catalog = _load_catalog(self.cache_dir)
        return self._custom.catalog_over(self._catalog) if self._custom is not None else self._catalog

    def _catalog_for(self, data: Mapping[str, Any]) -> Catalog:
        """The catalog with the specs the project carries from its import (keras.ops nodes...)."""
        catalog = self._current_catalog()
        merged = catalog.with_project_specs(data)
        if merged is not catalog:
            self._catalog, self._inference = merged, None
        return merged

    def _current_inference(self) -> ShapeInference:
        from designer.engine.inference import ShapeInference

        if self._inference is None and self._custom is not None:
            self._inference = self._custom.inference(self._current_catalog())
        if self._inference is None:
            self._inference = ShapeInference(self._current_catalog())
        if len(self._inference.cache) > CACHE_LIMIT:
            self._inference.cache.clear()
        return self._inference


def _load_catalog(cache_dir: Path | None) -> Catalog:
    """Keras' layers through the disk cache (keyed by the Keras version) when there is a
    cache folder, plus the library in layers/, read afresh (it changes with the code)."""
    from designer.catalog.keras_layers import build_catalog, load_or_build_catalog
    from designer.catalog.user_modules import library_specs

    if cache_dir is None:
        return build_catalog().merged(library_specs())
    try:
        keras_catalog = load_or_build_catalog(cache_dir)
    except OSError as error:  # an unwritable cache costs the next start its time, nothing more
        print(f"The catalog cache in {cache_dir} cannot be written: {error}", file=sys.stderr)
        keras_catalog = build_catalog()
    return keras_catalog.merged(library_specs())


_JSON_NAMES: dict[type, str] = {dict: "an object", str: "a string", list: "a list"}


def _field(request: Mapping[str, Any], key: str, kind: type) -> Any:
    value = request.get(key)
    if not isinstance(value, kind):
        got = "nothing" if value is None else type(value).__name__
        raise RequestError(f"The request's {key!r} must be {_JSON_NAMES[kind]}, got {got}.")
    return value


def _analysis_reply(graph: ModelGraph, results: Mapping[str, NodeResult]) -> dict[str, Any]:
    """Every diagnostic (as `analysis.diagnose` orders them), results and totals, as JSON."""
    from designer.engine.analysis import diagnose

    diagnostics = diagnose(graph, results)
    trainable = sum(result.trainable for result in results.values())
    non_trainable = sum(result.non_trainable for result in results.values())
    return {
        "results": {node_id: result.to_dict() for node_id, result in results.items()},
        "diagnostics": [diagnostic.to_dict() for diagnostic in diagnostics],
        "totals": [trainable, non_trainable],
    }


# ---------------------------------------------------------------- the protocol
def answer(host: EngineHost, line: bytes) -> str:
    """The reply line to one request line; never raises for a bad or failing request."""
    request_id = None
    try:
        request = json.loads(line)
        if not isinstance(request, dict):
            raise RequestError(f"A request must be a JSON object, got {type(request).__name__}.")
        request_id = request.get("id")
        return reply_line(request_id, host.handle(request))
    except (Exception, SystemExit) as error:  # user layer code may raise anything, even exit
        return reply_line(request_id, error=describe_error(error))


def serve(host: EngineHost, requests: IO[bytes], replies: IO[str]) -> None:
    """Answer request lines until the end of input."""
    for line in _request_lines(requests):
        replies.write(answer(host, line) + "\n")
        replies.flush()


def _request_lines(requests: IO[bytes]) -> Iterator[bytes]:
    for line in iter(requests.readline, b""):
        if line.strip():
            yield line


def claim_protocol_streams() -> tuple[IO[bytes], IO[str]]:
    """Private duplicates of stdin and stdout for the protocol; fd 0 and 1 then lead
    to /dev/null and stderr, and sys.stdin / sys.stdout follow them."""
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8", newline="\n")
    sys.stdout.flush()
    nothing = os.open(os.devnull, os.O_RDONLY)
    os.dup2(nothing, 0)
    os.close(nothing)
    os.dup2(2, 1)
    sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    sys.stdout = sys.stderr
    return requests, replies


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m designer.engine.host", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--cache-dir", type=Path, default=None, help="where the catalog cache is kept")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    die_with_parent()  # a busy host of a killed GUI must not spin on
    requests, replies = claim_protocol_streams()
    importlib.import_module("designer.engine.inference")  # Keras: seconds, and it may print
    replies.write(reply_line(READY_ID, "ready") + "\n")
    replies.flush()
    serve(EngineHost(arguments.cache_dir), requests, replies)
    return 0


if __name__ == "__main__":
    sys.exit(main())
