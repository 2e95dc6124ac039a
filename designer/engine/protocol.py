"""The engine host's wire protocol: its message types, its error, how a reply is written.

A request is one line of JSON, `{"id": int, "op": str, ...fields}`; its reply is one line,
`{"id": int, "ok": true, "result": ...}` or `{"id": int, "ok": false, "error": str}`. The
host's first line, once Keras is imported, is the reply `{"id": READY_ID, "ok": true,
"result": "ready"}`. The ops and their fields are listed in designer.engine.host and
designer.engine.inspect_ops. This module is plain data: no Keras, nothing else of the engine.
"""

from __future__ import annotations

import json
from typing import Any, Literal, NotRequired, TypedDict

READY_ID = 0  # the id of the host's first line


class RequestError(Exception):
    """A request the host cannot serve as asked; its message goes back to the client."""


class Request(TypedDict):
    """One request: the op's own fields sit beside these two."""

    id: int
    op: str


class Reply(TypedDict):
    """One reply: `result` when ok, else `error`, a message for a person."""

    id: Any
    ok: bool
    result: NotRequired[Any]
    error: NotRequired[str]


class Ready(TypedDict):
    """The host's first line."""

    id: Literal[0]
    ok: Literal[True]
    result: Literal["ready"]


def reply_line(request_id: Any, result: Any = None, error: str | None = None) -> str:
    """One reply as a single line of JSON."""
    reply: Reply = {"id": request_id, "ok": error is None}
    if error is None:
        reply["result"] = result
    else:
        reply["error"] = error
    return json.dumps(reply)


def describe_error(error: BaseException) -> str:
    """The error reply's message: a RequestError's own, else the exception's type and message."""
    if isinstance(error, RequestError):
        return str(error)
    return f"{type(error).__name__}: {error}".rstrip(": ")
