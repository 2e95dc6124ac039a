"""A Lambda node's function: a Python expression of `x`, as plain text (no Keras).

A Lambda made in the app stores `x * 2 + 1` (or `keras.ops.mean(x, axis=-1)`)
as its `function` parameter; the layer computes `lambda x: <expression>`.
The expression may use `x` and `keras`, nothing else, so that the exported
code (which imports keras) runs as it is. It is code: it runs only after the
user trusted it (`expression_digest` is what consent covers: the expression's
own text, so the same expression is trusted in every project and any edit asks
again; `x` alone, the identity a new node starts with, needs none). Checking
an expression parses it, never runs it.
"""

from __future__ import annotations

import ast
import builtins
import hashlib

from designer.graph.model import ModelGraph

LAMBDA_KEY = "Lambda"  # the catalog key of the Lambda spec
# What refusing a model file that holds a Lambda says (the GUI offers consent when it reads it).
LAMBDA_FILE_REFUSAL = "holds a Lambda layer: its function is Python code"
EXPRESSION_KIND = "expression"  # ParamSpec.kind of a Lambda's function
LAMBDA_ARGUMENT = "x"
LAMBDA_NAMES = frozenset({LAMBDA_ARGUMENT, "keras"})  # the names an expression may use
_BUILTINS = frozenset(name for name in dir(builtins) if not name.startswith("_"))


def lambda_source(expression: str) -> str:
    """`lambda x: <expression>`: the function a Lambda node computes, as code."""
    return f"lambda {LAMBDA_ARGUMENT}: {expression.strip()}"


def expression_problem(expression: object) -> str | None:
    """Why `expression` cannot be a Lambda's function (not one expression of `x`), or None."""
    if not isinstance(expression, str) or not expression.strip():
        return f"expected a Python expression of {LAMBDA_ARGUMENT}, such as `x * 2`, received {expression!r}"
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as error:
        return f"`{expression.strip()}` is not a Python expression: {error.msg}"
    unknown = sorted(free_names(tree) - LAMBDA_NAMES - _BUILTINS)
    if unknown:
        return (
            f"`{expression.strip()}` uses {', '.join(unknown)}: a Lambda's expression may use only "
            f"{LAMBDA_ARGUMENT} and keras (keras.ops...); write a custom Layer for anything more"
        )
    return None


def free_names(tree: ast.AST) -> set[str]:
    """The names an expression reads that it does not bind itself (comprehension, inner lambda)."""
    bound = {
        argument.arg for node in ast.walk(tree) if isinstance(node, ast.Lambda) for argument in node.args.args
    }
    bound |= {
        node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
    }
    return {
        node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    } - bound


def needs_trust(expression: str) -> bool:
    """Whether running the expression needs consent: every one but `x` itself (the identity, a new
    Lambda node's starting value, runs nothing)."""
    return expression.strip() != LAMBDA_ARGUMENT


def expression_digest(expression: str) -> str:
    """The hash consent to run a Lambda is given to: its function's code, `lambda x: ...`."""
    return hashlib.sha256(lambda_source(expression).encode("utf-8")).hexdigest()


def lambda_expressions(graph: ModelGraph) -> list[str]:
    """The expressions of the graph's Lambda nodes that need consent to run, each once."""
    found = (node.params.get("function") for node in graph.nodes.values() if node.type == LAMBDA_KEY)
    return sorted({text for text in found if isinstance(text, str) and needs_trust(text)})
