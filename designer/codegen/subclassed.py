"""The design as a subclassed `keras.Model`: layers made in `__init__`, wired in `call`.

Layers are attributes named after their nodes (a shared layer once) and keep
the node's name (`name="dense"`), so layer names and parameter counts match
the Functional export. `call(inputs, training=None)` takes one tensor, or,
when the model has several inputs, a dict keyed by input name or a list in
input order (as a Functional model does), and passes `training=training` to
every layer whose call accepts it, and to every block. `build(input_shape)`
calls the layers on symbolic inputs, so each builds eagerly, never inside
Keras' trace of `call` (see `build_body`).
The class registers itself for saving, and the module's `build_model()` builds
it on `keras.Input`s so `summary()` and `save()` work at once. A group is a
block object attribute (`self.encoder = Encoder(name="encoder")`), its class
defined above the model's.
"""

from __future__ import annotations

from collections.abc import Mapping

from designer.catalog.spec import LayerSpec
from designer.codegen.blocks import SERIALIZATION_PACKAGE, BlockCall, with_blocks
from designer.codegen.formatting import finish
from designer.codegen.functional import docstring_name, model_outputs, module_source
from designer.codegen.naming import class_name
from designer.codegen.plan import ModelPlan, plan_model
from designer.codegen.rendering import string
from designer.graph.model import ModelGraph


def generate_subclassed(
    graph: ModelGraph,
    catalog: Mapping[str, LayerSpec],
    *,
    self_contained: bool = False,
    format_code: bool = True,
) -> str:
    """Python source of a module defining the model class and `build_model()`."""
    name = model_class_name(graph)
    reserved = {name, f"{name}Model"}
    plan = with_blocks(
        plan_model(graph, catalog, self_contained=self_contained, reserved=reserved), reserved=reserved
    )
    if name in plan.imports.bound_names:
        name = f"{name}Model"
    definition = [*class_lines(plan, name), "", "", *build_lines(plan, name)]
    source = module_source(plan, "a subclassed keras.Model", definition)
    return finish(source, local_modules=plan.imports.local_modules) if format_code else source


def model_class_name(graph: ModelGraph) -> str:
    return class_name(graph.name)


def class_lines(plan: ModelPlan, name: str) -> list[str]:
    graph_name = string(plan.graph.name)
    lines = [
        f'@keras.saving.register_keras_serializable(package="{SERIALIZATION_PACKAGE}")',
        f"class {name}(keras.Model):",
        f'    """The "{docstring_name(plan.graph.name)}" model."""',
        "",
        f"    def __init__(self, name={graph_name}, **kwargs):",
        "        super().__init__(name=name, **kwargs)",
    ]
    lines += [f"        self.{plan.names[owner]} = {source}" for owner, source in plan.constructors.items()]
    lines += ["", "    def build(self, input_shape):", *build_body(plan)]
    lines += ["", "    def call(self, inputs, training=None):", *call_body(plan)]
    lines += [
        "",
        "    def get_config(self):",
        "        # Every layer is made in __init__: name, dtype and trainable are the whole config.",
        "        return super().get_config()",
        "",
        "    @classmethod",
        "    def from_config(cls, config):",
        "        return cls(**config)",
    ]
    return lines


def build_body(plan: ModelPlan) -> list[str]:
    """`build()` calls the model's layers on symbolic inputs of the shapes Keras passes.

    Without it Keras builds the model by tracing `call` in a scratch graph, and a layer
    that makes tensors in its own build (Normalization's mean and variance) keeps tensors
    of that graph, which fail once it is gone ("out of scope" on TensorFlow, a leaked
    tracer on JAX). Built here, every layer builds eagerly, as in a Functional model.
    """
    lines = [
        "        # Each layer builds when called on symbolic inputs: here, not in Keras' trace of",
        "        # call(), where a layer that makes tensors in build (Normalization) would lose them.",
    ]
    if len(plan.inputs) == 1:
        return [*lines, f"        self.call({plan.symbolic_input(plan.inputs[0], 'input_shape')})"]
    tensors = ", ".join(
        f"{string(node.name)}: {plan.symbolic_input(node, f'input_shape[{string(node.name)}]')}"
        for node in plan.inputs
    )
    return [*lines, *_keyed_by_input_name(plan, "input_shape"), f"        self.call({{{tensors}}})"]


def call_body(plan: ModelPlan) -> list[str]:
    """`call()`: one input tensor, or several as a dict by input name or a list in input order."""
    if len(plan.inputs) == 1:
        lines = [f"        {plan.names[plan.inputs[0].id]} = inputs"]
    else:
        lines = [
            "        # A dict keyed by input name, or a list (tuple) in input order.",
            *_keyed_by_input_name(plan, "inputs"),
            *(f"        {plan.names[node.id]} = inputs[{string(node.name)}]" for node in plan.inputs),
        ]
    for call in plan.calls:
        if isinstance(call, BlockCall):
            lines.append(
                f"        {call.assigned} = self.{call.variable}({call.arguments}, training=training)"
            )
            continue
        arguments = call.arguments + (", training=training" if call.spec.call_training else "")
        lines.append(f"        {call.assigned} = self.{plan.names[call.owner.id]}({arguments})")
    lines.append(f"        return {model_outputs(plan)}")
    return lines


def build_lines(plan: ModelPlan, name: str) -> list[str]:
    """`build_model()`: the model called once on symbolic inputs, which builds
    every layer (so the weights exist before training, summary or saving)."""
    if len(plan.inputs) == 1:
        inputs = plan.input_constructor(plan.inputs[0])
    else:
        items = ", ".join(f"{string(node.name)}: {plan.input_constructor(node)}" for node in plan.inputs)
        inputs = "{" + items + "}"
    return [
        "def build_model() -> keras.Model:",
        f"    model = {name}()",
        f"    model({inputs})",
        "    return model",
    ]


def _keyed_by_input_name(plan: ModelPlan, variable: str) -> list[str]:
    """Lines that make `variable`, when a list in input order, a dict keyed by input name."""
    names = ", ".join(string(node.name) for node in plan.inputs)
    return [
        f"        if not isinstance({variable}, dict):",
        f"            {variable} = dict(zip(({names}), {variable}, strict=True))",
    ]
