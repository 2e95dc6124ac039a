"""Data, configuration and cache folders that cannot be written: the app starts, says that the
autosave is off, and opening and saving designs still work.

Tests run as root, where a read-only mode stops no write; a folder under a regular file cannot
be made by anyone, so each folder here lies under one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from designer.ui.recovery import RecoveryFiles

ROOT = Path(__file__).resolve().parents[2]

DRIVER = """
import json, sys
from pathlib import Path
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from designer import app

target = Path(sys.argv[1])


def check(window):
    def report():
        message = window.statusBar().currentMessage()
        window.document.save(target)
        print(json.dumps({"message": message, "saved": target.exists()}), flush=True)
        window.confirm_discard = lambda: True
        window.close()
        QApplication.instance().quit()

    QTimer.singleShot(300, report)


sys.exit(app.run(app.Options(), client=None, on_window=check))
"""


def test_the_app_starts_and_saves_when_no_folder_of_its_own_can_be_written(tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder", encoding="utf-8")
    environment = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "DESIGNER_RECOVERY_DIR": str(blocker / "recovery"),
        "DESIGNER_CONFIG_DIR": str(blocker / "config"),
        "DESIGNER_AUTOSAVE_MS": "100",
        "XDG_CONFIG_HOME": str(blocker / "config"),
        "XDG_CACHE_HOME": str(blocker / "cache"),
        "XDG_DATA_HOME": str(blocker / "data"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    target = tmp_path / "design.json"
    finished = subprocess.run(
        [sys.executable, "-c", DRIVER, str(target)],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    report = json.loads(finished.stdout.strip().splitlines()[-1])
    assert report["saved"] and target.exists()
    assert report["message"].startswith("Autosave is off: cannot write to")
    assert "Open and Save still work" in report["message"]


def test_recovery_files_in_a_folder_that_cannot_be_made_say_why(tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder", encoding="utf-8")
    recovery = RecoveryFiles(blocker / "recovery")
    assert recovery.problem is not None and str(blocker / "recovery") in recovery.problem
    assert recovery.orphans() == []
    recovery.discard()
    recovery.release()  # nothing to remove, and no error either
