"""One-click fixes: the layer a diagnostic says to insert, spliced into its edge as one undo step.

A diagnostic carries its fix as data (`designer.graph.validation.Fix`: a layer
type, its params and the edge to splice it into); the Problems list and the
Inspector show it as a "Fix: insert Flatten" button, and both apply it here
through the same command a drop on an edge pushes (`commands.insert_on_edge`).
Where the new layer goes is the canvas editor's business (`CanvasEditor.room_for`:
where there is room, else in the target's place with what lies downstream moved
on); the window hands it to both panels as their `place_fix`.
"""

from __future__ import annotations

from collections.abc import Callable

from designer.graph.errors import GraphError
from designer.graph.model import Edge, ModelGraph, Node
from designer.graph.validation import Fix
from designer.ui import commands
from designer.ui.document import Document

NODE_OFFSET = (0.0, -30.0)  # the new node sits between its neighbours, a little above the line
Placement = Callable[[Node, Edge], tuple[Node, dict[str, tuple[float, float]]]]  # node, moves


def fix_text(fix: Fix) -> str:
    """What the fix button says."""
    return f"Fix: insert {fix.insert}"


def fix_tooltip(fix: Fix, graph: ModelGraph) -> str:
    source, target = graph.nodes.get(fix.edge.source), graph.nodes.get(fix.edge.target)
    where = f" between {source.name} and {target.name}" if source and target else ""
    settings = ", ".join(f"{name}={value}" for name, value in fix.params.items())
    return f"Insert a {fix.insert} layer{where}{f' ({settings})' if settings else ''}; undo takes it back."


def can_apply(document: Document, fix: Fix) -> bool:
    """Whether the fix still fits the design: its edge is there and its layer is in the catalog."""
    graph, edge = document.graph, fix.edge
    here = edge.target in graph.nodes and graph.edge_into(edge.target, edge.target_port) == edge
    return here and document.catalog.get(fix.insert) is not None


def apply_fix(document: Document, fix: Fix, place: Placement | None = None) -> str:
    """Insert the fix's layer into its edge as one undo step and select it; its node id. `place`
    says where it goes and what moves aside for it (between the ends of the edge without one).
    Raises GraphError, changing nothing, when the design no longer allows it."""
    if not can_apply(document, fix):
        raise GraphError(f"The connection this fix would insert {fix.insert} into is gone.")
    graph = document.graph
    node = _new_node(document, fix)
    moves: dict[str, tuple[float, float]] = {}
    if place is not None:
        node, moves = place(node, fix.edge)
    group = _shared_group(graph, fix)
    commands.insert_on_edge(document.undo_stack, graph, node, fix.edge, group, moves)
    document.set_selection([node.id])
    return node.id


def _new_node(document: Document, fix: Fix) -> Node:
    graph, spec = document.graph, document.catalog[fix.insert]
    name = graph.unique_name(spec.class_name or fix.insert.rsplit(".", 1)[-1])
    params = {**spec.initial_params(), **fix.params}
    return Node(graph.new_id(), fix.insert, name, params, _between(graph, fix), spec.ports.for_params(params))


def _between(graph: ModelGraph, fix: Fix) -> tuple[float, float]:
    (source_x, source_y) = graph.node(fix.edge.source).position
    (target_x, target_y) = graph.node(fix.edge.target).position
    return ((source_x + target_x) / 2 + NODE_OFFSET[0], (source_y + target_y) / 2 + NODE_OFFSET[1])


def _shared_group(graph: ModelGraph, fix: Fix) -> str | None:
    """The block both ends of the edge are in (the new layer joins it), or None."""
    source, target = graph.group_of(fix.edge.source), graph.group_of(fix.edge.target)
    return target.id if source is not None and target is not None and source.id == target.id else None
