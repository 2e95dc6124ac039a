"""Keras' complaint about one node, retold in the designer's words, with a fix a person can make.

Keras names the layer it was given ('layer', an input 'None') and speaks of
ndim; people know the node by its name and type and see shapes on the edges.
`explain` turns the message into what went wrong (naming the node, the shape
and the node it came from), a hint saying what to do, and, where the fix is
one layer to insert on the node's input, that fix as data (`Fix`), so the GUI
can offer it as one click without reading the text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath

from designer.catalog.spec import LayerSpec
from designer.engine.results import TensorSpec
from designer.graph.model import Edge, Node
from designer.graph.validation import Fix

_RANK = re.compile(r"expected (min_)?ndim=(\d+), found ndim=(\d+)")
_KERNEL_RANK = "Kernel shape must have the same length as input"
_EMPTY_OUTPUT = "output size would be zero or negative"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_CALLING = re.compile(r"Exception encountered when calling [\w.]+\(\)\.\s*")
_KERAS_NAMES = re.compile(r"with name '[^']*' |of layer '[^']*' ")
_KERAS_LAYER = re.compile(r"\blayer '[^']*'")
_USER_LOCATION = re.compile(r"([^:\s]+\.py):(\d+): ")
_TF_NODE = re.compile(r"\{\{function_node [^}]*\}\}\s*|\s*\[Op:\w+\](?: name:(?: \S+)?)?")
_TOO_LARGE = re.compile(r"^(The weight `(\w+)`|An output) would have shape (\(.*?\)): more than 2\*\*63 - 1")
_INITIALIZER = re.compile(r"^Cannot initialize the weight `(\w+)` of shape (\(.*?\)): (.*)$", re.DOTALL)
_SPATIAL = {3: "1D", 4: "2D", 5: "3D"}
_LAYOUTS = {
    2: "(batch, features)",
    3: "(batch, steps, channels)",
    4: "(batch, height, width, channels)",
    5: "(batch, depth, height, width, channels)",
}
_STARTS = {3: "a sequence input", 4: "an image input", 5: "a volume input"}


@dataclass(frozen=True)
class Problem:
    """One failed node as Keras saw it: the node, its spec, what fed it and Keras' message."""

    node: Node
    spec: LayerSpec
    inputs: Sequence[TensorSpec]
    sources: Sequence[str]  # the names of the nodes that fed each input
    edges: Sequence[Edge]  # the node's input edges, by port
    keras_message: str

    @property
    def who(self) -> str:
        return f"{self.node.name} ({self.node.type})"

    def fed(self, port: int = 0) -> str:
        """What fed one input, as in "(None, 10) from dense_1"."""
        if port >= len(self.inputs):
            return "no input"
        source = self.sources[port] if port < len(self.sources) else "its input"
        return f"{self.inputs[port]} from {source}"

    def all_fed(self) -> str:
        parts = [self.fed(port) for port in range(len(self.inputs))]
        return ", ".join(parts[:-1]) + f" and {parts[-1]}" if len(parts) > 1 else "".join(parts)


@dataclass(frozen=True)
class Explanation:
    """What went wrong (naming the node), what to do, and the one-click fix if there is one."""

    message: str
    hint: str
    fix: Fix | None = None


def explain(problem: Problem) -> Explanation:
    """The most specific explanation of `problem`; at least Keras' message, cleaned of its names."""
    rules: tuple[Callable[[Problem], Explanation | None], ...] = (
        _user_code_rule,
        _rank_rule,
        _merge_rule,
        _empty_output_rule,
        _too_large_rule,
        _initializer_rule,
        _param_rule,
    )
    for rule in rules:
        explanation = rule(problem)
        if explanation is not None:
            return explanation
    return Explanation(
        f"{problem.who}: {keras_text(problem.keras_message)}",
        f"Check the parameters of {problem.node.name} and its input ({problem.all_fed()}).",
    )


