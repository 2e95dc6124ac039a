"""The type annotations of designer/ hold: mypy, configured in pyproject.toml, reports no errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_reports_no_errors_in_designer() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "designer"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"mypy found errors:\n{result.stdout}{result.stderr}"
