"""What the engine says about a design, as plain data the GUI can hold without Keras.

`TensorSpec` and `NodeResult` travel from the engine process to the GUI as JSON
(`to_dict`/`from_dict`); this module imports neither Keras nor Qt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from designer.graph.shapes import Shape, format_shape
from designer.graph.validation import Diagnostic


@dataclass(frozen=True)
class TensorSpec:
    """A symbolic tensor: its shape (batch axis first, None where unknown) and dtype."""

    shape: Shape
    dtype: str

    def __str__(self) -> str:
        return format_shape(self.shape)

    def to_dict(self) -> dict[str, Any]:
        return {"shape": list(self.shape), "dtype": self.dtype}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TensorSpec:
        return cls(tuple(data["shape"]), data["dtype"])


@dataclass(frozen=True)
class NodeResult:
    """What inference says about one node.

    `outputs` is empty when the node could not be inferred: then `diagnostics`
    says why, or `blocked` is True when an upstream node is at fault.
    `weight_shapes` lists (name, shape, trainable) of the layer's variables.
    `param_errors` holds Keras' complaints about the layer's params, as (param, message)
    pairs ("" for the layer as a whole): the Inspector shows them beside the fields.
    """

    outputs: tuple[TensorSpec, ...] = ()
    trainable: int = 0
    non_trainable: int = 0
    weight_shapes: tuple[tuple[str, Shape, bool], ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    blocked: bool = False
    shared: bool = False
    param_errors: tuple[tuple[str, str], ...] = ()

    @property
    def ok(self) -> bool:
        return bool(self.outputs) and not any(d.severity == "error" for d in self.diagnostics)

    @property
    def params(self) -> int:
        return self.trainable + self.non_trainable

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NodeResult:
        return cls(
            outputs=tuple(TensorSpec.from_dict(o) for o in data["outputs"]),
            trainable=data["trainable"],
            non_trainable=data["non_trainable"],
            weight_shapes=tuple((n, tuple(s), t) for n, s, t in data["weight_shapes"]),
            diagnostics=tuple(Diagnostic.from_dict(d) for d in data["diagnostics"]),
            blocked=data["blocked"],
            shared=data["shared"],
            param_errors=tuple((str(k), str(v)) for k, v in data.get("param_errors", {}).items()),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "outputs": [o.to_dict() for o in self.outputs],
            "trainable": self.trainable,
            "non_trainable": self.non_trainable,
            "weight_shapes": [[n, list(s), t] for n, s, t in self.weight_shapes],
            "diagnostics": [d.to_dict() for d in self.diagnostics],
            "blocked": self.blocked,
            "shared": self.shared,
            "param_errors": dict(self.param_errors),
        }


BLOCKED = NodeResult(blocked=True)
