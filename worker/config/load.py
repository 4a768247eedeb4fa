"""Loading settings: one TOML file plus ``HERALD_*`` environment overrides, validated.

Every mistake stops with one line naming the file, the key path and what was expected.
This module must not open database connections or network sockets.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from worker.config.schema import (
    DELIVERY_KEYS,
    HERALD_KEYS,
    NETWORK_KEYS,
    TOP_KEYS,
    Reader,
    build_source,
    build_subscriber,
    check_secret,
    check_unique,
)
from worker.config.settings import (
    Config,
    ConfigError,
    DeliverySettings,
    HeraldSettings,
    NetworkSettings,
)

ENV_OVERRIDES = {
    "HERALD_DATABASE_URL": "database_url",
    "HERALD_BROKER_URL": "broker_url",
    "HERALD_FEEDS_DIR": "feeds_dir",
    "HERALD_BASE_URL": "base_url",
}


def parse_config(
    data: Mapping[str, Any],
    *,
    origin: str = "<config>",
    base_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Validate parsed TOML (plus environment overrides) into a :class:`Config`."""
    reader = Reader(origin)
    for key in data:
        if key not in TOP_KEYS:
            raise reader.fail(key, f"unknown section (expected one of: {', '.join(TOP_KEYS)})")
    herald_values = reader.fields(data.get("herald", {}), "herald", HERALD_KEYS)
    env = os.environ if environ is None else environ
    for env_name, key in ENV_OVERRIDES.items():
        if env.get(env_name) is not None:
            try:
                herald_values[key] = HERALD_KEYS[key](env[env_name])
            except ValueError as err:
                raise ConfigError(f"environment: {env_name}: {err}") from None
    herald = _resolve_paths(HeraldSettings(**herald_values), base_dir or Path.cwd())
    network_values = reader.fields(data.get("network", {}), "network", NETWORK_KEYS)
    delivery = DeliverySettings(
        **reader.fields(data.get("delivery", {}), "delivery", DELIVERY_KEYS)
    )
    sources = tuple(
        build_source(reader, raw, f"sources[{i}]")
        for i, raw in enumerate(reader.array(data.get("sources", []), "sources"))
    )
    subscribers = tuple(
        build_subscriber(reader, raw, f"subscribers[{i}]")
        for i, raw in enumerate(reader.array(data.get("subscribers", []), "subscribers"))
    )
    check_unique(reader, sources, "sources")
    check_unique(reader, subscribers, "subscribers")
    for i, sub in enumerate(subscribers):
        check_secret(reader, sub, f"subscribers[{i}]")
    known = {s.name for s in sources}
    for i, sub in enumerate(subscribers):
        for name in sub.sources:
            if name not in known:
                raise reader.fail(f"subscribers[{i}].sources", f"no source named {name!r}")
    return Config(herald, NetworkSettings(**network_values), delivery, sources, subscribers, None)


def _resolve_paths(settings: HeraldSettings, base_dir: Path) -> HeraldSettings:
    """Relative SQLite paths and feeds_dir are read relative to the config file's folder."""
    feeds_dir = Path(settings.feeds_dir)
    if not feeds_dir.is_absolute():
        feeds_dir = base_dir / feeds_dir
    url = settings.database_url
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith("sqlite:////"):
        url = prefix + str(base_dir / url[len(prefix) :])
    return HeraldSettings(**{**settings.__dict__, "feeds_dir": feeds_dir, "database_url": url})


def find_config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--config FILE``, else ``$HERALD_CONFIG``, else ``./herald.toml``."""
    if explicit:
        return Path(explicit)
    if os.environ.get("HERALD_CONFIG"):
        return Path(os.environ["HERALD_CONFIG"])
    return Path("herald.toml")


def load_config(path: str | os.PathLike[str] | None = None, *, required: bool = True) -> Config:
    """Read and validate the config file; with ``required=False`` a missing file gives defaults."""
    config_path = find_config_path(path)
    if not config_path.exists():
        if required:
            raise ConfigError(f"{config_path}: no such file (create one with `herald init`)")
        return parse_config({}, origin=str(config_path))
    try:
        data = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{config_path}: invalid TOML: {err}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{config_path}: cannot read: {err}") from None
    config = parse_config(data, origin=str(config_path), base_dir=config_path.resolve().parent)
    return replace(config, path=config_path)
