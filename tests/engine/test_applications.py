"""Every keras.applications architecture through the designer (#14): it imports cleanly,
and its functional and subclassed exports have the original's parameters and, given its
weights, its outputs, on the TensorFlow backend; a sample runs on JAX as well.

weights=None, the smallest input each architecture accepts and 10 classes keep the models
small; they are still the slowest tests of the suite, so they are marked `slow` and
`applications` (select or skip them with `-m applications` / `-m "not applications"`)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import pytest
from test_importer import assert_analysis_clean

from designer.catalog.spec import Catalog
from designer.engine.importer import ImportResult, import_model

TESTS = Path(__file__).resolve().parents[1]
# keras_roundtrip (import, export, copy the weights, compare) is shared with the codegen tests.
sys.path.insert(0, str(TESTS / "codegen"))
from keras_roundtrip import round_trip  # noqa: E402

ROOT = TESTS.parent
STYLES = ("functional", "subclassed")  # applications branch: no Sequential export
TOLERANCE = 1e-4
NOT_ARCHITECTURES = {"decode_predictions", "preprocess_input"}
# Keras refuses a smaller input for these (`min_size` in keras/src/applications/*.py); 32 for the rest.
MINIMUM_SIZES = {"InceptionResNetV2": 75, "InceptionV3": 75, "Xception": 71}
# On JAX (a process of its own, so one process for them all): the two families whose
# subclassed export needed a workaround on TF (#14 item 1) and one of the mobile models.
JAX_SAMPLE = ("ConvNeXtTiny", "EfficientNetV2B0", "MobileNetV3Small")

pytestmark = [pytest.mark.slow, pytest.mark.applications]


def architectures() -> dict[str, Callable[..., keras.Model]]:
    """Every model function of keras.applications, from its family modules (resnet,
    efficientnet...) and from the package itself, which alone exports MobileNetV3."""
    modules = [keras.applications] + [
        value for value in vars(keras.applications).values() if isinstance(value, types.ModuleType)
    ]
    return {
        name: function
        for module in modules
        for name, function in vars(module).items()
        if callable(function) and name[:1].isupper() and name not in NOT_ARCHITECTURES
    }


ARCHITECTURES = architectures()


def small_application(name: str) -> keras.Model:
    size = MINIMUM_SIZES.get(name, 32)
    return ARCHITECTURES[name](weights=None, input_shape=(size, size, 3), classes=10)


# ------------------------------------------------------------------ TensorFlow
@pytest.fixture(scope="module", params=sorted(ARCHITECTURES))
def application(request: pytest.FixtureRequest, catalog: Catalog) -> tuple[keras.Model, ImportResult]:
    original = small_application(request.param)
    return original, import_model(original, catalog)


def test_every_architecture_is_listed() -> None:
    assert len(ARCHITECTURES) >= 40
    assert {"ConvNeXtTiny", "MobileNetV3Small", "MobileNetV3Large", "NASNetLarge", "Xception"} <= set(
        ARCHITECTURES
    )


def test_the_application_imports_cleanly(
    application: tuple[keras.Model, ImportResult], catalog: Catalog
) -> None:
    original, result = application
    # Only notes that an op became a layer (in MobileNetV3's hard swish "x + 3.0" is Rescaling).
    rescaling = " is a Rescaling layer in the design."
    assert [note for note in result.messages if not note.endswith(rescaling)] == []
    assert_analysis_clean(original, result, catalog)


def test_both_exports_have_the_parameters_and_outputs_of_the_original(
    application: tuple[keras.Model, ImportResult], tmp_path: Path
) -> None:
    original, result = application
    results = round_trip(original, tmp_path, result)
    assert_exact_in_both_styles(original.name, results)


def assert_exact_in_both_styles(name: str, results: dict[str, dict[str, float]]) -> None:
    for style in STYLES:
        assert results[style]["parameters"] == results["original"]["parameters"], (name, style)
        assert results[style]["difference"] <= TOLERANCE, (name, style, results[style])


# ------------------------------------------------------------------------ JAX
def test_a_sample_round_trips_in_both_styles_on_jax(tmp_path: Path) -> None:
    """keras_roundtrip.py imports, exports, copies the weights and compares, on JAX."""
    if importlib.util.find_spec("jax") is None:
        pytest.skip("jax is not installed (pip install -e .[test])")
    script = TESTS / "codegen" / "keras_roundtrip.py"
    paths = [str(ROOT), str(script.parent), os.environ.get("PYTHONPATH", "")]
    environment = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": os.pathsep.join(filter(None, paths))}
    finished = subprocess.run(
        [sys.executable, str(script), str(tmp_path), *JAX_SAMPLE],
        capture_output=True,
        text=True,
        env=environment,
        timeout=900,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    results: dict[str, Any] = json.loads(finished.stdout.strip().splitlines()[-1])
    assert results["backend"] == "jax"
    for name in JAX_SAMPLE:
        assert_exact_in_both_styles(name, results[name])
