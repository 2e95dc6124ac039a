"""Blocks in generated code: each group is called as one `keras.layers.Layer` subclass.

A block class reads like a ResNet block written by hand: its layers made in
`__init__` (attributes and layer names after the nodes, without the instance
prefix), wired in `call(self, <one argument per block input>, training=None)`,
which returns one tensor or a tuple, and a `get_config` with nothing to add
(the layers are fixed). Each group is one block object
(`encoder = Encoder(name="encoder")`); a group that shares another's weights
calls that object again. Groups of one block type wired alike share a class;
one wired otherwise gets a class of its own (`Encoder2`).

As in the flat plan, only what feeds a model output is generated: a block's
unused members and outputs are left out, so parameter counts and layer names
match the flat model the engine builds, with each block member's weights at
`<block name>/<inner layer name>` (`layer_paths`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import networkx as nx

from designer.catalog.spec import LayerSpec
from designer.codegen.errors import CodegenError
from designer.codegen.naming import RESERVED, NameMap, claim, identifier_stem
from designer.codegen.plan import LayerCall, ModelPlan, layer_call, plan_model
from designer.codegen.rendering import find_spec, string
from designer.graph.groups import local_name
from designer.graph.model import Group, ModelGraph

SERIALIZATION_PACKAGE = "designer"  # register_keras_serializable of every generated Layer and Model

Position = tuple[int, int]  # (member index in the group, port)


@dataclass(frozen=True)
class BlockCall:
    """One call of a block object: `targets = variable(arguments)`."""

    group: Group  # the group called
    instance: str  # id of the group that owns the block object (itself unless it shares one)
    variable: str  # the block object's variable (Functional) or attribute (subclassed)
    arguments: str
    targets: tuple[str, ...]  # one per block output; "_" for one this group does not use

    @property
    def assigned(self) -> str:
        return ", ".join(self.targets)


@dataclass
class _BlockObject:
    """A block object of the generated code: a group, and the groups that share its weights."""

    owner: Group
    instances: list[Group]  # the groups that call it and that the model uses
    members: tuple[int, ...] = ()  # member indexes the model uses, in any of its instances
    outputs: tuple[Position, ...] = ()
    inputs: tuple[tuple[Position, ...], ...] = ()  # the member ports each block input feeds
    sources: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # group id -> tensors fed
    class_name: str = ""


@dataclass(frozen=True)
class _ClassNames:
    """The names inside one block class, by member index."""

    arguments: tuple[str, ...]
    attributes: dict[int, str]  # member index of a layer owner -> attribute
    layer_names: dict[int, str]  # member index of a layer owner -> name="..."
    tensors: dict[Position, str]


# --------------------------------------------------------------------- public
def with_blocks(plan: ModelPlan, *, reserved: Iterable[str] = ()) -> ModelPlan:
    """`plan` with the calls of each used group's nodes replaced by one call of its block.

    `reserved` are names the module uses besides those the plan knows (the model class).
    """
    if not plan.graph.groups:
        return plan
    return _BlockPlanner(plan, set(reserved)).plan()


def layer_paths(graph: ModelGraph, catalog: Mapping[str, LayerSpec]) -> dict[str, str]:
    """Where each node's layer is in the model the generated code builds, by node name:
    "dense" at the top level, "encoder/dense" inside the block object "encoder"
    (for copying weights from the flat model the engine builds)."""
    plan = plan_model(graph, catalog)
    planner = _BlockPlanner(plan, set())
    planner.plan()
    return planner.paths


# -------------------------------------------------------------------- planner
class _BlockPlanner:
    """Turns a flat plan into a plan with block classes, objects and calls."""

    def __init__(self, plan: ModelPlan, reserved: set[str]) -> None:
        self.flat = plan
        self.graph = plan.graph
        self.reserved = reserved
        self.layer_calls = {call.node.id: call for call in plan.calls if isinstance(call, LayerCall)}
        self.inputs = {node.id for node in plan.inputs}
        self.live = set(self.layer_calls) | self.inputs
        self.objects = self._objects()
        self.paths: dict[str, str] = {}

    def plan(self) -> ModelPlan:
        if not self.objects:
            return self.flat
        classes = self._classes()
        blocks = self._variables(classes)
        names = replace(self.flat.names, blocks=blocks)
        calls = self._calls(names)
        return replace(
            self.flat,
            names=names,
            calls=calls,
            constructors=self._constructors(calls),
            classes=tuple(source for source, _ in classes.values()),
        )

    # -- which groups the model uses, and how
    def _objects(self) -> dict[str, _BlockObject]:
        objects: dict[str, _BlockObject] = {}
        for group in self.graph.groups.values():
            if not any(node_id in self.live for node_id in group.nodes):
                continue
            owner = self.graph.group(group.shares) if group.shares else group
            objects.setdefault(owner.id, _BlockObject(owner, [])).instances.append(group)
        for block_object in objects.values():
            self._fill(block_object)
        return objects

    def _fill(self, block_object: _BlockObject) -> None:
        members: set[int] = set()
        outputs: set[Position] = set()
        for group in block_object.instances:
            used = {index for index, node_id in enumerate(group.nodes) if node_id in self.live}
            members |= used
            outputs |= set(self._used_outputs(group, used))
        block_object.members = tuple(sorted(members))
        block_object.outputs = tuple(sorted(outputs))
        wirings = {group.id: self._inputs(group, block_object.members) for group in block_object.instances}
        first = block_object.instances[0]
        for group in block_object.instances:
            inputs_differ = [ports for _, ports in wirings[group.id]] != [
                ports for _, ports in wirings[first.id]
            ]
            if inputs_differ or not self._same_layers(block_object, group):
                raise CodegenError(
                    f"The blocks '{group.name}' and '{first.name}' share weights but are not wired alike "
                    "(their layers, the edges among them or their inputs differ); make them alike or "
                    "stop sharing."
                )
        block_object.inputs = tuple(ports for _, ports in wirings[first.id])
        block_object.sources = {key: [source for source, _ in wiring] for key, wiring in wirings.items()}

    def _same_layers(self, block_object: _BlockObject, group: Group) -> bool:
        """Whether `group` calls the layers of the block's owner, wired as its first instance."""
        owner, members = block_object.owner, block_object.members
        layers = all(
            self.graph.layer_owner(group.nodes[i]).id == self.graph.layer_owner(owner.nodes[i]).id
            for i in members
        )
        return layers and self._wiring(group, members) == self._wiring(block_object.instances[0], members)

    def _used_outputs(self, group: Group, used: set[int]) -> list[Position]:
        members = set(group.nodes)
        found = []
        for index in sorted(used):
            node_id = group.nodes[index]
            marked = self.graph.output_names(node_id)
            for edge in self.graph.output_edges(node_id):
                if edge.target not in members and edge.target in self.live:
                    found.append((index, edge.source_port))
            found += [(index, port) for port in marked]
        return sorted(set(found))

    def _inputs(
        self, group: Group, members: tuple[int, ...]
    ) -> list[tuple[tuple[str, int], tuple[Position, ...]]]:
        """(outside tensor, member ports it feeds) per block input, in block order."""
        inside = set(group.nodes)
        fed: dict[tuple[str, int], list[Position]] = {}
        for index in members:
            node = self.graph.nodes[group.nodes[index]]
            for edge in self.graph.input_edges(node.id):
                if edge.source not in inside:
                    self._check_source(group, edge.source)
                    fed.setdefault((edge.source, edge.source_port), []).append((index, edge.target_port))
        return [(source, tuple(ports)) for source, ports in fed.items()]

    def _check_source(self, group: Group, node_id: str) -> None:
        if node_id not in self.live:
            raise CodegenError(
                f"The block '{group.name}' takes the output of '{self.graph.nodes[node_id].name}', which "
                "feeds no model output; connect it towards an output or remove the connection."
            )

    # -- classes
    def _classes(self) -> dict[tuple[Any, ...], tuple[str, str]]:
        """Class source and class name by class key: one class per distinct block."""
        taken, class_names = self._taken(), set[str]()
        classes: dict[tuple[Any, ...], tuple[str, str]] = {}
        defined: dict[tuple[Any, ...], _ClassNames] = {}
        for block_object in self.objects.values():
            key = self._class_key(block_object)
            if key not in classes:
                name = _class_name(block_object.owner.class_name, taken, class_names)
                defined[key] = self._class_names(block_object)
                classes[key] = (self._class_source(block_object, name, defined[key]), name)
            block_object.class_name = classes[key][1]
            self._record_paths(block_object, defined[key])
        return classes

    def _taken(self) -> set[str]:
        names = self.flat.names
        return set(
            RESERVED
            | self.reserved
            | self.flat.imports.bound_names
            | set(names.nodes.values())
            | set(names.tensors.values())
            | set(names.layers.values())
        )

    def _class_key(self, block_object: _BlockObject) -> tuple[Any, ...]:
        owner = block_object.owner
        index = {node_id: position for position, node_id in enumerate(owner.nodes)}
        layers = []
        for position in block_object.members:
            layer_owner = self.graph.layer_owner(owner.nodes[position])
            if layer_owner.id not in index:
                raise CodegenError(
                    f"'{self.graph.nodes[owner.nodes[position]].name}' in the block '{owner.name}' shares "
                    f"the layer of '{layer_owner.name}', outside the block; a block owns its layers."
                )
            layers.append(
                (layer_owner.type, json.dumps(layer_owner.params, sort_keys=True), index[layer_owner.id])
            )
        return (
            owner.block,
            tuple(layers),
            tuple(self._wiring(block_object.instances[0], block_object.members)),
            block_object.inputs,
            block_object.outputs,
        )

    def _wiring(self, group: Group, members: tuple[int, ...]) -> list[tuple[int, int, int, int]]:
        """The edges among the members `members` of `group`, by member index."""
        index = {node_id: position for position, node_id in enumerate(group.nodes)}
        used = set(members)
        return sorted(
            (index[edge.source], edge.source_port, position, edge.target_port)
            for position in members
            for edge in self.graph.input_edges(group.nodes[position])
            if index.get(edge.source) in used
        )

    def _class_source(self, block_object: _BlockObject, name: str, names: _ClassNames) -> str:
        owner, writer = block_object.owner, self.flat.writer
        lines = [
            f'@{self.flat.imports.keras()}.saving.register_keras_serializable(package="{SERIALIZATION_PACKAGE}")',
            f"class {name}(keras.layers.Layer):",
            f'    """The "{_docstring_name(owner.block)}" block."""',
            "",
            "    def __init__(self, **kwargs):",
            "        super().__init__(**kwargs)",
        ]
        for position, attribute in names.attributes.items():
            layer = self.graph.nodes[owner.nodes[position]]
            constructor = writer.constructor(
                self._spec(layer.type), layer.params, names.layer_names[position]
            )
            lines.append(f"        self.{attribute} = {constructor}")
        lines += _build_lines(names.arguments)
        lines += ["", f"    def call(self, {', '.join(names.arguments)}, training=None):"]
        lines += self._call_lines(block_object, names)
        lines += [
            "",
            "    def get_config(self):",
            "        # Every layer is made in __init__: name, dtype and trainable are the whole config.",
            "        base_config = super().get_config()",
            "        return {**base_config}",
        ]
        return "\n".join(lines)

    def _call_lines(self, block_object: _BlockObject, names: _ClassNames) -> list[str]:
        group = block_object.instances[0]
        tensors = {(group.nodes[i], port): name for (i, port), name in names.tensors.items()}
        for argument, (source, _) in zip(
            names.arguments, self._inputs(group, block_object.members), strict=True
        ):
            tensors[source] = argument
        local = NameMap(nodes={}, tensors=tensors, layers={}, renamed={})
        lines = []
        for position in block_object.members:
            node = self.graph.nodes[group.nodes[position]]
            spec = self._spec(self.graph.layer_owner(node.id).type)
            call = layer_call(self.graph, local, node, spec)
            attribute = names.attributes[self._owner_position(block_object, position)]
            training = ", training=training" if spec.call_training else ""
            lines.append(f"        {call.assigned} = self.{attribute}({call.arguments}{training})")
        returned = [names.tensors[position] for position in block_object.outputs]
        lines.append(f"        return {', '.join(returned)}")
        return lines

    def _owner_position(self, block_object: _BlockObject, position: int) -> int:
        owner = block_object.owner
        return owner.nodes.index(self.graph.layer_owner(owner.nodes[position]).id)

    def _class_names(self, block_object: _BlockObject) -> _ClassNames:
        owner = block_object.owner
        taken = set(RESERVED)
        arguments = self._argument_names(block_object, taken)
        attributes: dict[int, str] = {}
        layer_names: dict[int, str] = {}
        used_layer_names: set[str] = set()
        tensors: dict[Position, str] = {}
        for position in block_object.members:
            node = self.graph.nodes[owner.nodes[position]]
            identifier = claim(identifier_stem(local_name(owner, node.name)), taken)
            owner_position = self._owner_position(block_object, position)
            if owner_position == position:
                attributes[position] = identifier
                layer_names[position] = _layer_name(local_name(owner, node.name), node.name, used_layer_names)
            ports = node.ports.outputs or ("output",)
            for port, port_name in enumerate(ports):
                single = len(ports) == 1
                tensors[(position, port)] = (
                    identifier if single else claim(f"{identifier}_{identifier_stem(port_name)}", taken)
                )
        for position in sorted(
            {self._owner_position(block_object, p) for p in block_object.members} - set(attributes)
        ):
            node = self.graph.nodes[owner.nodes[position]]
            attributes[position] = claim(identifier_stem(local_name(owner, node.name)), taken)
            layer_names[position] = _layer_name(local_name(owner, node.name), node.name, used_layer_names)
        return _ClassNames(tuple(arguments), dict(sorted(attributes.items())), layer_names, tensors)

    def _argument_names(self, block_object: _BlockObject, taken: set[str]) -> list[str]:
        """`inputs` for one block input; else named after what feeds each in the first instance."""
        if len(block_object.inputs) == 1:
            return ["inputs"]
        sources = block_object.sources[block_object.instances[0].id]
        return [claim(identifier_stem(self._tensor_label(*source)), taken) for source in sources]

    def _tensor_label(self, node_id: str, port: int) -> str:
        node = self.graph.nodes[node_id]
        outputs = node.ports.outputs or ("output",)
        return node.name if len(outputs) == 1 else f"{node.name}_{outputs[port]}"

    def _spec(self, type_key: str) -> LayerSpec:
        catalog = self.flat.writer.catalog
        spec = catalog.get(type_key) or find_spec(catalog, type_key)
        if spec is None:
            raise CodegenError(f"The catalog does not know the layer type {type_key!r}.")
        return spec

    def _record_paths(self, block_object: _BlockObject, names: _ClassNames) -> None:
        """Where the members' layers are: `<block object name>/<inner layer name>`."""
        for group in dict.fromkeys([block_object.owner, *block_object.instances]):
            for position in block_object.members:
                inner = names.layer_names[self._owner_position(block_object, position)]
                self.paths[self.graph.nodes[group.nodes[position]].name] = (
                    f"{block_object.owner.name}/{inner}"
                )

    # -- variables, calls and constructors
    def _variables(self, classes: dict[tuple[Any, ...], tuple[str, str]]) -> dict[str, str]:
        taken = self._taken() | {name for _, name in classes.values()}
        return {key: claim(identifier_stem(o.owner.name), taken) for key, o in self.objects.items()}

    def _calls(self, names: NameMap) -> tuple[LayerCall | BlockCall, ...]:
        unit_of = {
            node_id: group.id
            for block_object in self.objects.values()
            for group in block_object.instances
            for node_id in group.nodes
        }
        group_calls = {
            group.id: self._block_call(block_object, group, names)
            for block_object in self.objects.values()
            for group in block_object.instances
        }
        return tuple(
            group_calls[unit] if unit in group_calls else self.layer_calls[unit]
            for unit in self._order(unit_of)
        )

    def _order(self, unit_of: dict[str, str]) -> list[str]:
        """Blocks and plain nodes in topological order (ties: first call in the flat plan)."""
        order: dict[str, int] = {}
        units = nx.DiGraph()
        for position, call in enumerate(self.flat.layer_calls):
            unit = unit_of.get(call.node.id, call.node.id)
            order.setdefault(unit, position)
            units.add_node(unit)
            for edge in self.graph.input_edges(call.node.id):
                source = unit_of.get(edge.source, edge.source)
                if source != unit and source not in self.inputs:
                    units.add_edge(source, unit)
        return list(nx.lexicographical_topological_sort(units, key=order.__getitem__))

    def _block_call(self, block_object: _BlockObject, group: Group, names: NameMap) -> BlockCall:
        used = {index for index, node_id in enumerate(group.nodes) if node_id in self.live}
        outputs = set(self._used_outputs(group, used))
        targets = tuple(
            names.tensor(group.nodes[index], port) if (index, port) in outputs else "_"
            for index, port in block_object.outputs
        )
        arguments = ", ".join(names.tensor(*source) for source in block_object.sources[group.id])
        variable = names.blocks[block_object.owner.id]
        return BlockCall(group, block_object.owner.id, variable, arguments, targets)

    def _constructors(self, calls: tuple[LayerCall | BlockCall, ...]) -> dict[str, str]:
        constructors: dict[str, str] = {}
        for call in calls:
            if isinstance(call, BlockCall):
                block_object = self.objects[call.instance]
                name = string(block_object.owner.name)
                constructors.setdefault(call.instance, f"{block_object.class_name}(name={name})")
            else:
                self._check_owned(call)
                constructors.setdefault(call.owner.id, self.flat.constructors[call.owner.id])
        return constructors

    def _check_owned(self, call: LayerCall) -> None:
        """A node outside the blocks cannot call a layer that lives inside one."""
        group = self.graph.group_of(call.owner.id)
        in_code = {g.id for block_object in self.objects.values() for g in block_object.instances}
        if group is not None and call.owner.id != call.node.id and group.id in in_code:
            raise CodegenError(
                f"'{call.node.name}' shares the layer of '{call.owner.name}', which is inside the block "
                f"'{group.name}'; a block owns its layers. Stop sharing, or move '{call.node.name}' "
                "into the block."
            )


