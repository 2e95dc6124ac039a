"""Shape inference: every node's output specs, parameter counts, or a diagnostic.

Exact by construction: each layer is constructed from its params and called on
`keras.KerasTensor`s inside a `keras.StatelessScope` that defers variable
initialisation, so Keras runs its own input_spec checks, `build` (merge shape
checks included) and `compute_output_spec`, while no weight is allocated. The
parameter counts are the products of the deferred variables' shapes.

What building the model would still refuse is checked too (`check_buildable`): a
tensor too large for any backend, or a weight its initializer refuses (run on
shapes only, or for real on weights of at most SMALL_WEIGHT elements), so a
design that validates also builds.

Results are cached by (layer type, params, input specs), and `ShapeInference`
re-infers only what lies downstream of an edit, stopping where a node's outputs
come out unchanged.
"""

from __future__ import annotations

import heapq
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import keras
from keras.src import backend
from keras.src.backend.common import global_state

from designer.catalog.keras_layers import construct
from designer.catalog.spec import Catalog, LayerSpec
from designer.catalog.user_modules import located_error
from designer.engine.hints import Explanation, Problem, explain
from designer.engine.results import BLOCKED, NodeResult, Shape, TensorSpec, format_shape
from designer.graph.model import Edge, ModelGraph, Node
from designer.graph.validation import Diagnostic

WeightShapes = tuple[tuple[str, tuple[int, ...], bool], ...]  # (path, shape, trainable): always known
LARGEST_TENSOR = 2**63 - 1  # elements: the most a tensor's size can count (int64)
SMALL_WEIGHT = 65_536  # elements: a weight this small is initialised for real while checking
# Initializers that make a float weight of any shape (Constant does not, nor a random one of an
# integer weight; Orthogonal and Identity by rank): checking them would cost time and find nothing.
ANY_FLOAT_SHAPE = frozenset(
    getattr(keras.initializers, name)
    for name in (
        "Zeros", "Ones", "RandomNormal", "RandomUniform", "TruncatedNormal", "VarianceScaling",
        "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform", "LecunNormal",
    )
)  # fmt: skip


@dataclass
class _Computed:
    """A cache entry: the layer's answer for one (type, params, input specs)."""

    outputs: tuple[TensorSpec, ...]
    weight_shapes: WeightShapes
    error: str | None = None


