"""Errors of code generation: a design that cannot be written as Python, or is refused."""

from __future__ import annotations

from collections.abc import Sequence


class CodegenError(Exception):
    """The design (or a training config) cannot be turned into valid Python source.

    The message says which node, parameter or config key is at fault and what
    would fix it.
    """


class ExportRefused(Exception):  # noqa: N818 - reads as what happened, like Keras' own errors
    """An export was refused because the design has errors.

    Validating the graph is the caller's job (codegen does not import the
    validator); the caller raises this with the diagnostics it found so that
    the CLI and the UI can show them.
    """

    def __init__(self, diagnostics: Sequence[object], message: str | None = None) -> None:
        self.diagnostics = list(diagnostics)
        count = len(self.diagnostics)
        default = f"The design has {count} error(s); fix them before exporting."
        lines = [message or default, *(f"  - {getattr(d, 'message', d)}" for d in self.diagnostics)]
        super().__init__("\n".join(lines))
