"""Consent to run custom-layer code: which files (by content hash) the user trusted.

A project may reference or embed Python files. Nothing of them runs until the
user agrees, once per file content: an edited file must be trusted again. The
store is a small JSON file in the user's configuration folder, written
atomically. No Qt, no Keras.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path


def file_hash(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def default_store_path() -> Path:
    base = os.environ.get("DESIGNER_CONFIG_DIR") or os.environ.get("XDG_CONFIG_HOME") or "~/.config"
    folder = Path(base).expanduser()
    if "DESIGNER_CONFIG_DIR" in os.environ:
        return folder / "trust.json"
    return folder / "keras-designer" / "trust.json"


class TrustStore:
    """Trusted file hashes, each with the path it was trusted for and when."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_store_path()
        self._entries: dict[str, dict[str, object]] = self._read()

    def is_trusted(self, file: Path) -> bool:
        try:
            return file_hash(file) in self._entries
        except OSError:
            return False

    def untrusted(self, files: list[Path]) -> list[Path]:
        return [Path(f) for f in files if not self.is_trusted(Path(f))]

    def trust(self, files: list[Path]) -> None:
        for file in map(Path, files):
            self._entries[file_hash(file)] = {"file": str(file.resolve()), "trusted_at": time.time()}
        self._write()

    def _read(self) -> dict[str, dict[str, object]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".trust.", suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(self._entries, stream, indent=2, sort_keys=True)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, self.path)
