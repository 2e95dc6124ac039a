"""The Lambda layer as a node: its spec, and its expression made a function once trusted.

Keras' `Lambda(function)` takes Python code, which no JSON parameter can hold;
a node keeps the function as an expression of `x` (`designer.catalog.expressions`)
and this module turns it into `lambda x: <expression>` for Keras, in the engine
process only, when the user trusted that expression: in this process
(`allow_expressions`: the CLI's --trust, an import the user consented to) or in
the trust store (`TrustStore.trusts(expression_digest(...))`: the GUI's consent).
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import keras

from designer.catalog.expressions import (
    EXPRESSION_KIND,
    expression_digest,
    expression_problem,
    lambda_expressions,
    lambda_source,
    needs_trust,
)
from designer.catalog.spec import LayerSpec, ParamSpec
from designer.graph.model import ModelGraph
from designer.trust import TrustStore

_KEPT_PARAMS = ("output_shape",)  # `mask` and `arguments` take Python objects too: not offered
_ALLOWED: set[str] = set()  # digests of the expressions this process may run

FUNCTION_PARAM = ParamSpec(
    name="function",
    kind=EXPRESSION_KIND,
    required=True,
    suggested="x",
    doc="A Python expression of x, such as `x * 2 + 1` or `keras.ops.mean(x, axis=-1, keepdims=True)`: "
    "the layer computes `lambda x: <expression>`. It is code: it runs once you trust it.",
)


class UntrustedExpressionError(ValueError):
    """A Lambda's expression the user has not trusted: it was not run."""


def lambda_spec(base: LayerSpec) -> LayerSpec:
    """The Lambda spec: `base` (made from the class by introspection) with the expression as its
    `function`, and none of the parameters that take Python objects nor the optional `mask` port."""
    kept = tuple(param for param in base.params if param.name in _KEPT_PARAMS)
    ports = dataclasses.replace(base.ports, optional=())  # the expression has x alone: no mask port
    return dataclasses.replace(base, params=(FUNCTION_PARAM, *kept), ports=ports)


def allow_expressions(expressions: Iterable[str]) -> None:
    """Let this process run these expressions (the user's --trust or consent)."""
    _ALLOWED.update(expression_digest(text) for text in expressions if isinstance(text, str))


def trust_lambdas(expressions: Sequence[str]) -> None:
    """Run these expressions in this process (--trust, the user's consent) and remember it."""
    allow_expressions(expressions)
    if expressions:
        with contextlib.suppress(OSError):  # an unwritable store forgets it; this run has the consent
            TrustStore().trust_expressions(expressions)


def is_trusted(expression: str) -> bool:
    digest = expression_digest(expression)
    return not needs_trust(expression) or digest in _ALLOWED or TrustStore().trusts(digest)


def trusted_lambdas(graph: ModelGraph) -> frozenset[str]:
    """The expressions of the graph's Lambda nodes that this process may run now."""
    expressions = lambda_expressions(graph)
    store = TrustStore() if expressions else None
    return frozenset(
        text
        for text in expressions
        if expression_digest(text) in _ALLOWED
        or (store is not None and store.trusts(expression_digest(text)))
    )


def untrusted_message(expression: str) -> str:
    return (
        f"This Lambda holds Python code ({lambda_source(expression)}), which runs when the design is "
        "evaluated, so it was not run. Trust it: pass --trust on the command line, or allow it in "
        "the dialog the editor shows."
    )


def lambda_function(expression: Any) -> Callable[[Any], Any]:
    """`lambda x: <expression>` with `keras` in scope; ValueError when it is not one expression of
    x, UntrustedExpressionError when the user has not trusted it."""
    problem = expression_problem(expression)
    if problem is not None:
        raise ValueError(f"function: {problem}.")
    if not is_trusted(expression):
        raise UntrustedExpressionError(untrusted_message(expression))
    code = compile(lambda_source(expression), "<Lambda expression>", "eval")
    function: Callable[[Any], Any] = eval(code, {"keras": keras, "__builtins__": builtins})
    return function
