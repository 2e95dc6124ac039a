"""Hints that turn a Keras error on one node into a fix a person can make.

Keras' own message says what went wrong; the hint says what to do about it,
from the layer's kind, the rank it expects and the shapes it was given.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from designer.catalog.spec import LayerSpec
from designer.graph.model import Node

if TYPE_CHECKING:
    from designer.engine.inference import TensorSpec

_RANK = re.compile(r"expected (min_)?ndim=(\d+), found ndim=(\d+)")
_SPATIAL = {3: "1D", 4: "2D", 5: "3D"}


def hint_for(node: Node, spec: LayerSpec, inputs: list[TensorSpec], sources: list[str], message: str) -> str:
    """The most specific hint for `message`, raised by `node` fed `inputs` from `sources`."""
    for rule in (_rank_hint, _merge_hint, _param_hint):
        hint = rule(node, spec, inputs, sources, message)
        if hint:
            return hint
    fed = ", ".join(f"{s} from {src}" for s, src in zip(inputs, sources, strict=False)) or "no input"
    return f"Check the parameters of {node.name} and its input ({fed})."


def _rank_hint(node: Node, spec: LayerSpec, inputs: list[Any], sources: list[str], message: str) -> str:
    match = _RANK.search(message)
    if not match or not inputs:
        return ""
    expected, found = int(match.group(2)), int(match.group(3))
    got = f"{inputs[0]} from {sources[0] if sources else 'its input'}"
    if found > expected:
        pooling = f"GlobalAveragePooling{_SPATIAL.get(found, '2D')}"
        return (
            f"{node.type} expects a rank-{expected} input, got {got}: insert Flatten or {pooling} before it."
        )
    layout = {3: "(batch, steps, channels)", 4: "(batch, height, width, channels)", 5: "(batch, d, h, w, c)"}
    wanted = layout.get(expected, f"rank {expected}")
    return f"{node.type} expects a rank-{expected} input {wanted}, got {got}: insert a Reshape before it."


def _merge_hint(node: Node, spec: LayerSpec, inputs: list[Any], sources: list[str], message: str) -> str:
    lowered = message.lower()
    if "incompatible shapes" not in lowered and "matching shapes" not in lowered:
        return ""
    fed = ", ".join(f"{s} from {src}" for s, src in zip(inputs, sources, strict=False))
    if node.type == "Concatenate":
        return (
            f"Concatenate needs equal shapes except on its axis; got {fed}. Change `axis` or resize a branch."
        )
    return (
        f"{node.type} needs inputs of one shape; got {fed}. Project a branch to match (a Dense, or a 1x1 "
        "Conv with as many filters), or use Concatenate."
    )


def _param_hint(node: Node, spec: LayerSpec, inputs: list[Any], sources: list[str], message: str) -> str:
    for param in spec.params:
        if f"`{param.name}`" in message or f"{param.name}=" in message:
            return f"Change `{param.name}` of {node.name} in the inspector."
    return ""
