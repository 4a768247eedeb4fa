"""Writing the config file by command: ``herald init``, ``sources``/``subscribers`` add and remove,
and the JSON API.

``herald init`` writes the commented example with a freshly generated webhook secret in place
of its placeholder. Every edit is validated as a whole config before the file is replaced
(atomically), so a bad value is refused with the same one-line error a hand edit would get and
the file is untouched; ``env:NAME`` references are kept as written, never resolved into the
file. The file holds secrets, so whatever is written is readable by its owner only (0600; an
existing file keeps at most its owner's read and write bits). This module must not touch the
database; callers sync it afterwards.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import AoT, Table

from worker.config import Config, ConfigError, parse_config
from worker.files import write_atomic

EXAMPLE_SECRET = "whsec_GENERATE-ONE"  # the placeholder in worker/example.toml
SECRET_BYTES = 32


def new_webhook_secret() -> str:
    """A fresh Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def write_example(path: Path) -> None:
    """Write the commented example configuration, with a fresh webhook secret, to ``path``."""
    example = resources.files("worker").joinpath("example.toml").read_text(encoding="utf-8")
    write_atomic(
        path, (example.replace(EXAMPLE_SECRET, new_webhook_secret())).encode("utf-8"), private=True
    )


def _read(path: Path) -> tomlkit.TOMLDocument:
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file (create one with `herald init`)") from None
    except Exception as err:  # tomlkit raises its own ParseError family
        raise ConfigError(f"{path}: invalid TOML: {err}") from None


def _array(doc: tomlkit.TOMLDocument, section: str) -> AoT:
    found = doc.get(section)
    if found is None:
        found = tomlkit.aot()
        doc[section] = found
    if not isinstance(found, AoT):
        raise ConfigError(f"{section}: expected an array of tables ([[{section}]])")
    return found


def _validate_and_write(path: Path, doc: tomlkit.TOMLDocument) -> Config:
    text = tomlkit.dumps(doc)
    config = parse_config(doc.unwrap(), origin=str(path), base_dir=path.resolve().parent)
    write_atomic(path, text.encode("utf-8"), private=True)
    return replace(config, path=path)


def _table(values: Mapping[str, Any]) -> Table:
    """A TOML table of ``values``: unset values (None, "", []) left out, mappings as sub-tables."""
    table = tomlkit.table()
    for key, value in values.items():
        if isinstance(value, Mapping):
            inner = {k: v for k, v in value.items() if v not in (None, "", [], ())}
            if inner:
                table[key] = _table(inner)
        elif value not in (None, "", [], ()):
            table[key] = list(value) if isinstance(value, tuple) else value
    return table


def _index(entries: AoT, section: str, name: str, path: Path) -> int:
    for index, entry in enumerate(entries):
        if str(entry.get("name")) == name:
            return index
    raise ConfigError(
        f"{path}: {section}: no {section[:-1]} named {name!r}", key=f"{section}.name",
        problem=f"no {section[:-1]} named {name!r}",
    )  # fmt: skip


def add_entry(path: Path, section: str, values: Mapping[str, Any]) -> Config:
    """Append a ``[[section]]`` block with ``values`` (nested mappings become its sub-tables:
    ``list``/``article`` of a source, ``mentions`` of a subscriber); ConfigError if the result
    is invalid or the name is taken."""
    doc = _read(path)
    entries = _array(doc, section)
    name = str(values.get("name", ""))
    if any(str(t.get("name")) == name for t in entries):
        problem = f"a {section[:-1]} named {name!r} already exists"
        raise ConfigError(f"{path}: {section}: {problem}", key=f"{section}.name", problem=problem)
    entries.append(_table(values))
    return _validate_and_write(path, doc)


def update_entry(path: Path, section: str, name: str, changes: Mapping[str, Any]) -> Config:
    """Change keys of the ``[[section]]`` block named ``name``, keeping its other keys and the
    file's comments; a value of None or "" removes the key, a mapping replaces a sub-table."""
    doc = _read(path)
    entries = _array(doc, section)
    entry = entries[_index(entries, section, name, path)]
    for key, value in changes.items():
        if value in (None, "") or (isinstance(value, Mapping) and not value):
            entry.pop(key, None)
        elif isinstance(value, Mapping):
            entry[key] = _table(value)
        else:
            entry[key] = list(value) if isinstance(value, tuple) else value
    return _validate_and_write(path, doc)


def remove_entry(path: Path, section: str, name: str) -> Config:
    """Delete the ``[[section]]`` block named ``name``; ConfigError if there is none (or if the
    config is invalid without it, e.g. a subscriber still names a removed source)."""
    doc = _read(path)
    entries = _array(doc, section)
    del entries[_index(entries, section, name, path)]
    if not len(entries):
        del doc[section]
    return _validate_and_write(path, doc)
