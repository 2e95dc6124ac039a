"""The engine's custom-layer files: what the GUI is told about each file named."""

from __future__ import annotations

from pathlib import Path

import pytest

from designer.engine.custom_ops import CustomLayers


def test_a_second_file_of_the_same_module_name_is_refused_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESIGNER_CONFIG_DIR", str(tmp_path / "config"))
    first, second = tmp_path / "a" / "same_layers.py", tmp_path / "b" / "same_layers.py"
    for path in (first, second):
        path.parent.mkdir()
        path.write_text("import keras\n")
    custom = CustomLayers()

    reply = custom.load([str(first), str(second)])

    notes = [problem["message"] for problem in reply["problems"] if problem["file"] == str(second.resolve())]
    assert notes == [f"it has the same module name as {first.resolve()}: rename one of them"]
    assert custom.files[second.resolve()].status == "refused"
    assert custom.files[second.resolve()].used is None
