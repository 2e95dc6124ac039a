"""The image-folder page of the training config: its size boxes edit `image_size`, and the page is
still a QWidget whose width() and height() are Qt's (the boxes once shadowed them)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytestqt.qtbot import QtBot

from designer.graph.model import ModelGraph
from designer.ui.panels.training_config import ImageFolderPage


def test_the_image_size_boxes_edit_the_size_and_leave_the_widgets_geometry_alone(qtbot: QtBot) -> None:
    config: dict[str, Any] = {"data": {"kind": "image_folder", "image_size": [256, 256]}}
    texts: list[str] = []

    def edit(text: str, change: Callable[[dict[str, Any]], None], merge_key: str | None) -> None:
        texts.append(text)
        change(config)

    page = ImageFolderPage(edit)
    qtbot.addWidget(page)
    page.show_source({"image_size": [32, 48]}, ModelGraph(), Path())
    assert isinstance(page.width(), int) and isinstance(page.height(), int)

    page.image_width.setValue(64)

    assert config["data"]["image_size"] == [32, 64]
    assert texts == ["Set the image size"]
