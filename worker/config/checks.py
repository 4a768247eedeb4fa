"""Value checks for the config schema: each takes a parsed TOML value and returns it checked.

A check raises ValueError with what was expected; the reader adds the file and key path.
It must not read files, open connections or know the schema's tables.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from worker.config.settings import DIRECT
from worker.redact import redact_url
from worker.schedule import parse_quiet_hours

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}

# Names reserved for examples (RFC 2606, RFC 6761) and the example config's own placeholders:
# a source or subscriber still pointing at one has not been edited yet.
PLACEHOLDER_HOST_RE = re.compile(
    r"(?:^|\.)(?:example\.(?:com|net|org|gov\.cn|org\.cn|cn)|[^.]+\.(?:example|invalid|test))$",
    re.IGNORECASE,
)

Check = Callable[[Any], Any]
ADDRESS_RE = re.compile(r"[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+")
MAX_DURATION = 366 * 86400.0


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
    if not math.isfinite(seconds) or seconds <= 0 or seconds > MAX_DURATION:
        raise ValueError(f"expected a positive duration of at most 366 days, got {value!r}")
    return seconds


MAX_RETENTION = 3660 * 86400.0


def retention(value: object) -> float:
    """How long to keep something: a duration up to ten years, or ``"forever"`` / 0 (→ 0.0)."""
    if value == "forever" or (isinstance(value, int | float) and not isinstance(value, bool)
                              and value == 0):  # fmt: skip
        return 0.0
    if isinstance(value, str) and (match := _DURATION_RE.match(value)):
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
        if 0 < seconds <= MAX_RETENTION:
            return seconds
    raise ValueError(f'expected a duration like "30d" (at most 3660d) or "forever", got {value!r}')


def as_string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {type_name(value)}")
    return value


def as_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {type_name(value)}")
    return value


def positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"expected a whole number ≥ 1, got {value!r}")
    return value


def port(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        raise ValueError(f"expected a TCP port from 1 to 65535, got {value!r}")
    return value


def count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"expected a whole number ≥ 0, got {value!r}")
    return value


def rate_limit(value: Any) -> str:
    from worker.ratebucket import parse_rate

    text = as_string(value)
    if text:
        parse_rate(text)
    return text.strip()


def quiet_hours(value: Any) -> str:
    text = as_string(value)
    if text:
        parse_quiet_hours(text)
    return text.strip()


def durations(value: Any) -> tuple[float, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError(f'expected a non-empty list of durations like ["5s", "5m"], got {value!r}')
    return tuple(parse_duration(v) for v in value)


def string_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"expected a list of strings, got {type_name(value)}")
    return tuple(value)


def http_url(value: Any) -> str:
    text = as_string(value)
    if not re.match(r"^https?://[^\s/]+", text):
        raise ValueError(f"expected an http:// or https:// URL, got {text!r}")
    return text


def optional_http_url(value: Any) -> str:
    """An http(s) URL, or "" for not set."""
    return "" if as_string(value) == "" else http_url(value)


def proxy_url(value: Any) -> str:
    """An ``http://`` or ``https://`` proxy as ``scheme://[user:password@]host:port``; "" for none;
    ``direct`` (a source's own value: no proxy, whatever ``[network] proxy`` says)."""
    text = as_string(value).strip()
    if text in ("", DIRECT):
        return text
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in ("http", "https") or not parts.hostname or port is None:
        raise ValueError(
            f'expected http://host:port or https://host:port (or "{DIRECT}"), '
            f"got {redact_url(text)!r}"
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"a proxy URL has no path or query, got {redact_url(text)!r}")
    return text


def email_address(value: Any) -> str:
    """One address, bare or with a display name (``herald <herald@example.cn>``)."""
    text = as_string(value).strip()
    _, address = parseaddr(text)
    if not ADDRESS_RE.fullmatch(address) or "\n" in text or "\r" in text or "," in address:
        raise ValueError(f"expected an e-mail address like herald@example.cn, got {text!r}")
    return text


def email_addresses(value: Any) -> tuple[str, ...]:
    """One address or a list of them (at least one)."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise ValueError(f"expected an e-mail address or a list of them, got {type_name(value)}")
    return tuple(email_address(item) for item in items)


def choice(options: tuple[str, ...]) -> Check:
    def check(value: Any) -> str:
        if as_string(value) not in options:
            raise ValueError(f"expected one of {', '.join(options)}, got {value!r}")
        return str(value)

    return check


def slug(value: Any) -> str:
    text = as_string(value)
    if not SLUG_RE.match(text):
        raise ValueError(
            f"expected a slug of lowercase letters, digits, - and _ (at most 64), got {text!r}"
        )
    return text


def timezone(value: Any) -> str:
    text = as_string(value)
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"expected an IANA timezone such as Asia/Shanghai, got {text!r}") from None
    return text


def type_name(value: Any) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "a boolean"}
    names.update({list: "a list", dict: "a table"})
    return names.get(type(value), type(value).__name__)


def regex(value: Any) -> str:
    """A subscriber's pattern, compiled by the engine its filter runs on (``worker.filters``)."""
    import regex as engine

    from worker.filters import compile_filter

    text = as_string(value)
    try:
        compile_filter(text)
    except engine.error as err:
        raise ValueError(f"invalid regular expression {text!r}: {err}") from None
    return text


def css_selector(value: Any) -> str:
    """A CSS selector that compiles ("" = not set)."""
    from cssselect import SelectorError
    from lxml.cssselect import CSSSelector

    text = as_string(value)
    if text.strip():
        try:
            CSSSelector(text)
        except (SelectorError, ValueError) as err:
            raise ValueError(f"invalid CSS selector {text!r}: {err}") from None
    return text


def database_url(value: Any) -> str:
    text = as_string(value)
    if text in ("sqlite://", "sqlite:///:memory:"):
        raise ValueError("an in-memory SQLite database cannot be shared; give a file path")
    if not re.match(r"^(sqlite:///.+|postgres(ql)?(\+psycopg)?://.+)$", text):
        raise ValueError(f"expected sqlite:///PATH or postgresql://user@host/db, got {text!r}")
    return text


def broker_url(value: Any) -> str:
    text = as_string(value)
    if text and not re.match(r"^(rediss?|amqps?|pyamqp|sentinel)://", text):
        raise ValueError(f'expected "" (embedded) or a redis:// URL, got {text!r}')
    return text


def allow_list(value: Any) -> tuple[str, ...]:
    from worker.netguard import Policy

    entries = string_list(value)
    try:
        Policy.from_allow(entries)
    except ValueError as err:  # it names the bad entry
        raise ValueError(str(err).removeprefix("[network] allow: ")) from None
    return entries


def placeholder_host(url: str) -> str:
    """The host of ``url`` when it is an example placeholder (``www.example.gov.cn``), else ""."""
    host = (urlsplit(url.strip()).hostname or "").rstrip(".")
    return host if PLACEHOLDER_HOST_RE.search(host) else ""
