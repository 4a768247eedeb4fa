"""Loading settings: one TOML file plus ``HERALD_*`` environment overrides, validated.

A subscriber's ``url`` and ``secret`` and ``[herald] database_url`` and ``broker_url`` may be
written ``"env:NAME"``: the value is read from that environment variable here, so tokens can
stay out of the file. Every mistake stops with one line naming the file, the key path and what
was expected (for ``env:`` values, the variable). A ``webhook`` subscriber without a secret is
logged as a warning. This module must not open database connections or network sockets, and
must never log or put into an error message a value read from the environment.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from worker.config.schema import (
    BROWSER_KEYS,
    DELIVERY_KEYS,
    FEED_KEYS,
    HERALD_KEYS,
    NETWORK_KEYS,
    RETENTION_KEYS,
    SMTP_KEYS,
    TOP_KEYS,
    WEB_KEYS,
    Reader,
    build_source,
    build_subscriber,
    check_proxy,
    check_secret,
    check_unique,
)
from worker.config.settings import (
    DIRECT,
    SMTP_PASSWORD_ENV,
    BrowserSettings,
    Config,
    ConfigError,
    DeliverySettings,
    FeedSettings,
    HeraldSettings,
    NetworkSettings,
    RetentionSettings,
    SmtpSettings,
    SubscriberConfig,
    WebSettings,
)
from worker.feeds import valid_key_segment
from worker.netguard import Policy
from worker.render.locate import locate_chromium

log = logging.getLogger(__name__)

ENV_PREFIX = "env:"
ENV_REFERENCES = {
    "herald": ("database_url", "broker_url"),
    "network": ("proxy",),
    "web": ("api_token",),
    "subscribers": ("url", "secret"),
}
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_GOT = re.compile(r",? got .*$", re.S)
ENV_OVERRIDES = {
    "HERALD_DATABASE_URL": "database_url",
    "HERALD_BROKER_URL": "broker_url",
    "HERALD_FEEDS_DIR": "feeds_dir",
    "HERALD_BASE_URL": "base_url",
}
API_TOKEN_ENV = "HERALD_API_TOKEN"


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
    env = os.environ if environ is None else environ
    herald_raw, herald_env = _from_environment(reader, data.get("herald", {}), "herald", env)
    with _hiding_values(herald_env, "herald"):
        herald_values = reader.fields(herald_raw, "herald", HERALD_KEYS)
    for env_name, key in ENV_OVERRIDES.items():
        if env.get(env_name) is not None:
            try:
                herald_values[key] = HERALD_KEYS[key](env[env_name])
            except ValueError as err:
                raise ConfigError(f"environment: {env_name}: {err}") from None
    herald = _resolve_paths(HeraldSettings(**herald_values), base_dir or Path.cwd())
    network_raw, network_env = _from_environment(reader, data.get("network", {}), "network", env)
    with _hiding_values(network_env, "network"):
        network_values = reader.fields(network_raw, "network", NETWORK_KEYS)
    delivery = DeliverySettings(
        **reader.fields(data.get("delivery", {}), "delivery", DELIVERY_KEYS)
    )
    web_raw, web_env = _from_environment(reader, data.get("web", {}), "web", env)
    with _hiding_values(web_env, "web"):
        web_values = reader.fields(web_raw, "web", WEB_KEYS)
    if env.get(API_TOKEN_ENV):
        web_values["api_token"] = env[API_TOKEN_ENV]
    feeds = FeedSettings(**reader.fields(data.get("feeds", {}), "feeds", FEED_KEYS))
    retention = RetentionSettings(
        **reader.fields(data.get("retention", {}), "retention", RETENTION_KEYS)
    )
    sources = tuple(
        build_source(reader, raw, item_path("sources", i, raw), max_items=herald.max_items)
        for i, raw in enumerate(reader.array(data.get("sources", []), "sources"))
    )
    subscribers = tuple(
        _subscriber(reader, raw, item_path("subscribers", i, raw), env)
        for i, raw in enumerate(reader.array(data.get("subscribers", []), "subscribers"))
    )
    check_unique(reader, sources, "sources")
    check_unique(reader, subscribers, "subscribers")
    for sub in subscribers:
        path = named_path("subscribers", sub.name)
        check_secret(reader, sub, path)
        if sub.channel == "webhook" and not sub.secret:
            log.warning(
                "%s: %s.secret: not set: webhook subscriber %r sends unsigned "
                "requests (receivers cannot verify they come from herald)",
                origin, path, sub.name,
            )  # fmt: skip
    for source in sources:
        for tag in source.tags:
            if not valid_key_segment(tag):
                path = named_path("sources", source.name)
                log.warning("%s: %s.tags: %r cannot name a feed file; it filters, but gets no "
                            "tags/ feed", origin, path, tag)  # fmt: skip
    known = {s.name for s in sources}
    for sub in subscribers:
        for name in sub.sources:
            if name not in known:
                path = named_path("subscribers", sub.name)
                raise reader.fail(f"{path}.sources", f"no source named {name!r}")
    network = NetworkSettings(**network_values)
    smtp = SmtpSettings(
        **reader.fields(data.get("smtp", {}), "smtp", SMTP_KEYS),
        password=env.get(SMTP_PASSWORD_ENV, ""),
    )
    if smtp.user and not smtp.password:
        log.warning("%s: smtp.user: set, but %s is empty: the relay will refuse the login",
                    origin, SMTP_PASSWORD_ENV)  # fmt: skip
    if smtp.tls and smtp.starttls == "always":
        raise reader.fail("smtp.starttls", '"always" is for a plain connection; tls = true '
                          "already encrypts from the first byte")  # fmt: skip
    for sub in subscribers:
        if sub.channel == "email" and not smtp.host:
            path = named_path("subscribers", sub.name)
            raise reader.fail("smtp.host", f'missing: {path} has channel = "email"')
    policy = Policy.from_allow(network.allow)
    if network.proxy == DIRECT:
        raise reader.fail("network.proxy", f'"{DIRECT}" is for a source; leave proxy out instead')
    check_proxy(reader, network.proxy, "network.proxy", policy)
    for source in sources:
        check_proxy(reader, source.proxy, f"{named_path('sources', source.name)}.proxy", policy)
    web = WebSettings(**web_values)
    browser = BrowserSettings(**reader.fields(data.get("browser", {}), "browser", BROWSER_KEYS))
    if browser.executable and not locate_chromium(browser.executable):
        raise reader.fail("browser.executable", f"{browser.executable!r} is not an executable "
                          "file or a program on PATH")  # fmt: skip
    return Config(
        herald,
        network,
        delivery,
        web,
        feeds,
        sources,
        subscribers,
        None,
        retention,
        smtp,
        browser,
    )


def item_path(section: str, index: int, raw: Any) -> str:
    """How an error names an entry of an array of tables: by its name when it has one
    (``sources["notices"]``), else by its position (``sources[2]``)."""
    name = raw.get("name") if isinstance(raw, Mapping) else None
    return named_path(section, name) if isinstance(name, str) and name else f"{section}[{index}]"


def named_path(section: str, name: str) -> str:
    return f"{section}[{json.dumps(name, ensure_ascii=False)}]"


def _subscriber(reader: Reader, raw: Any, path: str, env: Mapping[str, str]) -> SubscriberConfig:
    resolved, from_env = _from_environment(reader, raw, path, env)
    with _hiding_values(from_env, path):
        return replace(build_subscriber(reader, resolved, path), from_env=from_env)


@contextmanager
def _hiding_values(from_env: tuple[tuple[str, str], ...], path: str) -> Iterator[None]:
    """A mistake in a value read from the environment names the variable, never the value."""
    try:
        yield
    except ConfigError as err:
        for key, name in from_env:
            if err.key == f"{path}.{key}":
                problem = _GOT.sub("", err.problem)
                message = f"environment variable {name} (for {err.key}): {problem}"
                raise ConfigError(f"{str(err).split(': ', 1)[0]}: {message}", key=err.key,
                                  problem=message) from None  # fmt: skip
        raise


def _from_environment(
    reader: Reader, raw: Any, path: str, env: Mapping[str, str]
) -> tuple[dict[str, Any], tuple[tuple[str, str], ...]]:
    """The table with its ``env:NAME`` values read from the environment, and which key came
    from which variable. The section name (``path`` without its index) says which keys may."""
    table = dict(reader.table(raw, path))
    found: list[tuple[str, str]] = []
    for key in ENV_REFERENCES[path.split("[", 1)[0]]:
        value = table.get(key)
        if not (isinstance(value, str) and value.startswith(ENV_PREFIX)):
            continue
        name = value[len(ENV_PREFIX) :]
        if not _ENV_NAME.fullmatch(name):
            raise reader.fail(
                f"{path}.{key}", f"expected env:NAME with a variable name, got {value!r}"
            )
        if not env.get(name):
            raise reader.fail(f"{path}.{key}", f"environment variable {name} is not set or empty")
        table[key] = env[name]
        found.append((key, name))
    return table, tuple(found)


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
