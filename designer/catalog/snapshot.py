"""The catalog of Keras' layers shipped with the designer, so that a first start has a full palette.

The GUI never imports Keras; on the very first start there is no disk cache
yet, and the engine needs seconds to build the catalog. This snapshot, written
by `python -m designer.catalog.snapshot` for the Keras version the project
pins and kept in `resources/catalog/`, is in the cache's format: the GUI reads
it when its own cache is missing (see `designer.ui.engine_client.cached_catalog`)
and the engine's catalog replaces it as soon as the engine is up. A test checks
that it equals what this module builds for the installed Keras.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

from designer.catalog.spec import CATALOG_CACHE_FORMAT

SNAPSHOT_FOLDER = Path(__file__).resolve().parents[2] / "resources" / "catalog"


def snapshot_name(keras_version: str) -> str:
    return f"catalog-keras-{keras_version}.json.gz"


def snapshot_text() -> str:
    """The catalog of the installed Keras, exactly as the disk cache stores it."""
    from designer.catalog.keras_layers import build_catalog

    return json.dumps({"format": CATALOG_CACHE_FORMAT, **build_catalog().to_dict()}, sort_keys=True)


def write_snapshot(folder: Path = SNAPSHOT_FOLDER) -> Path:
    import keras

    target = Path(folder) / snapshot_name(keras.__version__)
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(snapshot_name("*")):
        stale.unlink()
    target.write_bytes(gzip.compress(snapshot_text().encode("utf-8"), mtime=0))
    return target


if __name__ == "__main__":
    print(write_snapshot(Path(sys.argv[1]) if len(sys.argv) > 1 else SNAPSHOT_FOLDER))