def keras_text(message: str) -> str:
    """Keras' message without terminal colours, call banners or its placeholder names."""
    text = _TF_NODE.sub("", _CALLING.sub("", _ANSI.sub("", message)))
    text = _KERAS_LAYER.sub("the layer", _KERAS_NAMES.sub("", text))
    return " ".join(text.split())


# ------------------------------------------------------------- user code
def _user_code_rule(problem: Problem) -> Explanation | None:
    """A custom layer's own code raised: the message says where (`my_layers.py:12: ...`)."""
    file = problem.spec.file if problem.spec.source == "user" else None
    where = _USER_LOCATION.match(problem.keras_message) if file else None
    if file is None or where is None or where.group(1) != PurePath(file).name:
        return None
    return Explanation(
        f"{problem.who}: {keras_text(problem.keras_message)}",
        f"Fix line {where.group(2)} of {file} (the layer's build or call raised there), "
        f"or check the input of {problem.node.name} ({problem.all_fed()}).",
    )


# ------------------------------------------------------------------ rank
def expected_rank(problem: Problem) -> tuple[int, int] | None:
    """(expected, found) ranks when the input has the wrong number of axes, else None."""
    match = _RANK.search(problem.keras_message)
    if match:
        return int(match.group(2)), int(match.group(3))
    suffix = problem.node.type[-2:]
    if _KERNEL_RANK in problem.keras_message and problem.inputs and suffix in _SPATIAL.values():
        return int(suffix[0]) + 2, len(problem.inputs[0].shape)
    return None


def _rank_rule(problem: Problem) -> Explanation | None:
    ranks = expected_rank(problem)
    if ranks is None or not problem.inputs:
        return None
    expected, found = ranks
    layout = _LAYOUTS.get(expected, f"with {expected} axes")
    message = f"{problem.who} expects a rank-{expected} input {layout}, got {problem.fed()}."
    if found > expected:
        return _too_many_axes(problem, message, expected, found)
    return _too_few_axes(problem, message, expected)


def _too_many_axes(problem: Problem, message: str, expected: int, found: int) -> Explanation:
    name = problem.node.name
    if expected == 2:
        pooling = f"GlobalAveragePooling{_SPATIAL.get(found, '2D')}"
        hint = f"Insert Flatten or {pooling} before {name}."
        return Explanation(message, hint, _fix(problem, "Flatten", {}))
    shape = problem.inputs[0].shape
    target = _merged_axes(shape[1:], expected - 1)
    hint = f"Insert a Reshape before {name} that merges axes to rank {expected}."
    fix = _fix(problem, "Reshape", {"target_shape": target}) if target else None
    return Explanation(message, hint, fix)


def _too_few_axes(problem: Problem, message: str, expected: int) -> Explanation:
    shape = problem.inputs[0].shape[1:]
    start = _STARTS.get(expected)
    alternative = f", or start from {start}" if start else ""
    hint = f"Insert a Reshape before {problem.node.name}{alternative}."
    # One missing axis is a channel axis of 1: (None, 28, 28) -> (28, 28, 1). Adding more than one
    # rarely means anything (a (10, 1, 1) "image"), so that stays a hint without a one-click fix.
    known = all(d is not None for d in shape)
    one_missing = expected - 1 - len(shape) == 1
    fix = _fix(problem, "Reshape", {"target_shape": [*shape, 1]}) if known and one_missing else None
    return Explanation(message, hint, fix)


def _merged_axes(shape: tuple[int | None, ...], rank: int) -> list[int] | None:
    """The shape with its leading axes merged so that `rank` axes remain (all must be known)."""
    if rank < 1 or any(d is None for d in shape):
        return None
    head = len(shape) - rank + 1
    return [math.prod(d for d in shape[:head] if d is not None), *(d for d in shape[head:] if d is not None)]


def _fix(problem: Problem, layer: str, params: dict[str, object]) -> Fix | None:
    return Fix(layer, problem.edges[0], params) if problem.edges else None


