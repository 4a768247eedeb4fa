"""The config schema: which keys each section takes, and the reader that walks the TOML.

Every key is checked by a function of ``worker.config.checks``; every mistake names the key path.
It must not read files or the environment (``worker.config.load`` does).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit

from worker.config import checks as c
from worker.config.checks import Check, parse_duration
from worker.config.settings import (
    CHANNELS,
    DIRECT,
    MODES,
    RENDER_MODES,
    SOURCE_KINDS,
    ConfigError,
    SourceConfig,
    SubscriberConfig,
)
from worker.models import ArticleSelectors, ListSelectors
from worker.netguard import Policy
from worker.schedule import check_schedule
from worker.subscriber import Mentions, SubscriberOptions

HERALD_KEYS: dict[str, Check] = {
    "database_url": c.database_url,
    "broker_url": c.broker_url,
    "feeds_dir": c.as_string,
    "base_url": c.http_url,
    "timezone": c.timezone,
    "sweep_interval": parse_duration,
    "workers": c.positive_int,
    "max_items": c.positive_int,
    "max_html_bytes": c.positive_int,
    "max_title_chars": c.positive_int,
}
NETWORK_KEYS: dict[str, Check] = {
    "allow": c.allow_list,
    "user_agent": c.as_string,
    "connect_timeout": parse_duration,
    "read_timeout": parse_duration,
    "deadline": parse_duration,
    "per_host": c.positive_int,
    "proxy": c.proxy_url,
}
DELIVERY_KEYS: dict[str, Check] = {
    "retry_schedule": c.durations,
    "timeout": parse_duration,
    "per_endpoint": c.positive_int,
    "in_flight": c.positive_int,
    "batch": c.positive_int,
    "breaker_after": parse_duration,
    "lease": parse_duration,
    "requeue_after": parse_duration,
}
WEB_KEYS: dict[str, Check] = {
    "host": c.as_string,
    "port": c.port,
    "enabled": c.as_bool,
    "api_token": c.as_string,
}
FEED_KEYS: dict[str, Check] = {
    "limit": c.positive_int,
    "websub_hub": c.optional_http_url,
}
SOURCE_KEYS: dict[str, Check] = {
    "name": c.slug,
    "url": c.http_url,
    "kind": c.choice(SOURCE_KINDS),
    "interval": parse_duration,
    "tags": c.string_list,
    "timezone": c.timezone,
    "enabled": c.as_bool,
    "backfill": c.positive_int,
    "pages": c.positive_int,
    "notify_existing": c.as_bool,
    "recheck": parse_duration,
    "max_items": c.positive_int,
    "proxy": c.proxy_url,
    "expect_new_within": parse_duration,
    "render": c.choice(RENDER_MODES),
}
LIST_KEYS: dict[str, Check] = {k: c.css_selector for k in ("item", "link", "title", "date", "next")}
ARTICLE_KEYS: dict[str, Check] = {k: c.css_selector for k in ("title", "date", "body", "author")}
LIST_KINDS = ("html",)
SUBSCRIBER_KEYS: dict[str, Check] = {
    "name": c.slug,
    "channel": c.choice(CHANNELS),
    "url": c.http_url,
    "secret": c.as_string,
    "mode": c.choice(MODES),
    "sources": c.string_list,
    "enabled": c.as_bool,
    "ops_alerts": c.as_bool,
    "chat_id": c.as_string,
    "msgtype": c.as_string,
    "keyword": c.as_string,
    "template": c.as_string,
    "pic_url": c.optional_http_url,
    "timezone": c.timezone,
    "tags": c.string_list,
    "include": c.string_list,
    "exclude": c.string_list,
    "regex": c.regex,
    "schedule": lambda value: check_schedule(c.as_string(value)),
    "quiet_hours": c.quiet_hours,
    "min_items": c.count,
    "rate_limit": c.rate_limit,
    "updates": c.choice(("none", "title", "any")),
    "to": c.email_addresses,
    "from": c.email_address,
}
OPTION_NAMES = {"to": "mail_to", "from": "mail_from"}  # config keys that are Python keywords
# the keys a SubscriberConfig holds itself; the others make its SubscriberOptions
TOP_SUBSCRIBER_KEYS = (
    *("name", "channel", "url", "secret", "mode", "sources", "enabled", "ops_alerts"),
)
MENTION_KEYS: dict[str, Check] = {
    "mobiles": c.string_list,
    "user_ids": c.string_list,
    "all": c.as_bool,
}
CHAT_ID_CHANNELS = ("telegram",)
SMTP_KEYS: dict[str, Check] = {
    "host": c.as_string,
    "port": c.port,
    "starttls": c.choice(("auto", "always", "never")),
    "tls": c.as_bool,
    "user": c.as_string,
    "timeout": parse_duration,
    "ca_file": c.as_string,
}
BROWSER_KEYS: dict[str, Check] = {
    "executable": c.as_string,
    "enabled": c.as_bool,
    "max_concurrent": c.positive_int,
    "timeout": parse_duration,
    "keep_open": parse_duration,
    "max_requests": c.positive_int,
    "max_bytes": c.positive_int,
    "sandbox": c.as_bool,
}
RETENTION_KEYS: dict[str, Check] = {
    "delivered": c.retention,
    "failed": c.retention,
    "article_versions": c.positive_int,
    "digests": c.retention,
}
TOP_KEYS = (
    "herald", "network", "delivery", "web", "feeds", "retention", "smtp", "browser", "sources",
    "subscribers",
)  # fmt: skip


class Reader:
    """Walks the parsed TOML, checking every key against the schema tables above."""

    def __init__(self, origin: str) -> None:
        self.origin = origin

    def fail(self, path: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.origin}: {path}: {problem}", key=path, problem=problem)

    def table(self, value: Any, path: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a table, got {c.type_name(value)}")
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
                path, f"expected an array of tables ([[{path}]]), got {c.type_name(raw)}"
            )
        return raw


def build_source(reader: Reader, raw: Any, path: str, *, max_items: int) -> SourceConfig:
    """One ``[[sources]]`` table; without its own ``max_items`` it takes ``max_items``."""
    values = reader.fields(
        raw, path, SOURCE_KEYS, required=("name", "url", "kind"), nested=("list", "article")
    )
    values.setdefault("max_items", max_items)
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


def build_subscriber(reader: Reader, raw: Any, path: str) -> SubscriberConfig:
    values = reader.fields(
        raw, path, SUBSCRIBER_KEYS, required=("name", "channel"), nested=("mentions",)
    )
    if values["channel"] == "email":
        for key in ("to", "from"):
            if key not in values:
                raise reader.fail(f"{path}.{key}", 'missing: channel = "email" needs it')
        if "url" in values:
            raise reader.fail(f"{path}.url", 'not for channel = "email" (give to and from)')
        values["url"] = "mailto:" + ",".join(parseaddr(a)[1] for a in values["to"])
    elif "url" not in values:
        raise reader.fail(f"{path}.url", "missing (required)")
    elif "to" in values or "from" in values:
        key = "to" if "to" in values else "from"
        raise reader.fail(f"{path}.{key}", 'only for channel = "email"')
    for key, name in OPTION_NAMES.items():
        if key in values:
            values[name] = values.pop(key)
    data = reader.table(raw, path)
    mentions = Mentions()
    if "mentions" in data:
        found = reader.fields(data["mentions"], f"{path}.mentions", MENTION_KEYS)
        mentions = Mentions(**found)
    if values["channel"] in CHAT_ID_CHANNELS and not values.get("chat_id"):
        raise reader.fail(f"{path}.chat_id", f'missing: channel = "{values["channel"]}" needs it')
    top = {key: values.pop(key) for key in TOP_SUBSCRIBER_KEYS if key in values}
    if not values.get("timezone"):
        values.pop("timezone", None)  # "" = the default zone
    return SubscriberConfig(**top, options=SubscriberOptions(**values, mentions=mentions))


def check_secret(reader: Reader, sub: SubscriberConfig, path: str) -> None:
    if sub.channel != "webhook" or not sub.secret:
        return
    from worker.notify.webhook import decode_secret

    try:
        decode_secret(sub.secret)
    except ValueError as err:
        raise reader.fail(f"{path}.secret", f"{err} (expected whsec_ + base64)") from None


def check_proxy(reader: Reader, proxy: str, path: str, policy: Policy) -> None:
    """A proxy must be listed in ``[network] allow`` (its host name, or a network holding its
    address): herald connects to nothing it was not told to trust."""
    if not proxy or proxy == DIRECT:
        return
    host = urlsplit(proxy).hostname or ""
    if policy.allows_host(host) or allows_literal(policy, host):
        return
    raise reader.fail(
        path,
        f"the proxy {host!r} is not in [network] allow; add it there "
        f'(allow = ["{host}"]) to let herald connect to it',
    )


def allows_literal(policy: Policy, host: str) -> bool:
    """Whether ``host`` is an IP address inside one of the policy's networks."""
    try:
        return policy.allows_address(ipaddress.ip_address(host))
    except ValueError:
        return False


def check_unique(reader: Reader, items: tuple[Any, ...], section: str) -> None:
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item.name in seen:
            raise reader.fail(f"{section}[{index}].name", f"duplicate name {item.name!r}")
        seen.add(item.name)
