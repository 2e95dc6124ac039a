"""The last step of every generator: check the syntax, sort imports, `ruff format`,
then prove the result passes `ruff check`.

Ruff runs isolated from any project configuration (`--isolated`), with a lint
selection suited to generated code: pycodestyle errors and warnings,
pyflakes and isort (E, F, W, I), line length left to the formatter (E501 off:
a long string cannot be split). `src = []` makes import sections independent
of the working directory; the generator names its own first-party modules.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from designer.codegen.errors import CodegenError

LINE_LENGTH = 88
TARGET_VERSION = "py310"
LINT_SELECT = "E,F,W,I"
LINT_IGNORE = "E501"
_TIMEOUT_S = 60


def finish(source: str, *, local_modules: Iterable[str] = ()) -> str:
    """`source` checked, import-sorted and formatted; raises CodegenError if it is
    not valid Python or still fails `ruff check` afterwards."""
    check_syntax(source)
    local_modules = sorted(set(local_modules))
    command = ruff_command()
    if command is None:
        raise CodegenError(
            "Formatting generated code needs ruff; install it (pip install ruff) in the "
            f"environment of {sys.executable}."
        )
    sort_imports = [
        *command,
        "check",
        *lint_arguments(local_modules, select="I"),
        "--fix",
        "--exit-zero",
        "-",
    ]
    sorted_source = _run(sort_imports, source)
    formatted = _run([*command, "format", *format_arguments(), "-"], sorted_source)
    problems = lint(formatted, local_modules=local_modules)
    if problems:
        raise CodegenError(f"The generated code fails ruff check:\n{problems}\n--- code ---\n{formatted}")
    return formatted


def check_syntax(source: str) -> None:
    try:
        ast.parse(source)
    except SyntaxError as error:
        line = source.splitlines()[error.lineno - 1] if error.lineno else ""
        raise CodegenError(
            f"The generated code is not valid Python (a code generator bug): {error.msg} at line "
            f"{error.lineno}: {line.strip()!r}"
        ) from error


def lint(source: str, *, local_modules: Iterable[str] = ()) -> str:
    """`ruff check`'s report of `source` with the generated-code config; "" when clean."""
    command = ruff_command()
    if command is None:
        raise CodegenError("Checking generated code needs ruff; install it (pip install ruff).")
    arguments = [
        *command,
        "check",
        *lint_arguments(sorted(set(local_modules))),
        "--output-format",
        "concise",
        "-",
    ]
    completed = _completed(arguments, source)
    return "" if completed.returncode == 0 else (completed.stdout + completed.stderr).strip()


def format_arguments() -> list[str]:
    return ["--isolated", "--line-length", str(LINE_LENGTH), "--target-version", TARGET_VERSION]


def lint_arguments(local_modules: Iterable[str] = (), select: str = LINT_SELECT) -> list[str]:
    """Flags of `ruff check` for generated code (no project config applies)."""
    known = ", ".join(f'"{module}"' for module in local_modules)
    return [
        *format_arguments(),
        "--select", select,
        "--ignore", LINT_IGNORE,
        "--config", "src = []",
        "--config", f"lint.isort.known-first-party = [{known}]",
    ]  # fmt: skip


@functools.cache
def ruff_command() -> tuple[str, ...] | None:
    """The ruff next to this Python, on PATH, or `python -m ruff`; None if none."""
    executable = Path(sys.executable).parent / ("ruff.exe" if sys.platform == "win32" else "ruff")
    if executable.is_file():
        return (str(executable),)
    found = shutil.which("ruff")
    if found:
        return (found,)
    if importlib.util.find_spec("ruff") is not None:
        return (sys.executable, "-P", "-m", "ruff")  # -P: nothing of the working folder runs
    return None


def _run(arguments: list[str], source: str) -> str:
    completed = _completed(arguments, source)
    if completed.returncode != 0:
        raise CodegenError(
            f"{' '.join(arguments[1:3])} failed on the generated code:\n{completed.stderr.strip()}"
        )
    return completed.stdout


def _completed(arguments: list[str], source: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            arguments,
            input=source,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise CodegenError(f"Could not run ruff ({arguments[0]}): {error}") from error
