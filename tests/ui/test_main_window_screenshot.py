"""`designer --screenshot PNG FILE`: the whole app, engine included, renders the design with its shapes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QImage

ROOT = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_screenshot_writes_a_png_of_the_window(tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "DESIGNER_RECOVERY_DIR": str(tmp_path / "recovery"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    command = [
        sys.executable,
        "-m",
        "designer.cli",
        "--screenshot",
        str(target),
        "resources/examples/digits_cnn.json",
    ]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert target.read_bytes()[:8] == PNG_SIGNATURE
    image = QImage(str(target))
    assert image.width() >= 800 and image.height() >= 500
    assert not list((tmp_path / "recovery").glob("session-*"))
