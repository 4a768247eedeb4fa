"""Files replaced atomically: readers see the old file or the new one, never a part.

This module must not know what the files hold (feeds, pages, the config).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: bytes, *, private: bool = False) -> bool:
    """Replace ``path`` with ``data`` atomically; return False (no write) if already equal.

    Writes a temporary file in the same directory, fsyncs it and ``os.replace``s it over
    ``path``, so readers see either the old or the new file, never a partial one. A new file
    gets mode 0644; a replaced file keeps the mode of the file it replaces. ``private`` (a file
    holding secrets): readable by its owner only, at most the owner's bits of the old mode.
    """
    if _read_existing(path) == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _choose_mode(path)
    if private:
        mode = (mode & 0o600) or 0o600
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    _sync_directory(path.parent)
    return True


def _read_existing(path: Path) -> bytes | None:
    """Return the current bytes of ``path``, or None if it does not exist."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _choose_mode(path: Path) -> int:
    """Return the permission bits for the new file: the old file's, else 0644."""
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        return 0o644


def _sync_directory(directory: Path) -> None:
    """Flush the directory entry after a rename, where the platform allows it."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
