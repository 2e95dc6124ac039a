"""An imported Lambda layer as a node: its function's source, when it is one `lambda x: EXPR`.

Keras keeps a Lambda's function as bytecode (a .keras file or JSON config holds
it marshalled, and loading it runs it: only with the user's consent, see
`sources`). A design keeps a Lambda as an expression of x, so the function's
source must be found: in the file its code names (`co_filename`, read with
`ast`, never run), on the line its code starts, as a `lambda` whose compiled
code is the function's own. A lambda of another argument name is renamed to x.
Anything else (a `def`, a closure, names beyond x and keras, `arguments=`, a
callable `output_shape` or `mask`, source that cannot be found) is refused with
what to do instead: write a Layer subclass. Bytecode is never turned back into
code by other means. The expression found runs in this process without asking
again: its function was loaded already (the consent came before the load).
"""

from __future__ import annotations

import ast
import linecache
from pathlib import Path
from types import CodeType
from typing import Any, NoReturn

import keras

from designer.catalog.expressions import LAMBDA_ARGUMENT, expression_problem, free_names
from designer.catalog.lambda_layer import allow_expressions
from designer.engine.importer.base import ImportRefused

REWRITE_HINT = (
    "Rewrite it as a Layer subclass registered with @keras.saving.register_keras_serializable() (or "
    "as keras.ops calls), or as Lambda(lambda x: <one expression of x>) in a file that is still "
    "there, and import again."
)


def lambda_params(name: str, layer: keras.layers.Lambda) -> dict[str, Any]:
    """The params of the Lambda node for `layer`: {"function": "<expression of x>"} and its
    `output_shape` when it is a shape; ImportRefused saying why when the function cannot be kept."""
    if layer.arguments:
        _refuse(name, "passes arguments= to its function")
    if callable(getattr(layer, "mask", None)) or callable(getattr(layer, "_output_shape", None)):
        _refuse(name, "has a Python function as its mask or output_shape")
    expression = function_expression(name, layer.function)
    allow_expressions([expression])  # its code is loaded already: the design's weights build with it
    params: dict[str, Any] = {"function": expression}
    output_shape = getattr(layer, "_output_shape", None)
    if output_shape is not None:
        params["output_shape"] = list(output_shape)
    return params


def function_expression(name: str, function: Any) -> str:
    """The expression of x that `function` computes, from its source."""
    code = getattr(function, "__code__", None)
    if not isinstance(code, CodeType) or code.co_name != "<lambda>":
        _refuse(name, f"is {getattr(function, '__name__', type(function).__name__)}, not a lambda")
    if code.co_argcount != 1 or code.co_kwonlyargcount or getattr(function, "__closure__", None):
        _refuse(name, "is a lambda of other than one argument, or one that captures variables")
    found = _source_lambda(code)
    if found is None:
        _refuse(name, "is compiled code whose source is unavailable (its file is gone or was edited)")
    expression = _renamed(found)
    problem = expression_problem(expression)
    if problem is not None:
        _refuse(name, f"`lambda x: {expression}`, which a design cannot keep: {problem}")
    return expression


def _source_lambda(code: CodeType) -> ast.Lambda | None:
    """The `lambda` on the code's first line, in the file it names, whose compiled code matches."""
    lines = linecache.getlines(code.co_filename) if Path(code.co_filename).is_file() else []
    try:
        tree = ast.parse("".join(lines))
    except (SyntaxError, ValueError):
        return None
    candidates = [
        node for node in ast.walk(tree) if isinstance(node, ast.Lambda) and node.lineno == code.co_firstlineno
    ]
    return next((node for node in candidates if _same_code(_compiled(node), code)), None)


def _compiled(node: ast.Lambda) -> CodeType | None:
    try:
        module = compile(ast.Expression(body=node), "<lambda>", "eval")
    except (SyntaxError, ValueError):
        return None
    return next((const for const in module.co_consts if isinstance(const, CodeType)), None)


def _same_code(candidate: CodeType | None, code: CodeType) -> bool:
    if candidate is None:
        return False
    return (candidate.co_code, candidate.co_names, candidate.co_varnames) == (
        code.co_code,
        code.co_names,
        code.co_varnames,
    ) and _constants(candidate) == _constants(code)


def _constants(code: CodeType) -> tuple[Any, ...]:
    return tuple(c for c in code.co_consts if not isinstance(c, CodeType))


def _renamed(node: ast.Lambda) -> str:
    """The lambda's body with its argument called x."""
    argument = node.args.args[0].arg
    body = node.body
    if argument != LAMBDA_ARGUMENT:
        if LAMBDA_ARGUMENT in free_names(ast.Expression(body=body)):
            return ast.unparse(body)  # x is another name here: expression_problem refuses it
        body = _Rename(argument).visit(body)
    return ast.unparse(body)


class _Rename(ast.NodeTransformer):
    def __init__(self, old: str) -> None:
        self.old = old

    def visit_Name(self, node: ast.Name) -> ast.Name:
        return ast.Name(LAMBDA_ARGUMENT, node.ctx) if node.id == self.old else node

    def visit_Lambda(self, node: ast.Lambda) -> ast.Lambda:
        shadowed = any(argument.arg == self.old for argument in node.args.args)
        return node if shadowed else self.generic_visit(node)  # type: ignore[return-value]


def _refuse(name: str, why: str) -> NoReturn:
    raise ImportRefused(f"{name} is a Lambda layer whose function {why}. {REWRITE_HINT}")