@dataclass
class ShapeInference:
    """Holds the last results of a graph and re-infers incrementally."""

    catalog: Catalog
    results: dict[str, NodeResult] = field(default_factory=dict)
    cache: dict[tuple[Any, ...], _Computed] = field(default_factory=dict)
    computed_count: int = 0  # layers actually called (cache misses), for tests and benches
    _rank_key: tuple[int, int] | None = None
    _rank_cache: dict[str, int] = field(default_factory=dict)

    def infer(self, graph: ModelGraph, changed: Iterable[str] | None = None) -> dict[str, NodeResult]:
        """Infer the whole graph (`changed` None) or what lies downstream of `changed`.

        Nodes are visited in topological order from a heap, and a node's
        consumers are visited only when its outputs changed (its sharers only
        when its weights did), so an edit costs what it really changes.
        Returns the results of the visited nodes; `self.results` holds all.
        """
        self.results = {k: v for k, v in self.results.items() if k in graph.nodes}
        rank = self._ranks(graph)
        if changed is None:
            self.results.clear()
            dirty = set(graph.nodes)
        else:
            dirty = {n for n in changed if n in graph.nodes} | (graph.nodes.keys() - self.results.keys())
        heap = [(rank[n], n) for n in dirty if n in rank]
        heapq.heapify(heap)
        visited: dict[str, NodeResult] = {}
        while heap:
            _, node_id = heapq.heappop(heap)
            if node_id in visited:
                continue
            previous = self.results.get(node_id)
            result = self.results[node_id] = visited[node_id] = self._infer_node(graph, graph.nodes[node_id])
            followers = []
            if previous is None or (previous.outputs, previous.ok) != (result.outputs, result.ok):
                followers += [e.target for e in graph.output_edges(node_id)]
            if previous is None or previous.weight_shapes != result.weight_shapes:
                followers += [n.id for n in graph.sharers(node_id)]
            for follower in followers:
                visited.pop(follower, None)
                heapq.heappush(heap, (rank[follower], follower))
        return visited

    def _ranks(self, graph: ModelGraph) -> dict[str, int]:
        """Topological rank of every node not on a cycle, cached per graph structure."""
        key = (id(graph), graph.structure_version)
        if self._rank_key != key:
            self._rank_cache = _topological_ranks(graph)
            self._rank_key = key
        return self._rank_cache

    # ------------------------------------------------------------------ a node
    def _infer_node(self, graph: ModelGraph, node: Node) -> NodeResult:
        spec = self.catalog.get(node.type)
        if spec is None:
            return _error_result(
                node, f"Unknown layer type '{node.type}'.", "Load the module that defines it."
            )
        inputs = self._input_specs(graph, node)
        if inputs is None:
            return BLOCKED
        owner = graph.layer_owner(node.id)
        ports = [edge.target_port for edge in graph.input_edges(node.id)]
        computed = self._compute(spec, owner.params, dict(zip(ports, inputs, strict=True)), node.name)
        if computed.error is not None:
            edges = graph.input_edges(node.id)
            sources = [_source_name(graph, e) for e in edges]
            explanation = explain(Problem(node, spec, inputs, sources, edges, computed.error))
            return NodeResult(diagnostics=(_layer_diagnostic(node, explanation),))
        return self._result(graph, node, spec, inputs, computed)

    def _result(
        self, graph: ModelGraph, node: Node, spec: LayerSpec, inputs: list[TensorSpec], computed: _Computed
    ) -> NodeResult:
        trainable = sum(math.prod(s) for _, s, t in computed.weight_shapes if t)
        frozen = sum(math.prod(s) for _, s, t in computed.weight_shapes if not t)
        if node.type != "Input" and not owner_trainable(graph, node):
            trainable, frozen = 0, trainable + frozen
        diagnostics: list[Diagnostic] = []
        shared = node.shares is not None
        if shared:
            diagnostics.extend(self._sharing_conflicts(graph, node, computed))
            trainable = frozen = 0
        if len(computed.outputs) != len(node.ports.outputs) and not node.is_input:
            diagnostics.append(_port_count_diagnostic(node, len(computed.outputs)))
        return NodeResult(
            outputs=computed.outputs,
            trainable=trainable,
            non_trainable=frozen,
            weight_shapes=computed.weight_shapes,
            diagnostics=tuple(diagnostics),
            shared=shared,
        )

    def _sharing_conflicts(self, graph: ModelGraph, node: Node, computed: _Computed) -> list[Diagnostic]:
        owner_result = self.results.get(node.shares or "")
        if owner_result is None or not owner_result.outputs:
            return []
        if owner_result.weight_shapes == computed.weight_shapes:
            return []
        owner = graph.nodes[node.shares or ""]
        message = (
            f"{node.name} shares the layer of {owner.name}, but its input would need weights of other "
            f"shapes ({_weights_text(computed.weight_shapes)} instead of "
            f"{_weights_text(owner_result.weight_shapes)})."
        )
        hint = f"Feed {node.name} a tensor shaped like the input of {owner.name}, or stop sharing."
        return [Diagnostic("error", message, hint, node=node.id, edge=None, code="shared-shape")]

    def _input_specs(self, graph: ModelGraph, node: Node) -> list[TensorSpec] | None:
        """The specs of the node's inputs in port order (those of the edges `input_edges` gives);
        None while a fixed port is unfed or an upstream node has no result."""
        edges = graph.input_edges(node.id)
        fixed = [e.target_port for e in edges if not node.ports.is_optional(e.target_port)]
        if not node.is_input and (not fixed or fixed != list(range(len(fixed)))):
            return None
        specs = []
        for edge in edges:
            upstream = self.results.get(edge.source)
            if upstream is None or not upstream.ok or edge.source_port >= len(upstream.outputs):
                return None
            specs.append(upstream.outputs[edge.source_port])
        if not node.is_input and len(fixed) < node.ports.min_inputs:
            return None
        return specs

    def _compute(
        self, spec: LayerSpec, params: dict[str, Any], inputs: dict[int, TensorSpec], name: str
    ) -> _Computed:
        key = (spec.key, _freeze(params), tuple(inputs.items()))
        cached = self.cache.get(key)
        if cached is None:
            self.computed_count += 1
            cached = self.cache[key] = _call_symbolically(spec, params, inputs)
        return cached


