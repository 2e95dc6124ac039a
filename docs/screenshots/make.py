"""Make the README's three screenshots with the app itself, on a virtual screen.

`python docs/screenshots/make.py [--size 1600x1000]` starts Xvfb (Debian's
xvfb package) unless DISPLAY is set, then runs the real app with its engine on
the built-in examples: the VAE in the editor, the digits CNN training with live
curves, and conv_1's filters in the Weights panel after that run. Settings,
runs and caches go to a temporary folder, so the pictures show the default
layout and nothing of the person's own.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

DRIVER = r"""
import sys
from pathlib import Path
from PySide6.QtCore import QTimer
from designer import app as designer_app
from designer.ui.examples import example_path

OUT = Path(sys.argv[1])
state = {"step": "vae"}

def grab(window, name):
    window.grab().save(str(OUT / name), "PNG")
    print("saved", name, flush=True)

def drive(window):
    document, training = window.document, window.training

    def shapes_in():
        return len(document.graph) and all(n in document.results for n in document.graph.nodes)

    def tick():
        step = state["step"]
        if step == "vae" and shapes_in():
            window.view.show_design()
            QTimer.singleShot(800, lambda: (grab(window, "editor.png"), open_cnn()))
            state["step"] = "opening"
        elif step == "cnn" and shapes_in():
            state["step"] = "training"
            config = document.model.training_config()
            document.model.set_training(config.copy(epochs=12, batch_size=32))
            training.start()
        elif step == "training" and training.curves.epoch >= 5 and training.curves.step >= 10:
            grab(window, "training.png")
            state["step"] = "waiting"
        elif step == "waiting" and not window.training_client.running:
            state["step"] = "weights"
            conv = document.graph.node_by_name("conv_1")
            window.show_node(conv.id)
            window.inspection.show_dock("weights")
            weights = window.inspection.weights
            weights.tabs.setCurrentIndex(list(weights.cards).index("Filters"))
            QTimer.singleShot(4000, lambda: (grab(window, "weights.png"), finish(window)))
        if state["step"] != "done":
            QTimer.singleShot(200, tick)

    def open_cnn():
        window.confirm_discard = lambda: True
        designer_app.open_example(window, "digits_cnn.json")
        state["step"] = "cnn"

    QTimer.singleShot(0, tick)

def finish(window):
    state["step"] = "done"
    window.confirm_discard = lambda: True
    window.close()

sys.argv = [sys.argv[0]]
sys.exit(designer_app.run(designer_app.Options(example_path("vae_digits.json")), on_window=drive))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1600x1000")
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="designer-shots-"))
    settings = work / "config" / "keras-designer" / "Keras Designer.conf"
    settings.parent.mkdir(parents=True)
    settings.write_text(f"[General]\ntheme={options.theme}\n", encoding="utf-8")
    environment = dict(os.environ)
    environment.pop("QT_QPA_PLATFORM", None)
    environment.update(
        XDG_CONFIG_HOME=str(work / "config"),
        XDG_DATA_HOME=str(work / "data"),
        XDG_CACHE_HOME=str(work / "cache"),
        DESIGNER_RUNS_DIR=str(work / "runs"),
        DESIGNER_RECOVERY_DIR=str(work / "recovery"),
        TF_CPP_MIN_LOG_LEVEL="3",
        PYTHONPATH=str(ROOT),
    )
    xvfb = None
    if "DISPLAY" not in os.environ:
        environment["DISPLAY"] = ":87"
        xvfb = subprocess.Popen(["Xvfb", ":87", "-screen", "0", f"{options.size}x24", "-nolisten", "tcp"])
        time.sleep(1)
    try:
        driver = work / "driver.py"
        driver.write_text(DRIVER, encoding="utf-8")
        return subprocess.call([sys.executable, str(driver), str(options.out)], env=environment, timeout=900)
    finally:
        if xvfb is not None:
            xvfb.terminate()


if __name__ == "__main__":
    sys.exit(main())
