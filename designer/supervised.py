"""A CLI command that runs the user's custom-layer code, run in a child process with a time limit.

Analysing a design calls its custom layers' `build` and `call`: an endless loop
there would hang `designer validate` for ever, and `os._exit` would end it
without a word. So the CLI runs such a command as `python -P -m designer.cli
...` (`designer.processes`) and watches it: the child says in a small report
file when it starts on the user's code and how the command ended. The time
limit counts from that start (importing Keras is not the user's fault); a child
that does not answer in time is killed, and one that ends without reporting
(the layer code ended the process, or crashed it) is named as such.

Keras-free and Qt-free: the parent never imports Keras for a supervised command.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from designer.processes import child_environment, die_with_parent, python_command

REPORT_VARIABLE = "DESIGNER_CLI_REPORT"  # names the child's report file
RUNNING = "running"  # the child is about to run the user's code
ENDED_PREFIX = "ended "  # "ended 1": the command finished with exit status 1
STARTUP_LIMIT_S = 300.0  # for the child's imports, before the time limit starts
POLL_INTERVAL_S = 0.05


@dataclass(frozen=True)
class Outcome:
    """How a supervised command went: its exit status when it finished, what it printed."""

    status: int | None  # the command's exit status; None when it did not finish
    out: str
    err: str
    timed_out: bool = False
    process_code: int | None = None  # the child's exit code (negative: the signal that ended it)


# ------------------------------------------------------------------- the parent
def run_supervised(argv: Sequence[str], timeout: float) -> Outcome:
    """Run `designer <argv>` in a child; kill it when the user's code runs past `timeout` seconds."""
    with tempfile.TemporaryDirectory(prefix="designer-cli-") as folder:
        report, out_path, err_path = (Path(folder) / name for name in ("report", "out", "err"))
        environment = {**child_environment(), REPORT_VARIABLE: str(report)}
        with out_path.open("wb") as out_file, err_path.open("wb") as err_file:
            child = subprocess.Popen(
                python_command("designer.cli", argv),
                stdin=subprocess.DEVNULL,
                stdout=out_file,
                stderr=err_file,
                env=environment,
            )
            timed_out = not _wait(child, report, timeout)
        out, err = (path.read_text(encoding="utf-8", errors="replace") for path in (out_path, err_path))
        return Outcome(_ended_status(report), out, err, timed_out, child.returncode)


def _wait(child: subprocess.Popen[bytes], report: Path, timeout: float) -> bool:
    """Wait for the child to end; kill it when it runs too long. Whether it ended in time."""
    deadline = time.monotonic() + STARTUP_LIMIT_S + timeout
    started = False
    while child.poll() is None:
        if not started and _read(report) == RUNNING:
            started, deadline = True, time.monotonic() + timeout
        if time.monotonic() > deadline:
            child.kill()
            child.wait()
            return False
        time.sleep(POLL_INTERVAL_S)
    return True


def _ended_status(report: Path) -> int | None:
    text = _read(report)
    number = text.removeprefix(ENDED_PREFIX)
    return int(number) if text.startswith(ENDED_PREFIX) and number.lstrip("-").isdigit() else None


def _read(report: Path) -> str:
    try:
        return report.read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def failure_message(outcome: Outcome, files: Sequence[str], timeout: float) -> str:
    """Why a supervised command did not finish, naming the custom-layer files."""
    names = ", ".join(files) or "the design"
    if outcome.timed_out:
        return (
            f"the custom layers in {names} did not answer within {timeout:g} s: is there an endless "
            "loop in a layer's build or call? Fix it, or give more time with --timeout SECONDS"
        )
    code = outcome.process_code
    how = f"signal {_signal_name(-code)}" if code is not None and code < 0 else f"exit code {code}"
    return (
        f"the custom layers in {names} ended the process ({how}) before the analysis finished: "
        "look for os._exit, sys.exit or a crash in their code"
    )


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


# -------------------------------------------------------------------- the child
class ChildReport:
    """The child's side: where it tells its parent that it started and how the command ended."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def from_environment(cls) -> ChildReport | None:
        """The report this process must write when a parent supervises it (then it dies with that
        parent); None when it runs on its own. The variable is taken out for grandchildren."""
        value = os.environ.pop(REPORT_VARIABLE, "")
        if not value:
            return None
        die_with_parent()
        return cls(Path(value))

    def running(self) -> None:
        self._write(RUNNING)

    def ended(self, status: int) -> None:
        self._write(f"{ENDED_PREFIX}{status}")

    def _write(self, text: str) -> None:
        temporary = self.path.with_name(f"{self.path.name}.tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, self.path)