# ----------------------------------------------------------------- merges
def _merge_rule(problem: Problem) -> Explanation | None:
    lowered = problem.keras_message.lower()
    if "incompatible shapes" not in lowered and "matching shapes" not in lowered:
        return None
    if problem.node.type == "Concatenate":
        axis = problem.node.params.get("axis", -1)
        return Explanation(
            f"{problem.who} joins its inputs along axis {axis}, so they must match on every other "
            f"axis; got {problem.all_fed()}.",
            "Change `axis`, or resize a branch so the other axes match.",
        )
    return Explanation(
        f"{problem.who} needs inputs of one shape; got {problem.all_fed()}.",
        "Project a branch to match (a Dense, or a 1x1 Conv with as many filters), or use Concatenate.",
    )


# ------------------------------------------------------------ empty output
def _empty_output_rule(problem: Problem) -> Explanation | None:
    if _EMPTY_OUTPUT not in problem.keras_message:
        return None
    window = next(
        (p.name for p in problem.spec.params if p.name in ("kernel_size", "pool_size", "cropping")), ""
    )
    what = f"its `{window}`" if window else "its window"
    return Explanation(
        f"{problem.who} would output nothing: {what} is larger than its input, {problem.fed()}.",
        f"Make `{window or 'the window'}` smaller, set `padding` to 'same', or feed {problem.node.name} a "
        "larger input.",
    )


# ----------------------------------------------------------- what building refuses
def _too_large_rule(problem: Problem) -> Explanation | None:
    """A weight or output with more than 2**63 - 1 elements: no backend can make the tensor."""
    match = _TOO_LARGE.match(problem.keras_message)
    if match is None:
        return None
    what = f"its weight `{match.group(2)}`" if match.group(2) else "its output"
    message = (
        f"{problem.who} cannot be built: {what} would have shape {match.group(3)}, more than "
        "2**63 - 1 numbers, which no tensor can hold."
    )
    largest = _largest_integer_param(problem.node.params)
    name = problem.node.name
    hint = f"Make `{largest}` of {name} smaller." if largest else f"Make {name} or its input smaller."
    return Explanation(message, hint)


def _largest_integer_param(params: Mapping[str, object]) -> str | None:
    """The parameter holding the largest integer (in a tuple too): the one that made a tensor huge."""
    sizes = {name: max(_integers(value), default=0) for name, value in params.items()}
    largest = max(sizes, key=sizes.__getitem__, default=None)
    return largest if largest is not None and sizes[largest] > 1 else None


def _integers(value: object) -> list[int]:
    if isinstance(value, list | tuple):
        return [number for item in value for number in _integers(item)]
    return [value] if isinstance(value, int) and not isinstance(value, bool) else []


def _initializer_rule(problem: Problem) -> Explanation | None:
    """A weight's initializer refuses its shape or dtype (Identity on a conv kernel...)."""
    match = _INITIALIZER.match(problem.keras_message)
    if match is None:
        return None
    weight, shape, reason = match.groups()
    message = (
        f"{problem.who} cannot be built: the initializer of its weight `{weight}` {shape} refuses it: "
        f"{keras_text(reason)}"
    )
    names = [param.name for param in problem.spec.params]
    initializer = f"{weight}_initializer"
    if initializer not in names:
        initializer = next((name for name in names if name.endswith("_initializer")), "")
    change = f"change `{initializer}`" if initializer else "change its initializer"
    dtype = problem.node.params.get("dtype")
    if isinstance(dtype, str) and not dtype.startswith(("float", "bfloat", "mixed")):
        return Explanation(message, f"Set `dtype` of {problem.node.name} to a float type, or {change}.")
    return Explanation(message, f"{change[0].upper()}{change[1:]} of {problem.node.name} in the inspector.")


# ------------------------------------------------------------- parameters
def _param_rule(problem: Problem) -> Explanation | None:
    message = problem.keras_message
    for param in problem.spec.params:
        if f"`{param.name}`" in message or f"{param.name}=" in message:
            return Explanation(
                f"{problem.who}: {keras_text(message)}",
                f"Change `{param.name}` of {problem.node.name} in the inspector.",
            )
    return None