def _build_lines(arguments: tuple[str, ...]) -> list[str]:
    """`build()`: the block called once on symbolic inputs, which creates every layer's
    weights (Keras calls it with the saved shapes when it loads a model, too)."""
    shapes = ["input_shape"] if len(arguments) == 1 else [f"{argument}_shape" for argument in arguments]
    tensors = ", ".join(f"keras.KerasTensor({shape})" for shape in shapes)
    return [
        "",
        f"    def build(self, {', '.join(shapes)}):",
        "        # Calling the layers on symbolic inputs of these shapes creates their weights.",
        f"        self.call({tensors})",
    ]


def _class_name(base: str, taken: set[str], classes: set[str]) -> str:
    """`base`, else base2, base3... for another class of one block type; baseBlock first
    when the module uses `base` for something else. The name is taken."""
    if base in taken - classes:
        base = f"{base}Block"
    candidates = [base, *(f"{base}{index}" for index in range(2, 10_000))]
    name = next(candidate for candidate in candidates if candidate not in taken)
    taken.add(name)
    classes.add(name)
    return name


def _layer_name(preferred: str, fallback: str, taken: set[str]) -> str:
    name = preferred if preferred not in taken else fallback
    name = claim(name, taken) if name in taken else name
    taken.add(name)
    return name


def _docstring_name(name: str) -> str:
    return "".join(char for char in name if char.isprintable() and char not in '"\\')
