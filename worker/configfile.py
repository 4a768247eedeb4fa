"""Writing the config file by command: ``herald init`` and ``herald subscribers add/remove``.

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


def _subscribers(doc: tomlkit.TOMLDocument) -> AoT:
    found = doc.get("subscribers")
    if found is None:
        found = tomlkit.aot()
        doc["subscribers"] = found
    if not isinstance(found, AoT):
        raise ConfigError("subscribers: expected an array of tables ([[subscribers]])")
    return found


def _validate_and_write(path: Path, doc: tomlkit.TOMLDocument) -> Config:
    text = tomlkit.dumps(doc)
    config = parse_config(doc.unwrap(), origin=str(path), base_dir=path.resolve().parent)
    write_atomic(path, text.encode("utf-8"), private=True)
    return replace(config, path=path)


def add_subscriber(path: Path, values: Mapping[str, Any]) -> Config:
    """Append a ``[[subscribers]]`` block with ``values``; ConfigError if the result is invalid.

    ``values`` may hold a ``mentions`` mapping, written as ``[subscribers.mentions]``.
    """
    doc = _read(path)
    subscribers = _subscribers(doc)
    name = str(values.get("name", ""))
    if any(str(t.get("name")) == name for t in subscribers):
        raise ConfigError(f"{path}: subscribers: a subscriber named {name!r} already exists")
    table = tomlkit.table()
    for key, value in values.items():
        if value in (None, "", [], ()) or key == "mentions":
            continue
        table[key] = list(value) if isinstance(value, tuple) else value
    mentions = {k: v for k, v in dict(values.get("mentions") or {}).items() if v}
    if mentions:
        sub_table = tomlkit.table()
        for key, value in mentions.items():
            sub_table[key] = list(value) if isinstance(value, tuple) else value
        table["mentions"] = sub_table
    subscribers.append(table)
    return _validate_and_write(path, doc)


def remove_subscriber(path: Path, name: str) -> Config:
    """Delete the ``[[subscribers]]`` block named ``name``; ConfigError if there is none."""
    doc = _read(path)
    subscribers = _subscribers(doc)
    kept: list[Table] = [t for t in subscribers if str(t.get("name")) != name]
    if len(kept) == len(subscribers):
        raise ConfigError(f"{path}: subscribers: no subscriber named {name!r}")
    index = next(i for i, t in enumerate(subscribers) if str(t.get("name")) == name)
    del subscribers[index]
    if not len(subscribers):
        del doc["subscribers"]
    return _validate_and_write(path, doc)
