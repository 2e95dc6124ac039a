"""The designer's child processes: how they are started and how they end with their parent.

Every Python child (the engine host, the training worker) starts as
`python -P -m MODULE ...`: `-P` keeps the working folder off `sys.path`, so a
`rich.py` or `numpy.py` lying in the folder the designer was started from (or
in a run folder) is never imported in place of the real module. The designer
itself is found through PYTHONPATH, which `child_environment` sets to the folder
holding the `designer` package, explicitly.

A child dies with its parent: `die_with_parent()`, called first thing in the
child, asks Linux to SIGKILL it when the parent goes (PR_SET_PDEATHSIG) and
starts a watchdog thread that ends it when its parent process changes (the
parent died and the child was re-parented: every platform but Windows). The
parent names itself in DESIGNER_PARENT_PID, so that a parent dead before the
child got that far is noticed too.

Qt-free and Keras-free: the GUI, the CLI, the engine host and the worker use it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

PARENT_VARIABLE = "DESIGNER_PARENT_PID"
PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # the folder holding the designer package
PARENT_CHECK_INTERVAL_S = 0.5
PR_SET_PDEATHSIG = 1  # linux/prctl.h


# ------------------------------------------------------------------ starting
def python_command(module: str, arguments: Sequence[str] = (), python: str = sys.executable) -> list[str]:
    """`python -P -m module arguments...`: the working folder is never on the child's path."""
    return [python, "-P", "-m", module, *arguments]


def child_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`base` (this process' environment by default) with the designer first on PYTHONPATH,
    relative PYTHONPATH entries (the child's working folder again) left out, and this process
    named as the parent the child dies with."""
    environment = dict(os.environ if base is None else base)
    entries = [entry for entry in environment.get("PYTHONPATH", "").split(os.pathsep) if entry]
    absolute = [entry for entry in entries if os.path.isabs(entry)]
    environment["PYTHONPATH"] = os.pathsep.join(dict.fromkeys([str(PACKAGE_ROOT), *absolute]))
    environment[PARENT_VARIABLE] = str(os.getpid())
    return environment


# ------------------------------------------------------------------- ending
def die_with_parent(interval: float = PARENT_CHECK_INTERVAL_S) -> None:
    """End this process when the process that started it ends (call it first in a child)."""
    expected = _expected_parent()
    _ask_for_death_signal()
    parent = os.getppid()
    if expected is not None and expected != parent and not pid_alive(expected):
        _end_now()  # the parent died before the death signal was asked for
    if parent > 1:
        watchdog = threading.Thread(target=_watch_parent, args=(parent, interval), daemon=True)
        watchdog.start()


def _expected_parent() -> int | None:
    """The pid the parent wrote in the environment (taken out, so that grandchildren do not see it)."""
    value = os.environ.pop(PARENT_VARIABLE, "")
    return int(value) if value.isdigit() else None


def _ask_for_death_signal() -> None:
    """Linux: SIGKILL this process when its parent thread ends (nothing elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _watch_parent(parent: int, interval: float) -> None:
    while os.getppid() == parent:
        time.sleep(interval)
    _end_now()


def _end_now() -> None:
    if hasattr(signal, "SIGKILL"):
        os.kill(os.getpid(), signal.SIGKILL)
    os._exit(1)


# ------------------------------------------------------------------ looking
def pid_alive(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie."""
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) would terminate it there
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _process_state(pid) != "Z"


def _windows_pid_alive(pid: int) -> bool:
    still_active, query_limited_information = 259, 0x1000
    kernel = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel.OpenProcess(query_limited_information, False, pid)
    if not handle:
        return False
    code = ctypes.c_ulong()
    try:
        return bool(kernel.GetExitCodeProcess(handle, ctypes.byref(code))) and code.value == still_active
    finally:
        kernel.CloseHandle(handle)


def _process_state(pid: int) -> str:
    """The state letter of /proc/PID/stat (R, S, Z...); empty where there is no /proc."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return text.rpartition(")")[2].split()[0] if ")" in text else ""


def command_line(pid: int) -> list[str] | None:
    """The arguments of process `pid` (Linux /proc); None where they cannot be read."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode("utf-8", errors="replace") for part in raw.split(b"\0") if part]
