"""Readable, unique, deterministic Python identifiers for the nodes of a design.

Node names are already identifiers (the graph enforces it), but generated code
also has its own names: Python's builtins, the modules it imports (`keras`,
`layers`, `np`...), its own variables (`inputs`, `model`...) and, in a
subclassed model, the attributes of `keras.Model` (`self.layers`, `self.name`).
A node whose name clashes with one of those gets the first free name of
`name_`, `name_1`, `name_2`... and the rename is reported, so the UI can tell
the user. Layers keep the node's own name in `name="..."`; only the Python
variable changes.
"""

from __future__ import annotations

import builtins
import keyword
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from designer.graph.model import ModelGraph, Node

# Modules, variables and functions that generated code itself uses.
CODE_NAMES = frozenset(
    {
        "keras", "layers", "ops", "np", "numpy", "tf", "tensorflow", "sklearn", "datasets",
        "argparse", "csv", "json", "os", "pathlib", "sys", "math", "random",
        "model", "inputs", "outputs", "x", "y", "self", "training", "mask", "kwargs", "config", "cls",
        "build_model", "main", "args", "parser", "strategy", "history", "results", "callbacks",
        "load_data", "compile_model", "make_callbacks", "make_optimizer", "make_strategy",
    }
)  # fmt: skip

# Public attributes of keras.Model (Keras 3.15) and the instance attributes it
# sets: a subclassed model cannot use these as layer attributes.
MODEL_ATTRIBUTES = frozenset(
    {
        "activity_regularizer", "add_loss", "add_metric", "add_variable", "add_weight", "autocast",
        "build", "build_from_config", "built", "call", "call_signature_parameters", "compile",
        "compile_from_config", "compiled", "compiled_loss", "compiled_metrics", "compute_dtype",
        "compute_loss", "compute_mask", "compute_metrics", "compute_output_shape",
        "compute_output_spec", "count_params", "distribute_reduction_method", "distribute_strategy",
        "dtype", "dtype_policy", "evaluate", "export", "fit", "from_config", "get_build_config",
        "get_compile_config", "get_config", "get_layer", "get_metrics_result",
        "get_quantization_layer_structure", "get_state_tree", "get_weights", "history", "input",
        "input_dtype", "input_spec", "jit_compile", "layers", "load_own_variables", "load_weights",
        "loss", "losses", "make_predict_function", "make_test_function", "make_train_function",
        "metrics", "metrics_names", "metrics_variables", "name", "non_trainable_variables",
        "non_trainable_weights", "optimizer", "output", "path", "predict", "predict_function",
        "predict_on_batch", "predict_step", "quantization_mode", "quantize", "quantized_build",
        "quantized_call", "rematerialized_call", "reset_metrics", "run_eagerly", "save",
        "save_own_variables", "save_weights", "set_state_tree", "set_weights", "stateless_call",
        "stateless_compute_loss", "steps_per_execution", "stop_predicting", "stop_training",
        "summary", "supports_jit", "supports_masking", "symbolic_call", "test_function",
        "test_on_batch", "test_step", "to_json", "train_function", "train_on_batch", "train_step",
        "trainable", "trainable_variables", "trainable_weights", "unrolled_steps_per_execution",
        "variable_dtype", "variables", "weights",
    }
)  # fmt: skip

RESERVED = frozenset(keyword.kwlist) | frozenset(dir(builtins)) | CODE_NAMES | MODEL_ATTRIBUTES


@dataclass(frozen=True)
class NameMap:
    """The Python names of one design.

    `nodes`: node id -> identifier (the variable of its tensor when it has one
    output, the attribute of its layer in a subclassed model). `tensors`:
    (node id, output port) -> variable of that output tensor. `layers`: node id
    of a shared layer's owner -> variable holding the layer object in
    Functional code. `renamed`: node name -> identifier, for every node whose
    identifier differs from its name. `blocks`: group id -> variable (attribute)
    holding the block object of that group, when the code has blocks.
    """

    nodes: dict[str, str]
    tensors: dict[tuple[str, int], str]
    layers: dict[str, str]
    renamed: dict[str, str]
    blocks: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, node_id: str) -> str:
        """The identifier of a node, or of a group's block object."""
        return self.nodes[node_id] if node_id in self.nodes else self.blocks[node_id]

    def tensor(self, node_id: str, port: int = 0) -> str:
        return self.tensors[(node_id, port)]


def python_names(graph: ModelGraph, *, reserved: Iterable[str] = ()) -> NameMap:
    """Identifiers for every node of `graph`, avoiding `RESERVED` and `reserved`.

    Names that need no change are kept first, so a rename never takes the name
    of another node; the others are renamed in node order.
    """
    taken = set(RESERVED) | set(reserved)
    bases = {node.id: identifier_stem(node.name) for node in graph}
    nodes: dict[str, str] = {}
    for node in graph:
        base = bases[node.id]
        if base == node.name and base not in taken:
            nodes[node.id] = base
            taken.add(base)
    for node in graph:
        if node.id not in nodes:
            nodes[node.id] = claim(bases[node.id], taken)
    tensors = dict(_tensor_names(graph, nodes, taken))
    layers = {
        node.id: claim(f"{nodes[node.id].rstrip('_')}_layer", taken)
        for node in graph
        if graph.sharers(node.id)
    }
    renamed = {node.name: nodes[node.id] for node in graph if nodes[node.id] != node.name}
    return NameMap(nodes=nodes, tensors=tensors, layers=layers, renamed=renamed)


def _tensor_names(
    graph: ModelGraph, nodes: dict[str, str], taken: set[str]
) -> Iterator[tuple[tuple[str, int], str]]:
    """One variable per output tensor: the node's own name when it has one output,
    else node_port ("encoder_z_mean")."""
    for node in graph:
        outputs = _output_ports(node)
        if len(outputs) == 1:
            yield (node.id, 0), nodes[node.id]
            continue
        for port, port_name in enumerate(outputs):
            yield (node.id, port), claim(f"{nodes[node.id]}_{identifier_stem(port_name)}", taken)


def _output_ports(node: Node) -> tuple[str, ...]:
    return node.ports.outputs or ("output",)


def claim(base: str, taken: set[str]) -> str:
    """The first free name of base, base_, base_1, base_2... (and take it)."""
    candidates = [base, f"{base}_"] if not base.endswith("_") else [base]
    index = 1
    while True:
        for candidate in candidates:
            if candidate not in taken:
                taken.add(candidate)
                return candidate
        candidates = [f"{base.rstrip('_')}_{index}"]
        index += 1


def identifier_stem(text: str) -> str:
    """`text` as a plain identifier: invalid characters become `_`, no leading
    underscore (private in Python, and Keras' own attributes use them), never
    starting with a digit."""
    if text.isidentifier():
        stem = text.lstrip("_")
    else:
        stem = re.sub(r"_+", "_", re.sub(r"\W", "_", text, flags=re.ASCII)).strip("_")
    if not stem:
        return "layer"
    if stem[0].isdigit():
        return f"layer_{stem}"
    return stem


def class_name(text: str) -> str:
    """A CamelCase class name for a model name ("mnist_cnn" -> "MnistCnn")."""
    words = [word for word in re.split(r"[^0-9A-Za-z]+", text) if word]
    name = "".join(word[:1].upper() + word[1:] for word in words) or "Model"
    return f"Model{name}" if name[0].isdigit() else name
