"""Consent covers a layer file with what it imports from its folder, found without running it."""

from __future__ import annotations

from pathlib import Path

from designer.trust import (
    TrustStore,
    consent_snapshot,
    content_hash,
    local_imports,
    survey_consent,
    trust_digest,
)

LAYER = """
import os
import numpy
from helper_mod import scale
import tools.maths
from shapes import *


def never_called():
    import lazy_helper
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def marked(marker: Path, text: str = "") -> str:
    """Module code that leaves `marker` behind if it ever runs."""
    return f"open({str(marker)!r}, 'w').close()\n{text}"


def helped_folder(folder: Path, marker: Path) -> Path:
    """A layer file and its folder's modules: a helper importing another, a package, a lazy import."""
    write(folder / "helper_mod.py", marked(marker, "from deeper import factor\n"))
    write(folder / "deeper.py", marked(marker))
    write(folder / "tools" / "__init__.py", marked(marker))
    write(folder / "tools" / "maths.py", marked(marker, "from . import units\nfrom .other import thing\n"))
    write(folder / "tools" / "units.py", marked(marker))
    write(folder / "tools" / "other.py", marked(marker))
    write(folder / "shapes.py", marked(marker))
    write(folder / "lazy_helper.py", marked(marker))
    write(folder / "unrelated.py", marked(marker))
    return write(folder / "helped_layers.py", marked(marker, LAYER))


def test_local_imports_are_found_recursively_without_running_anything(tmp_path: Path) -> None:
    marker = tmp_path / "it ran"
    layer = helped_folder(tmp_path / "design", marker)
    folder = layer.parent.resolve()
    expected = [
        "deeper.py",
        "helper_mod.py",
        "lazy_helper.py",
        "shapes.py",
        "tools/__init__.py",
        "tools/maths.py",
        "tools/other.py",
        "tools/units.py",
    ]
    assert [path.relative_to(folder).as_posix() for path in local_imports(layer)] == expected
    assert not marker.exists()


def test_a_file_that_imports_nothing_local_keeps_its_plain_content_hash(tmp_path: Path) -> None:
    layer = write(tmp_path / "plain_layers.py", "import os\nimport keras\n")
    assert local_imports(layer) == []
    assert trust_digest(layer) == content_hash(layer.read_bytes())


def test_a_broken_helper_is_covered_but_not_followed(tmp_path: Path) -> None:
    layer = write(tmp_path / "layer.py", "import broken\n")
    write(tmp_path / "broken.py", "def (:\nimport never_seen\n")
    write(tmp_path / "never_seen.py", "")
    assert [path.name for path in local_imports(layer)] == ["broken.py"]


def test_changing_any_local_import_asks_for_consent_again(tmp_path: Path) -> None:
    layer = helped_folder(tmp_path / "design", tmp_path / "marker")
    store = TrustStore(tmp_path / "trust.json")
    store.trust([layer])
    assert TrustStore(tmp_path / "trust.json").is_trusted(layer)
    for changed in ("deeper.py", "tools/units.py", "lazy_helper.py"):
        helper = layer.parent / changed
        original = helper.read_text()
        helper.write_text(original + "\nprint('changed')\n")
        assert not TrustStore(tmp_path / "trust.json").is_trusted(layer), changed
        helper.write_text(original)
        assert TrustStore(tmp_path / "trust.json").is_trusted(layer)
    (layer.parent / "unrelated.py").write_text("print('not imported by the layer file')\n")
    assert TrustStore(tmp_path / "trust.json").is_trusted(layer)


def test_content_trusted_before_it_is_written_covers_its_imports(tmp_path: Path) -> None:
    helper = write(tmp_path / "helper_mod.py", "def scale():\n    return 2.0\n")
    layer = tmp_path / "edited_layers.py"
    content = b"from helper_mod import scale\n"
    store = TrustStore(tmp_path / "trust.json")
    store.trust_content(layer, content)
    layer.write_bytes(content)
    assert store.is_trusted(layer)
    helper.write_text("def scale():\n    return 3.0\n")
    assert not store.is_trusted(layer)


def test_consent_covers_what_the_dialog_showed_not_what_changed_while_it_was_open(tmp_path: Path) -> None:
    layer = helped_folder(tmp_path / "design", tmp_path / "marker")
    shown = consent_snapshot([layer])  # taken before the dialog opens
    helper = layer.parent / "deeper.py"
    helper.write_text(helper.read_text() + "\nprint('slipped in while the dialog was open')\n")
    store = TrustStore(tmp_path / "trust.json")
    store.trust_snapshot(shown)  # the person said yes to what they saw
    assert not TrustStore(tmp_path / "trust.json").is_trusted(layer)


def test_a_survey_reads_what_the_consent_flow_needs_in_one_call(tmp_path: Path) -> None:
    """survey_consent (the GUI calls it off its thread) agrees with the one-file functions: each
    file's digest, the untrusted ones with their imports and snapshot, unreadable files left out."""
    marker = tmp_path / "ran"
    layer = write(tmp_path / "layer.py", LAYER)
    helped_folder(tmp_path, marker)
    plain = write(tmp_path / "plain.py", "x = 1\n")
    missing = tmp_path / "missing.py"
    store = TrustStore(tmp_path / "trust.json")
    store.trust([plain])

    survey = survey_consent([layer, plain, missing], store)

    assert survey.digests == {layer: trust_digest(layer), plain: trust_digest(plain), missing: None}
    assert survey.untrusted == [layer] and survey.imports == {layer: local_imports(layer)}
    assert survey.shown([layer]).keys() == consent_snapshot([layer]).keys()
    assert survey.asking({trust_digest(layer)}) == [] and survey.asking(set()) == [layer]
    assert not marker.exists()