def owner_trainable(graph: ModelGraph, node: Node) -> bool:
    return bool(graph.layer_owner(node.id).params.get("trainable", True))


# ---------------------------------------------------------------- Keras calls
def _call_symbolically(spec: LayerSpec, params: dict[str, Any], inputs: dict[int, TensorSpec]) -> _Computed:
    if spec.is_input:
        return _input_result(params)
    try:
        layer = construct(spec, params, name="layer")  # a fixed name keeps weight paths comparable
        tensors = {port: keras.KerasTensor(i.shape, dtype=i.dtype) for port, i in inputs.items()}
        with keras.StatelessScope(initialize_variables=False):
            outputs = call_layer(layer, spec, tensors, params)
            specs = _tensor_specs(outputs)
            check_buildable(layer, specs)
        result = _Computed(specs, _weight_shapes(layer))
    except Exception as error:  # Keras raises many types; the message is what counts
        result = _Computed((), (), error=_error_message(spec, error))
    finally:
        global_state.set_global_attribute("uninitialized_variables", [])
    return result


def check_buildable(layer: keras.layers.Layer, outputs: Sequence[TensorSpec]) -> None:
    """Raise what building the layer for real would raise, without allocating its weights.

    The symbolic call runs `build` but defers each weight's initializer. Building the model
    runs them: no tensor may have more than LARGEST_TENSOR elements (TensorFlow refuses,
    JAX aborts the process), and an initializer may refuse its weight (Identity on a
    kernel of rank 4, a Constant of another shape, a random one for an integer dtype).
    Each weight's initializer runs here (but the built-in ones that make any float weight):
    for real up to SMALL_WEIGHT elements, else symbolically (`compute_output_spec`: shapes only).
    """
    variables = list(getattr(layer, "weights", ()))  # keras.ops operations have none
    for variable in variables:
        _check_size(f"The weight `{variable.name}`", tuple(variable.shape))
    for spec in outputs:
        _check_size("An output", spec.shape[1:], " per sample")
    for variable in variables:
        _check_initializer(variable)


def _check_size(what: str, shape: Shape, per: str = "") -> None:
    known = [d for d in shape if d is not None]
    if any(d > LARGEST_TENSOR for d in known) or math.prod(known) > LARGEST_TENSOR:
        raise ValueError(
            f"{what} would have shape {format_shape(shape)}: more than 2**63 - 1 elements{per}, "
            "more than a tensor can hold."
        )


def _check_initializer(variable: keras.Variable) -> None:
    """Run a deferred weight's initializer, unless it is one that takes any float weight."""
    initializer = getattr(variable, "_initializer", None)  # Keras keeps a deferred one here
    shape = tuple(variable.shape)
    if initializer is None or _takes_any_float(initializer, shape, variable.dtype):
        return
    try:
        if math.prod(shape) <= SMALL_WEIGHT:
            variable.value  # noqa: B018  an uninitialised variable's value runs its initializer
        else:
            backend.compute_output_spec(lambda: variable.value)
    except Exception as error:  # an initializer raises many types; the message is what counts
        raise ValueError(
            f"Cannot initialize the weight `{variable.name}` of shape {format_shape(shape)}: "
            f"{_clean_message(error)}"
        ) from error


def _takes_any_float(initializer: Any, shape: Shape, dtype: str) -> bool:
    """Whether a built-in initializer makes any float weight of this rank (no need to run it)."""
    kind = type(initializer)
    rank_ok = kind in ANY_FLOAT_SHAPE or (
        (kind is keras.initializers.Orthogonal and len(shape) >= 2)
        or (kind is keras.initializers.Identity and len(shape) == 2)
    )
    return rank_ok and str(dtype).startswith(("float", "bfloat"))


