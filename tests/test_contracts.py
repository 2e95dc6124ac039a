"""Project-wide rules: the import contracts of ARCHITECTURE.md, ruff, and a Keras-free core."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def test_import_contracts_hold() -> None:
    result = subprocess.run(
        [str(BIN / "lint-imports"), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.lower().replace("0 broken", "")


def test_ruff_check_passes_on_the_code() -> None:
    result = subprocess.run(
        [str(BIN / "ruff"), "check", "designer", "layers", "tests", "bench"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_design_model_and_codegen_import_without_keras_or_qt() -> None:
    code = (
        "import sys\n"
        "import designer.graph.model, designer.graph.validation, designer.graph.project\n"
        "import designer.graph.layout\n"
        "import designer.catalog.spec\n"
        "bad = sorted(m for m in ('keras', 'tensorflow', 'PySide6', 'pyqtgraph') if m in sys.modules)\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
