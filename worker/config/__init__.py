"""Settings: one TOML file plus ``HERALD_*`` environment overrides, validated on load.

``settings`` holds the shapes, ``checks`` the value checks, ``schema`` the keys of each section
and the reader, ``load`` the file and environment. Every mistake stops with one line naming the
file, the key path and what was expected. Nothing here opens database connections or sockets.
"""

from worker.config.checks import parse_duration
from worker.config.load import ENV_OVERRIDES, find_config_path, load_config, parse_config
from worker.config.settings import (
    CHANNELS,
    MODES,
    SOURCE_KINDS,
    BrowserSettings,
    Config,
    ConfigError,
    DeliverySettings,
    HeraldSettings,
    NetworkSettings,
    SourceConfig,
    SubscriberConfig,
)

__all__ = [
    "CHANNELS",
    "ENV_OVERRIDES",
    "MODES",
    "SOURCE_KINDS",
    "BrowserSettings",
    "Config",
    "ConfigError",
    "DeliverySettings",
    "HeraldSettings",
    "NetworkSettings",
    "SourceConfig",
    "SubscriberConfig",
    "find_config_path",
    "load_config",
    "parse_config",
    "parse_duration",
]
