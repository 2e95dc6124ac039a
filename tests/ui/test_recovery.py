"""Crash recovery across processes: an app killed with unsaved edits offers them back at the next start.

Both starts run the real `designer.app.run` in a subprocess (offscreen, no
engine, a small catalog): the first makes an edit and is killed with SIGKILL
once the autosave (every 500 ms here) has written it; the second is offered
the recovery file, accepts it, and reports what it shows.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_canvas import small_catalog

ROOT = Path(__file__).resolve().parents[2]

DRIVER = """
import json, sys
from pathlib import Path
from PySide6.QtCore import QPointF, QTimer
from PySide6.QtWidgets import QApplication
from designer import app
from designer.catalog.spec import Catalog

mode, catalog_file = sys.argv[1], sys.argv[2]
catalog = Catalog.from_dict(json.loads(Path(catalog_file).read_text(encoding="utf-8")))


def edit(window):
    window.set_catalog(catalog)
    QTimer.singleShot(300, lambda: window.editor.add_layer("Flatten", QPointF(0, 300)))


def recover(window):
    window.set_catalog(catalog)
    window.confirm_discard = lambda: True
    offered = []
    window.offer_recovery = lambda path: offered.append(str(path)) or True

    def report():
        document = window.document
        state = {
            "offered": offered,
            "dirty": document.is_dirty,
            "modified": window.isWindowModified(),
            "types": sorted(node.type for node in document.graph.nodes.values()),
        }
        print(json.dumps(state), flush=True)
        QApplication.instance().quit()

    QTimer.singleShot(1500, report)


sys.exit(app.run(app.Options(), client=None, on_window=edit if mode == "edit" else recover))
"""


def environment(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "DESIGNER_RECOVERY_DIR": str(tmp_path / "recovery"),
        "DESIGNER_AUTOSAVE_MS": "500",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }


def autosaved_with(folder: Path, layer_type: str) -> Path | None:
    for path in folder.glob("session-*.json"):
        try:
            types = [node["type"] for node in json.loads(path.read_text(encoding="utf-8"))["nodes"]]
        except (OSError, ValueError, KeyError):
            continue
        if layer_type in types:
            return path
    return None


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_a_killed_session_is_offered_back_with_its_edit(tmp_path: Path) -> None:
    driver, catalog = tmp_path / "driver.py", tmp_path / "catalog.json"
    driver.write_text(DRIVER, encoding="utf-8")
    catalog.write_text(json.dumps(small_catalog().to_dict()), encoding="utf-8")
    env, folder = environment(tmp_path), tmp_path / "recovery"
    log = (tmp_path / "first.log").open("w")
    first = subprocess.Popen(
        [sys.executable, str(driver), "edit", str(catalog)], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 60
        while (
            autosaved_with(folder, "Flatten") is None and time.monotonic() < deadline and first.poll() is None
        ):
            time.sleep(0.1)
    finally:
        first.kill()  # SIGKILL: no clean shutdown, the recovery file stays
        first.wait()
        log.close()
    recovery_file = autosaved_with(folder, "Flatten")
    assert recovery_file is not None, (tmp_path / "first.log").read_text()

    second = subprocess.run(
        [sys.executable, str(driver), "recover", str(catalog)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert second.returncode == 0, second.stderr
    state = json.loads(second.stdout.strip().splitlines()[-1])
    assert state["offered"] == [str(recovery_file)]
    assert "Flatten" in state["types"]
    assert state["dirty"] and state["modified"]
    assert not recovery_file.exists()
