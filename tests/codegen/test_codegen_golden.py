"""Golden files: the generated code of two examples, so that changes to it show in review.

Regenerate after an intended change with DESIGNER_UPDATE_GOLDEN=1 and read the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from designer.codegen import export
from designer.engine.analysis import default_catalog, load_project

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
CASES = [
    ("resnet_block", "functional"),
    ("resnet_block", "subclassed"),
    ("digits_cnn", "sequential"),
    ("two_in_two_out", "functional"),
]


@pytest.mark.parametrize(("example", "style"), CASES)
def test_generated_code_equals_the_golden_file(example: str, style: str) -> None:
    catalog = default_catalog()
    loaded = load_project(ROOT / "resources" / "examples" / f"{example}.json", catalog)
    files = export(loaded.graph, catalog, style, with_training=True, training_config=loaded.training)
    for name, text in files.items():
        golden = GOLDEN / f"{example}.{style}.{name}"
        if os.environ.get("DESIGNER_UPDATE_GOLDEN"):
            golden.write_text(text, encoding="utf-8")
        assert text == golden.read_text(encoding="utf-8"), f"{golden.name} differs from the generated code"
