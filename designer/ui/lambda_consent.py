"""Consent to run a design's Lambda expressions, and to load a model file's Lambda layers.

A Lambda node's expression of x is code (`designer.catalog.expressions`): the
engine runs only those in the trust store, which holds each by its own hash.
An expression the person types in the Inspector is theirs and is trusted as it
is committed; one that arrives with a design (Open, Recover, Import) is asked
about once, with the custom layers' consent dialog, and a declined one is not
asked about again in this window. Importing a .keras or JSON file that holds a
Lambda is refused by the engine in safe mode; the window then asks whether to
load the file's code and imports it again with consent.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer

from designer.catalog.expressions import (
    LAMBDA_FILE_REFUSAL,
    expression_digest,
    expression_problem,
    lambda_expressions,
    lambda_source,
)
from designer.trust import TrustStore
from designer.ui.custom_layers import ask_to_run_code
from designer.ui.document import Document
from designer.ui.services import WindowServices


def is_lambda_refusal(message: str) -> bool:
    """Whether an import failed only because the file holds a Lambda (consent can load it)."""
    return LAMBDA_FILE_REFUSAL in message


class LambdaConsent(QObject):
    """Asks about the untrusted Lambda expressions of the window's design; trusts typed ones."""

    def __init__(self, services: WindowServices, document: Document, reanalyze: Callable[[], None]) -> None:
        super().__init__(services.window())
        self.services, self.document, self.reanalyze = services, document, reanalyze
        self.declined: set[str] = set()  # digests of expressions the person would not run
        document.project_replaced.connect(self._project_replaced)

    # ------------------------------------------------------------ dialogs
    def confirm_lambdas(self, expressions: list[str]) -> bool:
        """Ask before these expressions run: Trust and load, or Don't load."""
        listed = "\n".join(f"    {lambda_source(text)}" for text in expressions)
        return ask_to_run_code(
            self.services.window(),
            "Run Lambda code?",
            f"The design's Lambda layers hold Python code:\n\n{listed}",
            "Showing their shapes runs this code with your permissions. Trust it only if you know "
            "where the design comes from; the answer is remembered for each expression.",
        )

    def confirm_file(self, source: Path) -> bool:
        """Ask before a model file's Lambda layers load (their code runs when it loads)."""
        return ask_to_run_code(
            self.services.window(),
            "Load Lambda code?",
            f"{source} holds Lambda layers: their functions are Python code, which runs when the "
            "model is loaded.",
            "Loading runs this code with your permissions. Trust the file only if you know where it "
            "comes from.",
        )

    # ------------------------------------------------------------ the design
    def ask(self) -> None:
        """Ask about the design's expressions that are neither trusted nor declined."""
        store = TrustStore()
        waiting = [
            text
            for text in lambda_expressions(self.document.graph)
            if not store.trusts(expression_digest(text)) and expression_digest(text) not in self.declined
        ]
        if not waiting:
            return
        if self.confirm_lambdas(waiting):
            if self._remember(store, waiting):
                self.reanalyze()
        else:
            self.declined |= {expression_digest(text) for text in waiting}
            self.services.show_message(f"Not run: {len(waiting)} Lambda expression(s) (not trusted)")

    def trust_typed(self, expression: str) -> None:
        """An expression typed in the Inspector is the person's own: trust it as it is committed."""
        if expression_problem(expression) is not None:
            return
        store = TrustStore()
        if not store.trusts(expression_digest(expression)):
            self._remember(store, [expression])

    def _project_replaced(self) -> None:
        QTimer.singleShot(0, self.ask)  # once the views have rebound to the new design

    def _remember(self, store: TrustStore, expressions: list[str]) -> bool:
        try:
            store.trust_expressions(expressions)
        except OSError as error:
            self.services.report_error(
                "Cannot remember that you trust this code",
                f"{error.filename or ''}: {error.strerror or error}\n"
                "The Lambda layers will not run until the trust store can be written.",
            )
            return False
        return True