def call_layer(
    layer: keras.layers.Layer,
    spec: LayerSpec,
    tensors: list[Any] | Mapping[int, Any],
    params: Mapping[str, Any] | None = None,
) -> Any:
    """Call a layer on its input tensors (a list in port order, or a dict by port) the way its
    spec says (single, list or positional); optional ports and the call's params go by keyword."""
    by_port = tensors if isinstance(tensors, Mapping) else dict(enumerate(tensors))
    fixed, tensor_keywords = spec.ports.split_arguments(by_port)
    keywords = {**tensor_keywords, **spec.call_params(params or {})}
    convention = getattr(spec, "call_convention", "single")
    if convention == "list":
        return layer(list(fixed), **keywords)
    if convention == "positional" or len(fixed) != 1:
        return layer(*fixed, **keywords)
    return layer(fixed[0], **keywords)


def _input_result(params: dict[str, Any]) -> _Computed:
    shape = params.get("shape")
    if not isinstance(shape, list) or not all(d is None or (isinstance(d, int) and d > 0) for d in shape):
        return _Computed((), (), error=f"expected a list of positive ints or None for `shape`, got {shape!r}")
    dtype = params.get("dtype", "float32") or "float32"
    return _Computed((TensorSpec((None, *shape), str(dtype)),), ())


def _tensor_specs(outputs: Any) -> tuple[TensorSpec, ...]:
    flat = keras.tree.flatten(outputs)
    return tuple(TensorSpec(tuple(t.shape), str(t.dtype)) for t in flat)


def _weight_shapes(layer: keras.layers.Layer) -> WeightShapes:
    # keras.ops operations (imported functional graphs) have no weights at all.
    trainable = {id(v) for v in getattr(layer, "trainable_weights", ())}
    return tuple((v.path, tuple(v.shape), id(v) in trainable) for v in getattr(layer, "weights", ()))


def _error_message(spec: LayerSpec, error: Exception) -> str:
    """What went wrong; for a custom layer whose own code raised, where in its file."""
    located = located_error(error, spec.file) if spec.source == "user" and spec.file else None
    return located or _clean_message(error)


def _clean_message(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    for marker in ("\n\nArguments received", "\nArguments received by"):
        text = text.split(marker)[0]
    return text.strip()


def _freeze(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


# --------------------------------------------------------------- diagnostics
def _layer_diagnostic(node: Node, explanation: Explanation) -> Diagnostic:
    """Keras' complaint about `node`, as `explain` retold it; its edge is the one a fix splices."""
    edge = explanation.fix.edge if explanation.fix else None
    return Diagnostic(
        "error",
        explanation.message,
        explanation.hint,
        node=node.id,
        edge=edge,
        code="layer",
        fix=explanation.fix,
    )


def _error_result(node: Node, message: str, hint: str) -> NodeResult:
    return NodeResult(
        diagnostics=(Diagnostic("error", message, hint, node=node.id, edge=None, code="layer"),)
    )


def _port_count_diagnostic(node: Node, count: int) -> Diagnostic:
    message = (
        f"{node.name} returns {count} tensor(s) but its node has {len(node.ports.outputs)} output port(s)."
    )
    hint = (
        "Its outputs follow its parameters (return_state...) only for the layers the catalog knows; "
        "reload the layer's module so its ports follow its call signature."
    )
    return Diagnostic("error", message, hint, node=node.id, edge=None, code="output-ports")


def _source_name(graph: ModelGraph, edge: Edge) -> str:
    return graph.nodes[edge.source].name


def _weights_text(weight_shapes: tuple[tuple[str, Shape, bool], ...]) -> str:
    return ", ".join(format_shape(s) for _, s, _ in weight_shapes) or "none"


def _topological_ranks(graph: ModelGraph) -> dict[str, int]:
    """Kahn's order (ties by insertion order); nodes on a cycle get no rank."""
    insertion = {node_id: index for index, node_id in enumerate(graph.nodes)}
    waiting = {n: len(graph.input_edges(n)) for n in graph.nodes}
    ready = [(insertion[n], n) for n, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    ranks: dict[str, int] = {}
    while ready:
        _, node_id = heapq.heappop(ready)
        ranks[node_id] = len(ranks)
        for edge in graph.output_edges(node_id):
            waiting[edge.target] -= 1
            if waiting[edge.target] == 0:
                heapq.heappush(ready, (insertion[edge.target], edge.target))
    return ranks


def infer(graph: ModelGraph, catalog: Catalog) -> dict[str, NodeResult]:
    """One full inference pass without keeping state."""
    engine = ShapeInference(catalog)
    engine.infer(graph)
    return engine.results
