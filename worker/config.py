"""Settings: one TOML file plus ``HERALD_*`` environment overrides, validated on load.

Every mistake stops with one line naming the file, the key path and what was expected.
This module must not open database connections or network sockets.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from worker.backoff import DELIVERY_SCHEDULE
from worker.models import ArticleSelectors, ListSelectors
from worker.schedule import DEFAULT_SCHEDULE, check_schedule, parse_quiet_hours

SOURCE_KINDS = ("feed", "html", "hanweb", "jpaas", "trs", "auto")
CHANNELS = ("webhook", "wecom", "dingtalk", "feishu", "slack", "discord", "telegram")
MODES = ("instant", "digest", "both")
ENV_OVERRIDES = {
    "HERALD_DATABASE_URL": "database_url",
    "HERALD_BROKER_URL": "broker_url",
    "HERALD_FEEDS_DIR": "feeds_dir",
    "HERALD_BASE_URL": "base_url",
}
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


class ConfigError(ValueError):
    """A configuration mistake; ``str()`` is the one line to show the user."""


@dataclass(frozen=True)
class HeraldSettings:
    database_url: str = "sqlite:///data/herald.db"
    broker_url: str = ""
    feeds_dir: Path = Path("feeds")
    base_url: str = "http://localhost:8080"
    timezone: str = "Asia/Shanghai"
    sweep_interval: float = 15.0
    workers: int = 4

    @property
    def embedded(self) -> bool:
        """True when no broker is configured: ``herald run`` does all work in one process."""
        return not self.broker_url


@dataclass(frozen=True)
class NetworkSettings:
    allow: tuple[str, ...] = ()
    user_agent: str = "herald/0.1 (+https://github.com/herald-bot/herald)"
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    deadline: float = 30.0
    per_host: int = 4


@dataclass(frozen=True)
class DeliverySettings:
    """How the ledger sends: retry schedule, timeouts, concurrency, the circuit breaker."""

    retry_schedule: tuple[float, ...] = DELIVERY_SCHEDULE
    timeout: float = 15.0
    per_endpoint: int = 2
    in_flight: int = 64
    batch: int = 500
    breaker_after: float = 86400.0
    lease: float = 300.0
    requeue_after: float = 120.0


@dataclass(frozen=True)
class SourceConfig:
    name: str
    url: str
    kind: str
    interval: float = 900.0
    tags: tuple[str, ...] = ()
    timezone: str = ""
    enabled: bool = True
    backfill: int = 1
    pages: int = 1
    notify_existing: bool = False
    recheck: float = 86400.0
    list: ListSelectors | None = None
    article: ArticleSelectors | None = None


@dataclass(frozen=True)
class Mentions:
    """Who a chat message mentions: only ever from configuration, never from content."""

    mobiles: tuple[str, ...] = ()
    user_ids: tuple[str, ...] = ()
    all: bool = False


@dataclass(frozen=True)
class SubscriberConfig:
    name: str
    channel: str
    url: str
    secret: str = ""
    mode: str = "instant"
    sources: tuple[str, ...] = ()
    enabled: bool = True
    ops_alerts: bool = False
    chat_id: str = ""
    msgtype: str = ""
    keyword: str = ""
    template: str = ""
    timezone: str = ""
    tags: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    regex: str = ""
    schedule: str = DEFAULT_SCHEDULE
    quiet_hours: str = ""
    min_items: int = 1
    rate_limit: str = ""
    mentions: Mentions = field(default_factory=lambda: Mentions())

    @property
    def wants_digest(self) -> bool:
        return self.mode in ("digest", "both")

    def options(self) -> dict[str, Any]:
        """What the channel needs besides URL and secret (stored with the subscriber)."""
        return {
            "chat_id": self.chat_id,
            "msgtype": self.msgtype,
            "keyword": self.keyword,
            "template": self.template,
            "timezone": self.timezone or "Asia/Shanghai",
            "tags": list(self.tags),
            "include": list(self.include),
            "exclude": list(self.exclude),
            "regex": self.regex,
            "schedule": self.schedule,
            "quiet_hours": self.quiet_hours,
            "min_items": self.min_items,
            "rate_limit": self.rate_limit,
            "mentions": {
                "mobiles": list(self.mentions.mobiles),
                "user_ids": list(self.mentions.user_ids),
                "all": self.mentions.all,
            },
        }


@dataclass(frozen=True)
class Config:
    herald: HeraldSettings = field(default_factory=HeraldSettings)
    network: NetworkSettings = field(default_factory=NetworkSettings)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    sources: tuple[SourceConfig, ...] = ()
    subscribers: tuple[SubscriberConfig, ...] = ()
    path: Path | None = None

    def source(self, name: str) -> SourceConfig:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)

    def source_timezone(self, source: SourceConfig) -> ZoneInfo:
        return ZoneInfo(source.timezone or self.herald.timezone)


def parse_duration(value: object) -> float:
    """``"30s"``, ``"15m"``, ``"1h"``, ``"2d"`` or a number of seconds → seconds."""
    if isinstance(value, bool):
        raise ValueError('expected a duration like "30s", "15m" or "1h"')
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION_RE.match(value)):
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    else:
        raise ValueError(f'expected a duration like "30s", "15m" or "1h", got {value!r}')
    if seconds <= 0:
        raise ValueError(f"expected a positive duration, got {value!r}")
    return seconds


# --- schema -----------------------------------------------------------------------------------

Check = Callable[[Any], Any]


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {_type_name(value)}")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {_type_name(value)}")
    return value


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"expected a whole number ≥ 1, got {value!r}")
    return value


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"expected a whole number ≥ 0, got {value!r}")
    return value


def _rate_limit(value: Any) -> str:
    from worker.ratebucket import parse_rate

    text = _string(value)
    if text:
        parse_rate(text)
    return text.strip()


def _quiet_hours(value: Any) -> str:
    text = _string(value)
    if text:
        parse_quiet_hours(text)
    return text.strip()


def _durations(value: Any) -> tuple[float, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError(f'expected a non-empty list of durations like ["5s", "5m"], got {value!r}')
    return tuple(parse_duration(v) for v in value)


def _string_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"expected a list of strings, got {_type_name(value)}")
    return tuple(value)


def _url(value: Any) -> str:
    text = _string(value)
    if not re.match(r"^https?://[^\s/]+", text):
        raise ValueError(f"expected an http:// or https:// URL, got {text!r}")
    return text


def _choice(options: tuple[str, ...]) -> Check:
    def check(value: Any) -> str:
        if _string(value) not in options:
            raise ValueError(f"expected one of {', '.join(options)}, got {value!r}")
        return str(value)

    return check


def _name(value: Any) -> str:
    text = _string(value)
    if not _NAME_RE.match(text):
        raise ValueError(
            f"expected a slug of lowercase letters, digits, - and _ (at most 64), got {text!r}"
        )
    return text


def _timezone(value: Any) -> str:
    text = _string(value)
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"expected an IANA timezone such as Asia/Shanghai, got {text!r}") from None
    return text


def _type_name(value: Any) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "a boolean"}
    names.update({list: "a list", dict: "a table"})
    return names.get(type(value), type(value).__name__)


def _regex(value: Any) -> str:
    text = _string(value)
    try:
        re.compile(text)
    except re.error as err:
        raise ValueError(f"invalid regular expression {text!r}: {err}") from None
    return text


def _css(value: Any) -> str:
    """A CSS selector that compiles ("" = not set)."""
    from cssselect import SelectorError
    from lxml.cssselect import CSSSelector

    text = _string(value)
    if text.strip():
        try:
            CSSSelector(text)
        except (SelectorError, ValueError) as err:
            raise ValueError(f"invalid CSS selector {text!r}: {err}") from None
    return text


def _database_url(value: Any) -> str:
    text = _string(value)
    if text in ("sqlite://", "sqlite:///:memory:"):
        raise ValueError("an in-memory SQLite database cannot be shared; give a file path")
    if not re.match(r"^(sqlite:///.+|postgres(ql)?(\+psycopg)?://.+)$", text):
        raise ValueError(f"expected sqlite:///PATH or postgresql://user@host/db, got {text!r}")
    return text


def _broker_url(value: Any) -> str:
    text = _string(value)
    if text and not re.match(r"^(rediss?|amqps?|pyamqp|sentinel)://", text):
        raise ValueError(f'expected "" (embedded) or a redis:// URL, got {text!r}')
    return text


HERALD_KEYS: dict[str, Check] = {
    "database_url": _database_url,
    "broker_url": _broker_url,
    "feeds_dir": _string,
    "base_url": _url,
    "timezone": _timezone,
    "sweep_interval": parse_duration,
    "workers": _positive_int,
}
def _allow_list(value: Any) -> tuple[str, ...]:
    from worker.netguard import Policy

    entries = _string_list(value)
    try:
        Policy.from_allow(entries)
    except ValueError as err:  # it names the bad entry
        raise ValueError(str(err).removeprefix("[network] allow: ")) from None
    return entries


NETWORK_KEYS: dict[str, Check] = {
    "allow": _allow_list,
    "user_agent": _string,
    "connect_timeout": parse_duration,
    "read_timeout": parse_duration,
    "deadline": parse_duration,
    "per_host": _positive_int,
}
DELIVERY_KEYS: dict[str, Check] = {
    "retry_schedule": _durations,
    "timeout": parse_duration,
    "per_endpoint": _positive_int,
    "in_flight": _positive_int,
    "batch": _positive_int,
    "breaker_after": parse_duration,
    "lease": parse_duration,
    "requeue_after": parse_duration,
}
SOURCE_KEYS: dict[str, Check] = {
    "name": _name,
    "url": _url,
    "kind": _choice(SOURCE_KINDS),
    "interval": parse_duration,
    "tags": _string_list,
    "timezone": _timezone,
    "enabled": _bool,
    "backfill": _positive_int,
    "pages": _positive_int,
    "notify_existing": _bool,
    "recheck": parse_duration,
}
LIST_KEYS: dict[str, Check] = {k: _css for k in ("item", "link", "title", "date", "next")}
ARTICLE_KEYS: dict[str, Check] = {k: _css for k in ("title", "date", "body", "author")}
LIST_KINDS = ("html",)
SUBSCRIBER_KEYS: dict[str, Check] = {
    "name": _name,
    "channel": _choice(CHANNELS),
    "url": _url,
    "secret": _string,
    "mode": _choice(MODES),
    "sources": _string_list,
    "enabled": _bool,
    "ops_alerts": _bool,
    "chat_id": _string,
    "msgtype": _string,
    "keyword": _string,
    "template": _string,
    "timezone": _timezone,
    "tags": _string_list,
    "include": _string_list,
    "exclude": _string_list,
    "regex": _regex,
    "schedule": lambda value: check_schedule(_string(value)),
    "quiet_hours": _quiet_hours,
    "min_items": _count,
    "rate_limit": _rate_limit,
}
MENTION_KEYS: dict[str, Check] = {"mobiles": _string_list, "user_ids": _string_list, "all": _bool}
CHAT_ID_CHANNELS = ("telegram",)
TOP_KEYS = ("herald", "network", "delivery", "sources", "subscribers")


class _Reader:
    """Walks the parsed TOML, checking every key against the schema tables above."""

    def __init__(self, origin: str) -> None:
        self.origin = origin

    def fail(self, path: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.origin}: {path}: {problem}")

    def table(self, value: Any, path: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a table, got {_type_name(value)}")
        return value

    def fields(
        self,
        raw: Any,
        path: str,
        schema: Mapping[str, Check],
        *,
        required: tuple[str, ...] = (),
        nested: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        data = self.table(raw, path)
        out: dict[str, Any] = {}
        for key, value in data.items():
            if key in nested:
                continue
            check = schema.get(key)
            if check is None:
                expected = ", ".join([*schema, *nested])
                raise self.fail(f"{path}.{key}", f"unknown key (expected one of: {expected})")
            try:
                out[key] = check(value)
            except ValueError as err:
                raise self.fail(f"{path}.{key}", str(err)) from None
        for key in required:
            if key not in out:
                raise self.fail(f"{path}.{key}", "missing (required)")
        return out

    def array(self, raw: Any, path: str) -> list[Any]:
        if not isinstance(raw, list):
            raise self.fail(
                path, f"expected an array of tables ([[{path}]]), got {_type_name(raw)}"
            )
        return raw


def _build_source(reader: _Reader, raw: Any, path: str) -> SourceConfig:
    values = reader.fields(
        raw, path, SOURCE_KEYS, required=("name", "url", "kind"), nested=("list", "article")
    )
    data = reader.table(raw, path)
    list_sel = None
    if "list" in data:
        if values["kind"] not in LIST_KINDS:
            raise reader.fail(f"{path}.list", f'only for kind = "html", not {values["kind"]!r}')
        list_values = reader.fields(data["list"], f"{path}.list", LIST_KEYS, required=("item",))
        list_sel = ListSelectors(**list_values)
    article_sel = None
    if "article" in data:
        article_sel = ArticleSelectors(
            **reader.fields(data["article"], f"{path}.article", ARTICLE_KEYS)
        )
    if values["kind"] == "html" and list_sel is None:
        raise reader.fail(f"{path}.list", 'missing: kind = "html" needs [sources.list] with item')
    return SourceConfig(**values, list=list_sel, article=article_sel)


def _build_subscriber(reader: _Reader, raw: Any, path: str) -> SubscriberConfig:
    values = reader.fields(
        raw, path, SUBSCRIBER_KEYS, required=("name", "channel", "url"), nested=("mentions",)
    )
    data = reader.table(raw, path)
    mentions = Mentions()
    if "mentions" in data:
        found = reader.fields(data["mentions"], f"{path}.mentions", MENTION_KEYS)
        mentions = Mentions(**found)
    if values["channel"] in CHAT_ID_CHANNELS and not values.get("chat_id"):
        raise reader.fail(f"{path}.chat_id", f'missing: channel = "{values["channel"]}" needs it')
    return SubscriberConfig(**values, mentions=mentions)


def _check_secret(reader: _Reader, sub: SubscriberConfig, path: str) -> None:
    if sub.channel != "webhook" or not sub.secret:
        return
    from worker.notify.webhook import decode_secret

    try:
        decode_secret(sub.secret)
    except ValueError as err:
        raise reader.fail(f"{path}.secret", f"{err} (expected whsec_ + base64)") from None


def _unique(reader: _Reader, items: tuple[Any, ...], section: str) -> None:
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item.name in seen:
            raise reader.fail(f"{section}[{index}].name", f"duplicate name {item.name!r}")
        seen.add(item.name)


def parse_config(
    data: Mapping[str, Any],
    *,
    origin: str = "<config>",
    base_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Validate parsed TOML (plus environment overrides) into a :class:`Config`."""
    reader = _Reader(origin)
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
        _build_source(reader, raw, f"sources[{i}]")
        for i, raw in enumerate(reader.array(data.get("sources", []), "sources"))
    )
    subscribers = tuple(
        _build_subscriber(reader, raw, f"subscribers[{i}]")
        for i, raw in enumerate(reader.array(data.get("subscribers", []), "subscribers"))
    )
    _unique(reader, sources, "sources")
    _unique(reader, subscribers, "subscribers")
    for i, sub in enumerate(subscribers):
        _check_secret(reader, sub, f"subscribers[{i}]")
    known = {s.name for s in sources}
    for i, sub in enumerate(subscribers):
        for name in sub.sources:
            if name not in known:
                raise reader.fail(f"subscribers[{i}].sources", f"no source named {name!r}")
    return Config(
        herald, NetworkSettings(**network_values), delivery, sources, subscribers, None
    )


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
